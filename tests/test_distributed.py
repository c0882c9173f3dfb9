"""Several processes (``torchrun --nproc_per_node 2``, gloo on CPU) train what one process
trains: the same step losses and weights on the same global batches, labels computed once and
shared, a run that completes and resumes, only rank 0 writing the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reidlab.engine.distributed import Dist
from reidlab.errors import ConfigError
from tiny_mars import write_tiny_mars

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")
pytestmark = pytest.mark.skipif(not TORCHRUN.is_file(), reason="torchrun not installed")


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def torchrun(*args: str) -> subprocess.CompletedProcess:
    p = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", *args],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p


def train_args(data: Path, out: Path, method: str, *extra: str) -> list[str]:
    return ["-m", "reidlab", "train", "--preset", "test", "--method", method, "--dataset",
            str(data), "--out", str(out), "--no-progress", *extra]


def one_process(*args: str) -> None:
    p = subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(), capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]


def records(run: Path, kind: str) -> list[dict]:
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if r["kind"] == kind]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ddp") / "data"
    write_tiny_mars(root, train_ids=8, test_ids=4, cameras=3)
    return root


@pytest.mark.slow  # a torchrun of two processes
def test_collectives_match_one_process(tmp_path):
    """Batch norm over the processes' halves equals batch norm over the whole batch (outputs,
    gradients, running statistics); gathered rows keep rank order, uneven lengths and keys only
    one process has; means and stop flags agree."""
    out = tmp_path / "found.json"
    torchrun("tests/ddp_worker.py", str(out))
    f = json.loads(out.read_text())
    assert f["bn_type"] == "GlooSyncBatchNorm"
    assert f["bn_out"] < 1e-5 and f["bn_grad"] < 1e-6 and f["bn_running"] < 1e-6
    assert f["feat"] == [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
    assert f["slots"] == [7, 8] and f["scalar_kept"] == 3.0
    assert f["means"] == [{"loss": 1.5}, {"a": 3.0, "b": 1.0}]
    assert f["any"] == [True, False]


@pytest.mark.slow  # a torchrun of two processes
def test_two_processes_train_what_one_process_trains(data, tmp_path):
    """padal_id (a mean cross-entropy): every step's loss and the final weights of 2 processes
    × half batches equal those of 1 process × the whole batches; one copy of every record."""
    torchrun(*train_args(data, tmp_path / "ddp", "padal_id"))
    one_process(*train_args(data, tmp_path / "one", "padal_id"))
    a, b = records(tmp_path / "one", "step"), records(tmp_path / "ddp", "step")
    assert len(a) == len(b) >= 4
    assert [r["step"] for r in b] == list(range(1, len(b) + 1))  # rank 0 alone wrote them
    for x, y in zip(a, b):
        assert y["loss"] == pytest.approx(x["loss"], rel=1e-5, abs=1e-6)
    wa = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)["model"]
    wb = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=True)["model"]
    assert wa.keys() == wb.keys()
    for k in wa:
        if torch.is_tensor(wa[k]) and wa[k].is_floating_point():
            assert torch.allclose(wa[k], wb[k], atol=1e-5), k
    fa = records(tmp_path / "one", "eval")[-1]
    fb = records(tmp_path / "ddp", "eval")[-1]
    assert fb["which"] == "final" and fb["mAP"] == pytest.approx(fa["mAP"], abs=1e-6)
    assert json.loads((tmp_path / "ddp" / "status.json").read_text())["state"] == "finished"


@pytest.mark.slow  # a torchrun of two processes
def test_clustering_method_completes_and_resumes_under_torchrun(data, tmp_path):
    """cawcl (label updates on rank 0, memory updated with the gathered global batch): a run
    of 1 epoch resumed to 2 gives the run of 2 epochs, labels and final numbers included."""
    torchrun(*train_args(data, tmp_path / "full", "cawcl"))
    torchrun(*train_args(data, tmp_path / "part", "cawcl", "--epochs", "1"))
    torchrun(*train_args(data, tmp_path / "part", "cawcl", "--epochs", "2", "--resume"))
    full, part = tmp_path / "full", tmp_path / "part"
    la, lb = records(full, "labels"), records(part, "labels")
    assert [r["epoch"] for r in la] == [r["epoch"] for r in lb] == [0, 1]
    for x, y in zip(la, lb):
        assert y["num_clusters"] == x["num_clusters"]
        assert y["fscore"] == pytest.approx(x["fscore"])
    assert [r["loss"] for r in records(part, "step")] == pytest.approx(
        [r["loss"] for r in records(full, "step")], rel=1e-5)
    assert records(part, "eval")[-1]["mAP"] == pytest.approx(records(full, "eval")[-1]["mAP"])
    for run in (full, part):
        assert sorted(p.name for p in (run / "labels").iterdir()) == [
            "update_000.npz", "update_001.npz"]
        assert not list(run.glob("*.tmp*"))


def test_shard_and_batch_checks():
    d = Dist(world=2, rank=1)
    assert d.shard([[1, 2, 3, 4], [5, 6, 7], [8]]) == [[3, 4], [6, 7]]
    assert Dist(world=2, rank=0).shard([[1, 2, 3, 4], [5, 6, 7], [8]]) == [[1, 2], [5]]
    assert Dist().shard([[1], [2, 3]]) == [[1], [2, 3]]  # one process: untouched
    with pytest.raises(ConfigError, match="divisible by the number of processes"):
        d.check_batch(7)
    d.check_batch(8)


def test_odd_environment_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        Dist.from_env()


def test_trainer_without_torchrun_is_one_process(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    d = Dist.from_env()
    assert not d.enabled and d.is_main and d.world == 1
