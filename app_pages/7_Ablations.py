"""Ablations: queue sweeps over K, λ or clips; metric-vs-value plots; a table."""

import pandas as pd
import streamlit as st

from reidlab import app_support as ui
from reidlab.engine import jobs
from reidlab.engine.config import PRESETS
from reidlab.viz import figures as F
from reidlab.viz.cli_export import setting_text

ui.page_header("Ablations")

PARAMS = {"K": ("K", "K"), "λ": ("lam", "lam"), "clips": ("clips_per_tracklet", "clips")}

METHODS: dict = {}
with ui.guard("methods"):
    from reidlab.methods import METHODS


def sweep_form(expanded: bool) -> None:
    """Queue sweeps: one background job per value and seed, started one at a time."""
    with st.expander("Queue a sweep (background jobs, one at a time)", expanded=expanded):
        methods = sorted(METHODS)
        c = st.columns(3)
        method = c[0].selectbox("method", methods,
                                index=methods.index("padal_mp") if "padal_mp" in methods
                                else 0, key="sw_method")
        param = c[1].selectbox("sweep", list(PARAMS), key="sw_param")
        preset = c[2].selectbox("preset", sorted(PRESETS),
                                index=sorted(PRESETS).index("quick"), key="sw_preset")
        c = st.columns(3)
        values_text = c[0].text_input("values (comma separated)", "1,2,3,4,6", key="sw_values")
        seeds_text = c[1].text_input("seeds (comma separated)", "0", key="sw_seeds",
                                     help="one run per value and seed; runs that differ only "
                                          "in the seed are averaged (mean ± std)")
        prefix = c[2].text_input("run name prefix", "sweep", key="sw_prefix")
        try:
            values, seeds = sweep_values(param, values_text), sweep_seeds(seeds_text)
        except ValueError as e:
            st.error(f"sweep: {e}")
            return
        n = len(values) * len(seeds)
        each = ui.estimate_seconds(preset, method)
        st.caption(f"{n} run(s) ({len(values)} value(s) × {len(seeds)} seed(s)), one at a "
                   "time: " + (f"about {ui.duration_text(n * each)} "
                               f"({ui.duration_text(each)} each: "
                               f"{ui.estimate_basis(preset, method)})" if each else
                               f"no time estimate for the {preset} preset on this machine yet"))
        if st.button("Queue sweep", type="primary", key="sw_go"):
            with ui.guard("sweep"):
                flag = PARAMS[param][1]
                fmt, root = ui.current_dataset()
                problem = ui.dataset_problem(fmt, root)
                if problem:
                    raise ValueError(f"dataset {root} ({fmt}): {problem}")
                planned = []
                for v in values:  # every name checked before any job is queued
                    for seed in seeds:
                        name = f"{prefix}_{method}_{preset}_{flag}{v}" + \
                            (f"_s{seed}" if len(seeds) > 1 or seed else "")
                        cfg = ui.preset_config(preset, method, root, fmt, seed=seed,
                                               **{PARAMS[param][0]: v})
                        planned.append((name, seed, v, ui.check_run_name(name, cfg)))
                for name, seed, v, same in planned:
                    if same is None:
                        jobs.enqueue(name, root=ui.runs_root(), method=method, preset=preset,
                                     dataset=root, format=fmt if fmt != "mars" else None,
                                     seed=seed, **{flag: v})
                kept = sum(same is not None for *_, same in planned)
                st.success(f"queued {len(planned) - kept} job(s)"
                           + (f" ({kept} already there with these settings)" if kept else "")
                           + "; follow them on the Train page")


def sweep_values(param: str, text: str) -> list:
    cast = float if param == "λ" else int
    out = []
    for v in (v.strip() for v in text.split(",")):
        if not v:
            continue
        try:
            out.append(cast(v))
        except ValueError:
            what = "a number" if cast is float else "a whole number"
            raise ValueError(f"values: {v!r} is not {what}") from None
    if not out:
        raise ValueError("values: give at least one value")
    return out


def sweep_seeds(text: str) -> list[int]:
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"seeds: expected whole numbers separated by commas, got "
                         f"{text!r}") from None
    if not seeds:
        raise ValueError("seeds: give at least one seed")
    return list(dict.fromkeys(seeds))


def traits(method: str | None) -> dict:
    """What the method reads (``Method.traits``): uses_lam, uses_parts, clusters, options."""
    cls = METHODS.get(method)
    return cls.traits() if cls is not None else {}


def variant(cfg: dict) -> str | None:
    """The method plus its class's tags for the run's settings (``reidlab.methods``'s
    :func:`variant_name`)."""
    from reidlab.methods import variant_name

    return variant_name(cfg)


runs = ui.list_runs()
from reidlab.engine.config import flat_config  # noqa: E402
from reidlab.engine.settings import group_runs  # noqa: E402

# groups of equal settings (seeds of one row): the only runs ever averaged together
groups = group_runs(runs)
group_of = {str(r.path): g for g in groups for r in g.runs}
label_of = ui.group_labels(groups)
rows = []
for r in runs:
    cfg = flat_config(r.config.get("config", {}))
    m = F.to_percent([r.final_metrics() or {}])[0]
    trained = not ui.no_training(r)
    t = traits(cfg.get("method"))
    d = ui.run_details(r)
    # a setting the run does not use is no setting of it: K without PAM, λ without alignment
    used = {"K": t.get("uses_parts", False), "lam": t.get("uses_lam", False)}
    g = group_of[str(r.path)]
    label = ui.run_label(r)
    n = sum(row["run"] == label or row["run"].startswith(label + " #") for row in rows)
    rows.append({"run": label if n == 0 else f"{label} #{n + 1}",  # one row per run
                 "folder": ui.run_folder(r) or "(top)",
                 "method": cfg.get("method"), "variant": variant(cfg),
                 "group": label_of[g.fingerprint], "fingerprint": g.fingerprint,
                 "settings": r.settings(),
                 "preset": d.get("preset"), "backbone": d.get("backbone"),
                 "size": d.get("size"), "dataset": d.get("dataset"),
                 "seed": cfg.get("seed") if trained else None,
                 "wall time": ui.duration_text(d.get("wall_s")),
                 **{k: cfg.get(k) if trained and used.get(k, True) else None
                    for k in ("K", "lam", "clips_per_tracklet", "epochs")},
                 "rank1": m.get("rank1"), "rank5": m.get("rank5"), "mAP": m.get("mAP"),
                 "mINP": m.get("mINP"), "trained": trained})
n_trained = sum(r["trained"] for r in rows)
if n_trained == 0:
    st.info(("Only the ImageNet init run so far: " if rows else "No finished runs yet: ")
            + "there is nothing to compare. Queue a sweep right here (K, λ or clips per "
              "tracklet; **Queue sweep** below), or train single runs on the **Train** page; "
              "finished runs appear on this page.")
sweep_form(expanded=n_trained == 0)
if not rows:
    st.stop()
df = pd.DataFrame(rows).set_index("run")
METRIC_NAMES = {"rank1": "rank-1", "rank5": "rank-5", "mAP": "mAP", "mINP": "mINP"}

st.subheader("Metric vs value")
st.caption("One line per setting: runs on a line differ only in the swept value, and a point "
           "averages only runs of equal settings (seeds: mean ± std). Lines are named by the "
           "settings that tell them apart.")
folders = sorted({r["folder"] for r in rows})
chosen_folders = folders
if n_trained == 0:
    st.caption("A plot of rank-1 / mAP against the swept value appears here once a trained run "
               "has finished.")
else:
    c = st.columns([2, 3, 4, 3])
    x_label = c[0].selectbox("x", list(PARAMS), key="abl_x")
    metrics = c[1].multiselect("metrics", list(METRIC_NAMES), ["rank1", "mAP"],
                               format_func=METRIC_NAMES.get, key="abl_metrics")
    chosen_folders = c[3].multiselect("run folders", folders, folders, key="abl_folders",
                                      help="e.g. keep a benchmark's folder only")
    with ui.guard("ablation plot"):
        x = PARAMS[x_label][0]
        # a value that the method does not use is not a point of its curve: K only matters to
        # PAM methods, λ only to adversarial ones
        uses = {"K": lambda m: traits(m).get("uses_parts", False),
                "lam": lambda m: traits(m).get("uses_lam", False)}.get(x, lambda m: True)
        sub = [dict(r) for r in rows if r["trained"] and uses(r["method"])
               and r["folder"] in chosen_folders and r.get(x) is not None]
        lines = ui.line_labels([r["settings"] for r in sub], x)
        for r, line in zip(sub, lines):
            r["line"] = line
        present = list(dict.fromkeys(lines))
        chosen_lines = c[2].multiselect(
            "lines", present, present, key=f"abl_lines_{x}",
            help="one line per setting; runs at the same value and setting (seeds) are "
                 "averaged, with ± std error bars")
        # metrics by their names (rank-1) in the legend
        sub = [{**r, **{METRIC_NAMES[m]: r[m] for m in metrics}} for r in sub
               if r["line"] in chosen_lines]
        if sub and metrics:
            ui.show_figure(F.ablation_plot(sub, x=x, metrics=[METRIC_NAMES[m] for m in metrics],
                                           group="line",
                                           style=ui.paper_style(),
                                           title=f"{', '.join(METRIC_NAMES[m] for m in metrics)}"
                                                 f" vs {x_label}"),
                           f"ablation_{x}", key="abl_fig")
        else:
            st.caption("choose lines and metrics that have runs in the chosen folders")

st.subheader("Compare runs")
selected = st.multiselect("runs", list(df.index), list(df.index), key="abl_runs")
cols = ["group", "preset", "backbone", "size", "epochs", "dataset", "seed", "wall time", "K",
        "lam", "clips_per_tracklet", "rank1", "rank5", "mAP", "mINP"]
table = df.loc[selected, cols].copy()
for col in ("preset", "seed", "epochs", "K", "lam", "clips_per_tracklet"):  # "—": no such
    table[col] = table[col].map(setting_text)  # setting (the ImageNet init, a custom run)
table = table.rename(columns={"lam": "λ", "clips_per_tracklet": "clips", **METRIC_NAMES})
st.dataframe(table, key="abl_table", column_config={
    m: st.column_config.NumberColumn(format="%.1f") for m in METRIC_NAMES.values()})
st.session_state.setdefault("tables", {})["comparison"] = table

st.subheader("Leaderboard")
st.caption("One line per setting in the chosen run folders — runs of equal settings, which "
           "differ only in the seed — mean ± std over them; best mAP first. Lines are named by "
           "the settings that tell them apart. `python bench/leaderboard.py` trains every "
           "method with the same preset and seeds for this table, between the ImageNet lower "
           "bound and the supervised upper bound.")
with ui.guard("leaderboard"):
    from reidlab.analysis.leaderboard import leaderboard_table, mean_std_text

    chosen_rows = [{**r, "variant": r["group"]} for r in rows if r["folder"] in chosen_folders]
    board = leaderboard_table(chosen_rows)
    if board.empty:
        st.caption("no finished run with metrics in these folders")
    else:
        seeds = {}
        for r in chosen_rows:
            seeds.setdefault(r["group"], []).append(r["seed"])
        shown = mean_std_text(board).set_index("variant")
        shown.insert(1, "seeds", [", ".join(setting_text(s) for s in seeds[v])
                                  for v in shown.index])
        shown = shown.rename(columns=METRIC_NAMES)
        shown.index.name = "setting"
        ui.show_table(shown, "leaderboard", key="abl_leaderboard")

st.subheader("Camera-gap sweep")
with ui.guard("camera-gap sweep"):
    from reidlab.viz import gap_sweep as GS

    sweep = GS.load_sweep()
    if sweep is None or not sweep["rows"]:
        st.caption("No sweep yet: `python bench/gap_sweep.py` trains the leaderboard's methods "
                   "on SynthCams at several camera-gap levels (`reidlab synth --gap G`) into "
                   "bench/results/gap_sweep.json; `python -m reidlab gap DATASET` places any "
                   "dataset on the same axis.")
    else:
        st.caption("The leaderboard's methods on SynthCams from no camera gap (0) to the default "
                   "(1), mean ± std over the seeds (bench/results/gap_sweep.json); the ticks "
                   "name each level's same-camera neighbour share of ImageNet features — "
                   "`python -m reidlab gap DATASET` gives a real dataset's.")
        gap_metric = st.radio("metric", ["rank1", "mAP"], horizontal=True, key="abl_gap_metric")
        ui.show_figure(GS.gap_sweep_figure(sweep["rows"], gap_metric, sweep.get("levels")),
                       f"gap_sweep_{gap_metric}", key="abl_gap_sweep")
