import numpy as np
import pytest
from PIL import Image

from reidlab.data.images import read_frame
from reidlab.errors import CorruptFrameError, DatasetError


def _write(path, arr, fmt):
    Image.fromarray(arr).save(path, format=fmt)
    return path


def test_read_frame_rgb_and_resize(tmp_path):
    arr = np.zeros((8, 4, 3), np.uint8)
    arr[:4] = (255, 0, 0)
    arr[4:] = (0, 0, 255)
    p = _write(tmp_path / "a.png", arr, "PNG")
    out = read_frame(p)
    assert out.dtype == np.uint8 and out.shape == (8, 4, 3)
    np.testing.assert_array_equal(out, arr)
    big = read_frame(p, size=(16, 8))
    assert big.shape == (16, 8, 3)
    assert tuple(big[0, 0]) == (255, 0, 0) and tuple(big[-1, -1]) == (0, 0, 255)


def test_grayscale_becomes_rgb(tmp_path):
    p = tmp_path / "g.png"
    Image.fromarray(np.full((5, 3), 77, np.uint8), mode="L").save(p)
    out = read_frame(p)
    assert out.shape == (5, 3, 3) and (out == 77).all()


@pytest.mark.parametrize("fmt,suffix", [("JPEG", ".jpg"), ("PNG", ".png")])
def test_truncated_file_raises(tmp_path, fmt, suffix):
    rng = np.random.default_rng(0)
    p = _write(tmp_path / f"t{suffix}", rng.integers(0, 255, (64, 32, 3), dtype=np.uint8), fmt)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFrameError) as e:
        read_frame(p)
    assert str(p) in str(e.value) and "decodable image" in str(e.value)
    assert isinstance(e.value, DatasetError)


def test_truncated_rejected_even_if_pil_flag_was_set(tmp_path):
    from PIL import ImageFile

    rng = np.random.default_rng(1)
    p = _write(tmp_path / "t.jpg", rng.integers(0, 255, (64, 32, 3), dtype=np.uint8), "JPEG")
    p.write_bytes(p.read_bytes()[:300])
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with pytest.raises(CorruptFrameError):
            read_frame(p)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def test_garbage_and_missing(tmp_path):
    g = tmp_path / "garbage.jpg"
    g.write_bytes(b"not an image at all")
    with pytest.raises(CorruptFrameError, match="garbage.jpg"):
        read_frame(g)
    with pytest.raises(CorruptFrameError, match="no such file"):
        read_frame(tmp_path / "missing.png")
