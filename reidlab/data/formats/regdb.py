"""RegDB (Nguyen et al., Sensors 2017): one visible and one thermal camera, 412 people.

Layout (``root`` holds ``Visible/``, ``Thermal/`` and ``idx/``)::

    root/Visible/<any sub-folders>/<image>.bmp
    root/Thermal/<any sub-folders>/<image>.bmp
    root/idx/train_visible_K.txt  train_thermal_K.txt  test_visible_K.txt  test_thermal_K.txt

for trials K = 1..10; each line is ``<path relative to root> <person label>`` (the lists of the
usual 10 random 206/206 splits). Options: ``trial`` (1..10) picks the split — the standard
result is the mean over the 10 trials, i.e. 10 runs (``reidlab sweep --param
dataset_options.trial`` or one run per trial); ``direction``: ``v2t`` (visible queries, thermal
gallery) or ``t2v``. Every image is a one-frame tracklet; camid 0 = visible, 1 = thermal.
Nothing is junk: query and gallery never share a camera.
"""

from __future__ import annotations

from pathlib import Path

from reidlab.data.formats import register
from reidlab.data.formats.common import read_lines, require_dir
from reidlab.data.tracklets import COLOUR, INFRARED, Tracklet, TrackletSet
from reidlab.errors import ConfigError, DatasetError

_LINE = "lines '<relative image path> <integer person label>'"


def read_list(path: Path, root: Path, camid: int) -> list[Tracklet]:
    out = []
    for n, line in enumerate(read_lines(path, f"the RegDB list: {_LINE}", root), 1):
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DatasetError(path, f"line {n}: {_LINE}", repr(line[:80]))
        image = root / parts[0]
        if not image.is_file():
            raise DatasetError(image, f"the image named on line {n} of {path.name}",
                               "no such file")
        out.append(Tracklet((image,), int(parts[1]), camid, len(out),
                            modality=INFRARED if camid == 1 else COLOUR))
    if not out:
        raise DatasetError(path, _LINE, "an empty list")
    return out


@register("regdb")
def read(root: Path, trial: int = 1, direction: str = "v2t") -> TrackletSet:
    """Read RegDB; see the module docstring."""
    root = Path(root)
    if direction not in ("v2t", "t2v"):
        raise ConfigError(f"regdb: direction={direction!r}; expected 'v2t' (visible → thermal) "
                          "or 't2v'")
    if not 1 <= int(trial) <= 10:
        raise ConfigError(f"regdb: trial={trial!r}; expected 1..10")
    for sub in ("Visible", "Thermal"):
        require_dir(root / sub, f"the RegDB {sub}/ folder", root)
    idx = require_dir(root / "idx", "the RegDB idx/ folder of split lists", root)
    t = int(trial)
    lists = {(split, cam): read_list(idx / f"{split}_{name}_{t}.txt", root, cam)
             for split in ("train", "test") for cam, name in ((0, "visible"), (1, "thermal"))}
    for split in ("train", "test"):
        vis = {x.pid for x in lists[split, 0]}
        the = {x.pid for x in lists[split, 1]}
        if vis != the:
            odd = sorted(vis ^ the)[:5]
            raise DatasetError(idx / f"{split}_thermal_{t}.txt", f"the same people in "
                               f"{split}_visible_{t}.txt and {split}_thermal_{t}.txt",
                               f"people in only one of them: {odd}")
    overlap = sorted({x.pid for x in lists["train", 0]} & {x.pid for x in lists["test", 0]})
    if overlap:
        raise DatasetError(idx / f"test_visible_{t}.txt", "test people disjoint from training",
                           f"also in training: {overlap[:5]}")
    train = lists["train", 0] + lists["train", 1]
    train = [Tracklet(x.frames, x.pid, x.camid, i, modality=x.modality)
             for i, x in enumerate(train)]
    q_cam = 0 if direction == "v2t" else 1
    query, gallery = lists["test", q_cam], lists["test", 1 - q_cam]
    meta = {"protocol": f"regdb-{direction}-trial-{t}", "trial": t, "direction": direction,
            "query_modality": "colour" if q_cam == 0 else "infrared"}
    return TrackletSet(train, query, gallery, "regdb", 2, root=root, meta=meta)
