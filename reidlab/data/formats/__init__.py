"""Dataset readers, one module per on-disk layout, registered by name in ``DATASETS``.

A reader is ``read(root: Path, **options) -> TrackletSet``. It checks the layout, never opens
every image, and raises :class:`reidlab.errors.DatasetError` naming the path and what was
expected when the layout is wrong.
"""

from __future__ import annotations

from typing import Callable

from reidlab.data.tracklets import TrackletSet

DATASETS: dict[str, Callable[..., TrackletSet]] = {}


def register(name: str):
    def deco(fn):
        DATASETS[name] = fn
        return fn

    return deco
