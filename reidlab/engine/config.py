"""Typed training configuration. ``TrainConfig`` holds everything needed to reproduce a run.

Presets fill in sizes for a use case; explicit arguments override them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reidlab.errors import ConfigError
from reidlab.schema import coerce, option


def _formats():
    from reidlab.data import dataset_names

    return dataset_names()


def _samplers():
    from reidlab.data.sampling import SAMPLERS

    return SAMPLERS


def _clip_modes():
    from reidlab.data.sampling import CLIP_MODES

    return CLIP_MODES


def _backbones():
    from reidlab.models.backbones import BACKBONE_NAMES

    return BACKBONE_NAMES


def _methods():
    from reidlab.methods import METHODS

    return sorted(METHODS)


def _presets():
    return sorted(PRESETS)


@dataclass
class TrainConfig:
    """Every training setting, declared once: the CLI flags of ``reidlab train``/``sweep``,
    the app's Train form, the sweep's ``--param`` and the reading of KEY=VALUE strings are
    generated from these fields (their help, choices and flag names)."""

    # data
    dataset: str = option("data/synthcams", "dataset root folder (default: SynthCams at "
                          "data/synthcams, generated on first use)", form=False)
    dataset_format: str = option("mars", "dataset layout (docs/datasets.md)", _formats,
                                 flag="--format")
    dataset_options: dict = option({}, "reader options, e.g. sysumm01: mode=indoor shots=10; "
                                   "regdb: trial=3 direction=t2v; prid2011: split=2",
                                   flag="--data-opt", form=False)
    height: int = option(128, "input height in pixels")
    width: int = option(64, "input width in pixels")
    clips_per_tracklet: int = option(1, "clips drawn per tracklet per epoch", flag="--clips")
    clip_mode: str = option("interleaved", "how the clips of a tracklet differ: interleaved "
                            "(each spans the tracklet) or segments (successive parts, CAWCL)",
                            _clip_modes)
    frames_per_clip: int = option(4, "frames per clip, sampled from equal chunks of the "
                                  "tracklet", flag="--frames")
    batch_size: int = option(32, "clips per batch")
    num_workers: int = option(0, "data-loading processes", flag="--workers", form=False)
    sampler: str = option("random", "batch sampler: random, pk (P groups × num_instances), "
                          "pk_cam (P×K with each group's K items from as many cameras as it "
                          "has) or camera (balanced)", _samplers)
    num_instances: int = option(4, "the K of P×K sampling: items per group in a batch (PAM "
                                "parts: --K)")
    hflip: bool = option(True, "random horizontal flip (one decision per clip)")
    crop_pad: int = option(0, "random crop after zero padding by this many pixels (0: off)")
    random_erase: float = option(0.0, "random erasing probability per clip (one box on all "
                                 "its frames, 2-40 percent of the area, mean-value fill; "
                                 "0: off)")
    eval_frames: int = option(0, "frames per tracklet for features, evenly spaced (0: all)")
    # unsupervised domain adaptation: a labelled source dataset trained beside the target
    source: str | None = option(None, "domain adaptation: a labelled source dataset folder "
                                "trained beside the target (cawcl)", form=False)
    source_format: str = option("mars", "layout of --source", _formats)
    source_options: dict = option({}, "reader options of --source", flag="--source-opt",
                                  form=False)
    # model
    method: str = option("padal_id", "the method (docs/methods.md)", _methods)
    options: dict = option({}, "the method's own options (its Options class)", flag="--opt",
                           form=False)
    backbone: str = option("effnet_lite0", "backbone network", _backbones)
    pretrained: bool = option(True, "ImageNet weights (--no-pretrained: random "
                              "initialisation)")
    last_stride: int = option(1, "stride of the backbone's last stage (1 keeps 8×4 maps at "
                              "128×64)", (1, 2))
    freeze_stages: int = option(0, "freeze the backbone's first N stages (ImageNet weights "
                                "and BatchNorm statistics kept; a faster step on CPU)",
                                (0, 1, 2, 3))
    camera_bn: bool = option(False, "camera-specific BN-neck: per-camera statistics in "
                             "training and at test time (each camera's own, from its test "
                             "clips); methods: cap")
    # optimisation
    epochs: int = option(10, "training epochs")
    lr: float = option(3.5e-4, "learning rate (Adam)")
    weight_decay: float = option(5e-4, "weight decay")
    lr_step: int = option(40, "epochs between learning-rate decays")
    lr_gamma: float = option(0.1, "learning-rate decay factor")
    warmup_epochs: int = option(0, "linear learning-rate warm-up over the first epochs "
                                "(0: none)")
    seed: int = option(0, "random seed (runs that differ only in it are seeds of one row)")
    device: str = option("auto", "where to train", ("auto", "cpu", "cuda"), form=False)
    amp: bool = option(True, "mixed precision when on CUDA", form=False)
    eval_bf16: bool = option(False, "CPU feature extraction (evaluations, label updates) "
                             "under bfloat16 autocast: faster on CPUs with AVX-512-BF16/AMX, "
                             "features within a cosine of 0.997 of float32 (on in the quick "
                             "preset; skipped with a warning on CPUs without native bfloat16)")
    channels_last: bool = option(True, "NHWC weights and maps (2-3× faster convolutions on "
                                 "CPU)", form=False)
    decode_on_device: bool = option(False, "feature extraction decodes JPEG frames on the GPU "
                                    "(torchvision nvJPEG) instead of in the data-loading "
                                    "processes (no effect on CPU)", form=False)
    eval_every: int = option(0, "epochs between evaluations (0: only at the end)")
    eval_stage_end: bool = option(True, "evaluate when a stage of a multi-stage method ends "
                                  "(PIRID's intra-camera stage), logged as which=stage")
    steps_per_epoch: int = option(0, "at most this many batches per epoch (0: all): matches "
                                  "the step budget of settings whose epochs differ in length")
    iters: int = option(0, "exactly this many batches per epoch (0: one pass of the "
                        "sampler): further sampler passes, freshly drawn, until full — the "
                        "fixed-length epoch (IterLoader, --iters) of the SpCL and CALR "
                        "code, where an epoch does not shrink with the samples the clusters "
                        "keep")
    log_every: int = option(1, "steps between metrics.jsonl step records", form=False)
    preset: str | None = option(None, "quick (CPU, ~4 min on SynthCams: 96×48, bf16 "
                                "extraction), quick128 (the quick preset before 2026-12-03: "
                                "128×64), paper (ResNet-50 224×112, for GPUs), test (tiny)",
                                _presets, form=False)

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
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for k in [k for k in values if k in fields and k != "options"]:
        values[k] = coerce("setting", fields[k], values[k])  # types and choices, here
    values["options"] = options
    cfg = TrainConfig.from_dict(values)
    from reidlab.methods import METHODS

    check_settings(cfg)
    if cfg.method in METHODS:  # a bad option value is an error now, not at the run's start
        opts = METHODS[cfg.method].parse_options(cfg.options)
        if opts is not None:  # stored as their declared types ("0" from --opt → 0.0)
            cfg.options = {k: getattr(opts, k) for k in cfg.options}
    return cfg


def setting_applies(name: str, method: str) -> bool:
    """Whether setting ``name`` means anything for ``method`` (the Train form offers only
    those): the method's ``Method.setting_applies`` (e.g. ``camera_bn`` needs a method with a
    camera-specific BN-neck); of an unknown method, only the settings every method reads."""
    from reidlab.methods import METHODS, Method

    return (METHODS.get(method) or Method).setting_applies(name)


def check_settings(cfg: TrainConfig) -> None:
    """Ranges and combinations the field types cannot say, refused before a run starts."""
    from reidlab.methods import METHODS

    if not 0.0 <= float(cfg.random_erase) <= 1.0:
        raise ConfigError(f"setting random_erase={cfg.random_erase}: expected a probability "
                          "from 0 to 1")
    if cfg.sampler not in _samplers():
        raise ConfigError(f"setting sampler: expected one of {list(_samplers())}, got "
                          f"{cfg.sampler!r}")
    if cfg.clip_mode not in _clip_modes():
        raise ConfigError(f"setting clip_mode: expected one of {list(_clip_modes())}, got "
                          f"{cfg.clip_mode!r}")
    if int(cfg.steps_per_epoch) < 0:
        raise ConfigError(f"setting steps_per_epoch={cfg.steps_per_epoch}: expected 0 (all "
                          "batches) or a positive count")
    if int(cfg.iters) < 0:
        raise ConfigError(f"setting iters={cfg.iters}: expected 0 (one sampler pass an epoch) "
                          "or a positive count of batches")
    cls = METHODS.get(cfg.method)
    if cfg.camera_bn and cls is not None and not cls.setting_applies("camera_bn"):
        takers = sorted(m for m, c in METHODS.items() if c.setting_applies("camera_bn"))
        raise ConfigError(f"setting camera_bn: method {cfg.method} has no camera-specific "
                          f"BN-neck (methods that do: {', '.join(takers) or 'none'})")
    if cls is not None:
        cls.check_settings(cfg)


def method_config_defaults(method: str) -> dict:
    """The training settings a method's paper prescribes (``Method.config_defaults``, e.g.
    CAWCL's 2 clips cut as successive segments and Adam 3e-4); a preset gives way to them and
    explicit arguments override them."""
    from reidlab.methods import METHODS

    cls = METHODS.get(method)
    return dict(getattr(cls, "config_defaults", {}) or {}) if cls is not None else {}
