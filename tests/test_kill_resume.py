"""Kill-safe runs: SIGKILL a tiny CAWCL training run (label updates every epoch) at many
moments — while a checkpoint, the label store, features, the status or the metrics rewrite is
being written, in the middle of a metrics line, during clustering, after a step, and at
random times — resume it each time, and check that

- every file under its final name is complete whenever the process dies (a reader never sees
  a half-written checkpoint, metrics line, labels or features file), and the temp files of an
  interrupted write are gone after the resume;
- the resumed run ends exactly as the uninterrupted one: same records in ``metrics.jsonl``
  (timings aside), same final metrics, same label store, same weights and method state.

Plus: a full disk while writing a checkpoint leaves the previous one intact and says so, and a
damaged (truncated) checkpoint or label file is refused with an error naming it.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from reidlab.engine.runs import Run
from reidlab.errors import ReidlabError
from tiny_mars import write_tiny_mars
from tiny_runs import assert_same_state

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "kill_driver.py"


def timing(key: str) -> bool:
    """Wall-clock numbers, which differ between any two runs."""
    return key in ("time", "images_per_s") or key.endswith("_time")


def train_args(data: Path, out: Path) -> list[str]:
    return ["--preset", "test", "--method", "cawcl", "--dataset", str(data), "--out", str(out),
            "--batch-size", "6", "--opt", "k1=6", "--opt", "k2=2", "--opt", "eps=0.7",
            "--opt", "min_samples=2", "--seed", "3"]


def launch(kill: str, data: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(HERE.parent), str(HERE), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, str(DRIVER), kill, "--", *train_args(data, out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)


def attempt(kill: str, data: Path, out: Path, after_s: float | None = None) -> int:
    """One process on ``out``; killed by the driver at ``kill`` or by us ``after_s`` seconds
    after its imports. Returns the exit code (-9 when killed)."""
    proc = launch(kill, data, out)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.strip() == "TRAINING":
            break
    if after_s is not None:
        try:
            proc.wait(timeout=after_s)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read()
    rc = proc.wait()
    if rc not in (0, -signal.SIGKILL):
        raise AssertionError(f"train {kill} exited {rc}:\n{''.join(lines)}{rest}")
    return rc


# ----------------------------------------------------------------------------- checks

def temp_files(run: Path) -> list[Path]:
    return [p for p in run.rglob(".*.tmp")]


def assert_complete_files(run: Path) -> None:
    """Every file under its final name reads completely; only ``metrics.jsonl`` may end in a
    partial line (a line without its newline), which readers skip."""
    for p in run.rglob("*"):
        if not p.is_file() or p.name.endswith(".tmp"):
            continue
        if p.suffix == ".pt":
            ck = torch.load(p, weights_only=True)
            assert {"model", "optimizer", "epoch", "rng"} <= set(ck), p
        elif p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                for k in z.files:
                    z[k]
        elif p.name == "metrics.jsonl":
            text = p.read_text()
            lines = text.split("\n")
            for line in lines[:-1]:
                json.loads(line)  # every newline-terminated line is a whole record
            assert Run(run).metrics() == [json.loads(x) for x in lines[:-1] if x]


def records(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if not timing(k)} for r in Run(run).metrics()]


def assert_same_run(ref: Path, run: Path) -> None:
    assert Run(run).status()["state"] == "finished"
    assert records(run) == records(ref)
    assert Run(run).final_metrics()["mAP"] == Run(ref).final_metrics()["mAP"]
    a = torch.load(ref / "checkpoint.pt", weights_only=True)
    b = torch.load(run / "checkpoint.pt", weights_only=True)
    assert_same_state(a["model"], b["model"])
    assert a["step"] == b["step"] and a["epoch"] == b["epoch"]
    names = sorted(p.relative_to(ref).as_posix() for p in ref.rglob("*.npz"))
    assert names == sorted(p.relative_to(run).as_posix() for p in run.rglob("*.npz"))
    for name in names:
        with np.load(ref / name) as za, np.load(run / name) as zb:
            assert za.files == zb.files
            for k in za.files:
                assert np.array_equal(za[k], zb[k]), (name, k)
    assert temp_files(run) == []


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("kill") / "mars", train_ids=6, test_ids=3,
                           frames=(4, 8))


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    t0 = time.time()
    assert attempt("none", data, out) == 0
    run = Run(out)
    assert [r["epoch"] for r in run.metrics("labels")] == [0, 1]  # two label updates
    return out, time.time() - t0


# ----------------------------------------------------------------------------- kills

# Moments in order along one run (each N counts within its own process, i.e. since the
# resume): they walk through both epochs, both label updates and both checkpoints.
TARGETED = [
    "write:initial.npz:1",   # the initial features, half written (no checkpoint yet)
    "cluster:1",             # clustering of the first label update (before epoch 1)
    "write:update_:1",       # the label store of that update, half written
    "step:2",                # after the 2nd optimiser step
    "log:6",                 # half a metrics line
    "write:checkpoint.pt:1", # the checkpoint of epoch 1, half written: starts over again
    "cluster:2",             # clustering of the second label update (checkpoint 1 on disk)
    "write:metrics.jsonl:1", # the metrics rewrite that starts a resume, half written
    "write:status.json:3",   # the status file
    "write:config.json:1",   # the config rewritten by a resume
    "write:checkpoint.pt:1", # the checkpoint of epoch 2 (resumed from epoch 1)
    "write:final.npz:1",     # the final features (checkpoint 2 on disk)
]


@pytest.mark.slow
def test_kills_at_chosen_moments_resume_to_the_same_run(data, reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "run"
    kills = 0
    for kill in TARGETED:
        rc = attempt(kill, data, out)
        assert rc == -signal.SIGKILL, f"{kill}: the process was not killed (rc {rc})"
        kills += 1
        assert_complete_files(out)
    assert any(p.name.startswith(".final.npz") for p in temp_files(out))  # the last kill's
    assert attempt("none", data, out) == 0
    assert kills >= 10
    assert_same_run(ref, out)


@pytest.mark.slow
def test_kills_at_random_moments_resume_to_the_same_run(data, reference, tmp_path):
    """SIGKILL at seeded random times after the imports, resume, again, until 5 kills have
    landed; a run that finishes before its kill is compared and a new one started."""
    ref, duration = reference
    rng = np.random.default_rng(11)
    kills, folders = 0, 0
    while kills < 5 and folders < 4:
        folders += 1
        out = tmp_path / f"run{folders}"
        for _ in range(6):
            # the tiny run trains for about `duration` minus the imports; aim inside that
            rc = attempt("none", data, out, after_s=float(rng.uniform(0.2, max(duration - 2,
                                                                              1.0))))
            if rc == 0:
                break
            kills += 1
            assert_complete_files(out)
        else:  # killed every time: let it finish
            assert attempt("none", data, out) == 0
        assert_same_run(ref, out)
    assert kills >= 5


# ----------------------------------------------------------------------------- damage

def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(data, tmp_path,
                                                                       monkeypatch):
    from reidlab.engine.config import make_config
    from reidlab.engine.trainer import train
    from reidlab.errors import DiskFullError

    cfg = make_config("test", dataset=str(data), method="padal_id", epochs=2)
    out = tmp_path / "full"
    calls = {"n": 0}
    real_save = torch.save

    def save(obj, f, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # the checkpoint of epoch 2
            f.write(b"PK\x03\x04 partial")  # some bytes made it to the temp file
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *a, **kw)

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(DiskFullError) as info:
        train(cfg, out)
    msg = str(info.value)
    assert "checkpoint.pt" in msg and "disk full" in msg.lower()
    assert "epoch 1" in msg and "intact" in msg
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck["epoch"] == 1  # the previous checkpoint, whole
    assert temp_files(out) == []
    st = Run(out).status()
    assert st["state"] == "failed" and "disk full" in st["message"].lower()
    # with space again, --resume continues from epoch 1 and finishes
    monkeypatch.setattr(torch, "save", real_save)
    train(cfg, out, resume=True)
    assert Run(out).status()["state"] == "finished"
    assert [r["epoch"] for r in Run(out).metrics("epoch")] == [1, 2]


def test_a_disk_that_fills_inside_torch_save_is_reported_as_full(data, tmp_path, monkeypatch):
    """A real full disk fails a write deep inside ``torch.save``, which turns the OSError
    into a RuntimeError; it is still reported as a full disk."""
    import io

    import reidlab.atomic as atomic
    from reidlab.errors import DiskFullError

    class Filling(io.FileIO):
        def write(self, b):
            if self.tell() > 4096:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(b)

    path = tmp_path / "checkpoint.pt"
    atomic.save_torch_atomic({"w": torch.arange(5)}, path)
    monkeypatch.setattr(atomic, "_open", lambda p, mode: Filling(p, "w"))
    with pytest.raises(DiskFullError, match="checkpoint.pt: disk full"):
        atomic.save_torch_atomic({"w": torch.zeros(100_000)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(5))
    assert temp_files(tmp_path) == []


def test_a_full_disk_while_appending_metrics(data, tmp_path, monkeypatch):
    """The disk fills while a metrics line is appended: a DiskFullError names metrics.jsonl,
    the run is failed, and --resume (with space again) finishes it from the last checkpoint."""
    from reidlab.engine import trainer as T
    from reidlab.engine.config import make_config
    from reidlab.engine.store import RunStore
    from reidlab.errors import DiskFullError

    class Filling:
        def __init__(self, fh):
            self.fh, self.n = fh, 0

        def write(self, text):
            self.n += 1
            if self.n == 4:  # the step record of epoch 2 (checkpoint 1 is on disk)
                self.fh.write(text[:5])
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(text)

        def flush(self):
            self.fh.flush()

        def close(self):
            self.fh.close()

    real_open = RunStore.open_metrics

    def open_metrics(self, resumed, epoch):
        real_open(self, resumed, epoch)
        self.fh = Filling(self.fh)

    cfg = make_config("test", dataset=str(data), method="padal_id", epochs=2)
    out = tmp_path / "m"
    monkeypatch.setattr(RunStore, "open_metrics", open_metrics)
    with pytest.raises(DiskFullError, match=r"metrics\.jsonl: disk full"):
        T.train(cfg, out)
    assert "disk full" in Run(out).status()["message"]
    monkeypatch.setattr(RunStore, "open_metrics", real_open)
    T.train(cfg, out, resume=True)
    assert Run(out).status()["state"] == "finished"
    assert [r["epoch"] for r in Run(out).metrics("epoch")] == [1, 2]


def test_the_cli_reports_a_full_disk_in_one_line(data, tmp_path, monkeypatch, capsys):
    from reidlab.cli import main

    def save(obj, f, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", save)
    rc = main(["train", "--preset", "test", "--method", "padal_id", "--dataset", str(data),
               "--epochs", "1", "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "error:" in err and "checkpoint.pt" in err and "Traceback" not in err


@pytest.mark.slow  # the reference run (a CAWCL training) first
def test_a_truncated_checkpoint_is_refused_by_name(data, reference, tmp_path):
    import shutil

    from reidlab.engine.restore import load_run_model
    from reidlab.engine.trainer import train

    ref, _ = reference
    run = tmp_path / "damaged"
    shutil.copytree(ref, run)
    ck = run / "checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[: ck.stat().st_size // 2])
    with pytest.raises(ReidlabError, match=r"checkpoint\.pt.*expected a complete"):
        train(Run(run).train_config(), run, resume=True)  # resume: the run's own settings
    with pytest.raises(ReidlabError, match=r"checkpoint\.pt.*expected a complete"):
        load_run_model(run)


@pytest.mark.slow  # the reference run (a CAWCL training) first
def test_a_truncated_label_file_is_refused_by_name(reference, tmp_path):
    import shutil

    from reidlab.analysis.pseudo_labels import load_update
    from reidlab.eval.features import FeatureSet

    ref, _ = reference
    run = tmp_path / "damaged"
    shutil.copytree(ref, run)
    for p in (run / "labels" / "update_001.npz", run / "features" / "final.npz"):
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(ReidlabError, match=r"update_001\.npz"):
        load_update(run, 1)
    with pytest.raises(ReidlabError, match=r"final\.npz"):
        FeatureSet.load(run / "features" / "final.npz")


@pytest.mark.slow  # the reference run (a CAWCL training) first
def test_a_run_another_process_is_training_is_not_resumed(data, reference, tmp_path):
    """Two writers would interleave checkpoints and metrics: --resume refuses a run whose
    status names a live training process, and goes ahead when that process is gone or the
    pid now belongs to a later process."""
    import shutil

    from reidlab.engine.trainer import train

    ref, _ = reference
    run = tmp_path / "busy"
    shutil.copytree(ref, run)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        status = json.loads((run / "status.json").read_text())
        status.update(state="running", pid=other.pid, started=time.time())
        (run / "status.json").write_text(json.dumps(status))
        cfg = Run(run).train_config()  # resume: the run's own settings
        with pytest.raises(ReidlabError, match=f"process {other.pid} training it"):
            train(cfg, run, resume=True)
        assert json.loads((run / "status.json").read_text())["pid"] == other.pid  # untouched
        status.update(started=time.time() - 3600)  # the pid was reused by a later process
        (run / "status.json").write_text(json.dumps(status))
        train(cfg, run, resume=True)  # (finished already: only the final evaluation again)
        assert Run(run).status()["state"] == "finished"
    finally:
        other.kill()
        other.wait()
