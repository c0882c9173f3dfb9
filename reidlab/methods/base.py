"""The method contract. A method is a composition of a re-ID network, heads, named loss terms
and hooks — never a copy of a training loop. The one trainer (``reidlab.engine.trainer``)
drives every method through this interface, in the spirit of OpenUnReID's runner:

per epoch ``e`` (0-based)::

    stage = method.stage_at(e)            # a new stage: on_stage_start, optimiser rebuilt
    if method.label_update_due(e):        # clustering methods
        feats = <feature pass over method.label_samples()>   (trainer; own frame budget)
        updates = method.update_labels(feats, e)             (trainer logs their quality)
    method.on_epoch_start(e, ctx)         # ctx: reidlab.engine.hooks.HookContext
    for batch in method.epoch_batches(e):  # groups of −1 are never sampled
        out = method.training_step(batch, e); <backward, optimiser step>
        method.after_step(batch, out)      # e.g. memory momentum updates
    method.after_epoch(e, ctx)

State that changes size (memories, pseudo labels, their history) lives in the method's
``get_extra_state`` / ``set_extra_state`` (``torch.nn.Module``'s hooks, so it is inside
``state_dict`` and the checkpoint, and a resumed run continues with the same labels).

Batch format (built by ``reidlab.data.loader``):
    ``clips``  float tensor B×T×3×H×W, normalised with ``method.net.input_norm``
    ``camid``  long B (0-based camera)
    ``index``  long B (position of the tracklet in ``method.train_tracklets``)
    ``clip``   long B (which of the ``clips_per_tracklet`` clips of that tracklet)
    ``domain`` long B (0 target, 1 labelled source of a domain-adaptation run)
    ``pid``    long B (ground-truth identity: unsupervised methods must NOT use it for target
               samples; it exists for diagnostics, supervised baselines and source samples)

Options: a method's own hyper-parameters are a small dataclass ``Options`` (fields with a
``help`` in their metadata, and ``choices`` where the values are a fixed set), filled from
``cfg.options`` and validated by :meth:`Method.parse_options`; the CLI's flags and the app's
Train form are built from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reidlab.data.tracklets import TARGET, Tracklet
from reidlab.errors import ConfigError
from reidlab.schema import coerce, option  # noqa: F401  (option: the methods' field helper)


@dataclass
class StepOutput:
    loss: torch.Tensor  # the scalar to back-propagate (already weighted, GRL inside)
    terms: dict[str, float] = field(default_factory=dict)  # named loss terms, unweighted
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. discriminator accuracy
    extras: dict[str, Any] = field(default_factory=dict)  # for after_step (e.g. features)


@dataclass(frozen=True)
class Stage:
    """A phase of training from epoch ``start`` (0-based) on. Entering a stage rebuilds the
    optimiser (fresh Adam state and learning-rate schedule) from ``param_groups``."""

    name: str
    start: int = 0


@dataclass
class LabelFeatures:
    """The feature pass of a label update: one row per sample of ``method.label_samples()``
    that had a readable frame (``feat`` L2-normalised)."""

    feat: np.ndarray  # n×D float32
    index: np.ndarray  # n, tracklet positions in method.train_tracklets
    clip: np.ndarray  # n, clip (segment) number
    pids: np.ndarray  # ground truth, for quality measures only
    camids: np.ndarray
    frames: list[str]  # a representative frame per sample (thumbnails)


@dataclass
class LabelUpdate:
    """One labelling of the label-update samples: ``labels`` (−1 = outlier) aligned with the
    rows of :class:`LabelFeatures`; ``stats`` are logged as they are; the trainer adds the
    cluster quality against ground truth. CALR-like methods return several (``stage`` local,
    global, refined)."""

    labels: np.ndarray
    stats: dict = field(default_factory=dict)
    stage: str = "global"


def option_fields(options_cls) -> list[dataclasses.Field]:
    return list(dataclasses.fields(options_cls)) if options_cls is not None else []


@dataclass(frozen=True)
class LeaderboardRow:
    """A row of the leaderboard (``bench/leaderboard.py``) that a method trains: ``name`` is
    the row's name, ``kind`` its supervision text (the table's first column), ``options`` and
    ``config`` what it sets beside the preset (method options; TrainConfig settings),
    ``order`` its place in the table (lower first; rows of equal order keep the methods'
    registration order)."""

    name: str
    kind: str
    options: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    order: int = 100


def is_off(value) -> bool:
    """Whether an option value read from a stored config (possibly a string) is False."""
    return value in (False, "false")


class Method(nn.Module):
    """Base class. Subclasses set ``self.net`` (a ``reidlab.models.reid_net.ReIDNet``, built by
    ``build_net(cfg)``) and heads.

    Everything the rest of reidlab knows about a method is read from its class, so a new
    method is one module in ``reidlab/methods/`` (imported by the package's ``__init__``):

    - ``Options`` (its options dataclass: the CLI's ``--opt`` names, the Train form's option
      widgets) and ``config_defaults`` (TrainConfig values its paper prescribes);
    - the traits the app reads through :meth:`traits`: ``adversarial`` (aligns cameras
      adversarially), ``uses_lam`` (reads ``cfg.lam``), ``uses_parts`` (reads ``cfg.K``
      parts), ``clusters`` (re-estimates pseudo labels);
    - what it trains and embeds with: ``accepts_source`` (trains on a labelled source dataset
      beside the target: the Train form's source field, ``--source``), ``supports_camera_bn``
      (reads ``TrainConfig.camera_bn``: see :meth:`setting_applies`), ``takes_modality`` /
      ``takes_camid`` (its ``embed`` takes each clip's modality / camera as a keyword);
    - ``leaderboard_rows`` (its rows of ``bench/leaderboard.py``, :class:`LeaderboardRow`,
      declared on the class itself: see :func:`leaderboard_rows`) and :meth:`variant_tags`
      (the Ablations page's short tags for a run's settings).
    """

    name: str = "base"
    Options: type | None = None
    config_defaults: dict = {}
    adversarial: bool = False
    uses_lam: bool = False
    uses_parts: bool = False
    clusters: bool = False
    normalize_embedding: bool = False
    accepts_source: bool = False
    supports_camera_bn: bool = False
    takes_modality: bool = False
    takes_camid: bool = False
    leaderboard_rows: tuple[LeaderboardRow, ...] = ()

    def __init__(self, cfg, train: list[Tracklet], num_cameras: int,
                 source: list[Tracklet] | None = None):
        super().__init__()
        self.cfg = cfg
        self.num_cameras = num_cameras
        self.opts = self.parse_options(getattr(cfg, "options", None) or {})
        if source and not self.accepts_source:
            raise ConfigError(f"{self.name}: a source dataset was given but this method does not "
                              "train on one (domain adaptation: cawcl)")
        # The list the trainer samples training clips from; ``batch["index"]`` indexes it. A
        # method may transform the dataset's list (padal's fragment-rate study splits
        # tracklets in two; cawcl appends the source tracklets), and the trainer builds its
        # loader from this attribute.
        self.train_tracklets: list[Tracklet] = list(train)
        self.stage: Stage | None = None

    # -- options and traits ----------------------------------------------------------------

    @classmethod
    def parse_options(cls, options: dict):
        """``cls.Options(**options)`` with types checked and unknown names refused."""
        if cls.Options is None:
            if options:
                raise ConfigError(f"{cls.name} takes no method options, got {sorted(options)}")
            return None
        fields = {f.name: f for f in option_fields(cls.Options)}
        unknown = sorted(set(options) - set(fields))
        if unknown:
            raise ConfigError(f"unknown {cls.name} options {unknown}; expected a subset of "
                              f"{sorted(fields)}")
        values = {k: coerce(f"{cls.name} option", fields[k], v) for k, v in options.items()}
        opts = cls.Options(**values)
        check = getattr(opts, "validate", None)
        if check is not None:
            check()
        return opts

    @classmethod
    def traits(cls) -> dict:
        """What the app needs to know about the method without building it."""
        return {"adversarial": bool(cls.adversarial), "uses_lam": bool(cls.uses_lam),
                "uses_parts": bool(cls.uses_parts),
                "clusters": bool(cls.clusters),
                "options": [f.name for f in option_fields(cls.Options)]}

    @classmethod
    def setting_applies(cls, name: str) -> bool:
        """Whether the general training setting ``name`` means anything for this method (the
        Train form offers only those; a run that sets one that does not is refused):
        ``camera_bn`` needs a camera-specific BN-neck (``supports_camera_bn``)."""
        if name == "camera_bn":
            return bool(cls.supports_camera_bn)
        return True

    @classmethod
    def check_settings(cls, cfg) -> None:
        """Combinations of training settings this method cannot run, refused (``ConfigError``)
        by ``make_config`` before a run folder is written. Default: none."""

    @classmethod
    def variant_tags(cls, settings: dict) -> list[str]:
        """Short tags for what sets a run of this method apart from its defaults (the
        Ablations page names a run ``method tag tag ...``). ``settings`` is the run's config
        with its options at the top level, values possibly strings. Default: ``name=value``
        for each option that differs from its default (see :func:`changed_option_tags`);
        a method overrides this with the names its paper uses for its variants."""
        return changed_option_tags(cls.Options, settings)

    # -- stages ----------------------------------------------------------------------------

    def stages(self) -> list[Stage]:
        """The stages of training, by first epoch (default: one stage)."""
        return [Stage("train", 0)]

    def stage_at(self, epoch: int) -> Stage:
        current = None
        for s in sorted(self.stages(), key=lambda s: s.start):
            if s.start <= epoch:
                current = s
        return current or self.stages()[0]

    def on_stage_start(self, stage: Stage, ctx) -> None:
        """Entering ``stage`` (also when a resumed run restores it): switch losses here. It
        must depend only on the stage, never on how often it was called. ``ctx``: the
        trainer's narrow :class:`reidlab.engine.hooks.HookContext` (cfg, device, data, source,
        epoch, step, log, warn)."""
        self.stage = stage

    # -- optimisation ----------------------------------------------------------------------

    def training_step(self, batch: dict, epoch: int) -> StepOutput:
        raise NotImplementedError

    def param_groups(self) -> list[dict]:
        """Optimiser parameter groups for the current stage; a group's ``lr_mult`` scales the
        trainer's learning rate (e.g. faster discriminators)."""
        return [{"params": [p for p in self.parameters() if p.requires_grad]}]

    def after_step(self, batch: dict, out: StepOutput) -> None:
        """After each optimiser step (e.g. memory momentum updates with ``out.extras``)."""

    def on_epoch_start(self, epoch: int, ctx) -> None:
        """Before each epoch's batches (after a label update, if one was due)."""

    def after_epoch(self, epoch: int, ctx) -> dict | None:
        """After each epoch; numbers returned are added to the epoch's metrics record."""
        return None

    # -- sampling --------------------------------------------------------------------------

    def sampler_groups(self, epoch: int) -> Sequence[int] | None:
        """Group of each tracklet of ``train_tracklets`` for this epoch (P×K sampling); −1 =
        not sampled. Default: camera-local identities (camera, pid) — no cross-camera labels."""
        keys: dict = {}
        return [keys.setdefault((t.camid, t.pid), len(keys)) for t in self.train_tracklets]

    def epoch_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        """The ``(tracklet, clip)`` batches of ``epoch`` — a pure function of (seed, epoch)
        and the method's current labels, so a resumed run draws the same batches."""
        from reidlab.data.sampling import epoch_batches

        cfg = self.cfg
        return epoch_batches(cfg.sampler, len(self.train_tracklets), cfg.clips_per_tracklet,
                             cfg.batch_size, cfg.seed, epoch, groups=self.sampler_groups(epoch),
                             camids=[t.camid for t in self.train_tracklets],
                             instances=cfg.num_instances, iters=cfg.iters)

    # -- pseudo labels ---------------------------------------------------------------------

    def label_update_due(self, epoch: int) -> bool:
        """Whether the trainer runs a label update before ``epoch`` (clustering methods)."""
        return False

    def label_samples(self) -> list[tuple[int, int, Tracklet]]:
        """``(tracklet index, clip, frames)`` to embed for a label update (default: every
        target tracklet whole)."""
        return [(i, 0, t) for i, t in enumerate(self.train_tracklets) if t.domain == TARGET]

    def label_frames(self) -> int:
        """Frames per sample in a label update's feature pass (0: all)."""
        return int(getattr(self.cfg, "eval_frames", 0) or 0)

    def update_labels(self, feats: LabelFeatures, epoch: int) -> list[LabelUpdate]:
        raise NotImplementedError(f"{self.name} does not update labels")

    # -- retrieval -------------------------------------------------------------------------

    @torch.no_grad()
    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """Retrieval embedding f for clips B×T×3×H×W (Euclidean distance is used on it);
        ℓ2-normalised when the class sets ``normalize_embedding`` (methods whose losses compare
        cosines, evaluated as their papers do)."""
        f = self.net(clips)["feat"]
        return F.normalize(f.float(), dim=1) if self.normalize_embedding else f


def stack_history(history: list[torch.Tensor]) -> torch.Tensor:
    """A method's label history (one tensor per update, all one length) as one tensor for
    ``get_extra_state``; empty → a 0-element tensor."""
    return torch.stack(history) if history else torch.zeros(0)


def unstack_history(stacked: torch.Tensor | None) -> list[torch.Tensor]:
    """The inverse of :func:`stack_history` (for ``set_extra_state``)."""
    return [row.clone() for row in stacked] if stacked is not None and stacked.numel() else []


def changed_option_tags(options_cls, settings: dict) -> list[str]:
    """``name=value`` for each field of the options dataclass ``options_cls`` whose value in
    ``settings`` differs from its default (e.g. ``cam_norm=standardize``); values are compared
    as text, so a config read back from JSON or KEY=VALUE strings gives the same."""
    tags = []
    for f in option_fields(options_cls):
        if f.name not in settings:
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        value = settings[f.name]
        if _text(value) != _text(default):
            tags.append(f"{f.name}={_text(value)}")
    return tags


def _text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        try:
            return _text(float(value)) if value.strip() else value
        except ValueError:
            return value.lower() if value.lower() in ("true", "false") else value
    return str(value)


METHODS: dict[str, Callable[..., Method]] = {}


def register(name: str):
    """Class decorator: ``METHODS[name] = cls`` (and ``cls.name = name``). A name that is
    already registered is refused, as fast-reid's ``Registry`` does: two modules would
    otherwise silently replace one another."""
    def deco(cls):
        if name in METHODS:
            raise ValueError(f"method {name!r} is already registered (by "
                             f"{METHODS[name].__module__}.{METHODS[name].__qualname__}); "
                             "pick another name, or unregister it first")
        cls.name = name
        METHODS[name] = cls
        return cls

    return deco


def leaderboard_rows() -> list[tuple[str, LeaderboardRow]]:
    """``(method name, row)`` for the ``leaderboard_rows`` of every registered method, by
    ``order`` (then registration and declaration order). Only rows that a class declares
    itself count: a subclass registered under another name does not inherit its parent's
    rows. A row name declared twice is refused."""
    found: list[tuple[str, LeaderboardRow]] = []
    seen: dict[str, str] = {}
    for method, cls in METHODS.items():
        for row in vars(cls).get("leaderboard_rows") or ():
            if row.name in seen:
                raise ValueError(f"leaderboard row {row.name!r} is declared twice (methods "
                                 f"{seen[row.name]!r} and {method!r})")
            seen[row.name] = method
            found.append((method, row))
    return sorted(found, key=lambda r: r[1].order)


def unregister(name: str) -> None:
    """Remove method ``name`` from ``METHODS`` (tests that register a throw-away method)."""
    METHODS.pop(name, None)
