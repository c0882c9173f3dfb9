"""``make bench`` names real scripts with arguments they accept (the benchmarks themselves are
run by ``make bench``, never by the tests)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_make_bench_runs_scripts_that_exist_with_flags_they_define():
    import run_all

    for name, (script, full, quick) in {**run_all.SPEED, **run_all.TABLES}.items():
        path = ROOT / "bench" / script
        assert path.is_file(), f"{name}: bench/{script} does not exist"
        text = path.read_text()
        if "from tablelib import" in text:  # the tables' common arguments
            text += (ROOT / "bench" / "tablelib.py").read_text()
        for flag in [a for a in full + quick if a.startswith("--")]:
            assert f'"{flag}"' in text, f"{name}: bench/{script} has no {flag} option"
    out = subprocess.run([sys.executable, "bench/run_all.py", "--dry-run", "--tables"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "table_cawcl" in out and "eval: bench/bench_eval.py" in out
    assert "run_all.py" in (ROOT / "Makefile").read_text()


def test_readme_measured_table_is_generated_from_bench_results():
    """The README's Measured table is exactly what bench/results gives (never edited by hand)."""
    import measured

    assert measured.main(["--check"]) == 0, "run `python bench/measured.py --write`"
    table = measured.render()
    for name, _ in measured.BUILDERS:
        if (ROOT / "bench" / "results" / name).is_file():
            assert f"bench/results/{name[:-5]}.md" in table or name in table


def test_measured_rows_follow_the_numbers(tmp_path):
    import json

    import measured

    res = tmp_path / "results"
    res.mkdir()
    rows = [{"row": "a", "seed": 0, "rank1": 0.25, "mAP": 0.125},
            {"row": "a", "seed": 1, "rank1": 0.35, "mAP": 0.175},
            {"row": "b", "seed": 0, "rank1": 0.5, "mAP": 0.5, "initial_rank1": 0.01,
             "initial_mAP": 0.02}]
    meta = {"command": "python bench/table_pirid.py --rows b --seeds 0"}
    (res / "table_pirid.json").write_text(json.dumps({"meta": meta, "rows": rows}))
    table = measured.render(res)
    assert "`a` 30.0 ± 7.1 / 15.0 ± 3.5 (2 seeds); `b` 50.0 / 50.0 (ImageNet init 1.0 / 2.0)" \
        in table
    assert "`python bench/table_pirid.py --rows a,b --seeds 0,1`" in table
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{measured.BEGIN}\nold\n{measured.END}\nrest\n")
    assert measured.main(["--check", "--results", str(res), "--readme", str(readme)]) == 1
    assert measured.main(["--write", "--results", str(res), "--readme", str(readme)]) == 0
    assert measured.main(["--check", "--results", str(res), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    (res / "table_pirid.json").write_text("{}")
    try:
        measured.render(res)
    except SystemExit as e:
        assert "table_pirid.json" in str(e)
    else:
        raise AssertionError("a results file without its numbers must be an error")


def test_readme_embeds_the_leaderboard_table_from_its_results(tmp_path):
    import json

    import measured

    res = tmp_path / "results"
    res.mkdir()
    (res / "leaderboard.md").write_text("# Leaderboard\n\nCommand: x\nMachine: 2 cores  \n"
                                        "Date: today  \n\n| row | rank-1 |\n|---|---|\n"
                                        "| supervised | 45.7 |\n")
    meta = {"command": "python bench/leaderboard.py --results /here --seeds 0"}
    (res / "leaderboard.json").write_text(json.dumps({"meta": meta, "rows": [
        {"row": "supervised", "seed": 0}, {"row": "supervised", "seed": 1}]}))
    begin, end = measured.embed_marks("leaderboard.md")
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{measured.BEGIN}\n{measured.END}\n{begin}\nstale\n{end}\nb\n")
    assert measured.main(["--check", "--results", str(res), "--readme", str(readme)]) == 1
    assert measured.main(["--write", "--results", str(res), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "| supervised | 45.7 |" in text and "stale" not in text and text.endswith("b\n")
    assert "`python bench/leaderboard.py --seeds 0,1 --rows supervised`" in text  # no --results
    assert measured.main(["--check", "--results", str(res), "--readme", str(readme)]) == 0


def test_leaderboard_rows_show_t_input_and_extraction(tmp_path):
    """Every leaderboard line says at what T, input size and feature precision its rows were
    measured; seeds of other precisions are never averaged; the line under the table says
    which rows compare (with their ImageNet start); the .md is rewritten from the .json alone."""
    import json
    from types import SimpleNamespace

    import leaderboard

    def row(name, seed, r1, m, t=None, h=None, w=None, ext=None):
        return {"row": name, "seed": seed, "rank1": r1, "mAP": m, "protocol": "official",
                **({"frames_per_clip": t, "height": h, "width": w} if t else {}),
                **({"extraction": ext} if ext else {})}

    rows = [row("imagenet", 0, 0.026, 0.032, 4, 96, 48, "float32"),
            row("imagenet", 1, 0.026, 0.032, 4, 96, 48, "float32"),
            row("cawcl_debias", 0, 0.15, 0.11, 4, 96, 48, "float32"),
            row("supervised", 0, 0.46, 0.40, 2, 128, 64, "float32"),
            row("supervised", 1, 0.30, 0.30, 2, 128, 64, "bfloat16"),
            row("padal_id", 0, 0.25, 0.20)]  # from before rows recorded any of it
    meta = json.loads((ROOT / "bench" / "results" / "leaderboard.json").read_text())["meta"]
    (tmp_path / "leaderboard.json").write_text(json.dumps({"meta": meta, "rows": rows}))
    md = leaderboard.write_from_json(tmp_path / "leaderboard.json").read_text()
    assert "| supervision | T · input · extraction | rank-1 |" in md
    assert "| imagenet | 2 | lower bound | 4 · 96×48 · float32 | 2.6 ± 0.0 |" in md
    assert "| padal_id | 1 | camera-local IDs | ? · ? · not recorded | 25.0 |" in md
    # one fingerprint, two precisions: two lines, not one mean
    assert "| supervised [older · float32] | 1 | upper bound (true identities, CE) | " \
           "2 · 128×64 · float32 | 46.0 |" in md
    assert "| supervised [older · bfloat16] | 1 |" in md
    under = md.strip().splitlines()[-1]
    assert under.startswith("Only rows of equal T · input · extraction compare")
    assert "**4 · 96×48 · float32**: imagenet, cawcl_debias (imagenet is their start: " \
           "2.6 / 3.2 rank-1 / mAP)" in under
    assert "**2 · 128×64 · float32**: supervised (their ImageNet start: 1.1 / 2.9" in under
    assert "**2 · 128×64 · bfloat16**: supervised (their ImageNet start is not in this " \
           "table)" in under and "**? · ? · not recorded**: padal_id" in under
    assert json.loads((tmp_path / "leaderboard.json").read_text())["rows"] == rows  # as it was

    # a row's extraction: its eval record's, else the run's own "features are float32"
    def fake(warnings):
        return SimpleNamespace(metrics=lambda kind: [{"message": w} for w in warnings],
                               config={"config": {"frames_per_clip": 4, "height": 96,
                                                  "width": 48}})
    skipped = "eval_bf16 ignored: this CPU has no native bfloat16; features are float32"
    assert leaderboard.extraction_of(fake([]), {"extraction": "bfloat16"}) == "bfloat16"
    assert leaderboard.extraction_of(fake([skipped]), {}) == "float32"
    assert leaderboard.extraction_of(fake(["other"]), {}) is None
    assert leaderboard.measured_at(fake([])) == {"frames_per_clip": 4, "height": 96,
                                                 "width": 48}


def test_published_leaderboard_says_what_each_row_was_measured_at(tmp_path):
    """bench/results/leaderboard.json: every row records T, input size and extraction, and
    its .md is the one its rows give."""
    import json
    import shutil

    import leaderboard

    path = ROOT / "bench" / "results" / "leaderboard.json"
    for r in json.loads(path.read_text())["rows"]:
        assert r.get("frames_per_clip") and r.get("height") and r.get("extraction"), r["row"]
    shutil.copy(path, tmp_path / path.name)
    md = leaderboard.write_from_json(tmp_path / path.name).read_text()
    assert md == path.with_suffix(".md").read_text(), \
        "run `python bench/leaderboard.py --markdown-only`"
    assert "T · input · extraction" in md and "Only rows of equal" in md


@pytest.mark.slow  # subprocesses / a browser: in make test, not the fast set
def test_gpu_throughput_script_runs_on_cpu_when_asked(tmp_path):
    """bench_gpu.py measures reidlab's training step (here tiny, on the CPU) and writes its
    numbers; without a GPU and no --device it says so and measures nothing."""
    import json

    out = tmp_path / "gpu"
    args = ["bench/bench_gpu.py", "--device", "cpu", "--backbone", "tiny", "--height", "32",
            "--width", "16", "--batch", "8", "--eval-batch", "8", "--steps", "1", "--warmup",
            "1", "--ids", "4", "--decode-frames", "32", "--workers", "0", "--out", str(out)]
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
    r = json.loads(out.with_suffix(".json").read_text())
    assert r["gpu"] is None and r["rows"][0]["train_images_per_s"] > 0
    assert r["goal_met"] is False and "train images/s" in out.with_suffix(".md").read_text()
    assert r["decode"]["frames"] == 32 and r["decode"]["host_frames_per_s"] > 0 \
        and r["decode"]["device_frames_per_s"] > 0


def test_a_table_reuses_a_finished_run_only_with_the_rows_settings(tmp_path):
    """bench tables reuse a finished run folder, but one trained with other settings (a row
    whose options changed since) is an error naming them, never a silently wrong row."""
    import pytest
    from tablelib import settings_differ, train_or_reuse
    from tiny_mars import write_tiny_mars

    from reidlab.engine.config import make_config

    root = write_tiny_mars(tmp_path / "mars", train_ids=4, test_ids=3)

    def cfg(device="auto", **opts):
        return make_config("test", dataset=str(root), epochs=1, batch_size=4,
                           method="supervised", options=opts, device=device)

    run = train_or_reuse(tmp_path / "runs" / "row", lambda: cfg(triplet_weight="0"))
    assert settings_differ(run, cfg(triplet_weight=0.0)) == {}  # "0" from --opt is 0.0
    mtime = (run.path / "metrics.jsonl").stat().st_mtime_ns
    again = train_or_reuse(run.path, lambda: cfg(triplet_weight=0.0, device="cpu"))
    assert (again.path / "metrics.jsonl").stat().st_mtime_ns == mtime  # reused, not retrained
    with pytest.raises(SystemExit, match="triplet_weight"):
        train_or_reuse(run.path, lambda: cfg(triplet_weight=1.0))


def test_xmodal_diagnosis_reads_retrieval_inside_each_modality(tmp_path):
    """bench/xmodal_diagnosis.py: colour → colour and infrared → infrared from a run's saved
    features equal the evaluation of those tracklets against each other; the protocol's
    cross-modal numbers and the last epoch's training means come from metrics.jsonl."""
    import json

    import numpy as np
    import xmodal_diagnosis as xd

    from reidlab.eval.features import FeatureSet
    from reidlab.eval.ranking import compute_distmat, evaluate

    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(1, 9), 2)
    centre = rng.normal(size=(9, 16)).astype(np.float32)

    def side(cams, modality, noise):
        f = (centre[ids] + noise * rng.normal(size=(16, 16))).astype(np.float32)
        return f, ids.copy(), np.asarray(cams * 8), np.full(16, modality)

    qf, qp, qc, qm = side([2, 5], 1, 0.3)  # infrared: cam3, cam6
    gf, gp, gc, gm = side([0, 1], 0, 2.0)  # colour, noisier: lower numbers
    fs = FeatureSet(qf, gf, qp, gp, qc, gc, np.arange(16), np.arange(16), qm, gm)
    run = tmp_path / "runs" / "baseline_s0"
    (run / "features").mkdir(parents=True)
    for which in ("initial", "final"):
        fs.save(run / "features" / f"{which}.npz")
    from reidlab.synth import render as R
    from reidlab.synth import SynthConfig, generate, plan_infrared

    cfg = SynthConfig(ids=10, frames=2, height=32, width=16, distractors=0, workers=1,
                      infrared=True)
    ir_root = generate(tmp_path / "ir", cfg)
    (run / "config.json").write_text(json.dumps({"config": {"options": {"adv_stages": "none"}},
                                                 "dataset": {"root": str(ir_root),
                                                             "format": "sysumm01"},
                                                 "seed": 0}))
    recs = [{"kind": "step", "epoch": e, "step": i, "metrics": {"id_acc": a, "trip_prec": 0.1}}
            for i, (e, a) in enumerate([(1, 0.1), (2, 0.5), (2, 0.7)])]
    recs.append({"kind": "eval", "which": "final", "rank1": 0.25, "mAP": 0.3})
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert xd.main(["--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "res")]) == 0
    row = json.loads((tmp_path / "res" / "xmodal_diagnosis.json").read_text())["rows"][0]
    ref_ir = evaluate(compute_distmat(qf, qf), qp, qp, qc, qc)
    ref_c = evaluate(compute_distmat(gf, gf), gp, gp, gc, gc)
    assert row["final"]["infrared_to_infrared"]["rank1"] == ref_ir["rank1"]
    assert row["final"]["colour_to_colour"]["mAP"] == ref_c["mAP"]
    assert ref_ir["rank1"] > ref_c["rank1"]  # the case separates the two sides
    assert row["final"]["infrared_to_colour"] == {"rank1": 0.25, "mAP": 0.3}
    assert row["training"] == {"epoch": 2, "id_acc": 0.6, "trip_prec": 0.1}
    assert row["options"] == {"adv_stages": "none"}
    md = (tmp_path / "res" / "xmodal_diagnosis.md").read_text()
    assert "| baseline_s0 |" in md and "60.0" in md
    # the dataset's test identities as infrared sees them, from the generator's plan
    looks = json.loads((tmp_path / "res" / "xmodal_diagnosis.json").read_text())["infrared_looks"]
    test = {r.pid: R.thermal_look(r.spec.person) for r in plan_infrared(cfg)[1]
            if r.split == "test"}
    assert looks["test_ids"] == len(test) == 5
    assert looks["distinct_looks"] == len(set(test.values()))
    assert "distinct looks" in md
    # near-infrared data keeps the clothes: no thermal-look count for it
    nir = tmp_path / "nir"
    nir.mkdir()
    (nir / "SYNTHCAMS_COMPLETE.json").write_text(json.dumps(
        {"config": {"infrared": True, "infrared_kind": "nir"}}))
    assert xd.infrared_looks(nir) is None


def test_resolution_probe_refuses_bad_sizes_and_a_missing_dataset(tmp_path):
    import pytest
    import resolution_probe as rp

    assert rp.parse_sizes("128x64, 96x48") == [(128, 64), (96, 48)]
    for bad in ("128", "128x", "ax64", "128×64"):
        with pytest.raises(SystemExit, match="expected HEIGHTxWIDTH"):
            rp.parse_sizes(bad)
    with pytest.raises(SystemExit, match="expected a dataset folder"):
        rp.main(["--dataset", str(tmp_path / "nothing"), "--results", str(tmp_path)])
    assert not list(tmp_path.iterdir())  # nothing written
