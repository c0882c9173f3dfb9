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

    fields = [f for f in (dataclasses.fields(cls.Options) if cls.Options is not None else [])
              if f.name not in SHOWN_ABOVE and isinstance(f.default, (bool, int, float, str))]
    return ui.field_widgets(fields, {f.name: f.default for f in fields},
                            key=f"opt_{cls.name}", columns=4)


# the dataset every job of this page trains on: shown, and checked before Start
st.markdown(f"**dataset:** `{root}` ({fmt}) — pick another on the **Data** page")
dataset_problem = ui.dataset_problem(fmt, root)
if dataset_problem:
    st.error(f"dataset {root} ({fmt}): {dataset_problem} — training cannot start; pick a "
             "dataset that loads on the Data page")

c = st.columns(2)
method = c[0].selectbox("method", method_names,
                        index=method_names.index("padal_mp") if "padal_mp" in method_names else 0,
                        help="the form below shows this method's own options")
presets = sorted(PRESETS)
preset = c[1].selectbox("preset", presets, index=presets.index("quick"), key="train_preset",
                        help=ui.PRESET_HELP)
cls = METHODS[method]
traits = cls.traits()
base = ui.preset_config(preset, method, root, fmt)  # what the preset and the method give
est = ui.estimate_seconds(preset, method)
if est:
    st.caption(f"A {preset} run of {method} takes about {ui.duration_text(est)} here "
               f"({ui.estimate_basis(preset, method)}).")

with st.form("train_form"):
    settings = ui.settings_widgets(base, key=f"cfg_{preset}_{method}")
    c = st.columns(4)
    K = lam = parts = adv_loss = lam_schedule = source = None
    if traits["uses_parts"]:
        K = c[0].slider("K (parts)", 1, 8, 3)
        parts = c[1].selectbox("part masks (PAM)", ["kmeans", "strict"],
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
    if cls.accepts_source:
        source = st.text_input("source dataset for domain adaptation (optional, MARS layout)",
                               "", help="a labelled dataset trained beside the target, e.g. "
                               "data/synthcams_b (python -m reidlab synth --style b)") or None
    name = st.text_input("run name", "", key="run_name",
                         placeholder="empty: a name from the settings",
                         help="one run per name: an existing name with the same settings shows "
                              "that run; with other settings it is refused")
    submitted = st.form_submit_button("Start training", type="primary")

if submitted:
    with ui.guard("could not start the job"):
        if dataset_problem:
            raise jobs.ConfigError(f"dataset {root} ({fmt}): {dataset_problem}; pick a dataset "
                                   "that loads on the Data page")
        method_opts = {k: v for k, v in dict(K=K, parts=parts, lam=lam, adv_loss=adv_loss,
                                             lam_schedule=lam_schedule, **options).items()
                       if v is not None}
        cfg = ui.preset_config(preset, method, root, fmt, source=source,
                               **settings, **method_opts)
        name = name.strip() or ui.auto_run_name(cfg, preset)
        same = ui.check_run_name(name, cfg)  # refuses a name holding other settings
        if same is not None:
            st.info(f"run **{name}** already has these settings ({same.state}): it is shown "
                    "below; leave the name empty (or give another) to train another run")
            job = same
        else:
            job = jobs.submit(name, root=ui.runs_root(), method=method, preset=preset,
                              dataset=root, format=fmt if fmt != "mars" else None,
                              source=source, settings=settings, **method_opts)
            st.toast(f"job {job.name} started")
        st.session_state["watch"] = job.name
        st.session_state["curves_of"] = job.name  # the curves follow the new run


LOSS_COLOURS = ("#000000", "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                "#999933")  # distinct hues: the total loss black, no two blues side by side


def loss_figure(steps, name: str):
    fig = F.loss_curves([{**r, **{f"loss/{k}": v for k, v in (r.get("terms") or {}).items()}}
                         for r in steps])
    for i, t in enumerate(fig.data):
        t.line.color = LOSS_COLOURS[i % len(LOSS_COLOURS)]
    return fig


def metric_figure(evals):
    """Evaluations as points (they are measured only at some epochs; a line between epoch 0
    and the last one would invent the values between), on whole-epoch ticks."""
    fig = F.metric_curves(F.to_percent(evals))
    fig.update_traces(mode="markers", marker=dict(size=10))
    for t in fig.data:  # the app's names of the metrics
        t.name = {"rank1": "rank-1"}.get(t.name, t.name)
    last = max([int(e.get("epoch") or 0) for e in evals] + [1])
    fig.update_xaxes(title="epoch", tickformat="d", tickmode="linear", tick0=0,
                     dtick=max(1, -(-last // 10)), range=[-0.5, last + 0.5])
    return fig


def job_line(j) -> str:
    """Details of a job's run (preset, backbone, size, epochs, dataset, seed, wall time), and
    elapsed time with an estimate of what is left for a running job."""
    d = {}
    if j.run_dir is not None and (j.run_dir / "config.json").is_file():
        from reidlab.engine.runs import Run

        with ui.guard():
            d = ui.run_details(Run(j.run_dir))
    text = ui.details_text(d, wall=not j.active) if d else ""
    if j.state == "running":
        el, eta = j.elapsed(), j.eta()
        text += (" · " if text else "") + f"running {ui.duration_text(el)}"
        text += f", about {ui.duration_text(eta)} left" if eta is not None else ""
    elif j.state == "queued":
        text = text or "queued: starts when the jobs before it end"
    return text


def job_panel() -> None:
    all_jobs = jobs.list_jobs(ui.runs_root())
    if not all_jobs:
        st.info("No jobs yet.")
        return
    st.subheader("Jobs")
    for j in all_jobs[:12]:
        c = st.columns([3, 4, 1])
        c[0].markdown(f"**{j.name}** · {j.state}")
        line = job_line(j)
        if line:
            c[0].caption(line)
        c[1].progress(j.progress if j.state != "finished" else 1.0,
                      text=(j.message or j.state)[:80] if j.state != "failed" else "failed")
        if j.state == "failed":  # the one-line cause, in the list (the log is below it)
            c[1].markdown(f":red[**failed:** {j.message}]")
        if j.active and c[2].button("Cancel", key=f"cancel_{j.name}"):
            jobs.cancel(j.name, root=ui.runs_root(), grace_s=2.0)
            st.rerun()
        if j.state == "failed":
            with st.expander(f"{j.name}: log"):
                st.code(j.log_tail(30) or "(empty log)")
    names = [j.name for j in all_jobs]
    watch = st.session_state.get("watch")
    if st.session_state.get("curves_of") not in names:
        st.session_state["curves_of"] = watch if watch in names else names[0]
    pick = st.selectbox("curves of", names, key="curves_of")
    from reidlab.engine.runs import Run

    run_dir = ui.runs_root() / pick
    if (run_dir / "config.json").is_file():
        run = Run(run_dir)
        steps = run.metrics("step") or run.metrics("epoch")
        evals = run.metrics("eval")
        c = st.columns(2)
        with c[0]:
            if steps:
                ui.show_figure(loss_figure(steps, pick), f"loss_{pick}", downloads=False,
                               key=f"loss_chart_{pick}")
            else:
                st.caption("no losses logged yet")
        with c[1]:
            if evals:
                ui.show_figure(metric_figure(evals), f"metrics_{pick}", downloads=False,
                               key=f"metric_chart_{pick}")
            else:
                st.caption("no evaluation yet")
    else:
        job = next(j for j in all_jobs if j.name == pick)
        st.caption("waiting for the job to write its run folder…" if job.active else
                   f"{pick} {job.state} before writing its run folder: nothing to plot")
    if any(j.active for j in all_jobs):
        st.caption(f"updated {time.strftime('%H:%M:%S')} (refreshes every 2 s)")


active = any(j.active for j in jobs.list_jobs(ui.runs_root()))


@st.fragment(run_every=2.0 if active else None)
def live() -> None:
    with ui.guard("jobs"):
        job_panel()


live()
