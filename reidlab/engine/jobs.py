"""Background training jobs for the app: detached processes with a registry on disk.

A job is ``python -m reidlab train ... --out <runs>/<name>`` started in its own session, so it
outlives the page (and the Streamlit server) that started it. Everything about a job lives on
disk, so reloading the page or opening a second tab never loses or duplicates one:

- ``<runs>/<name>/job.json``: pid, process start time (to detect pid reuse), argv, submit time;
- ``<runs>/<name>/job.log``: the process's stdout and stderr;
- ``<runs>/<name>/status.json``: written by the trainer (state, progress, message);
- ``<runs>/<name>/CANCEL``: asks the trainer to stop;
- ``<runs>/_queue/<seq>-<name>.json``: queued jobs (sweeps), started one at a time by a small
  worker process (``python -m reidlab.engine.jobs worker --runs <runs>``).

``submit`` is idempotent by name: a name that already has a live or finished job returns that
job. A file lock serialises submissions from concurrent tabs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reidlab.atomic import file_lock, write_json_atomic_plain
from reidlab.engine.runs import process_start_ticks, run_path, runs_root
from reidlab.errors import ConfigError, ReidlabError

QUEUE_DIR = "_queue"
TERMINAL = ("finished", "failed", "cancelled")
_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.=")


@dataclass
class Job:
    """A job as seen from disk. ``state``: queued | starting | running | finished | failed |
    cancelled. ``progress`` in [0, 1]."""

    name: str
    state: str
    argv: list[str] = field(default_factory=list)
    pid: int | None = None
    submitted: float | None = None
    progress: float = 0.0
    message: str = ""
    run_dir: Path | None = None
    started: float | None = None  # when training started (status.json), unix time
    updated: float | None = None  # the last status update (status.json), unix time

    @property
    def active(self) -> bool:
        return self.state in ("queued", "starting", "running")

    def elapsed(self, now: float | None = None) -> float | None:
        """Seconds since the job started (until its last status update once it ended)."""
        start = self.started or (self.submitted if self.state != "queued" else None)
        if start is None:
            return None
        end = (now or time.time()) if self.active else (self.updated or now or time.time())
        return max(0.0, end - start)

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left for a running job, from its elapsed time and progress (None before
        2 % progress, where the estimate means nothing, and for a job that is not running)."""
        el = self.elapsed(now)
        if self.state != "running" or el is None or self.progress < 0.02:
            return None
        return el * (1.0 - self.progress) / self.progress

    def log_tail(self, n: int = 20) -> str:
        """The last ``n`` lines of the job's log (empty when none)."""
        if self.run_dir is None:
            return ""
        p = self.run_dir / "job.log"
        if not p.is_file():
            return ""
        return "\n".join(p.read_text(errors="replace").splitlines()[-n:])


# --------------------------------------------------------------------------- helpers

def check_name(name: str) -> str:
    """A job's run name: a plain name (letters, digits, _-.=, not starting with _ or .), so
    ``<runs>/<name>`` never leaves the runs folder (``../x``, ``/abs``, ``a/../../b`` are
    refused with a ConfigError)."""
    if not isinstance(name, str) or not name or name.startswith(("_", ".")) or \
            not set(name) <= _NAME_OK or name.strip(".") == "":
        raise ConfigError(f"run name {name!r}: use letters, digits and _-.= (not starting "
                          "with _ or .)")
    return name


def _run_dir(name: str, root: Path) -> Path:
    return run_path(check_name(name), root)


def train_argv(out: str | Path, *, method: str, preset: str | None = None,
               runs: str | Path | None = None, settings: dict | None = None,
               **options) -> list[str]:
    """argv (after the interpreter) of ``python -m reidlab train``; ``options`` are the CLI
    flags (K, lam, clips, epochs, backbone, dataset, ...); None values are left out.
    ``settings``: ``TrainConfig`` fields by name (what the app's Train form sets), written as
    each field's own flag (:func:`setting_flags`). ``runs`` is the runs folder ``out`` lies in
    (``--runs``, read like ``out``, from the job's working directory)."""
    argv = ["-m", "reidlab", "train", "--method", method]
    if runs is not None:
        argv += ["--runs", str(runs)]
    if preset:
        argv += ["--preset", preset]
    for k, v in options.items():
        if v is None:
            continue
        argv += [f"--{k.replace('_', '-')}", str(v)]
    argv += setting_flags(settings or {})
    return argv + ["--out", str(out)]


def setting_flags(settings: dict) -> list[str]:
    """CLI flags of ``TrainConfig`` fields ``{name: value}``, from the schema (each field's
    flag; a boolean as ``--name`` / ``--no-name``); an unknown field is a ConfigError."""
    import dataclasses

    from reidlab.engine.config import TrainConfig
    from reidlab.schema import flag_of

    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    out: list[str] = []
    for k, v in settings.items():
        if k not in fields:
            raise ConfigError(f"setting {k!r}: not a training setting (TrainConfig field)")
        if v is None:
            continue
        flag = flag_of(fields[k])
        if isinstance(v, bool):
            out.append(flag if v else "--no-" + flag[2:])
        else:
            out += [flag, str(v)]
    return out


def _alive(pid: int | None, start: str | None) -> bool:
    if not pid:
        return False
    st = process_start_ticks(pid, reap=True)
    return st is not None and (start is None or st == start)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, obj: dict) -> None:
    write_json_atomic_plain(path, obj)


def _locked(root: Path):
    """The runs folder's job lock (``.jobs.lock``): submissions, the queue and the worker."""
    return file_lock(root / ".jobs.lock", "a writable runs folder")


def _spawn(argv: list[str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    pkg_parent = str(Path(__file__).resolve().parents[2])  # so `-m reidlab` works from any cwd
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    with open(log, "ab") as fh:
        return subprocess.Popen([sys.executable, *argv], stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                cwd=cwd, env=env)


# --------------------------------------------------------------------------- state

def job_state(name: str, root: str | Path | None = None) -> Job | None:
    """The job named ``name`` (None when there is none)."""
    root = runs_root(root)
    run = _run_dir(name, root)
    queued = _queued_files(root, name)
    info = _read_json(run / "job.json")
    if info is None:
        if queued:
            q = _read_json(queued[0]) or {}
            return Job(name, "queued", q.get("argv", []), submitted=q.get("submitted"),
                       run_dir=run)
        return None
    status = _read_json(run / "status.json") or {}
    st = status.get("state")
    alive = _alive(info.get("pid"), info.get("start"))
    if st in TERMINAL:
        state = st
    elif alive:
        state = "running" if st == "running" else "starting"
    elif (run / "CANCEL").exists():
        state = "cancelled"
    else:
        state = "failed"
    msg = status.get("message", "")
    if state == "failed" and st not in TERMINAL:
        cause = failure_cause(run / "job.log")
        msg = cause or msg or "the training process ended without finishing (see job.log)"
    num = lambda v: float(v) if isinstance(v, (int, float)) else None  # noqa: E731
    return Job(name, state, info.get("argv", []), info.get("pid"), info.get("submitted"),
               float(status.get("progress", 1.0 if state == "finished" else 0.0) or 0.0),
               msg, run, num(status.get("started")), num(status.get("updated")))


def failure_cause(log: Path) -> str:
    """The one-line cause of a job that died before writing its own status: the CLI's
    ``error: ...`` line, else the last ``SomeError: ...`` line of a traceback in ``job.log``
    (empty when the log says neither)."""
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    for ln in reversed(lines):
        if ln.startswith("error: "):
            return ln[len("error: "):]
    for ln in reversed(lines):
        head = ln.split(":", 1)[0]
        if ":" in ln and head.replace(".", "").isidentifier() and \
                head.rsplit(".", 1)[-1].endswith(("Error", "Exception")):
            return ln
    return ""


def list_jobs(root: str | Path | None = None) -> list[Job]:
    """Every job (queued, running or done), newest submission first."""
    root = runs_root(root)
    names: set[str] = set()
    if root.is_dir():
        names |= {p.parent.name for p in root.glob("*/job.json")}
        names |= {_queue_name(p) for p in (root / QUEUE_DIR).glob("[0-9]*-*.json")}
    jobs = [j for j in (job_state(n, root) for n in sorted(names)) if j is not None]
    return sorted(jobs, key=lambda j: -(j.submitted or 0))


# --------------------------------------------------------------------------- submit / cancel

def submit(name: str, argv: list[str] | None = None, *, root: str | Path | None = None,
           cwd: str | Path | None = None, **train_options) -> Job:
    """Start ``python <argv>`` (default: :func:`train_argv` with ``train_options``) in the
    background, writing ``<root>/<name>``. Idempotent: an existing job of that name (alive,
    finished, failed or cancelled) is returned unchanged; to start over, pick a new name or
    delete the run folder."""
    root = runs_root(root)
    run = _run_dir(name, root)
    if argv is None:
        argv = train_argv(run, runs=root, **train_options)
    return _start(name, argv, root, run, cwd)  # type: ignore[return-value]


def _start(name: str, argv: list[str], root: Path, run: Path, cwd=None,
           queue_file: Path | None = None) -> Job | None:
    """Spawn the job unless one of that name exists, all under the lock. ``queue_file``: the
    queue entry the worker is starting; gone (cancelled meanwhile) means start nothing."""
    with _locked(root):
        if queue_file is not None and not queue_file.exists():
            return job_state(name, root)
        existing = job_state(name, root)
        if existing is not None and existing.state != "queued":
            return existing
        if (run / "config.json").exists() or (run / "status.json").exists():
            raise ConfigError(f"{run}: a run of that name exists (not started from the app); "
                              "choose another name")
        proc = _spawn(argv, run / "job.log", Path(cwd) if cwd else None)
        _write_json(run / "job.json", {"name": name, "pid": proc.pid,
                                       "start": process_start_ticks(proc.pid, reap=True),
                                       "argv": argv, "submitted": time.time(),
                                       "cwd": str(cwd or os.getcwd())})
        for q in _queued_files(root, name):
            q.unlink(missing_ok=True)
    return job_state(name, root)


def cancel(name: str, *, root: str | Path | None = None, grace_s: float = 5.0) -> Job | None:
    """Ask job ``name`` to stop: drop it from the queue, touch ``CANCEL`` (the trainer stops at
    the next step and writes state "cancelled"); after ``grace_s`` seconds still alive, SIGTERM
    its process group."""
    root = runs_root(root)
    run = _run_dir(name, root)
    with _locked(root):  # ordered with submit and the worker: a job is queued, or started
        for q in _queued_files(root, name):
            q.unlink(missing_ok=True)
        info = _read_json(run / "job.json")
        if info is None:
            return job_state(name, root)
        (run / "CANCEL").touch()
    pid, start = info.get("pid"), info.get("start")
    deadline = time.time() + grace_s
    while _alive(pid, start) and time.time() < deadline:
        time.sleep(0.1)
    if _alive(pid, start):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.time() + 5
        while _alive(pid, start) and time.time() < deadline:
            time.sleep(0.1)
        if _alive(pid, start):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    status = _read_json(run / "status.json") or {}
    if status.get("state") not in TERMINAL:
        _write_json(run / "status.json", {**status, "state": "cancelled",
                                          "message": "cancelled from the app"})
    return job_state(name, root)


# --------------------------------------------------------------------------- delete / archive

ARCHIVE_DIR = "_archive"


def remove_run(path: str | Path, *, root: str | Path | None = None,
               archive: bool = False) -> Path | None:
    """Delete the run folder ``path`` (a run directly in the runs folder ``root`` or one level
    down, in a sweep folder), or with ``archive=True`` move it to
    ``<root>/_archive/<time>/[sweep/]<name>`` (not listed by any page; move it back to restore
    it). A path outside the runs folder, the runs folder itself, a folder that is no run, and
    a run whose job is still queued or running are refused with a :class:`ConfigError`; nothing
    else is touched. Returns the archive folder (None when deleted)."""
    import shutil

    from reidlab.engine.runs import CONFIG, confine

    root = runs_root(root)
    run = confine(path, root)  # RunStoreError for anything outside the runs folder
    # where the folder really is: its parent, links followed, must be the runs folder or a
    # sweep folder in it (a link inside the runs folder that leads out is no way out)
    root_real = os.path.realpath(root)
    rel = Path(os.path.relpath(os.path.join(os.path.realpath(run.parent), run.name),
                               root_real))
    if ".." in rel.parts or rel.parts[0] in (QUEUE_DIR, ARCHIVE_DIR, ".") or \
            len(rel.parts) > 2 or not (run / CONFIG).is_file():
        raise ConfigError(f"{run}: not a run folder of {root} (expected <runs>/NAME or "
                          "<runs>/SWEEP/NAME with a config.json)")
    with _locked(root):
        job = job_state(rel.parts[-1], root) if len(rel.parts) == 1 else None
        from reidlab.engine.runs import live_writer

        if (job is not None and job.active) or live_writer(run) is not None:
            raise ConfigError(f"{run}: a job is still training it; cancel it first")
        for q in _queued_files(root, rel.parts[-1]) if len(rel.parts) == 1 else []:
            q.unlink(missing_ok=True)
        if not archive:
            if run.is_symlink():
                run.unlink()  # a link to a run listed elsewhere: only the link goes
            else:
                shutil.rmtree(run)
            return None
        dest = root / ARCHIVE_DIR / time.strftime("%Y%m%d-%H%M%S") / rel
        n = 1
        while dest.exists():
            n += 1
            dest = dest.with_name(f"{rel.name}.{n}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(run, dest)
        return dest


# --------------------------------------------------------------------------- queue

def _queue_name(p: Path) -> str:
    return p.stem.split("-", 1)[1]


def _queued_files(root: Path, name: str | None = None) -> list[Path]:
    files = sorted((root / QUEUE_DIR).glob("[0-9]*-*.json"))
    return [f for f in files if name is None or _queue_name(f) == name]


def enqueue(name: str, argv: list[str] | None = None, *, root: str | Path | None = None,
            start_worker: bool = True, cwd: str | Path | None = None,
            **train_options) -> Job:
    """Queue a job (for sweeps): jobs run one at a time, in order. Idempotent by name."""
    root = runs_root(root)
    run = _run_dir(name, root)
    if argv is None:
        argv = train_argv(run, runs=root, **train_options)
    with _locked(root):
        existing = job_state(name, root)
        if existing is None:
            qdir = root / QUEUE_DIR
            qdir.mkdir(parents=True, exist_ok=True)
            seq = time.time_ns()
            _write_json(qdir / f"{seq:020d}-{name}.json",
                        {"name": name, "argv": argv, "submitted": time.time()})
    if start_worker:
        ensure_worker(root, cwd=cwd)
    return job_state(name, root)  # type: ignore[return-value]


def ensure_worker(root: str | Path | None = None, cwd: str | Path | None = None) -> int | None:
    """Start the queue worker unless one is alive; returns its pid (None if queue empty)."""
    root = runs_root(root)
    qdir = root / QUEUE_DIR
    with _locked(root):
        info = _read_json(qdir / "worker.json") or {}
        if _alive(info.get("pid"), info.get("start")):
            return info["pid"]
        if not _queued_files(root):
            return None
        proc = _spawn(["-m", "reidlab.engine.jobs", "worker", "--runs", str(root.resolve())],
                      qdir / "worker.log", Path(cwd) if cwd else None)
        _write_json(qdir / "worker.json", {"pid": proc.pid,
                                           "start": process_start_ticks(proc.pid, reap=True)})
        return proc.pid


def work_queue(root: str | Path | None = None, poll_s: float = 1.0) -> int:
    """Run queued jobs one at a time until the queue is empty; returns how many ran."""
    root = runs_root(root)
    n = 0
    while True:
        files = _queued_files(root)
        if not files:
            with _locked(root):  # exit only with the queue empty under the lock, and say so
                if not _queued_files(root):  # first, so enqueue starts a new worker
                    _retire_worker(root)
                    return n
            continue
        q = _read_json(files[0])
        name = _queue_name(files[0])
        if q is None:
            files[0].unlink(missing_ok=True)
            continue
        try:
            run = _run_dir(name, root)
        except (ConfigError, ReidlabError):
            files[0].unlink(missing_ok=True)  # a queue entry no app could have written
            continue
        job = _start(name, q["argv"], root, run, q.get("cwd"), queue_file=files[0])
        if job is None:  # cancelled while waiting for the lock
            continue
        n += 1
        while job is not None and job.active:
            time.sleep(poll_s)
            job = job_state(name, root)


def _retire_worker(root: Path) -> None:
    """Remove ``worker.json`` if it names this process (called under the lock)."""
    path = root / QUEUE_DIR / "worker.json"
    info = _read_json(path) or {}
    if info.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def _main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reidlab.engine.jobs")
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker", help="run queued jobs one at a time")
    w.add_argument("--runs", default=None)
    sub.add_parser("list", help="list jobs").add_argument("--runs", default=None)
    args = p.parse_args(argv)
    if args.cmd == "worker":
        work_queue(args.runs)
    else:
        for j in list_jobs(args.runs):
            print(json.dumps({k: str(v) for k, v in asdict(j).items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
