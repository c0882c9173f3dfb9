"""Writing SynthCams: render every planned tracklet (in worker processes) and write it in
the MARS layout (:func:`generate`) or, for the infrared ↔ colour SynthCams, the SYSU-MM01
layout (:func:`generate_infrared`), the completion marker last; :func:`ensure_default` and its
siblings generate a default dataset only where no finished copy is."""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import shutil
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.io
from threadpoolctl import threadpool_limits

from reidlab.errors import ConfigError
from reidlab.synth.config import (DEFAULT_ROOT, DOMAIN_B_ROOT, INFRARED_CAMS, INFRARED_ROOTS,
                                  MARKER, MAT_HEADER, Progress, SynthConfig, TrackRecord)
from reidlab.synth.planning import camera_record, plan, plan_infrared
from reidlab.synth.render import render_tracklet
from reidlab.synth.specs import TrackletSpec

# ----------------------------------------------------------------------------- writing


def _single_threaded() -> None:
    threadpool_limits(1)


@contextmanager
def _workers_skip_main():
    """Start worker processes without re-running the caller's ``__main__``.

    A spawned (or forkserver) child first re-runs ``sys.modules["__main__"].__file__``. Streamlit,
    and its AppTest, replace ``__main__`` by the page being run; a page run bare in a worker fails
    (or re-renders the app). Our workers need nothing from ``__main__``, so hide it meanwhile.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield  # ``python -m ...``: children import it by name, which is harmless
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _render_and_write(args: tuple[str, TrackletSpec]) -> int:
    from PIL import Image

    root, spec = args
    frames = render_tracklet(spec)
    for arr, rel in zip(frames, spec.paths):
        path = Path(root) / rel
        buf = io.BytesIO()
        Image.fromarray(arr, "RGB").save(buf, "JPEG", quality=spec.jpeg_quality, optimize=False,
                                         subsampling=0)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, buf.getvalue())
        finally:
            os.close(fd)
    return len(frames)


def write_mat(path: Path, key: str, array: np.ndarray) -> None:
    """``scipy.io.savemat`` with a fixed text header (scipy stamps it with the time)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, {key: array}, format="5", do_compression=False, oned_as="row")
    data = bytearray(buf.getvalue())
    header = MAT_HEADER.ljust(116, b" ")
    data[:116] = header[:116]
    path.write_bytes(bytes(data))


def _table(records: list[TrackRecord]) -> tuple[list[str], np.ndarray]:
    names, rows, start = [], [], 1
    for r in records:
        names.extend(r.names)
        rows.append((start, start + len(r.names) - 1, r.pid, r.cam))
        start += len(r.names)
    return names, np.asarray(rows, dtype=np.int32).reshape(-1, 4)


def _render_all(out: Path, records: list[TrackRecord], cfg: SynthConfig,
                progress: Progress | None) -> None:
    """Render and write every record's frames (worker processes when ``cfg.workers`` > 1)."""
    jobs = [(str(out), r.spec) for r in records]
    total = len(jobs)
    done = 0
    if progress:
        progress(0, total)
    if cfg.workers > 1 and total >= 8:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        with ProcessPoolExecutor(cfg.workers, mp_context=ctx, initializer=_single_threaded) as pool:
            with _workers_skip_main():  # the workers start while the jobs are submitted
                results = pool.map(_render_and_write, jobs, chunksize=8)
            for _ in results:  # a dead worker raises BrokenProcessPool, never hangs
                done += 1
                if progress:
                    progress(done, total)
    else:
        with threadpool_limits(1):  # multi-threaded BLAS on tiny matrices is 100× slower
            for job in jobs:
                _render_and_write(job)
                done += 1
                if progress:
                    progress(done, total)


def generate_infrared(out: Path, cfg: SynthConfig, progress: Progress | None = None) -> Path:
    """Write the infrared SynthCams (``cfg.infrared``) in the SYSU-MM01 layout."""
    cams, records = plan_infrared(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).unlink(missing_ok=True)
    for sub in [f"cam{c}" for c in range(1, 10)] + ["exp"]:
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    for c in range(1, cfg.cameras + 1):
        (out / f"cam{c}").mkdir()
    for d in sorted({str(Path(p).parent) for r in records for p in r.spec.paths}):
        (out / d).mkdir(parents=True, exist_ok=True)
    _render_all(out, records, cfg, progress)
    (out / "exp").mkdir()
    ids = {s: sorted({r.pid for r in records if r.split == s}) for s in ("train", "val", "test")}
    for split, pids in ids.items():
        (out / "exp" / f"{split}_id.txt").write_text(",".join(map(str, pids)) + "\n")
    counts = {f"{s}_ids": len(v) for s, v in ids.items()}
    counts.update(tracklets=len(records), frames=sum(len(r.names) for r in records),
                  infrared_frames=sum(len(r.names) for r in records if r.cam in INFRARED_CAMS))
    marker = {"config": cfg.identity(), "counts": counts, "layout": "sysumm01",
              "cameras": [camera_record(c) for c in cams]}
    (out / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return out


def generate(out: str | Path, cfg: SynthConfig = SynthConfig(),
             progress: Progress | None = None) -> Path:
    """Write SynthCams for ``cfg`` into ``out`` (MARS layout) and return ``out``.

    Any previous SynthCams content of ``out`` (marker, bbox_train, bbox_test, info) is removed
    first; other files in ``out`` are left alone. The marker file is written last.
    """
    out = Path(out)
    if cfg.infrared:
        return generate_infrared(out, cfg, progress)
    cams, records, query_rows = plan(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).unlink(missing_ok=True)
    for sub in ("bbox_train", "bbox_test", "info"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    for d in sorted({str(Path(p).parent) for r in records for p in r.spec.paths}):
        (out / d).mkdir(parents=True, exist_ok=True)
    (out / "info").mkdir()

    _render_all(out, records, cfg, progress)
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    for split, recs, key in (("train", train, "track_train_info"),
                             ("test", test, "track_test_info")):
        names, table = _table(recs)
        (out / "info" / f"{split}_name.txt").write_text("\n".join(names) + "\n")
        write_mat(out / "info" / f"tracks_{split}_info.mat", key, table)
    write_mat(out / "info" / "query_IDX.mat", "query_IDX",
              np.asarray(query_rows, dtype=np.int32)[None, :] + 1)

    counts = {
        "train_tracklets": len(train),
        "train_ids": len({r.pid for r in train}),
        "test_tracklets": len(test),
        "test_ids": len({r.pid for r in test if r.pid > 0}),
        "distractor_tracklets": sum(r.pid == 0 for r in test),
        "queries": len(query_rows),
        "frames": sum(len(r.names) for r in records),
    }
    marker = {
        "config": cfg.identity(),
        "counts": counts,
        "cameras": [camera_record(c) for c in cams],
    }
    (out / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return out


def is_complete(root: str | Path, cfg: SynthConfig | None = None) -> bool:
    """True if ``root`` holds a finished SynthCams (for ``cfg``, if given)."""
    m = Path(root) / MARKER
    if not m.is_file():
        return False
    if cfg is None:
        return True
    try:
        return json.loads(m.read_text()).get("config") == json.loads(json.dumps(cfg.identity()))
    except (OSError, ValueError):
        return False


def ensure_default(root: str | Path = DEFAULT_ROOT, cfg: SynthConfig = SynthConfig(),
                   progress: Progress | None = None) -> Path:
    """Return ``root``, generating SynthCams there first unless a finished copy for ``cfg``
    is already present (a folder without the completion marker is regenerated)."""
    root = Path(root)
    if not is_complete(root, cfg):
        generate(root, cfg, progress)
    return root


def ensure_domain_b(root: str | Path = DOMAIN_B_ROOT, cfg: SynthConfig | None = None,
                    progress: Progress | None = None) -> Path:
    """``ensure_default`` for the second domain: return ``root`` (default ``data/synthcams_b``),
    generating style-b SynthCams there first unless a finished copy for ``cfg`` (default
    ``SynthConfig(style="b")``) is present. A labelled source for domain adaptation."""
    cfg = SynthConfig(style="b") if cfg is None else cfg
    if cfg.style != "b":
        raise ConfigError(f"ensure_domain_b: cfg.style={cfg.style!r}, expected 'b' (use "
                          "ensure_default for 'a')")
    return ensure_default(root, cfg, progress)


def ensure_infrared(root: str | Path | None = None, cfg: SynthConfig | None = None,
                    progress: Progress | None = None, kind: str = "thermal") -> Path:
    """``ensure_default`` for the infrared ↔ colour SynthCams (SYSU-MM01 layout): without
    ``cfg``, the default one of ``kind`` ("thermal" or "nir"); without ``root``, that kind's
    folder (``INFRARED_ROOTS``: data/synthcams_ir, data/synthcams_nir)."""
    cfg = SynthConfig(infrared=True, distractors=0, infrared_kind=kind) if cfg is None else cfg
    if not cfg.infrared:
        raise ConfigError("ensure_infrared: cfg.infrared is False (use ensure_default)")
    cfg.validate()
    return ensure_default(INFRARED_ROOTS[cfg.infrared_kind] if root is None else root, cfg,
                          progress)


def default_out(cfg: SynthConfig) -> str:
    """The CLI's folder for ``cfg`` without ``--out``: the style's or infrared kind's default
    root, with ``_gap{g}`` (and the parts named) appended when the camera gap is below 1 — a
    smaller gap never overwrites the default dataset."""
    root = (INFRARED_ROOTS[cfg.infrared_kind] if cfg.infrared else
            DOMAIN_B_ROOT if cfg.style == "b" else DEFAULT_ROOT)
    if all(v == 1.0 for v in cfg.part_levels().values()):
        return root
    parts = "".join(f"_{p}{v:g}" for p, v in cfg.part_levels().items() if v != cfg.gap)
    return f"{root}_gap{cfg.gap:g}{parts}"
