"""``python -m reidlab train / eval / sweep`` on a tiny dataset with the ``test`` preset."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_mars import write_tiny_mars  # noqa: E402

from reidlab.engine.config import flat_config  # noqa: E402
from reidlab.cli import main  # noqa: E402
from reidlab.engine.runs import Run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("cli") / "mars", train_ids=4, test_ids=4)


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def test_train_then_eval_as_subprocesses(tiny, tmp_path):
    out = tmp_path / "runs" / "t1"
    p = subprocess.run([sys.executable, "-m", "reidlab", "train", "--dataset", str(tiny),
                        "--method", "padal_m", "--preset", "test", "--lam", "0.2",
                        "--out", str(out)], capture_output=True, text=True, env=_env(),
                       cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout[p.stdout.index("{"):])
    assert summary["status"] == "finished"
    cfg = Run(out).config["config"]
    assert cfg["method"] == "padal_m" and cfg["options"]["lam"] == 0.2 and cfg["preset"] == "test"
    e = subprocess.run([sys.executable, "-m", "reidlab", "eval", "--run", str(out)],
                       capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert e.returncode == 0, e.stderr
    m = json.loads(e.stdout)
    stored = Run(out).final_metrics()
    for k in ("rank1", "rank5", "mAP", "mINP", "protocol", "pair_rank1"):
        assert m[k] == stored[k], k  # recomputed from features/final.npz
    assert m["protocol"] == "official" and summary["final"]["mAP"] == stored["mAP"]


def test_eval_initial_and_resume_flag(tiny, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--dataset", str(tiny), "--preset", "test", "--epochs", "1",
                 "--out", str(out), "--no-progress"]) == 0
    assert main(["train", "--resume", "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    assert [r["epoch"] for r in Run(out).metrics("epoch")] == [1, 2]
    capsys.readouterr()
    assert main(["eval", "--run", str(out), "--which", "initial"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["which"] == "initial"
    initial = [r for r in Run(out).metrics("eval") if r["which"] == "initial"][0]
    assert m["mAP"] == initial["mAP"]


def test_missing_dataset_is_a_clear_error(tmp_path):
    p = subprocess.run([sys.executable, "-m", "reidlab", "train", "--dataset",
                        str(tmp_path / "nope"), "--preset", "test", "--out",
                        str(tmp_path / "r")], capture_output=True, text=True, env=_env(),
                       timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "nope" in p.stderr and "no such folder" in p.stderr
    assert not (tmp_path / "r").exists()


def test_bad_inputs_in_process(tiny, tmp_path, capsys):
    assert main(["eval", "--run", str(tmp_path / "missing")]) == 2
    assert "config.json" in capsys.readouterr().err
    assert main(["train", "--dataset", str(tiny), "--preset", "test", "--method", "nope",
                 "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "unknown method" in capsys.readouterr().err
    # an existing run is not silently overwritten
    out = tmp_path / "y"
    assert main(["train", "--dataset", str(tiny), "--preset", "test", "--epochs", "1",
                 "--out", str(out), "--no-progress"]) == 0
    assert main(["train", "--dataset", str(tiny), "--preset", "test", "--out", str(out),
                 "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_sweep_writes_summary(tiny, tmp_path, capsys):
    base = tmp_path / "sweepK"
    assert main(["sweep", "--param", "K", "--values", "1,2", "--dataset", str(tiny),
                 "--method", "padal_mp", "--preset", "test", "--epochs", "1",
                 "--base-out", str(base), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(base / "summary.csv")))
    assert [r["K"] for r in rows] == ["1", "2"]
    for r in rows:
        run = Run(r["run"])
        assert run.config["config"]["options"]["K"] == int(r["K"])
        assert float(r["mAP"]) == run.final_metrics()["mAP"]
    md = (base / "summary.md").read_text()
    assert "| K | run | status |" in md and md.count("finished") == 2
    assert main(["sweep", "--param", "bogus", "--values", "1", "--dataset", str(tiny),
                 "--base-out", str(base)]) == 2


def test_study_flags_reach_the_stored_config(tiny, tmp_path):
    out = tmp_path / "partial"
    assert main(["train", "--dataset", str(tiny), "--preset", "test", "--epochs", "1",
                 "--method", "padal_m", "--partial-domains", "1,2;2,3", "--lam-schedule", "dann",
                 "--adv-loss", "confusion",                 "--fragment-rate", "0.5", "--last-stride", "2", "--no-pretrained",
                 "--out", str(out), "--no-progress"]) == 0
    cfg = flat_config(Run(out).config["config"])
    assert cfg["partial_domains"] == [[0, 1], [1, 2]]
    assert cfg["lam_schedule"] == "dann" and cfg["fragment_rate"] == 0.5
    assert cfg["adv_loss"] == "confusion"
    assert cfg["last_stride"] == 2 and cfg["pretrained"] is False


@pytest.mark.parametrize("groups", ["1", "a,b", "0,1", ";"])
def test_bad_partial_domains_are_refused(groups, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--partial-domains", groups, "--out", "x"])
    assert "camera groups" in capsys.readouterr().err
