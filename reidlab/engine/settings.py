"""A run's settings and their fingerprint: what makes two runs comparable.

Two runs are the *same setting* when everything that changes their result is equal — the
dataset (its folder, format and reader options, and for stored runs its content fingerprint), the source dataset, every
``TrainConfig`` field and every option of the method — except the seed and the fields that only
change how fast or where a run computes (:data:`IGNORED`). Runs of the same setting are seeds
of one row and may be averaged; runs of different settings never are. Every place that reuses or
groups runs (the trainer's ``--resume``, the sweep, bench's tables, the Ablations and Export
pages, the leaderboard) compares :func:`fingerprint`s, and when it refuses it names the
differing settings with :func:`settings_diff`.

Old run stores are read through :meth:`TrainConfig.from_dict`, which fills in the defaults of
settings added later, and the fingerprint leaves out every setting at its declared default
(:func:`settings_hash`), so a run keeps its fingerprint — the one stored in its config.json and
in bench's result tables — when a new option with a neutral default appears.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

# Fields that do not change what a run computes (only where or how fast), and the seed.
IGNORED = ("seed", "device", "num_workers", "log_every", "amp", "decode_on_device",
           "channels_last", "eval_every", "eval_stage_end", "preset")
# A preset fills fields in; its name is shown, but equal fields are equal settings.
SHOWN_ALWAYS = ("method", "preset", "backbone", "size", "epochs", "dataset")


def _config_parts(config) -> tuple[dict, dict | None, dict | None]:
    """(TrainConfig dict with defaults filled in, the stored "dataset" entry, "source" entry)
    of a config.json dict, a stored ``config`` dict or a ``TrainConfig``."""
    from reidlab.engine.config import TrainConfig

    dataset = source = None
    if isinstance(config, TrainConfig):
        cfg = config
    else:
        d = dict(config)
        if isinstance(d.get("config"), dict):  # a whole config.json
            dataset, source = d.get("dataset"), d.get("source")
            d = d["config"]
        cfg = TrainConfig.from_dict(d)
    return cfg.to_dict(), dataset, source


def _root(root) -> str | None:
    return str(Path(str(root)).expanduser().resolve()) if root else None


def run_settings(config) -> dict:
    """The settings that change a run's result, flat (method options under their own names),
    from a config.json dict, its ``config`` entry or a ``TrainConfig``."""
    d, dataset, source = _config_parts(config)
    options = d.pop("options", {}) or {}
    out = {k: v for k, v in d.items() if k not in IGNORED}
    out["dataset"] = _root(d.get("dataset"))
    if dataset and isinstance(dataset.get("fingerprint"), str):  # a stored run: its content
        out["dataset_fingerprint"] = dataset["fingerprint"][:12]
    if d.get("source"):
        out["source"] = _root(d.get("source"))
        if source and isinstance(source.get("fingerprint"), str):
            out["source_fingerprint"] = source["fingerprint"][:12]
    else:
        for k in ("source", "source_format", "source_options"):
            out.pop(k, None)
    for k, v in sorted(options.items()):
        out[k if k not in out else f"option.{k}"] = v
    return _plain(out)


def _plain(obj):
    """JSON-comparable values: tuples as lists, ints that are floats as floats stay as given."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def fingerprint(config) -> str:
    """12 hex digits of sha256 over :func:`run_settings` (equal settings ⇔ equal fingerprint)."""
    return settings_hash(run_settings(config))


def settings_hash(settings: dict) -> str:
    """The fingerprint of a :func:`run_settings` dict. Settings at their declared default are
    left out of the hash, so a run keeps its fingerprint when a setting or option with a
    neutral default is added later (the run's stored settings gain it at that default), and
    two runs of equal settings have one fingerprint whichever version wrote them."""
    defaults = _default_settings(str(settings.get("method")))
    kept = {k: v for k, v in settings.items() if k not in defaults or v != defaults[k]}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# Never left out, even at a default: what names the run (and depends on where it is read).
NAMED_ALWAYS = ("method", "dataset", "source", "dataset_fingerprint", "source_fingerprint")


@functools.lru_cache(maxsize=None)
def _default_settings(method: str) -> dict:
    """:func:`run_settings`' keys at their declared defaults (TrainConfig fields and the
    method's options; an unknown method: the fields alone). Cached: read, never modified."""
    import dataclasses

    from reidlab.engine.config import TrainConfig, option_defaults

    out = {}
    for f in dataclasses.fields(TrainConfig):
        if f.name in IGNORED or f.name in NAMED_ALWAYS or f.name == "options":
            continue
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    for k, v in sorted(option_defaults(method).items()):
        out[k if k not in out and k not in NAMED_ALWAYS else f"option.{k}"] = v
    return _plain(out)


CONTENT_KEYS = ("dataset_fingerprint", "source_fingerprint")


def settings_diff(a, b, ignore: tuple[str, ...] = ()) -> dict[str, tuple]:
    """``{setting: (value in a, value in b)}`` for every setting that differs. A dataset's
    content fingerprint is compared only when both sides have one (a ``TrainConfig`` that has
    not run yet has none; the trainer checks the content when it loads the data)."""
    sa, sb = run_settings(a), run_settings(b)
    return {k: (sa.get(k), sb.get(k)) for k in sorted(set(sa) | set(sb))
            if k not in ignore and sa.get(k) != sb.get(k)
            and not (k in CONTENT_KEYS and (k not in sa or k not in sb))}


def diff_line(diff: dict[str, tuple], first: str = "stored", second: str = "asked") -> str:
    """``epochs 1 (stored) → 2 (asked), K 3 → 4`` — one line naming the differing settings."""
    parts = []
    for i, (k, (x, y)) in enumerate(diff.items()):
        parts.append(f"{k} {_short(x)} ({first}) → {_short(y)} ({second})" if i == 0
                     else f"{k} {_short(x)} → {_short(y)}")
    return ", ".join(parts)


def _short(v) -> str:
    s = json.dumps(v) if isinstance(v, (dict, list)) else str(v)
    return s if len(s) <= 40 else s[:37] + "…"


def size_of(settings: dict) -> str:
    return f"{settings.get('height')}×{settings.get('width')}"


def dataset_name(settings: dict) -> str:
    return Path(str(settings.get("dataset") or "?")).name


def describe(config, keys=None, preset: str | None = None) -> str:
    """A short human line: ``padal_mp K=3 · quick · effnet_lite0 96×48 · 8 ep · synthcams``;
    ``keys``: further settings to name (e.g. what tells a group apart)."""
    s = config if _is_settings(config) else run_settings(config)
    if preset is None and not _is_settings(config):
        preset = _config_parts(config)[0].get("preset")
    head = str(s.get("method", "?"))
    extra = [f"{k}={_short(s.get(k))}" for k in (keys or ())
             if k not in ("method", "backbone", "height", "width", "epochs", "dataset")]
    parts = [" ".join([head, *extra])]
    if preset:
        parts.append(str(preset))
    parts += [f"{s.get('backbone')} {size_of(s)}", f"{s.get('epochs')} ep", dataset_name(s)]
    return " · ".join(parts)


def _is_settings(obj) -> bool:
    """True for a :func:`run_settings` dict (flat: no ``config`` and no ``options`` entry)."""
    return isinstance(obj, dict) and "config" not in obj and "options" not in obj


@dataclass
class RunGroup:
    """Runs of one setting (equal fingerprints): seeds of one row."""

    fingerprint: str
    settings: dict
    runs: list = field(default_factory=list)
    distinct: dict = field(default_factory=dict)  # settings that differ between the groups
    preset: str | None = None

    @property
    def seeds(self) -> list[int]:
        return [int(r.train_config().seed) for r in self.runs]

    @property
    def method(self) -> str:
        return str(self.settings.get("method"))

    @property
    def label(self) -> str:
        """The method and the settings that tell this group apart from the others."""
        if not self.distinct:
            return self.method
        return self.method + " · " + ", ".join(
            f"{k}={_short(v)}" for k, v in self.distinct.items() if k != "method")

    def describe(self) -> str:
        return describe(self.settings, keys=list(self.distinct), preset=self.preset)


def group_runs(runs) -> list[RunGroup]:
    """Runs grouped by fingerprint, in the order each group's first run appears; each group's
    ``distinct`` holds the settings whose values differ between the groups."""
    groups: dict[str, RunGroup] = {}
    for r in runs:
        settings = r.settings()  # one read of config.json per run
        fp = settings_hash(settings)
        g = groups.get(fp)
        if g is None:
            g = groups[fp] = RunGroup(fp, settings,
                                      preset=r.config.get("config", {}).get("preset"))
        g.runs.append(r)
    out = list(groups.values())
    keys = sorted({k for g in out for k in g.settings})
    varying = [k for k in keys if len({json.dumps(g.settings.get(k), sort_keys=True)
                                       for g in out}) > 1]
    for g in out:
        g.distinct = {k: g.settings.get(k) for k in varying}
    return out
