"""Training augmentation of the clip loader: random erasing (one box per clip, on every frame,
filled with the normalisation mean), next to the flip and pad-crop."""

import numpy as np
import pytest

from tiny_mars import write_tiny_mars

from reidlab.data import load_dataset
from reidlab.data.loader import ERASE_AREA, TrainClipDataset, erase_box
from reidlab.data.sampling import item_rng
from reidlab.engine.config import make_config

NORM = ((0.5, 0.4, 0.3), (0.25, 0.25, 0.25))


@pytest.fixture(scope="module")
def tracklets(tmp_path_factory):
    root = write_tiny_mars(tmp_path_factory.mktemp("aug") / "mars", train_ids=3, test_ids=2,
                           frames=(4, 6))
    return load_dataset("mars", str(root)).train


def test_erase_boxes_fit_and_cover_two_to_forty_percent():
    rng = np.random.default_rng(0)
    areas = []
    for _ in range(500):
        y, x, h, w = erase_box((96, 48), rng)
        assert 0 <= y and y + h <= 96 and 0 <= x and x + w <= 48 and h > 0 and w > 0
        areas.append(h * w / (96 * 48))
    assert ERASE_AREA[0] * 0.8 <= min(areas) and max(areas) <= ERASE_AREA[1] * 1.2
    assert np.mean(areas) == pytest.approx(np.mean(ERASE_AREA), abs=0.04)
    assert erase_box((1, 1), rng) is None  # nothing fits: no box, no error


def test_random_erasing_one_box_per_clip_mean_filled(tracklets):
    base = dict(hflip=False, crop_pad=0, frames_per_clip=3, height=32, width=16)
    plain = TrainClipDataset(tracklets, make_config("test", **base), NORM)
    always = TrainClipDataset(tracklets, make_config("test", random_erase=1.0, **base), NORM)
    half = TrainClipDataset(tracklets, make_config("test", random_erase=0.5, **base), NORM)
    erased = 0
    for t in range(len(tracklets)):
        a = plain[(0, t, 0)]["clips"]
        b = always[(0, t, 0)]["clips"]
        diff = (a != b).any(1)  # T×H×W: pixels the box changed
        # the same box on every frame of the clip, filled with the mean (0 once normalised)
        box = (b.abs() < 0.01).all(1)  # T×H×W
        assert box.any() and all(np.array_equal(box[0], box[k]) for k in range(len(box)))
        ys, xs = np.nonzero(box[0].numpy())
        assert box[0][ys.min():ys.max() + 1, xs.min():xs.max() + 1].all()  # a rectangle
        assert not diff[:, ~box[0]].any()  # nothing outside the box changed
        erased += int(not np.array_equal(half[(0, t, 0)]["clips"].numpy(), a.numpy()))
    assert 0 < erased < len(tracklets)  # p = 0.5: some clips, not all
    # deterministic in (seed, epoch, tracklet, clip); off at p = 0 and without augment
    assert np.array_equal(always[(0, 1, 0)]["clips"].numpy(), always[(0, 1, 0)]["clips"].numpy())
    off = TrainClipDataset(tracklets, make_config("test", random_erase=1.0, **base), NORM,
                           augment=False)
    assert np.array_equal(off[(0, 0, 0)]["clips"].numpy(), plain[(0, 0, 0)]["clips"].numpy())
    assert item_rng(0, 0, 1, 0).random() == item_rng(0, 0, 1, 0).random()
