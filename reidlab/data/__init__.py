"""Data: the tracklet model, dataset readers, sampling and loading (the SynthCams generator,
which writes datasets these readers read, is the package above: :mod:`reidlab.synth`)."""

from __future__ import annotations

import importlib
from pathlib import Path

from reidlab.data.tracklets import Tracklet, TrackletSet
from reidlab.errors import DatasetError

# name -> module under reidlab.data.formats that registers it (imported lazily)
_FORMAT_MODULES = {
    "mars": "mars",
    "prid2011": "prid",
    "ilidsvid": "ilids",
    "market1501": "market",
    "dukemtmc": "market",
    "msmt17": "market",
    "folder": "folder",
    "sysumm01": "sysu",
    "regdb": "regdb",
    "cuhk03": "cuhk03",
    "cuhk01": "cuhk01",
    "viper": "viper",
}


def dataset_names() -> list[str]:
    return sorted(_FORMAT_MODULES)


def load_dataset(name: str, root: str | Path, **options) -> TrackletSet:
    """Read a dataset in one of the supported layouts (see ``dataset_names()``).
    ``pseudo_infrared="half"`` (or camera numbers "1,3") turns those cameras' tracklets into
    pseudo-infrared ones (their red channel), for any layout (the infrared paper's Market-1501
    trick)."""
    from reidlab.data.formats import DATASETS

    key = name.lower().replace("-", "").replace("_", "")
    if key not in _FORMAT_MODULES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {dataset_names()}")
    importlib.import_module(f"reidlab.data.formats.{_FORMAT_MODULES[key]}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(root, f"a dataset folder in the {key} layout", "no such folder")
    pseudo = options.pop("pseudo_infrared", None)  # any layout: some cameras as red channel
    data = DATASETS[key](root, **options)
    if pseudo not in (None, "", False):
        from reidlab.data.tracklets import pseudo_infrared

        data = pseudo_infrared(data, pseudo)
    return data


__all__ = ["Tracklet", "TrackletSet", "load_dataset", "dataset_names", "DatasetError"]
