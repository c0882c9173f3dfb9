"""``python -m reidlab baseline``: the ImageNet-init run that `make app` prepares."""

from reidlab.cli import main
from reidlab import synth as S
from reidlab.engine.runs import Run, list_runs


def test_baseline_cli_writes_a_run_once(tmp_path, capsys):
    data = S.generate(tmp_path / "sc", S.SynthConfig(ids=6, cameras=3, frames=4, height=32,
                                                      width=16, distractors=1, workers=1))
    runs = tmp_path / "runs"
    assert main(["baseline", "--dataset", str(data), "--runs", str(runs)]) == 0
    [run] = list_runs(runs)
    assert run.status()["state"] == "finished"
    fs = run.features("final")
    assert fs.q_feat.shape[1] == 1280 and len(fs.q_feat) == len(fs.q_pids) > 0
    m = run.final_metrics()
    assert m["protocol"] == "official" and 0.0 <= m["mAP"] <= 1.0
    assert m["extraction"] == "float32"  # the baseline's feature pass has no autocast
    stamp = (run.path / "features" / "final.npz").stat().st_mtime_ns
    assert main(["baseline", "--dataset", str(data), "--runs", str(runs)]) == 0
    assert (Run(run.path).path / "features" / "final.npz").stat().st_mtime_ns == stamp
    out = capsys.readouterr().out
    assert "features ready" in out
    # in percent, as the app shows it (not a raw fraction such as 0.011363636363636364)
    assert f"rank-1 {100 * m['rank1']:.1f}%, mAP {100 * m['mAP']:.1f}% (official protocol)" \
        in out, out


def test_baseline_cli_bad_dataset_is_a_clear_error(tmp_path, capsys):
    assert main(["baseline", "--dataset", str(tmp_path / "nope"), "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "expected" in err
