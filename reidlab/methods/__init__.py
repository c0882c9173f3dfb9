"""Methods (one module per paper), registered by name in ``METHODS``.

``build_method(cfg, train_tracklets, num_cameras)`` builds ``METHODS[cfg.method]``.
"""

from __future__ import annotations

from reidlab.errors import ConfigError
# importing the modules registers the methods
from reidlab.methods import calr, cap, cawcl, padal, pirid, supervised, xmodal  # noqa: F401
from reidlab.methods.base import METHODS, Method, StepOutput, register


def build_method(cfg, train_tracklets, num_cameras: int, source=None) -> Method:
    """The method named ``cfg.method`` for these training tracklets and cameras."""
    if cfg.method not in METHODS:
        raise ConfigError(f"unknown method {cfg.method!r}; expected one of {sorted(METHODS)}")
    if source:
        return METHODS[cfg.method](cfg, list(train_tracklets), int(num_cameras),
                                   source=list(source))
    return METHODS[cfg.method](cfg, list(train_tracklets), int(num_cameras))


__all__ = ["METHODS", "Method", "StepOutput", "build_method", "register"]
