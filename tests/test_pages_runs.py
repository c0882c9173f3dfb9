"""The run pages (Home, Data, Train, Ablations, Export) and the job list under Streamlit's
AppTest, on a tiny SynthCams and run stores written here: runs of different settings are
never averaged or shown as identical rows, a run name holding other settings is refused, a bad
dataset never reaches a job, and runs can be deleted or archived inside the runs folder only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from reidlab.eval.features import FeatureSet
from test_app_pages import chart_titled  # the shared chart reader (decodes plotly arrays)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / name), default_timeout=TIMEOUT)


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at) -> str:
    """Every markdown, caption, info, warning and error text of the page, joined."""
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning",
                                                "error", "success", "toast")
                     for e in at.get(kind))


def write_run(runs: Path, name: str, data_root: Path, *, rank1: float, mAP: float,
              preset: str = "test", seed: int = 0, wall_s: float = 12.0, state="finished",
              **settings) -> Path:
    """A finished run store (config, status with wall time, final metrics, features) of the
    given settings, with the given final rank-1 and mAP (fractions)."""
    from reidlab.engine.config import make_config

    out = runs / name
    cfg = make_config(preset, dataset=str(data_root), seed=seed, **settings)
    (out / "features").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    q, g = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=(9, 4)).astype(np.float32)
    FeatureSet(q, g, np.arange(6) % 3, np.arange(9) % 3, np.zeros(6, int), np.ones(9, int),
               np.arange(6), np.arange(9)).save(out / "features" / "final.npz")
    now = time.time()
    (out / "config.json").write_text(json.dumps({
        "config": cfg.to_dict(), "created": now,
        "dataset": {"format": "mars", "root": str(data_root), "options": {},
                    "name": "synthcams", "num_cameras": 3}}))
    (out / "status.json").write_text(json.dumps({
        "state": state, "progress": 1.0, "started": now - wall_s, "updated": now}))
    recs = [{"kind": "step", "epoch": 1, "step": s, "loss": 1.0 / (s + 1),
             "terms": {"id": 0.5, "adv": 0.2, "adv_part": 0.1}} for s in range(4)]
    recs += [{"kind": "eval", "which": "initial", "epoch": 0, "rank1": 0.01, "mAP": 0.01},
             {"kind": "eval", "which": "final", "epoch": cfg.epochs, "rank1": rank1,
              "rank5": rank1, "mAP": mAP, "mINP": mAP / 2}]
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return out


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    from reidlab.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("pages_data") / "synth"
    generate(root, SynthConfig(ids=8, cameras=3, frames=3, height=32, width=16,
                               distractors=0, workers=1))
    return root


@pytest.fixture
def lab(data_root, tmp_path, monkeypatch):
    """An empty runs folder of its own per test (and the tiny dataset)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setenv("REIDLAB_DATA", str(data_root))
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    monkeypatch.chdir(ROOT)
    return {"data": data_root, "runs": runs}


# --------------------------------------------------------------------------- Train

def set_form(at, **values):
    """Set Train-form widgets by label."""
    for label, v in values.items():
        w = next(w for kind in ("selectbox", "number_input", "text_input", "checkbox",
                                "slider", "select_slider")
                 for w in at.get(kind) if w.label == label)
        w.set_value(v)
    return at


def start(at):
    next(b for b in at.button if b.label == "Start training").click().run()
    return at


def test_train_form_shows_and_checks_the_dataset(lab):
    from reidlab.engine import jobs

    at = page("app_pages/2_Train.py").run()
    no_errors(at)
    assert str(lab["data"]) in texts(at)  # the form says what it trains on
    at = page("app_pages/2_Train.py")
    at.session_state["dataset"] = ("mars", "/nonexistent/folder")
    at.run()
    assert any("/nonexistent/folder" in e.value for e in at.error)
    start(at)
    assert jobs.list_jobs(lab["runs"]) == []  # nothing started
    assert not any(p.name != ".jobs.lock" for p in lab["runs"].iterdir())


def test_train_settings_come_from_the_schema(lab):
    """Every general setting of the form is a TrainConfig field with its help and choices;
    the preset's values are the defaults; a changed one reaches the job's argv."""
    import dataclasses

    from reidlab.engine import jobs
    from reidlab.engine.config import TrainConfig, make_config
    from reidlab.schema import choices_of

    at = page("app_pages/2_Train.py").run()
    no_errors(at)
    set_form(at, preset="test").run()
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    backbone = next(s for s in at.selectbox if s.label == "backbone")
    assert list(backbone.options) == list(choices_of(fields["backbone"]))
    assert backbone.value == make_config("test").backbone == "tiny"
    sampler = next(s for s in at.selectbox if s.label == "sampler")
    assert list(sampler.options) == list(choices_of(fields["sampler"]))
    assert sampler.help == fields["sampler"].metadata["help"]
    height = next(n for n in at.number_input if n.label.startswith("height"))
    assert height.value == make_config("test").height
    set_form(at, epochs=1, sampler="pk")
    at.text_input(key="run_name").set_value("schema_job")
    start(at)
    no_errors(at)
    argv = jobs.job_state("schema_job", lab["runs"]).argv
    assert argv[argv.index("--epochs") + 1] == "1" and argv[argv.index("--sampler") + 1] == "pk"
    assert "--backbone" not in argv  # the preset's own value is not repeated
    jobs.cancel("schema_job", root=lab["runs"], grace_s=1.0)


def write_job(runs: Path, name: str, *, pid=None, log: str = "", status: dict | None = None):
    """A job's files as the app writes them (job.json; job.log; status.json if given)."""
    from reidlab.engine.runs import process_start_ticks

    d = runs / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "job.json").write_text(json.dumps({
        "name": name, "pid": pid or 2**22 - 11, "start": process_start_ticks(pid) if pid
        else "1", "argv": ["-m", "reidlab", "train", "--out", str(d)],
        "submitted": time.time() - 100}))
    (d / "job.log").write_text(log)
    if status is not None:
        (d / "status.json").write_text(json.dumps(status))
    return d


def test_job_list_shows_the_cause_details_and_time_left(lab):
    import os

    write_job(lab["runs"], "died", log="using the dataset\nerror: /x/y: expected a MARS "
              "dataset folder, found no such folder\n")
    d = write_run(lab["runs"], "ran", lab["data"], rank1=0.5, mAP=0.4, method="padal_mp",
                  K=2, wall_s=75)
    write_job(lab["runs"], "ran")
    now = time.time()
    write_job(lab["runs"], "busy", pid=os.getpid(),
              status={"state": "running", "progress": 0.25, "started": now - 60,
                      "updated": now, "message": "epoch 1/2"})
    at = page("app_pages/2_Train.py").run()
    no_errors(at)
    shown = texts(at)
    # the failed job's one-line cause in the list, not only in its collapsed log
    assert "/x/y: expected a MARS dataset folder, found no such folder" in shown
    # a finished job's run details: preset, backbone, size, epochs, dataset, seed, wall time
    assert "test · tiny 32×16 · 2 ep · synth · seed 0 · 75 s" in shown, shown
    # a running job: elapsed and the time left from its progress (60 s for 25 %: 180 s)
    import re

    line = next(c.value for c in at.caption if "running" in c.value and "left" in c.value)
    el, left = re.search(r"running (\d+) s, about ([\d.]+) min left", line).groups()
    assert 60 <= int(el) < 90 and abs(float(left) - 3 * int(el) / 60) <= 0.1
    assert d.is_dir()


def test_curves_follow_the_new_run_and_no_stale_starting_box(lab):
    from reidlab.engine import jobs

    write_run(lab["runs"], "old", lab["data"], rank1=0.5, mAP=0.4, method="padal_mp", K=2)
    write_job(lab["runs"], "old")
    at = page("app_pages/2_Train.py").run()
    assert at.selectbox(key="curves_of").value == "old"
    set_form(at, preset="test").run()
    set_form(at, epochs=1)
    at.text_input(key="run_name").set_value("new_job")
    start(at)
    no_errors(at)
    try:
        assert at.selectbox(key="curves_of").value == "new_job"
        # the start is said once (a toast), not in a box that keeps saying "starting"
        assert not any("starting" in str(e.value) for kind in ("success", "info")
                       for e in at.get(kind))
    finally:
        jobs.cancel("new_job", root=lab["runs"], grace_s=1.0)


def test_evaluation_chart_has_points_on_whole_epochs_and_distinct_loss_colours(lab):
    write_run(lab["runs"], "curves", lab["data"], rank1=0.5, mAP=0.4, method="padal_mp", K=2)
    write_job(lab["runs"], "curves")
    at = page("app_pages/2_Train.py").run()
    no_errors(at)
    ev = chart_titled(at, "Evaluation")
    assert all(t["mode"] == "markers" for t in ev["data"])  # no line invented between evals
    assert ev["layout"]["xaxis"]["tickformat"] == "d" and ev["layout"]["xaxis"]["dtick"] >= 1
    loss = chart_titled(at, "Training losses")
    colours = [t["line"]["color"] for t in loss["data"]]
    assert len(colours) == 4 and len(set(colours)) == 4

    def rgb(h):
        return np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)], float)

    # no two terms near-identical and none faint on white (the old yellow: luminance 219)
    assert min(np.linalg.norm(rgb(a) - rgb(b)) for i, a in enumerate(colours)
               for b in colours[i + 1:]) > 70
    assert all(rgb(c) @ [0.2126, 0.7152, 0.0722] < 180 for c in colours)


def test_a_run_name_with_other_settings_is_refused(lab):
    """Start with other settings under an existing run name never reports success: a one-line
    refusal naming the differing settings; an empty name trains under a new name."""
    from reidlab.engine import jobs

    write_run(lab["runs"], "taken", lab["data"], rank1=0.5, mAP=0.4, method="padal_mp", K=3)
    write_job(lab["runs"], "taken")
    at = page("app_pages/2_Train.py").run()
    set_form(at, preset="test").run()
    set_form(at, epochs=1)
    at.text_input(key="run_name").set_value("taken")
    start(at)
    err = [e.value for e in at.error]
    assert len(err) == 1 and "taken" in err[0] and "epochs 2 (stored) → 1 (asked)" in err[0]
    assert "\n" not in err[0]
    assert not any("finished" in str(s.value) for s in at.success)
    assert jobs.job_state("taken", lab["runs"]).argv[-1].endswith("taken")  # untouched
    # the same settings under that name: shown as that run, nothing started
    at = page("app_pages/2_Train.py").run()
    set_form(at, preset="test")
    at.text_input(key="run_name").set_value("taken")
    start(at)
    no_errors(at)
    assert any("already has these settings" in i.value for i in at.info)
    # an empty name: a new name from the settings
    at = page("app_pages/2_Train.py").run()
    set_form(at, preset="test").run()
    set_form(at, epochs=1)
    start(at)
    no_errors(at)
    names = {j.name for j in jobs.list_jobs(lab["runs"])}
    new = names - {"taken"}
    try:
        assert new == {"padal_mp_K3_test"}, names
    finally:
        for n in new:
            jobs.cancel(n, root=lab["runs"], grace_s=1.0)


# --------------------------------------------------------------------------- Data

def test_a_bad_folder_typed_on_data_is_not_kept(lab):
    """A folder that does not load stays on the Data page: the session's dataset (what the
    sidebar, Train, Home and every page read) is still the last one that loaded."""
    at = page("app_pages/1_Data.py").run()
    no_errors(at)
    at.text_input(key="root").set_value("/nonexistent/folder").run()
    assert any("/nonexistent/folder" in e.value for e in at.error)
    assert "dataset" not in at.session_state or \
        at.session_state["dataset"][1] == str(lab["data"])
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert str(lab["data"]) in sidebar and "/nonexistent" not in sidebar


# --------------------------------------------------------------------------- Ablations

@pytest.fixture
def mixed(lab):
    """A test-preset and a quick-preset run of padal_mp K=3, and two seeds of test K=2."""
    runs, data = lab["runs"], lab["data"]
    write_run(runs, "t_k3", data, rank1=0.003, mAP=0.01, method="padal_mp", K=3)
    write_run(runs, "q_k3", data, rank1=0.352, mAP=0.30, preset="quick", method="padal_mp",
              K=3, wall_s=240)
    write_run(runs, "t_k2_s0", data, rank1=0.20, mAP=0.10, method="padal_mp", K=2, seed=0)
    write_run(runs, "t_k2_s1", data, rank1=0.40, mAP=0.20, method="padal_mp", K=2, seed=1)
    return lab


def test_ablations_average_only_runs_of_equal_settings(mixed):
    at = page("app_pages/7_Ablations.py").run()
    no_errors(at)
    fig = chart_titled(at, "vs K")
    r1 = {t["name"]: t for t in fig["data"] if t["name"].endswith("rank-1")}
    assert len(r1) == 2  # the quick run is its own line, never in a test+quick mean
    quick = next(t for n, t in r1.items() if "96×48" in n)
    test = next(t for n, t in r1.items() if "32×16" in n)
    assert list(quick["x"]) == [3] and list(quick["y"]) == pytest.approx([35.2])
    assert list(test["x"]) == [2, 3]
    assert list(test["y"]) == pytest.approx([30.0, 0.3])  # seeds of K=2 averaged, K=3 alone
    err = list(test["error_y"]["array"])
    assert err[0] == pytest.approx(np.std([20, 40], ddof=1)) and err[1] == 0
    assert all(y - e >= 0 for y, e in zip(test["y"], err))  # no bar below 0 from mixed runs
    board = at.dataframe[1].value
    assert sorted(board["runs"]) == [1, 1, 2]  # K=3 test, K=3 quick, K=2 test (2 seeds)
    two = board[board["runs"] == 2]
    assert two["seeds"].iloc[0] == "0, 1" and two["rank-1"].iloc[0].startswith("30.0 ± 14.1")
    # each row names what tells it apart: the K and the preset's backbone/size
    assert len(set(board.index)) == 3 and all("K=" in i for i in board.index)
    assert any("backbone=effnet_lite0" in i for i in board.index)
    table = at.dataframe[0].value
    assert table.loc["q_k3 (padal_mp)", "preset"] == "quick"
    assert table.loc["t_k3 (padal_mp)", "size"] == "32×16"
    assert table.loc["q_k3 (padal_mp)", "wall time"] == "4.0 min"


def test_sweep_form_has_seeds_and_a_time_estimate(mixed):
    from reidlab.engine import jobs

    at = page("app_pages/7_Ablations.py").run()
    no_errors(at)
    at.selectbox(key="sw_preset").set_value("quick")
    at.text_input(key="sw_values").set_value("1,2")
    at.text_input(key="sw_seeds").set_value("0,1").run()
    # 4 runs of the measured 240 s (the quick run on disk): 16 min
    assert any("4 run(s)" in c.value and "16.0 min" in c.value for c in at.caption)
    at.text_input(key="sw_seeds").set_value("0,x").run()
    assert any("seeds" in e.value for e in at.error)
    at.text_input(key="sw_seeds").set_value("0,1").run()
    at.button(key="sw_go").click().run()
    no_errors(at)
    queued = sorted(jobs.job_state(n, mixed["runs"]).argv[-1].rsplit("/", 1)[-1]
                    for n in [p.stem.split("-", 1)[1] for p in
                              (mixed["runs"] / jobs.QUEUE_DIR).glob("[0-9]*-*.json")])
    try:
        assert queued == ["sweep_padal_mp_quick_K1_s0", "sweep_padal_mp_quick_K1_s1",
                          "sweep_padal_mp_quick_K2_s0", "sweep_padal_mp_quick_K2_s1"]
        argv = jobs.job_state("sweep_padal_mp_quick_K2_s1", mixed["runs"]).argv
        assert argv[argv.index("--seed") + 1] == "1" and argv[argv.index("--K") + 1] == "2"
    finally:
        for n in queued:
            jobs.cancel(n, root=mixed["runs"], grace_s=1.0)


# --------------------------------------------------------------------------- Export

def test_results_table_tells_runs_apart_and_csv_has_numbers(mixed):
    import io

    from reidlab.engine.runs import Run
    from reidlab.viz.cli_export import standard_tables
    from reidlab.viz.export import table_bytes

    write_run(mixed["runs"], "id_run", mixed["data"], rank1=0.1, mAP=0.05, method="padal_id")
    runs = [Run(mixed["runs"] / n) for n in ("t_k3", "q_k3", "id_run")]
    t = standard_tables(runs)["results"]
    for c in ("preset", "backbone", "size", "epochs", "dataset", "seed"):
        assert c in t.columns
    # a test run and a quick run of the same method and K are no longer identical rows
    assert t.loc["t_k3", ["preset", "backbone", "size"]].tolist() == ["test", "tiny", "32×16"]
    assert t.loc["q_k3", ["preset", "backbone", "size"]].tolist() == ["quick", "effnet_lite0",
                                                                      "96×48"]
    csv = pd.read_csv(io.StringIO(table_bytes(t, "csv").decode()), index_col=0)
    for c in ("epochs", "seed", "K", "lambda", "clips", "rank1", "mAP"):
        assert csv[c].dtype.kind in "if", (c, csv[c].tolist())  # numbers, not "—"
    assert np.isnan(csv.loc["id_run", "K"])  # padal_id has no parts: an empty cell
    assert csv.loc["q_k3", "rank1"] == pytest.approx(35.2)
    assert "—" in table_bytes(t, "tex").decode()  # LaTeX still shows the dash


def test_export_of_two_runs_into_one_folder_keeps_all_files(mixed, tmp_path):
    from reidlab.cli import main

    out = tmp_path / "figs"
    for name in ("t_k3", "q_k3"):
        assert main(["export", "--run", str(mixed["runs"] / name), "--out", str(out),
                     "--formats", "html", "--runs", str(mixed["runs"])]) == 0
    files = {p.name for p in out.iterdir()}
    for name in ("t_k3", "q_k3"):
        assert f"{name}_pair_rank1.html" in files and f"{name}_results.csv" in files
    assert len([f for f in files if f.startswith("t_k3_")]) == \
        len([f for f in files if f.startswith("q_k3_")])


def test_export_page_figures_follow_the_run_and_runs_in_the_table(mixed):
    at = page("app_pages/8_Export.py").run()
    no_errors(at)
    # the column-width control shows which preset the default width is
    assert at.button_group(key="export_col").value == "custom"
    at.button_group(key="export_col").set_value("double column").run()
    assert at.number_input(key="export_w").value == 7.16
    assert at.button_group(key="export_col").value == "double column"
    at.number_input(key="export_w").set_value(3.5).run()
    assert at.button_group(key="export_col").value == "single column"
    # the figure selection follows the run
    sb = at.selectbox(key="ex_run")
    for name in ("t_k3", "q_k3"):
        at.selectbox(key="ex_run").select_index(
            next(i for i, o in enumerate(sb.options) if o.startswith(name + " "))).run()
        no_errors(at)
        chosen = at.multiselect(key="ex_figs").value
        assert chosen and all(n.startswith(name + "_") for n in chosen), chosen
    # which runs go into the results table
    runs = at.multiselect(key="ex_table_runs")
    assert len(runs.options) == 5 and all("·" in o for o in runs.options)  # with details
    runs.set_value([o for o in runs.options if o.startswith(("t_k3", "q_k3"))]).run()
    t = at.dataframe[0].value
    assert sorted(t.index) == ["q_k3", "t_k3"] and "preset" in t.columns


# --------------------------------------------------------------------------- Home

def test_home_shows_trained_runs_and_the_best_results(mixed):
    at = page("app.py").run()  # Home, through the navigation
    no_errors(at)
    vals = {m.label: m.value for m in at.metric}
    assert vals["trained runs"] == "4"
    assert vals["best rank-1 (%)"] == "40.0" and vals["best mAP (%)"] == "30.0"
    t = at.dataframe[0].value  # best mAP first, with the runs' details
    assert t.index[0] == "q_k3 (padal_mp)" and t.loc["q_k3 (padal_mp)", "preset"] == "quick"


def test_home_deletes_or_archives_a_run_after_a_confirmation(mixed):
    from reidlab.engine.runs import list_runs

    runs = mixed["runs"]
    at = page("app.py").run()  # Home, through the navigation
    opts = at.selectbox(key="home_rm_run").options
    at.selectbox(key="home_rm_run").set_value(next(o for o in opts if o.startswith("t_k3 "))).run()
    assert at.button(key="home_rm_go").disabled  # nothing happens before the confirmation
    at.checkbox(key="home_rm_sure").check().run()
    at.button(key="home_rm_go").click().run()
    no_errors(at)
    assert not (runs / "t_k3").exists()
    assert any("archived t_k3" in s.value for s in at.success)
    archived = list((runs / "_archive").glob("*/t_k3/config.json"))
    assert len(archived) == 1  # kept, out of every page's lists
    assert "t_k3" not in {r.name for r in list_runs(runs)}
    at.selectbox(key="home_rm_run").set_value(
        next(o for o in at.selectbox(key="home_rm_run").options if o.startswith("q_k3 ")))
    at.radio(key="home_rm_how").set_value("delete").run()
    at.checkbox(key="home_rm_sure").check().run()
    at.button(key="home_rm_go").click().run()
    no_errors(at)
    assert not (runs / "q_k3").exists() and not list((runs / "_archive").glob("*/q_k3"))


def test_remove_run_never_leaves_the_runs_folder(lab, tmp_path):
    from reidlab.engine import jobs
    from reidlab.errors import ReidlabError

    outside = write_run(tmp_path, "outside", lab["data"], rank1=0.1, mAP=0.1)
    inside = write_run(lab["runs"], "inside", lab["data"], rank1=0.1, mAP=0.1)
    (lab["runs"] / "link").symlink_to(tmp_path)
    for bad in (outside, lab["runs"] / ".." / "outside", lab["runs"], lab["runs"] / "link",
                lab["runs"] / "link" / "outside", lab["runs"] / "nope", "/"):
        with pytest.raises(ReidlabError):
            jobs.remove_run(bad, root=lab["runs"])
    assert (outside / "config.json").is_file() and (inside / "config.json").is_file()
    # a run whose job is still running is not removed
    import os

    write_job(lab["runs"], "inside", pid=os.getpid(), status={"state": "running"})
    with pytest.raises(ReidlabError, match="cancel it first"):
        jobs.remove_run(inside, root=lab["runs"])
    (inside / "job.json").unlink()
    jobs.remove_run(inside, root=lab["runs"])
    assert not inside.exists() and outside.is_dir()


def test_every_form_setting_reaches_the_trained_config(lab):
    """Each general setting the Train form offers, changed from the preset's value, becomes a
    flag of the job that the CLI reads back into the same settings (one schema, no map)."""
    import dataclasses

    from reidlab import app_support as ui
    from reidlab.cli import build_parser
    from reidlab.engine import jobs
    from reidlab.engine.cli_train import config_from_args
    from reidlab.engine.config import TrainConfig, setting_applies
    from reidlab.engine.settings import settings_diff
    from reidlab.schema import choices_of

    base = ui.preset_config("test", "padal_mp", str(lab["data"]), "mars")
    changed = {}
    for f in dataclasses.fields(TrainConfig):
        if not f.metadata.get("form", True) or f.name in ui.NOT_SETTINGS \
                or not setting_applies(f.name, "padal_mp"):  # as the form offers them
            continue
        v = getattr(base, f.name)
        choices = choices_of(f)
        if choices:
            changed[f.name] = next(c for c in choices if c != v)
        elif isinstance(v, bool):
            changed[f.name] = not v
        elif isinstance(v, int):
            changed[f.name] = v + 1
        elif isinstance(v, float):
            changed[f.name] = v * 2
    assert {"epochs", "batch_size", "height", "width", "backbone", "sampler", "hflip",
            "pretrained", "clips_per_tracklet", "seed"} <= set(changed)
    argv = jobs.train_argv(lab["runs"] / "x", method="padal_mp", preset="test",
                           dataset=str(lab["data"]), settings=changed, K=2)
    args = build_parser(argv[2:]).parse_args(argv[2:])
    cfg = config_from_args(args)
    want = ui.preset_config("test", "padal_mp", str(lab["data"]), "mars", K=2, **changed)
    assert settings_diff(cfg, want) == {} and cfg.seed == want.seed
    assert all(getattr(cfg, k) == v for k, v in changed.items())


def test_in_page_png_button_uses_the_paper_size_and_keeps_underscores(mixed):
    """The camera button of every chart saves the paper style's PNG (width × dpi pixels),
    named after the figure with its underscores."""
    from reidlab.viz.style import Style

    at = page("app_pages/2_Train.py")
    at.session_state["paper_style"] = Style(width_in=3.5, height_in=2.5, dpi=300)
    write_job(mixed["runs"], "t_k2_s0")
    at.run()
    no_errors(at)
    el = next(e for e in at.get("plotly_chart") if "loss" in e.proto.spec[:20000])
    opts = json.loads(el.proto.config)["toImageButtonOptions"]
    assert opts["filename"] == "loss_t_k2_s0"
    assert round(opts["width"] * opts["scale"]) == 1050
    assert round(opts["height"] * opts["scale"]) == 750


def test_single_column_embedding_moves_its_camera_legend_below():
    """Under 5 in the embeddings' camera legend leaves the left margin (docs/app.md)."""
    from reidlab.viz.embeddings import embedding_scatter_pair
    from reidlab.viz.style import Style, restyle

    rng = np.random.default_rng(0)
    fig = embedding_scatter_pair(rng.normal(size=(60, 2)), np.arange(60) % 6,
                                   np.arange(60) // 6)
    narrow = restyle(fig, Style(width_in=3.5, height_in=2.62, font_pt=8))
    lg = narrow.layout.legend
    assert lg.orientation == "h" and lg.yref == "container" and lg.y == 0
    assert narrow.layout.margin.l < 0.1 * narrow.layout.width
    wide = restyle(fig, Style(width_in=7.16, height_in=3.58, font_pt=8))
    assert wide.layout.legend.orientation != "h"  # a double column keeps it on the left


def test_part_mask_exports_are_tall_enough_for_people():
    """Three rows of standing people: exported at least as tall as wide (1.4× under 5 in),
    other figures at the chosen size."""
    from reidlab.viz.cli_export import figure_style
    from reidlab.viz.style import Style

    assert figure_style("h6_part_masks", Style(width_in=3.5, height_in=2.62)).height_in == 4.9
    assert figure_style("part_masks", Style(width_in=7.0, height_in=4.0)).height_in == 7.0
    assert figure_style("part_masks", Style(width_in=7.16, height_in=8.0)).height_in == 8.0
    single = Style(width_in=3.5, height_in=2.62)
    assert figure_style("h6_pair_rank1", single) == single
