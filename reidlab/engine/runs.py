"""The run store: one folder per run, written by ``reidlab.engine.trainer`` and read here.

Layout of ``runs/<name>/``::

    config.json       {"config": TrainConfig dict, "dataset": {format, root, options,
                       fingerprint, summary, num_cameras, protocol}, "seed", "versions",
                       "protocol", "created", "device"}
    status.json       {"state": running|finished|failed|cancelled, "pid", "progress" (0..1),
                       "message", "epoch", "updated" (unix time), "started"}
    metrics.jsonl     one JSON object per line, each with "kind":
                       step  {epoch, step, loss, terms{}, metrics{}, lr, images_per_s, time}
                       epoch {epoch, step, loss, terms{}, metrics{}, lr, images_per_s, time,
                              corrupt_frames}
                       eval  {which: initial|epoch|final, epoch, rank1, rank5, rank10, rank20,
                              mAP, mINP, num_valid_queries, num_skipped_queries, protocol,
                              pair_rank1 (C×C, null where undefined), pair_count, cameras}
                       warning {epoch, message, path}
    checkpoint.pt     model/optimizer/scheduler/scaler/epoch/RNG states (torch.load
                       weights_only=True), written atomically
    features/initial.npz, features/final.npz   FeatureSet (query/gallery embeddings)

Epochs are numbered from 1 in the store (epoch 0 = before training). The app reads runs only
through this module: :class:`Run` names the files (:meth:`Run.features_path`,
:attr:`Run.checkpoint_path`), so no page spells the layout. Every file is replaced atomically,
except ``metrics.jsonl``, which is appended line by line; a partially written last line is
ignored by :meth:`Run.metrics`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path

import numpy as np

from reidlab.errors import ConfigError, DatasetError, RunStoreError
from reidlab.atomic import write_json_atomic_plain
from reidlab.eval.features import FeatureSet

CONFIG, STATUS, METRICS, CHECKPOINT, CANCEL = (
    "config.json", "status.json", "metrics.jsonl", "checkpoint.pt", "CANCEL")
FEATURES = "features"  # the folder of the stored FeatureSets
STAGES = ("initial", "final")  # the models a run stores features of: before and after training


def features_file(folder: str | Path, which: str = "final") -> Path:
    """``<folder>/features/<which>.npz``: where a run stores the FeatureSet of its ``which``
    model (``initial`` or ``final``); what the writers write and :class:`Run` reads."""
    return Path(folder) / FEATURES / f"{which}.npz"


def clean_json(obj):
    """Make ``obj`` strict-JSON: numpy → Python, NaN/inf → None, tuples → lists."""
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean_json(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json_atomic(path: str | Path, obj) -> None:
    """Write JSON to a temp file in the same folder, then rename over ``path``."""
    write_json_atomic_plain(path, clean_json(obj))


CONFIG_EXPECTED = ("a config.json written by reidlab train: a JSON object with \"config\" (the "
                   "training settings) and \"dataset\" (format and root)")


def read_run_config(folder: str | Path, dataset: bool = False) -> dict:
    """``<folder>/config.json``, checked: a :class:`RunStoreError` naming the file when it is
    missing, not JSON, or lacks the ``config`` entry (and with ``dataset=True`` the
    ``dataset`` entry with format and root) that reidlab train has always written (a folder
    from another tool, or a damaged file)."""
    path = Path(folder) / CONFIG
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RunStoreError(path, CONFIG_EXPECTED, "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunStoreError(path, CONFIG_EXPECTED, f"an unreadable file ({e})") from None
    try:
        info = json.loads(text)
    except ValueError as e:
        raise RunStoreError(path, CONFIG_EXPECTED, f"invalid JSON ({e})") from None
    if not isinstance(info, dict):
        raise RunStoreError(path, CONFIG_EXPECTED, f"a JSON {type(info).__name__}")
    needed = ("config", "dataset") if dataset else ("config",)
    missing = [k for k in needed if not isinstance(info.get(k), dict)]
    if missing:
        raise RunStoreError(path, CONFIG_EXPECTED, "no " + " and no ".join(
            f'"{k}" object' for k in missing) + " (a run folder from an older version, or "
            "not written by reidlab?)")
    ds_missing = [k for k in ("format", "root")
                  if dataset and not isinstance(info["dataset"].get(k), str)]
    if ds_missing:
        raise RunStoreError(path, CONFIG_EXPECTED, "\"dataset\" without " + ", ".join(
            f'"{k}"' for k in ds_missing))
    return info


def train_config_of(info: dict, path: str | Path):
    """The ``TrainConfig`` of a checked config.json (``path`` names it in errors): keys of an
    older version are mapped (PADAL-era options at the top level); unknown keys, e.g. from a
    newer version, are an error naming the file."""
    from reidlab.engine.config import TrainConfig

    expected = "training settings this reidlab version knows (written by reidlab train)"
    try:
        cfg = TrainConfig.from_dict(info["config"])
    except (ConfigError, TypeError, ValueError) as e:
        raise RunStoreError(Path(path), expected, str(e)) from None
    wrong = setting_type_errors(cfg)
    if wrong:
        raise RunStoreError(Path(path), expected, "; ".join(wrong))
    return cfg


_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
          "dict": (dict,), "None": (type(None),)}


def setting_type_errors(cfg) -> list[str]:
    """``"name=value (expected T)"`` for each setting of ``cfg`` whose stored value does not
    have its annotated type (a number where a list was stored, ...)."""
    import dataclasses

    out = []
    for f in dataclasses.fields(cfg):
        allowed = tuple(t for name in str(f.type).split("|") for t in _TYPES.get(name.strip(), ()))
        v = getattr(cfg, f.name)
        if not allowed:
            continue
        if isinstance(v, bool) and bool not in allowed:
            ok = False  # JSON true is not a number
        else:
            ok = isinstance(v, allowed)
        if not ok:
            out.append(f"{f.name}={v!r} (expected {f.type})")
    return out


RUNS_ENV = "REIDLAB_RUNS"
_RESERVED = ("_", ".")  # _queue, _cache, _imagenet..., .jobs.lock, temp files


def runs_root(root: str | Path | None = None) -> Path:
    """The runs folder: ``root``, else ``$REIDLAB_RUNS``, else ``runs`` (relative to the
    working directory)."""
    return Path(root if root is not None else os.environ.get(RUNS_ENV) or "runs")


def _inside(path: str, root: str) -> bool:
    return path != root and path.startswith(root.rstrip(os.sep) + os.sep)


def run_path(name: str | Path, root: str | Path | None = None) -> Path:
    """The folder of the run ``name`` typed into the app (a run name, or ``sweep/run`` one
    level down) inside the runs folder ``root``. An empty name, an absolute path, a ``..``
    component, a name starting with ``_`` or ``.`` (reidlab's own folders and files) or a
    backslash is a :class:`RunStoreError` that names the runs folder: nothing typed escapes
    it."""
    root = runs_root(root)
    text = str(name)
    expected = (f"a run name inside the runs folder {root} (letters, digits, _-.=; "
                "'sweep/run' for one level down)")
    parts = text.split("/")
    if not text.strip():
        raise RunStoreError(root, expected, "an empty name")
    if text.startswith("/") or os.path.isabs(text) or text.startswith("~"):
        raise RunStoreError(root, expected, f"{text!r}, an absolute path")
    if "\\" in text or ":" in text:
        raise RunStoreError(root, expected, f"{text!r} (no \\ or : in run names)")
    if any(p in ("..", ".", "") for p in parts) or len(parts) > 2:
        raise RunStoreError(root, expected, f"{text!r}, a path that leaves it or is not a "
                            "plain name")
    if any(p.startswith(_RESERVED) for p in parts):
        raise RunStoreError(root, expected, f"{text!r} (names starting with _ or . are "
                            "reidlab's own)")
    return confine(root / text, root)


def confine(path: str | Path, root: str | Path | None = None) -> Path:
    """``path`` (relative to the working directory, or absolute), checked to lie inside the
    runs folder ``root`` (default :func:`runs_root`): below ``root`` as written, or as the
    folder it really is (symbolic links followed). A ``..`` component, or a path outside, is a
    :class:`RunStoreError` naming the path and the runs folder (the CLI: choose another runs
    folder with ``--runs`` or ``$REIDLAB_RUNS``)."""
    root = runs_root(root)
    given = Path(path).expanduser()
    root_abs = os.path.normpath(os.path.abspath(root))
    expected = (f"a run folder inside the runs folder {root_abs} (choose the runs folder with "
                f"--runs or ${RUNS_ENV})")
    if ".." in given.parts:
        raise RunStoreError(given, expected, "a path with '..'")
    lexical = os.path.normpath(os.path.abspath(given))
    if _inside(lexical, root_abs) or _inside(os.path.realpath(lexical),
                                             os.path.realpath(root_abs)):
        return Path(os.path.normpath(given))
    raise RunStoreError(given, expected, f"{lexical}, outside it")


def process_start_ticks(pid: int, reap: bool = False) -> str | None:
    """Start time of a live process as /proc writes it (field 22 of ``/proc/PID/stat``, clock
    ticks since boot: equal for the same process, different for a later one given the same
    pid); None if it is gone, a zombie, or /proc is not there. ``reap``: also reap a zombie
    that is this process's own finished child."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2:].split()
    if rest[0] in ("Z", "X"):
        if reap:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(int(pid), os.WNOHANG)
        return None
    return rest[19]


def process_start(pid: int) -> float | None:
    """Start time (unix seconds) of a live process (:func:`process_start_ticks` after the boot
    time); None if it is gone, a zombie, or /proc is not there."""
    ticks = process_start_ticks(pid)
    try:
        btime = next(float(line.split()[1]) for line in
                     Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
    except (OSError, ValueError, StopIteration):
        return None
    return None if ticks is None else btime + int(ticks) / os.sysconf("SC_CLK_TCK")


def live_writer(folder: str | Path) -> int | None:
    """The pid of another process training the run in ``folder`` right now, else None:
    ``status.json`` says running, that process is alive, and it started before the run it
    wrote (a pid reused by a later process does not count)."""
    try:
        st = json.loads((Path(folder) / STATUS).read_text())
    except (OSError, ValueError):
        return None
    pid = st.get("pid") if isinstance(st, dict) and st.get("state") == "running" else None
    if not isinstance(pid, int) or pid == os.getpid():
        return None
    start = process_start(pid)
    started = st.get("started")
    if start is None or not isinstance(started, (int, float)) or start > started + 2.0:
        return None
    return pid


def read_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSON-lines file; an unparsable (partially written) line is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def evaluate_feature_set(fs: FeatureSet, num_cameras: int | None = None,
                         protocol: str | None = None, q_tids=None, g_tids=None,
                         meta: dict | None = None) -> dict:
    """Standard metrics of a :class:`FeatureSet` (Euclidean distance) plus the per-camera-pair
    rank-1 matrix. With tracklet ids the diagonal holds same-camera retrieval. A dataset whose
    ``meta`` has gallery ``trials`` (SYSU-MM01) reports the mean over them (``*_std``,
    ``trials``, ``per_trial``; see :mod:`reidlab.eval.crossmodal`)."""
    from reidlab.eval.ranking import evaluate_arrays

    # in query blocks of bounded memory: the numbers of the full distance matrix
    m = evaluate_arrays(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids, fs.q_camids, fs.g_camids,
                        q_tids=q_tids, g_tids=g_tids, num_cams=num_cameras)
    m.pop("cmc", None)
    pair = m.pop("pairs")
    if meta and meta.get("trials"):
        import numpy as np

        from reidlab.eval.crossmodal import evaluate_trials
        from reidlab.eval.ranking import compute_distmat

        row_of = {int(g): r for r, g in enumerate(fs.g_index)}  # gallery index -> feature row
        trials = [[row_of[int(i)] for i in tr if int(i) in row_of] for tr in meta["trials"]]
        m = evaluate_trials(compute_distmat(fs.q_feat, fs.g_feat), fs.q_pids, fs.g_pids,
                            fs.q_camids, fs.g_camids, trials, ignore=meta.get("ignore"))
        m.pop("cmc", None)
        m["num_gallery_per_trial"] = float(np.mean([len(tr) for tr in trials]))
    m.update(pair_rank1=pair["rank1"], pair_mAP=pair["mAP"], pair_count=pair["count"],
             cameras=pair["cameras"], protocol=protocol, num_query=len(fs.q_pids),
             num_gallery=len(fs.g_pids))
    return clean_json(m)


class Run:
    """Read access to one run folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not (self.path / CONFIG).is_file():
            raise DatasetError(self.path, f"a run folder with {CONFIG} (written by reidlab "
                               "train)", "no config.json")

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> dict:
        """The whole ``config.json`` (training config under ``"config"``)."""
        return read_run_config(self.path)

    def train_config(self):
        return train_config_of(self.config, self.path / CONFIG)

    def status(self) -> dict:
        """``status.json``; a missing or unreadable file reads as ``{"state": "unknown"}``."""
        try:
            return json.loads((self.path / STATUS).read_text())
        except (OSError, ValueError):
            return {"state": "unknown"}

    def metrics(self, kind: str | None = None) -> list[dict]:
        """Records of ``metrics.jsonl`` (optionally only one ``kind``)."""
        recs = read_jsonl(self.path / METRICS)
        return recs if kind is None else [r for r in recs if r.get("kind") == kind]

    def final_metrics(self) -> dict | None:
        """The last ``eval`` record with ``which == "final"``, or None before the run ends."""
        finals = [r for r in self.metrics("eval") if r.get("which") == "final"]
        return finals[-1] if finals else None

    def wall_seconds(self) -> float | None:
        """Seconds of the run's kept records, over all its sessions: each record's ``time``
        counts from its session's start, so a resumed run is the sum of every session's last
        time (a session begins where the time falls back). The work of an interrupted epoch,
        whose records a resume drops, is not counted. None without timed records."""
        total, last = 0.0, None
        for r in self.metrics():
            t = r.get("time")
            if not isinstance(t, (int, float)):
                continue
            if last is not None and t < last:  # a new session
                total += last
            last = float(t)
        return None if last is None else total + last

    def features_path(self, which: str = "final") -> Path:
        """The file of the run's ``which`` (``initial`` or ``final``) features."""
        return features_file(self.path, which)

    def has_features(self, which: str = "final") -> bool:
        return self.features_path(which).is_file()

    def features_mtime(self, which: str = "final") -> float:
        """When the ``which`` features were written (a cache key; FileNotFoundError without
        them)."""
        return self.features_path(which).stat().st_mtime

    def features(self, which: str = "final") -> FeatureSet:
        if which not in STAGES:
            raise ValueError(f"which: expected 'final' or 'initial', got {which!r}")
        return FeatureSet.load(self.features_path(which))

    @property
    def checkpoint_path(self) -> Path:
        """The run's ``checkpoint.pt`` (its trained weights; absent for a run that trained
        nothing)."""
        return self.path / CHECKPOINT

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def checkpoint_mtime(self) -> float:
        """When the checkpoint was written, 0.0 without one (a cache key)."""
        p = self.checkpoint_path
        return p.stat().st_mtime if p.is_file() else 0.0

    def dataset(self):
        """Reload the run's dataset with the stored format and options."""
        from reidlab.data import load_dataset

        d = read_run_config(self.path, dataset=True)["dataset"]
        return load_dataset(d["format"], d["root"], **(d.get("options") or {}))

    def mtime(self) -> float:
        st = self.path / STATUS
        return (st if st.is_file() else self.path / CONFIG).stat().st_mtime

    def created(self) -> float:
        return float(self.config.get("created", (self.path / CONFIG).stat().st_mtime))

    def settings(self) -> dict:
        """The settings that change this run's result (``reidlab.engine.settings``)."""
        from reidlab.engine.settings import run_settings

        return run_settings(self._checked_config())

    def fingerprint(self) -> str:
        """Equal for runs of equal settings (seed excluded): seeds of one row."""
        from reidlab.engine.settings import settings_hash

        return settings_hash(self.settings())

    def _checked_config(self) -> dict:
        info = self.config
        train_config_of(info, self.path / CONFIG)  # a RunStoreError naming the file if bad
        return info

    def details(self) -> dict:
        """What a person needs to tell runs apart: preset, backbone, input size, epochs,
        dataset, seed and wall time (seconds, None while unknown)."""
        from reidlab.engine.settings import dataset_name, run_settings, size_of

        info = self._checked_config()
        c = info.get("config", {})
        s = run_settings(info)
        st = self.status()
        wall = None  # the last training process's time (a resumed run: since the resume)
        if all(isinstance(st.get(k), (int, float)) for k in ("updated", "started")):
            wall = float(st["updated"]) - float(st["started"])
        return {"method": c.get("method"), "preset": c.get("preset"),
                "backbone": c.get("backbone"), "size": size_of(s), "epochs": c.get("epochs"),
                "dataset": dataset_name(s), "seed": c.get("seed"),
                "wall_s": None if wall is None else round(float(wall), 1)}


def list_runs(root: str | Path = "runs", problems: list | None = None) -> list[Run]:
    """Every run folder directly under ``root`` (also one level of sweep folders), oldest
    first by creation time; a run reached through a symbolic link as well is listed once.
    A folder whose config.json is unreadable (damaged, or from another version) is skipped;
    pass a list as ``problems`` to get ``(folder, message)`` for each one skipped."""
    root = Path(root)
    if not root.is_dir():
        return []
    found, seen = [], set()
    for cfg in sorted(root.glob(f"*/{CONFIG}")) + sorted(root.glob(f"*/*/{CONFIG}")):
        real = cfg.parent.resolve()
        if real in seen:  # a symbolic link to a run listed already (e.g. a shared baseline row)
            continue
        seen.add(real)
        try:
            run = Run(cfg.parent)
            run.created()  # reads and checks config.json
            found.append(run)
        except (DatasetError, RunStoreError, OSError, ValueError) as e:
            if problems is not None:
                problems.append((cfg.parent, str(e)))
            continue
    return sorted(found, key=lambda r: (r.created(), str(r.path)))
