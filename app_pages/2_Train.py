"""Train: start a background training job, follow it live, cancel it."""

import time

import streamlit as st

from reidlab import app_support as ui
from reidlab.engine import jobs
from reidlab.engine.config import PRESETS
from reidlab.viz import figures as F

ui.page_header("Train")

with ui.guard("methods"):
    from reidlab.methods import METHODS

    method_names = sorted(METHODS)
fmt, root = ui.current_dataset()


SHOWN_ABOVE = {"K", "parts", "lam", "adv_loss", "lam_schedule"}  # dedicated widgets


def option_widgets(cls) -> dict:
    """One widget per scalar field of the method's ``Options`` dataclass (its help as the
    tooltip; lists such as partial_domains are CLI-only); returns the values that differ from
    the defaults."""
    import dataclasses

    values = {}
    fields = [f for f in (dataclasses.fields(cls.Options) if cls.Options is not None else [])
              if f.name not in SHOWN_ABOVE and isinstance(f.default, (bool, int, float, str))]
    cols = st.columns(4)
    for i, f in enumerate(fields):
        col, helptext, key = cols[i % 4], f.metadata.get("help"), f"opt_{cls.name}_{f.name}"
        choices = f.metadata.get("choices")
        if choices:
            v = col.selectbox(f.name, list(choices), index=list(choices).index(f.default),
                              help=helptext, key=key)
        elif isinstance(f.default, bool):
            v = col.checkbox(f.name, f.default, help=helptext, key=key)
        elif isinstance(f.default, int):
            v = int(col.number_input(f.name, value=f.default, step=1, help=helptext, key=key))
        elif isinstance(f.default, float):
            v = float(col.number_input(f.name, value=f.default, format="%g", help=helptext,
                                       key=key))
        else:
            v = col.text_input(f.name, str(f.default), help=helptext, key=key)
        if v != f.default:
            values[f.name] = v
    return values


method = st.selectbox("method", method_names,
                      index=method_names.index("padal_mp") if "padal_mp" in method_names else 0,
                      help="the Train form below shows this method's own options")
cls = METHODS[method]
traits = cls.traits()

with st.form("train_form"):
    c = st.columns(2)
    preset = c[0].selectbox("preset", sorted(PRESETS), index=sorted(PRESETS).index("quick"),
                            help="test: seconds (tiny CNN); quick: 96×48, ~4 min on a 2-core "
                                 "CPU; quick128: the quick preset before 2026-12-03 (128×64, "
                                 "~7.5 min); paper: GPU")
    backbone = c[1].selectbox("backbone", ["(preset)", "effnet_lite0", "resnet18", "resnet50",
                                           "tiny"])
    from reidlab.engine.config import method_config_defaults

    c = st.columns(4)
    default_clips = int(method_config_defaults(method).get("clips_per_tracklet", 1))
    clips = c[0].slider("clips per tracklet", 1, 8, default_clips)
    epochs = c[1].number_input("epochs (0 = preset)", 0, 500, 0)
    K = lam = parts = adv_loss = lam_schedule = source = None
    if traits["uses_parts"]:
        K = c[2].slider("K (parts)", 1, 8, 3)
        parts = c[3].selectbox("part masks (PAM)", ["kmeans", "strict"],
                               help="kmeans: clusters of the feature map ordered by height; "
                                    "strict: K uniform horizontal stripes")
    if traits["uses_lam"]:
        c = st.columns(3)
        lam = c[0].select_slider("λ (adversarial weight)",
                                 [0.0, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0], value=0.1)
        adv_loss = c[1].selectbox(
            "adversarial loss", ["grl", "confusion"],
            help="grl: gradient reversal of the camera cross-entropy (the paper); confusion: "
                 "the features push the discriminators towards the uniform camera "
                 "distribution (bounded, see docs/methods.md)")
        lam_schedule = c[2].selectbox("λ schedule", ["constant", "dann"],
                                      help="dann ramps λ up from 0 as 2/(1+exp(−10p))−1")
    options = {}
    if cls.Options is not None:
        with st.expander(f"{method} options (defaults are the paper's)",
                         expanded=traits["clusters"]):
            options = option_widgets(cls)
    if getattr(cls, "accepts_source", False):
        source = st.text_input("source dataset for domain adaptation (optional, MARS layout)",
                               "", help="a labelled dataset trained beside the target, e.g. "
                               "data/synthcams_b (python -m reidlab synth --style b)") or None
    name = st.text_input("run name", value=f"{method}_K{K}" if K else method, key="run_name",
                         help="one run per name: submitting an existing name shows that run")
    submitted = st.form_submit_button("Start training", type="primary")

if submitted:
    with ui.guard("could not start the job"):
        job = jobs.submit(name, root=ui.runs_root(), method=method, preset=preset,
                          K=K, lam=lam, clips=clips, epochs=epochs or None, parts=parts,
                          adv_loss=adv_loss, lam_schedule=lam_schedule,
                          backbone=None if backbone == "(preset)" else backbone,
                          dataset=root, format=fmt if fmt != "mars" else None,
                          source=source, **options)
        st.session_state["watch"] = job.name
        st.success(f"job **{job.name}**: {job.state} (pid {job.pid})")


def job_panel() -> None:
    all_jobs = jobs.list_jobs(ui.runs_root())
    if not all_jobs:
        st.info("No jobs yet.")
        return
    st.subheader("Jobs")
    for j in all_jobs[:12]:
        c = st.columns([3, 4, 1])
        c[0].markdown(f"**{j.name}** · {j.state}")
        c[1].progress(j.progress if j.state != "finished" else 1.0,
                      text=(j.message or j.state)[:80])
        if j.active and c[2].button("Cancel", key=f"cancel_{j.name}"):
            jobs.cancel(j.name, root=ui.runs_root(), grace_s=2.0)
            st.rerun()
        if j.state == "failed":
            with st.expander(f"{j.name}: log"):
                st.code(j.log_tail(30) or "(empty log)")
    names = [j.name for j in all_jobs]
    watch = st.session_state.get("watch")
    pick = st.selectbox("curves of", names, index=names.index(watch) if watch in names else 0,
                        key="curves_of")
    from reidlab.engine.runs import Run

    run_dir = ui.runs_root() / pick
    if (run_dir / "config.json").is_file():
        run = Run(run_dir)
        steps = run.metrics("step") or run.metrics("epoch")
        evals = run.metrics("eval")
        c = st.columns(2)
        with c[0]:
            if steps:
                ui.show_figure(F.loss_curves([{**r, **{f"loss/{k}": v for k, v in
                                                      (r.get("terms") or {}).items()}}
                                             for r in steps]), f"loss_{pick}", downloads=False,
                               key=f"loss_chart_{pick}")
            else:
                st.caption("no losses logged yet")
        with c[1]:
            if evals:
                ui.show_figure(F.metric_curves(F.to_percent(evals)), f"metrics_{pick}", downloads=False,
                               key=f"metric_chart_{pick}")
            else:
                st.caption("no evaluation yet")
    else:
        st.caption("waiting for the job to write its run folder…")
    if any(j.active for j in all_jobs):
        st.caption(f"updated {time.strftime('%H:%M:%S')} (refreshes every 2 s)")


active = any(j.active for j in jobs.list_jobs(ui.runs_root()))


@st.fragment(run_every=2.0 if active else None)
def live() -> None:
    with ui.guard("jobs"):
        job_panel()


live()
