"""CUHK03 (Li et al., CVPR 2014): 1467 people, five camera pairs, labelled and detected boxes.

Two forms are read. The release (``root`` holds ``cuhk-03.mat``, or ``cuhk03_release/`` holding
it, and the new-protocol files)::

    root/cuhk03_release/cuhk-03.mat      MATLAB v7.3 (HDF5): 'labeled', 'detected' (one cell per
                                         camera pair, each people × 10 images; images 1-5 view 1,
                                         6-10 view 2; empty cells where a view has fewer),
                                         'testsets' (20 classic test sets of [pair, person] rows)
    root/cuhk03_new_protocol_config_labeled.mat     Zhong et al., CVPR 2017 (767 / 700 people):
    root/cuhk03_new_protocol_config_detected.mat    train_idx, query_idx, gallery_idx (1-based
                                         rows of filelist), labels, filelist, camId

and torchreid's extracted layout::

    root/images_labeled/  root/images_detected/    {pair}_{person:03d}_{view}_{image:02d}.png
    root/splits_new_{labeled,detected}.json        [{"train": [[path, pid, camid], ...],
    root/splits_classic_{labeled,detected}.json      "query": [...], "gallery": [...]}, ...]

The first time a kind of image is needed and ``images_<kind>/`` is missing, the images are
extracted from ``cuhk-03.mat`` into it, with a progress bar, under the same names torchreid
uses. The extraction writes into a temporary folder renamed to ``images_<kind>/`` when complete,
so a killed extraction leaves no ``images_<kind>/`` and is redone (its leftovers removed).

Options:

- ``images``: ``"detected"`` (default, the harder and more cited setting) or ``"labeled"``.
- ``protocol``: ``"new"`` (default; one split of 767 training / 700 test people, query and
  gallery as the config file lists them, evaluated like Market-1501) or ``"classic"`` (the 20
  random splits of the release, 1367 training / 100 test people; ``split`` 0..19 picks one;
  query = view-1 images of the test people, evaluated single-shot against ``trials`` (10)
  galleries of one view-2 image per person drawn with ``trial_seed``, as CUHK01).

Split sources, first found: new — ``cuhk03_new_protocol_config_<kind>.mat``, then
``splits_new_<kind>.json``; classic — ``testsets`` of ``cuhk-03.mat``, then
``splits_classic_<kind>.json``. Paths inside torchreid's json files are read by their file name
only (they hold the absolute paths of the machine that wrote them).

Identities and cameras: pid = the person's number counted over the pairs in order (pair 1's
people first), i.e. 1..1467 on the full release, whatever the split source; camid = 2·(pair−1)
+ (view−1), ten camera views (the release does not say which of its six physical cameras each
view is). Each person is seen in one pair only, so the evaluation's same-person-same-camera
rule is the same as with torchreid's view-only camids.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

from reidlab.data.formats import register
from reidlab.data.formats.common import child_paths, list_dir, require_dir
from reidlab.data.tracklets import Tracklet, TrackletSet
from reidlab.errors import ConfigError, DatasetError

MAT_NAME = "cuhk-03.mat"
KINDS = ("detected", "labeled")
NUM_CAMERAS = 10
_NAME = re.compile(r"([1-9])_(\d{3})_([12])_(\d{2})\.png")
_EXAMPLE = "1_001_1_01.png ({pair}_{person:03d}_{view}_{image:02d}.png)"
_PARTIAL = ".partial-"


# ----------------------------------------------------------------------------- the .mat
def find_mat(root: Path) -> Path | None:
    for cand in (root / "cuhk03_release" / MAT_NAME, root / MAT_NAME):
        if cand.is_file():
            return cand
    return None


def _open_h5(path: Path):
    try:
        import h5py
    except ImportError:  # pragma: no cover - pinned in requirements.txt
        raise ConfigError("cuhk03: reading cuhk-03.mat (MATLAB v7.3) needs h5py "
                          "(pip install h5py)") from None
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise DatasetError(path, "the CUHK03 release cuhk-03.mat (MATLAB v7.3 / HDF5)",
                           f"unreadable ({err})") from None


def _cell_refs(f, key: str, path: Path, expected: str) -> np.ndarray:
    import h5py

    if key not in f:
        raise DatasetError(path, f"a variable '{key}' ({expected})",
                           f"no such variable (it holds {sorted(f.keys())})")
    ds = f[key]
    if not isinstance(ds, h5py.Dataset) or ds.dtype != h5py.ref_dtype:
        raise DatasetError(path, f"'{key}' to be a MATLAB cell array ({expected})",
                           f"a {type(ds).__name__} of {getattr(ds, 'dtype', '?')}")
    return np.asarray(ds[()]).ravel()


def _stale_partials(parent: Path, name: str) -> None:
    """Remove leftovers of killed extractions (a process that no longer runs)."""
    for p in parent.glob(f".{name}{_PARTIAL}*"):
        pid = p.name.rsplit("-", 1)[-1]
        alive = False
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
                alive = True
            except (ProcessLookupError, PermissionError, OSError):
                alive = False
        if not alive:
            shutil.rmtree(p, ignore_errors=True)


def extract_images(mat_path: Path, kind: str, dest: Path, progress: bool = True) -> Path:
    """Write every ``kind`` image of ``cuhk-03.mat`` as ``dest/{pair}_{person:03d}_{view}_
    {image:02d}.png``; atomic: ``dest`` appears only when complete."""
    from PIL import Image
    from tqdm import tqdm

    parent = dest.parent
    if not os.access(parent, os.W_OK):
        raise DatasetError(parent, f"a writable dataset folder to extract {dest.name}/ into "
                           f"from {mat_path.name}", "a read-only folder")
    _stale_partials(parent, dest.name)
    tmp = parent / f".{dest.name}{_PARTIAL}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    expected = "one cell per camera pair, each a people × 10 cell of images"
    try:
        with _open_h5(mat_path) as f:
            pair_refs = _cell_refs(f, kind, mat_path, expected)
            pairs = []
            for i, ref in enumerate(pair_refs, 1):
                cells = np.asarray(f[ref][()])  # HDF5 holds MATLAB's people × 10 as 10 × people
                if cells.ndim != 2 or cells.shape[0] != 10 or cells.dtype != object:
                    raise DatasetError(mat_path, f"'{kind}' pair {i}: a people × 10 cell array",
                                       f"shape {cells.shape[::-1]}")
                pairs.append(cells.T)
            total = sum(len(c) for c in pairs)
            bar = tqdm(total=total, unit="person", disable=not progress,
                       desc=f"CUHK03: extracting {kind} images from {mat_path.name}")
            for pair, cells in enumerate(pairs, 1):
                for person, row in enumerate(cells, 1):
                    written = 0
                    for image, ref in enumerate(row, 1):
                        img = np.asarray(f[ref][()])
                        if img.ndim != 3 or img.size == 0:
                            continue  # an empty cell: this view has fewer images
                        img = img.T  # MATLAB H × W × 3 stored as 3 × W × H
                        if img.shape[2] != 3 or img.dtype != np.uint8:
                            raise DatasetError(mat_path, f"'{kind}' pair {pair} person {person} "
                                               f"image {image}: an H × W × 3 uint8 image",
                                               f"shape {img.shape}, {img.dtype}")
                        view = 1 if image <= 5 else 2
                        Image.fromarray(np.ascontiguousarray(img)).save(
                            tmp / f"{pair}_{person:03d}_{view}_{image:02d}.png")
                        written += 1
                    if not written:
                        raise DatasetError(mat_path, f"'{kind}' pair {pair} person {person}: "
                                           "at least one image", "ten empty cells")
                    bar.update(1)
            bar.close()
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.is_dir():  # not another process that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _classic_testsets_from_mat(mat_path: Path) -> list[set[tuple[int, int]]]:
    with _open_h5(mat_path) as f:
        refs = _cell_refs(f, "testsets", mat_path, "the 20 classic test sets of [pair, person] "
                          "rows")
        out = []
        for k, ref in enumerate(refs):
            rows = np.asarray(f[ref][()]).T  # MATLAB n × 2
            if rows.ndim != 2 or rows.shape[1] != 2:
                raise DatasetError(mat_path, f"testsets cell {k + 1}: rows of [pair, person]",
                                   f"shape {rows.shape}")
            out.append({(int(a), int(b)) for a, b in rows})
    return out


# ----------------------------------------------------------------------------- images
def _read_images(folder: Path) -> dict[str, tuple[int, int, int]]:
    """file name → (pair, person, view) of an images_<kind>/ folder."""
    out = {}
    for name in list_dir(folder, dirs=False):
        if not name.lower().endswith(".png"):
            continue
        m = _NAME.fullmatch(name)
        if m is None:
            raise DatasetError(folder / name, f"a CUHK03 image named like {_EXAMPLE}",
                               repr(name))
        out[name] = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if not out:
        raise DatasetError(folder, f"CUHK03 images named like {_EXAMPLE}", "no .png files")
    return out


def _person_ids(images: dict[str, tuple[int, int, int]]) -> dict[int, int]:
    """pair → the number of people counted before it (pid = offset + person)."""
    most: dict[int, int] = {}
    for pair, person, _ in images.values():
        most[pair] = max(most.get(pair, 0), person)
    offsets, total = {}, 0
    for pair in sorted(most):
        offsets[pair] = total
        total += most[pair]
    return offsets


# ----------------------------------------------------------------------------- split sources
def _mat_str(item) -> str:
    a = np.asarray(item)
    while a.dtype == object and a.size == 1:
        a = np.asarray(a.ravel()[0])
    return str(a.ravel()[0]) if a.size else ""


def _new_from_mat(path: Path) -> tuple[dict[str, list[str]], list]:
    """(split → file names, (name, label) pairs) of a cuhk03_new_protocol_config_*.mat."""
    import scipy.io

    keys = ["train_idx", "query_idx", "gallery_idx", "labels", "filelist"]
    try:
        data = scipy.io.loadmat(str(path), variable_names=keys)
    except Exception as err:  # scipy raises ValueError/TypeError/OSError on garbage
        raise DatasetError(path, "a MATLAB .mat file with " + ", ".join(keys),
                           f"unreadable ({err})") from None
    for k in keys:
        if k not in data:
            raise DatasetError(path, f"a variable named '{k}'", "no such variable")
    files = [_mat_str(x) for x in np.asarray(data["filelist"]).ravel()]
    labels = np.asarray(data["labels"]).ravel()
    if len(labels) != len(files):
        raise DatasetError(path, "as many labels as filelist entries",
                           f"{len(labels)} labels, {len(files)} files")
    out = {}
    for split in ("train", "query", "gallery"):
        idx = np.asarray(data[f"{split}_idx"]).ravel()
        if not np.issubdtype(idx.dtype, np.number) or not np.all(idx == np.round(idx)):
            raise DatasetError(path, f"'{split}_idx': integer rows of filelist", str(idx.dtype))
        idx = idx.astype(np.int64)
        if idx.size == 0:
            raise DatasetError(path, f"'{split}_idx': at least one row", "none")
        if idx.min() < 1 or idx.max() > len(files):
            raise DatasetError(path, f"'{split}_idx': rows 1..{len(files)} of filelist",
                               f"values {idx.min()}..{idx.max()}")
        out[split] = [files[i - 1] for i in idx]
    return out, list(zip(files, labels.tolist()))


def _json_splits(path: Path) -> list[dict[str, list[str]]]:
    what = 'a JSON list of {"train": [[path, pid, camid], ...], "query": ..., "gallery": ...}'
    try:
        obj = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise DatasetError(path, what, f"invalid JSON ({err})") from None
    if not isinstance(obj, list) or not obj:
        raise DatasetError(path, what, type(obj).__name__)
    out = []
    for k, entry in enumerate(obj):
        if not isinstance(entry, dict):
            raise DatasetError(path, f"split {k}: {what}", repr(entry)[:80])
        s = {}
        for part in ("train", "query", "gallery"):
            items = entry.get(part)
            if not isinstance(items, list) or not all(
                    isinstance(i, (list, tuple)) and i and isinstance(i[0], str) for i in items):
                raise DatasetError(path, f"split {k} {part}: a list of [path, pid, camid]",
                                   repr(items)[:80])
            s[part] = [re.split(r"[/\\]", i[0])[-1] for i in items]
        out.append(s)
    return out


def _check_listed(names, images: dict, folder: Path, source: Path) -> None:
    for n in names:
        if n not in images:
            raise DatasetError(folder / n, f"the image listed in {source.name}", "no such file")


# ----------------------------------------------------------------------------- the reader
@register("cuhk03")
def read(root: Path, images: str = "detected", protocol: str = "new", split: int = 0,
         trials: int = 10, trial_seed: int = 0, progress: bool = True) -> TrackletSet:
    """Read CUHK03; see the module docstring."""
    root = Path(root)
    if images not in KINDS:
        raise ConfigError(f"cuhk03: images={images!r}; expected 'detected' or 'labeled'")
    if protocol not in ("new", "classic"):
        raise ConfigError(f"cuhk03: protocol={protocol!r}; expected 'new' (767/700, Zhong et "
                          "al. 2017) or 'classic' (20 splits of 1367/100)")
    require_dir(root, "a CUHK03 folder with cuhk03_release/cuhk-03.mat or images_detected/")
    mat = find_mat(root)
    img_dir = root / f"images_{images}"
    # the split source is found before anything is extracted or written
    if protocol == "new":
        cfg = root / f"cuhk03_new_protocol_config_{images}.mat"
        js = root / f"splits_new_{images}.json"
        if not cfg.is_file() and not js.is_file():
            raise DatasetError(cfg, f"the new-protocol split file (or torchreid's {js.name})",
                               "no such file")
    else:
        js = root / f"splits_classic_{images}.json"
        if mat is None and not js.is_file():
            raise DatasetError(root / "cuhk03_release" / MAT_NAME, f"the classic test sets: "
                               f"{MAT_NAME} ('testsets') or torchreid's {js.name}", "neither")
    if not img_dir.is_dir():
        if mat is None:
            raise DatasetError(img_dir, f"the CUHK03 images_{images}/ folder, or "
                               f"cuhk03_release/{MAT_NAME} to extract it from", "neither")
        extract_images(mat, images, img_dir, progress=progress)
    names = _read_images(img_dir)
    offsets = _person_ids(names)

    def pid_of(n: str) -> int:
        pair, person, _ = names[n]
        return offsets[pair] + person

    def cam_of(n: str) -> int:
        pair, _, view = names[n]
        return 2 * (pair - 1) + view - 1

    def tracks(ns) -> list[Tracklet]:
        return [Tracklet(child_paths(img_dir, (n,)), pid_of(n), cam_of(n), i)
                for i, n in enumerate(ns)]

    if protocol == "new":
        if cfg.is_file():
            lists, labelled = _new_from_mat(cfg)
            source = cfg
            _check_listed((n for n, _ in labelled), names, img_dir, cfg)
            seen: dict = {}
            for n, lab in labelled:  # one label per person, one person per label
                key = (names[n][0], names[n][1])
                if seen.setdefault(("l", lab), key) != key or \
                        seen.setdefault(("p", key), lab) != lab:
                    raise DatasetError(cfg, f"one label per person in 'labels' (filelist entry "
                                       f"{n})", f"label {lab} shared or split across people")
        else:
            lists, source = _json_splits(js)[0], js
        for part in ("train", "query", "gallery"):
            _check_listed(lists[part], names, img_dir, source)
        train, query, gallery = (tracks(lists[p]) for p in ("train", "query", "gallery"))
        overlap = sorted({t.pid for t in train} & {t.pid for t in query})
        if overlap:
            raise DatasetError(source, "test people disjoint from the training people",
                               f"also in training: pid {overlap[:5]}")
        meta = {"protocol": f"cuhk03-new-{images}", "images": images, "split_file": str(source)}
        return TrackletSet(train, query, gallery, "cuhk03", NUM_CAMERAS, root=root, meta=meta)

    # classic: 20 test sets of 100 people
    if mat is not None:
        source = mat
        testsets = _classic_testsets_from_mat(mat)
    else:
        source = js
        testsets = []
        for s in _json_splits(js):
            _check_listed(s["query"] + s["gallery"], names, img_dir, js)
            testsets.append({names[n][:2] for n in s["query"] + s["gallery"]})
    if not isinstance(split, int) or not 0 <= split < len(testsets):
        raise ConfigError(f"cuhk03: split={split!r}; expected 0..{len(testsets) - 1} ({source} "
                          f"holds {len(testsets)} classic splits)")
    test = testsets[split]
    present = {v[:2] for v in names.values()}
    missing = sorted(test - present)
    if missing:
        raise DatasetError(source, f"classic split {split}: people with images in "
                           f"{img_dir.name}/", f"none of [pair, person] {missing[:3]}")
    order = sorted(names, key=lambda n: (names[n], n))
    train_n = [n for n in order if names[n][:2] not in test]
    query_n = [n for n in order if names[n][:2] in test and names[n][2] == 1]
    gallery_n = [n for n in order if names[n][:2] in test and names[n][2] == 2]
    from reidlab.data.formats.cuhk01 import single_shot_set

    def items(ns):
        return [(img_dir, n, pid_of(n), cam_of(n)) for n in ns]

    meta = {"protocol": f"cuhk03-classic-{images}-split-{split}-single-shot-{int(trials)}-trials",
            "images": images, "split": split, "num_splits": len(testsets),
            "split_file": str(source)}
    return single_shot_set("cuhk03", root, items(train_n), items(query_n), items(gallery_n),
                           num_cameras=NUM_CAMERAS, gallery_cams=tuple(range(1, 10, 2)),
                           shots=1, trials=trials, trial_seed=trial_seed, meta=meta)
