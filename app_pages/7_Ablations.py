"""Ablations: queue sweeps over K, λ or clips per tracklet; metric-vs-value plots; a table."""

import pandas as pd
import streamlit as st

from reidlab import app_support as ui
from reidlab.engine import jobs
from reidlab.engine.config import PRESETS
from reidlab.viz import figures as F
from reidlab.viz.cli_export import setting_text

ui.page_header("Ablations")

PARAMS = {"K": ("K", "K"), "λ": ("lam", "lam"), "clips per tracklet": ("clips_per_tracklet",
                                                                       "clips")}

METHODS: dict = {}
with ui.guard("methods"):
    from reidlab.methods import METHODS


def sweep_form(expanded: bool) -> None:
    """Queue sweeps: one background job per value, started one at a time."""
    with st.expander("Queue a sweep (background jobs, one at a time)", expanded=expanded):
        methods = sorted(METHODS)
        with st.form("sweep"):
            c = st.columns(3)
            method = c[0].selectbox("method", methods,
                                    index=methods.index("padal_mp") if "padal_mp" in methods
                                    else 0)
            param = c[1].selectbox("sweep", list(PARAMS))
            preset = c[2].selectbox("preset", sorted(PRESETS),
                                    index=sorted(PRESETS).index("quick"))
            values_text = st.text_input("values (comma separated)", "1,2,3,4,6")
            prefix = st.text_input("run name prefix", "sweep")
            go = st.form_submit_button("Queue sweep", type="primary")
        if go:
            with ui.guard("sweep"):
                values = [v.strip() for v in values_text.split(",") if v.strip()]
                if not values:
                    raise ValueError("give at least one value")
                cast = float if param == "λ" else int
                flag = PARAMS[param][1]
                fmt, root = ui.current_dataset()
                for v in values:
                    v = cast(v)
                    name = f"{prefix}_{method}_{flag}{v}"
                    jobs.enqueue(name, root=ui.runs_root(), method=method, preset=preset,
                                 dataset=root, **{flag: v})
                st.success(f"queued {len(values)} jobs; follow them on the Train page")


def traits(method: str | None) -> dict:
    """What the method reads (``Method.traits``): uses_lam, uses_parts, clusters, options."""
    cls = METHODS.get(method)
    return cls.traits() if cls is not None else {}


def variant(cfg: dict) -> str | None:
    """The method plus the settings that make another line of the plot: strict parts (PAM
    methods), the confusion loss and the DANN λ ramp (λ methods), and for clustering methods
    the camera loss, the weighting, a missing contrastive loss, PIRID's (and the supervised
    bound's) triplet, xmodal_adv's Table 2 rows and a source
    dataset."""
    method = cfg.get("method")
    if method is None:
        return None
    t = traits(method)
    lam, parts = t.get("uses_lam", False), t.get("uses_parts", False)
    opts = {**cfg, **(cfg.get("options") or {})}  # the page passes flat configs
    tags = [tag for tag, on in (("strict", parts and cfg.get("parts") == "strict"),
                                ("confusion", lam and cfg.get("adv_loss") == "confusion"),
                                ("dann", lam and cfg.get("lam_schedule") == "dann")) if on]
    if "cam_loss" in t.get("options", []):
        tags.append({"ce": "cam CE", "none": "no cam"}.get(opts.get("cam_loss"), ""))
        tags.append("no contr" if opts.get("contrastive") in (False, "false") else "")
        tags.append("no kNN" if opts.get("weighting") == "none" else "")
        tags.append("oracle labels" if opts.get("oracle_labels") in (True, "true") else "")
    if "triplet_weight" in t.get("options", []):  # pirid: the paper's Table 2 variants
        tags.append("intra only" if opts.get("inter") in (False, "false") else "")
        tags.append("no triplet" if float(opts.get("triplet_weight", 1) or 0) == 0 else "")
        tags.append("eq.1 as printed" if opts.get("memory_rule") == "as_printed" else "")
    if "entropy_weights" in t.get("options", []):  # xmodal_adv: the paper's Table 2 rows
        stages = str(opts.get("adv_stages", "1,2,3,4"))
        tags.append({"none": "baseline", "1,2,3,4": ""}.get(stages, f"stages {stages}"))
        tags.append("no weights" if opts.get("entropy_weights") in (False, "false") else "")
        tags.append(f"{opts['stripes']} stripes" if int(opts.get("stripes", 3)) != 3 else "")
    if cfg.get("source"):
        tags.append("UDA")
    return " ".join([method, *[tag for tag in tags if tag]])


runs = ui.list_runs()
rows = []
from reidlab.engine.config import flat_config  # noqa: E402

for r in runs:
    cfg = flat_config(r.config.get("config", {}))
    m = F.to_percent([r.final_metrics() or {}])[0]
    trained = not ui.no_training(r)
    t = traits(cfg.get("method"))
    # a setting the run does not use is no setting of it: K without PAM, λ without alignment
    used = {"K": t.get("uses_parts", False), "lam": t.get("uses_lam", False)}
    rows.append({"run": ui.run_label(r), "folder": ui.run_folder(r) or "(top)",
                 "method": cfg.get("method"),
                 "variant": variant(cfg),
                 "seed": cfg.get("seed") if trained else None,
                 **{k: cfg.get(k) if trained and used.get(k, True) else None
                    for k in ("K", "lam", "clips_per_tracklet", "epochs")},
                 "backbone": cfg.get("backbone"),
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

st.subheader("Metric vs value")
folders = sorted({r["folder"] for r in rows})
chosen_folders = folders
if n_trained == 0:
    st.caption("A plot of rank-1 / mAP against the swept value appears here once a trained run "
               "has finished.")
else:
    c = st.columns([2, 3, 3, 3])
    x_label = c[0].selectbox("x", list(PARAMS), key="abl_x")
    metrics = c[1].multiselect("metrics", ["rank1", "rank5", "mAP", "mINP"], ["rank1", "mAP"],
                               key="abl_metrics")
    methods_present = sorted({r["variant"] for r in rows if r["trained"] and r["variant"]})
    chosen_methods = c[2].multiselect(
        "methods", methods_present, methods_present, key="abl_methods",
        help="one line per method variant; runs at the same value (seeds) are averaged, with "
             "± std error bars")
    chosen_folders = c[3].multiselect("run folders", folders, folders, key="abl_folders",
                                      help="e.g. keep a benchmark's folder only, so that runs "
                                           "of another schedule are not averaged with it")
    with ui.guard("ablation plot"):
        x = PARAMS[x_label][0]
        # a value that the method does not use is not a point of its curve: K only matters to
        # PAM methods, λ only to adversarial ones
        uses = {"K": lambda m: traits(m).get("uses_parts", False),
                "lam": lambda m: traits(m).get("uses_lam", False)}.get(x, lambda m: True)
        sub = [r for r in rows if r["trained"] and r["variant"] in chosen_methods
               and uses(r["method"]) and r["folder"] in chosen_folders]
        if sub and metrics:
            ui.show_figure(F.ablation_plot(sub, x=x, metrics=metrics, group="variant",
                                           style=ui.paper_style(),
                                           title=f"{', '.join(metrics)} vs {x_label}"),
                           f"ablation_{x}", key="abl_fig")
        else:
            st.caption("choose methods and metrics that have runs in the chosen folders")

st.subheader("Compare runs")
selected = st.multiselect("runs", list(df.index), list(df.index), key="abl_runs")
table = df.loc[selected, ["variant", "seed", "epochs", "K", "lam", "clips_per_tracklet", "rank1",
                          "rank5", "mAP", "mINP"]].copy()
for col in ("seed", "epochs", "K", "lam", "clips_per_tracklet"):  # "—": the run has no such
    table[col] = table[col].map(setting_text)                            # setting (ImageNet init)
st.dataframe(table, key="abl_table", column_config={
    m: st.column_config.NumberColumn(format="%.1f") for m in ("rank1", "rank5", "mAP", "mINP")})
st.session_state.setdefault("tables", {})["comparison"] = table

st.subheader("Leaderboard")
st.caption("One line per method variant in the chosen run folders, mean ± std over its runs "
           "(seeds); best mAP first. `python bench/leaderboard.py` trains every method with "
           "the same preset and seeds for this table, between the ImageNet lower bound and "
           "the supervised upper bound.")
with ui.guard("leaderboard"):
    from reidlab.analysis.leaderboard import leaderboard_table, mean_std_text

    board = leaderboard_table([r for r in rows if r["folder"] in chosen_folders])
    if board.empty:
        st.caption("no finished run with metrics in these folders")
    else:
        ui.show_table(mean_std_text(board).set_index("variant"), "leaderboard",
                      key="abl_leaderboard")
