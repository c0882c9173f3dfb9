"""``python -m reidlab train / eval / sweep`` on a tiny dataset with the ``test`` preset."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tiny_mars import write_tiny_mars

from reidlab.engine.config import flat_config
from reidlab.cli import main
from reidlab.engine.runs import Run
from reidlab.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("cli") / "mars", train_ids=4, test_ids=4)


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


@pytest.mark.slow  # subprocesses / a browser: in make test, not the fast set
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
    for bad in (["--method", "nope"], ["--format", "foo"], ["--sampler", "q"],
                ["--epochs", "x"], ["--method", "padal_mp", "--K", "x"]):
        assert main(["train", "--dataset", str(tiny), "--preset", "test", *bad,
                     "--out", str(tmp_path / "x"), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert bad[-2] in err or bad[-2].lstrip("-") in err, err  # names the flag
        assert not (tmp_path / "x").exists()  # refused before anything is written
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
    assert "| K | seed | run | status |" in md and md.count("finished") == 2
    assert main(["sweep", "--param", "bogus", "--values", "1", "--dataset", str(tiny),
                 "--base-out", str(base)]) == 2
    # the same sweep with other settings into the same folder: refused, naming the setting,
    # and the finished runs are neither kept as if they were these settings nor retrained
    mtime = (base / "K=1" / "metrics.jsonl").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["sweep", "--param", "K", "--values", "1,2", "--dataset", str(tiny),
                 "--method", "padal_mp", "--preset", "test", "--epochs", "2",
                 "--base-out", str(base), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "epochs 1" in err and "2" in err
    assert (base / "K=1" / "metrics.jsonl").stat().st_mtime_ns == mtime
    # the same settings again: kept (not retrained)
    assert main(["sweep", "--param", "K", "--values", "1", "--dataset", str(tiny),
                 "--method", "padal_mp", "--preset", "test", "--epochs", "1",
                 "--base-out", str(base), "--no-progress"]) == 0
    assert (base / "K=1" / "metrics.jsonl").stat().st_mtime_ns == mtime


def test_sweep_seeds_and_values_typed(tiny, tmp_path):
    from reidlab.engine.cli_sweep import parse_values

    assert parse_values("clips", "1,2") == ("clips_per_tracklet", [1, 2])
    assert parse_values("lam", "0,0.5", "padal_mp") == ("lam", [0.0, 0.5])
    assert parse_values("hflip", "on,off") == ("hflip", [True, False])
    with pytest.raises(ConfigError, match="sampler"):
        parse_values("sampler", "random,nope")
    base = tmp_path / "seeds"
    assert main(["sweep", "--param", "lam", "--values", "0.5", "--seeds", "0,1",
                 "--dataset", str(tiny), "--method", "padal_m", "--preset", "test", "--epochs",
                 "1", "--base-out", str(base), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(base / "summary.csv")))
    assert [(r["lam"], r["seed"]) for r in rows] == [("0.5", "0"), ("0.5", "1")]
    runs = [Run(r["run"]) for r in rows]
    assert runs[0].fingerprint() == runs[1].fingerprint()  # seeds of one setting
    assert [r.train_config().seed for r in runs] == [0, 1]


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
    assert main(["train", "--partial-domains", groups, "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "camera groups" in err and len(err.strip().splitlines()) == 1
