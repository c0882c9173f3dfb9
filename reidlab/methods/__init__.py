"""Methods (one module per paper), registered by name in ``METHODS``.

``build_method(cfg, train_tracklets, num_cameras)`` builds ``METHODS[cfg.method]``. A new
method is one module in this folder: every module here is imported (in name order) when the
package is, which registers its methods, and everything else (the CLI, the Train form, the
Ablations page's tags, the leaderboard's rows) reads the method's class (``base.Method``).
"""

from __future__ import annotations

import importlib
import pkgutil

from reidlab.errors import ConfigError
from reidlab.methods.base import METHODS, LeaderboardRow, Method, StepOutput, \
    leaderboard_rows, register, unregister

# importing the modules registers the methods (calr, cap, cawcl, padal, pirid, supervised,
# xmodal, ... in name order: the order of METHODS)
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")


def build_method(cfg, train_tracklets, num_cameras: int, source=None) -> Method:
    """The method named ``cfg.method`` for these training tracklets and cameras."""
    if cfg.method not in METHODS:
        raise ConfigError(f"unknown method {cfg.method!r}; expected one of {sorted(METHODS)}")
    if source:
        return METHODS[cfg.method](cfg, list(train_tracklets), int(num_cameras),
                                   source=list(source))
    return METHODS[cfg.method](cfg, list(train_tracklets), int(num_cameras))


def variant_name(cfg: dict) -> str | None:
    """A run's method plus the tags that set it apart (the Ablations page): the method class's
    :meth:`Method.variant_tags` for the run's settings (e.g. PAM's strict parts, CAWCL's
    ablations, PIRID's Table 2 variants, options changed from their defaults) and ``UDA`` for
    a source dataset. ``cfg``: a stored config, options nested or flat; None without a
    method."""
    method = cfg.get("method")
    if method is None:
        return None
    cls = METHODS.get(method)
    settings = {**cfg, **(cfg.get("options") or {})}
    tags = cls.variant_tags(settings) if cls is not None else []
    if cfg.get("source"):
        tags = [*tags, "UDA"]
    return " ".join([method, *[tag for tag in tags if tag]])


__all__ = ["METHODS", "LeaderboardRow", "Method", "StepOutput", "build_method",
           "leaderboard_rows", "register", "unregister", "variant_name"]
