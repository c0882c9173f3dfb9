"""Typed training configuration. ``TrainConfig`` holds everything needed to reproduce a run.

Presets fill in sizes for a use case; explicit arguments override them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from reidlab.errors import ConfigError


@dataclass
class TrainConfig:
    # data
    dataset: str = "data/synthcams"  # dataset root folder
    dataset_format: str = "mars"  # a name from reidlab.data.dataset_names()
    dataset_options: dict = field(default_factory=dict)  # e.g. {"protocol": "official"}
    height: int = 128
    width: int = 64
    clips_per_tracklet: int = 1  # N clips drawn per tracklet per epoch
    clip_mode: str = "interleaved"  # interleaved (each clip spans the tracklet) | segments
    frames_per_clip: int = 4  # frames sampled from equal chunks of the tracklet
    batch_size: int = 32  # clips per batch
    num_workers: int = 0
    sampler: str = "random"  # random | pk (P groups x num_instances) | camera (balanced)
    num_instances: int = 4  # items per group in a P×K batch (the K of P×K; PAM parts: K)
    hflip: bool = True  # random horizontal flip (one decision per clip)
    crop_pad: int = 0  # random crop after zero padding by this many pixels (0: off)
    eval_frames: int = 0  # frames per tracklet at feature extraction (0: all), evenly spaced
    # unsupervised domain adaptation: a labelled source dataset trained beside the target
    source: str | None = None  # source dataset root (None: no source)
    source_format: str = "mars"
    source_options: dict = field(default_factory=dict)
    # model
    method: str = "padal_id"
    options: dict = field(default_factory=dict)  # the method's own options (its Options class)
    backbone: str = "effnet_lite0"  # effnet_lite0 | resnet18 | resnet50 | tiny
    pretrained: bool = True  # ImageNet weights (packaged for effnet_lite0)
    last_stride: int = 1  # 1 keeps more rows in X (8x4 at 128x64 for resnet/effnet)
    freeze_stages: int = 0  # first N (0-3) backbone pieces frozen: no gradient, fixed BN stats
    # optimisation
    epochs: int = 10
    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    lr_step: int = 40  # epochs between lr decays
    lr_gamma: float = 0.1
    warmup_epochs: int = 0  # linear learning-rate warm-up over the first epochs (0: none)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # mixed precision when on CUDA
    eval_bf16: bool = False  # CPU feature extraction under bfloat16 autocast (docs/training.md)
    channels_last: bool = True  # NHWC weights and maps: 2-3x faster convolutions on CPU
    decode_on_device: bool = False  # feature extraction decodes JPEG frames on the GPU (nvJPEG)
    eval_every: int = 0  # epochs between evaluations (0: only at the end)
    steps_per_epoch: int = 0  # at most this many batches per epoch (0: all); a step-matched budget
    log_every: int = 1  # steps between metrics.jsonl step records
    preset: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __getattr__(self, name: str):
        """A method option read like a field (``cfg.K``, ``cfg.eps``): its value in
        ``options``, else the default of the method's ``Options`` dataclass."""
        if name.startswith("__") or name in ("options", "method"):
            raise AttributeError(name)
        opts = self.__dict__.get("options") or {}
        if name in opts:
            return opts[name]
        f = option_field(self.__dict__.get("method"), name)
        if f is None:
            raise AttributeError(f"TrainConfig has no field and method "
                                 f"{self.__dict__.get('method')!r} no option {name!r}")
        return f.default_factory() if f.default is dataclasses.MISSING else f.default

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A config from a dict; keys that are options of the method go into ``options``
        (run stores before per-method options had PADAL's options at the top level)."""
        names = {f.name for f in dataclasses.fields(cls)}
        d = dict(d)
        options = dict(d.get("options") or {})
        method = d.get("method", cls.method)
        for key in sorted(set(d) - names):
            if option_field(method, key) is not None:
                options.setdefault(key, d.pop(key))
            elif key in LEGACY_OPTION_KEYS:
                d.pop(key)  # a PADAL-era default that this method never read
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; expected a subset of "
                              f"{sorted(names)} or options of method {method!r}")
        # every option of the method is stored, defaults included: a run stays reproducible
        # when a default changes later
        d["options"] = {**option_defaults(method), **options}
        return cls(**d)


# Keys that were flat TrainConfig fields before each method had its own options (PADAL's).
LEGACY_OPTION_KEYS = ("K", "parts", "lam", "partial_domains", "fragment_rate", "adv_loss",
                      "lam_schedule", "label_smoothing", "disc_hidden", "disc_lr_mult",
                      "pam_hidden", "kmeans_iters")


def option_field(method: str | None, name: str) -> dataclasses.Field | None:
    """The field ``name`` of ``method``'s Options dataclass, or None."""
    from reidlab.methods import METHODS

    cls = getattr(METHODS.get(method), "Options", None)
    if cls is None:
        return None
    return next((f for f in dataclasses.fields(cls) if f.name == name), None)


def option_defaults(method: str | None) -> dict:
    """The default value of every option of ``method`` (``{}`` without an Options class)."""
    from reidlab.methods import METHODS

    cls = getattr(METHODS.get(method), "Options", None)
    return dataclasses.asdict(cls()) if cls is not None else {}


def flat_config(config: dict) -> dict:
    """A stored config dict with the method's options at the top level (for tables)."""
    return {**{k: v for k, v in config.items() if k != "options"},
            **(config.get("options") or {})}


# Presets: ``quick`` finishes on the default SynthCams in about 4 minutes on a 2-core CPU;
# ``quick128`` is the quick preset before 2026-12-03 (128x64, float32 extraction), kept so that
# the results in bench/results made with it can be reproduced; ``paper`` uses the paper's
# settings (224x112, ResNet-50) for GPU users; ``test`` is tiny.
QUICK_128 = dict(backbone="effnet_lite0", pretrained=True, height=128, width=64, epochs=8,
                 batch_size=32, frames_per_clip=4, clips_per_tracklet=1, eval_frames=8)
PRESETS: dict[str, dict] = {
    "test": dict(backbone="tiny", pretrained=False, height=32, width=16, epochs=2,
                 batch_size=8, frames_per_clip=2),
    # quick: see docs/training.md for the arithmetic (536 SynthCams train tracklets → 16
    # batches × 32 clips × 4 frames = 2048 images/epoch; 8 epochs + 2 evaluations) and the
    # measurements behind 96×48 with bfloat16 extraction (half the time of 128×64, the same
    # rank-1 within the seeds' spread: bench/results/quick_preset.md and
    # quick_preset_resolution_s2.md).
    "quick": {**QUICK_128, "height": 96, "width": 48, "eval_bf16": True},
    "quick128": QUICK_128,
    "paper": dict(backbone="resnet50", pretrained=True, height=224, width=112, epochs=60,
                  batch_size=32, frames_per_clip=8, lr_step=40),
}


def make_config(preset: str | None = None, **overrides) -> TrainConfig:
    """A config from a preset plus explicit overrides (``None`` values are ignored)."""
    values: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
        values.update(PRESETS[preset])
        values["preset"] = preset
    explicit = {k: v for k, v in overrides.items() if v is not None}
    method = explicit.get("method", TrainConfig.method)
    values.update(method_config_defaults(method))
    options = dict(explicit.pop("options", None) or {})
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in [k for k in explicit if k not in names and option_field(method, k) is not None]:
        options[key] = explicit.pop(key)  # e.g. make_config(method="padal_mp", K=3)
    values.update(explicit)
    values["options"] = options
    cfg = TrainConfig.from_dict(values)
    from reidlab.methods import METHODS

    if cfg.method in METHODS:  # a bad option value is an error now, not at the run's start
        opts = METHODS[cfg.method].parse_options(cfg.options)
        if opts is not None:  # stored as their declared types ("0" from --opt → 0.0)
            cfg.options = {k: getattr(opts, k) for k in cfg.options}
    return cfg


def method_config_defaults(method: str) -> dict:
    """The training settings a method's paper prescribes (``Method.config_defaults``, e.g.
    CAWCL's 2 clips cut as successive segments and Adam 3e-4); a preset gives way to them and
    explicit arguments override them."""
    from reidlab.methods import METHODS

    cls = METHODS.get(method)
    return dict(getattr(cls, "config_defaults", {}) or {}) if cls is not None else {}
