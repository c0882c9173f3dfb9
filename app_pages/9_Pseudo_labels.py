"""Pseudo labels: cluster quality over label updates, one update's clusters seen three ways
(pseudo label / identity / camera), and the clusters that span most cameras or mix people."""

import numpy as np
import pandas as pd
import streamlit as st

from reidlab import app_support as ui
from reidlab.analysis import pseudo_labels as PL
from reidlab.viz import figures as F

ui.page_header("Pseudo labels")

CURVE_KEYS = ["num_clusters", "outlier_fraction", "precision", "recall", "fscore", "nmi", "ari"]
MAX_POINTS = 2000
THUMBS = 8
ROW_H = 76  # px: a 64 px thumbnail strip and its frame
EMBED = F.EMBEDDING_NAMES


def clustering_methods() -> list[str]:
    try:
        from reidlab.methods import METHODS

        return sorted(n for n, c in METHODS.items() if c.traits().get("clusters"))
    except Exception:  # noqa: BLE001 - only for the hint
        return ["cawcl"]


methods = clustering_methods()
first = methods[0] if methods else "cawcl"
st.caption(
    f"Clustering methods: {', '.join(f'`{m}`' for m in methods) or '`cawcl`'}. Labels are "
    "measured against the ground truth, which training never sees. A run still training "
    f"shows its updates so far; with none yet, train a `{first}` run on the **Train** page.")


@st.cache_resource(show_spinner=False, max_entries=8)  # read-only arrays: no copy per rerun
def snapshot(path: str, epoch: int, mtime: float) -> PL.LabelSnapshot:
    return PL.load_update(path, epoch)


@st.cache_data(show_spinner=False, max_entries=16)
def clusters(path: str, epoch: int, stage: str | None, mtime: float) -> pd.DataFrame:
    s = snapshot(path, epoch, mtime)
    return PL.cluster_table(s.labels(stage), s.pid, s.camid)


def embedding(feat: np.ndarray, method: str) -> np.ndarray:
    from reidlab.analysis.embedding import embed_2d

    bar = st.progress(0.0, text=f"{EMBED[method]}…")
    xy = embed_2d(feat, method=method, seed=0, cache_dir=ui.runs_root() / "_cache" / "embed",
                  progress=lambda f, m: bar.progress(min(1.0, f), text=m))
    bar.empty()
    return xy


def strip(snap: PL.LabelSnapshot, labels: np.ndarray, label: int, majority: int) -> str | None:
    """A PNG data URI of up to THUMBS members of a cluster: green frame = the cluster's
    majority identity, vermillion = another identity, grey = unknown."""
    rows = PL.cluster_members(labels, snap.pid, snap.camid, label, THUMBS)
    imgs, borders = [], []
    for r in rows:
        try:
            imgs.append(ui.thumbnail(str(snap.frame[r]), 64, 32))
        except Exception:  # noqa: BLE001 - a missing frame is a blank cell, not an error
            imgs.append(np.full((64, 32, 3), 235, np.uint8))
        p = int(snap.pid[r])
        borders.append(F.JUNK_RGB if p < 0 else F.MATCH_RGB if p == majority else F.WRONG_RGB)
    return F.png_data_uri(F.image_strip(imgs, borders=borders)) if imgs else None


def cluster_view(table: pd.DataFrame, snap, labels, name: str, key: str,
                 empty: str) -> None:
    if table.empty:
        st.caption(empty)
        return
    view = table.copy()
    view["members"] = [strip(snap, labels, int(r.label), int(r.majority_pid))
                       for r in table.itertuples()]
    view = view.set_index("label")
    cols = ["size", "num_cameras", "num_ids", "majority_pid", "purity", "cameras"]
    ui.show_table(view[["members", *cols]], name, key=key, csv_columns=cols, row_height=ROW_H,
                  height=ROW_H * len(view) + 40,  # every listed cluster, no inner scroll
                  column_config={
                      "members": st.column_config.ImageColumn(
                          f"members (up to {THUMBS})", width=8 * 38 + 10,
                          help="green frame = the cluster's majority identity, "
                               "vermillion = another identity, grey = unknown"),
                      "num_cameras": st.column_config.NumberColumn("cameras"),
                      "num_ids": st.column_config.NumberColumn("ids"),
                      "majority_pid": st.column_config.NumberColumn("majority id"),
                      "purity": st.column_config.NumberColumn("purity", format="%.2f"),
                      "cameras": st.column_config.TextColumn("camera list")})


# --------------------------------------------------------------------------- runs with labels

runs = []
with ui.guard("runs"):
    runs = [r for r in ui.list_runs(finished_only=False, need_features=False)
            if PL.has_labels(r)]
if not runs:
    st.info("No run has pseudo labels yet. Clustering-based unsupervised methods "
            f"({', '.join(f'`{m}`' for m in methods) or '`cawcl`'}) log them at "
            "every label update: start one on the **Train** page.")
    st.stop()
labels_of = {ui.run_label(r): r for r in runs}

# --------------------------------------------------------------------------- curves

st.subheader("Label quality over updates")
c = st.columns([3, 3])
chosen = c[0].multiselect("runs", list(labels_of), list(labels_of)[-4:], key="pl_runs",
                          help="runs whose metrics.jsonl has label-update records")
keys = c[1].multiselect("measures", list(PL.QUALITY_KEYS), CURVE_KEYS, key="pl_metrics",
                        format_func=lambda k: PL.QUALITY_NAMES.get(k, k))
with ui.guard("label curves"):
    series = {n: PL.label_records(labels_of[n]) for n in chosen}
    series = {n: r for n, r in series.items() if r}
    if series and keys:
        ui.show_figure(F.label_quality_curves(
            series, keys=keys, names=PL.QUALITY_NAMES, unit_keys=PL.FRACTION_KEYS,
            x="epoch", x_title="epochs completed",
            title="Pseudo-label quality over label updates",
            style=ui.paper_style()), "pseudo_label_quality", key="pl_curves")
        st.caption("Pairwise precision / recall / F-score over same-label sample pairs, NMI "
                   "and ARI against the true identities; outliers (label −1) are no cluster. "
                   "Dashed / dotted lines are further stages of a method's labelling.")
        with st.expander("numbers"):
            table = pd.concat([PL.quality_table(r, run=n) for n, r in series.items()],
                              ignore_index=True).set_index("run")
            ui.show_table(table, "pseudo_label_quality", key="pl_quality_table")
    else:
        st.caption("choose runs with label records and measures")

# --------------------------------------------------------------------------- one update

st.subheader("One label update")
stored = [n for n, r in labels_of.items() if PL.label_updates(r)]
if not stored:
    st.info(f"None of these runs has stored label files ({PL.LABEL_FILES}) yet.")
    st.stop()
c = st.columns([3, 3, 2, 2])
name = c[0].selectbox("run", stored, index=len(stored) - 1, key="pl_run")
if name not in labels_of:
    st.stop()
run = labels_of[name]
epochs = PL.label_updates(run)
epoch = epochs[0] if len(epochs) == 1 else c[1].select_slider(
    "update (epochs completed)", epochs, value=epochs[-1], key="pl_update")
if len(epochs) == 1:
    c[1].caption(f"one update, after {F.plural(epoch, 'epoch')}")
method = c[2].radio("embedding", list(EMBED), horizontal=True, key="pl_embed",
                    format_func=EMBED.get)
snap = None
with ui.guard(f"label update {epoch}"):
    path = PL.update_path(run, epoch)
    snap = snapshot(str(run.path), epoch, path.stat().st_mtime)
if snap is not None:
    stage = None
    if len(snap.stages) > 1:
        stage = c[3].selectbox("labels of stage", snap.stages, index=len(snap.stages) - 1,
                               key="pl_stage")
    labels = snap.labels(stage)
    recs = [r for r in PL.label_records(run) if r["epoch"] == epoch]
    rec = next((r for r in recs if r["stage"] == (stage or recs[-1]["stage"])), None) \
        if recs else None
    m = st.columns(6)
    n_clusters = len(np.unique(labels[labels >= 0]))
    m[0].metric("samples", f"{len(snap)}")
    m[1].metric("clusters", f"{n_clusters}")
    m[2].metric("outliers", f"{100 * float(np.mean(labels < 0)):.1f} %")
    for col, k in zip(m[3:], ("precision", "recall", "fscore")):
        v = (rec or {}).get(k)
        col.metric(PL.QUALITY_NAMES[k], "–" if v is None else f"{v:.3f}")

    with ui.guard("embedding"):
        rows = PL.sample_points(len(snap), MAX_POINTS, seed=0)
        xy = embedding(np.asarray(snap.feat[rows], np.float32), method)
        ui.show_figure(F.pseudo_label_embedding(
            xy, labels[rows], snap.pid[rows], snap.camid[rows], method=EMBED[method],
            title=f"{name} — update after {F.plural(epoch, 'epoch')}" +
            (f" ({stage})" if stage else ""),
            style=ui.paper_style()), f"pseudo_labels_{run.name}_{epoch:03d}_{method}",
            key="pl_embedding")
        st.caption(("All " if len(rows) == len(snap) else f"{len(rows)} of ") +
                   f"{len(snap)} clustered samples (fixed seed). Good pseudo labels make the "
                   "left panel look like the middle one; the right one shows whether the "
                   "clusters still follow the cameras. Colour means the pseudo label (left) "
                   "or the person (middle), grey no cluster / unknown: their legend is on the "
                   "left; the cameras' colours (right panel) have a legend of their own.")

    if {"local", "prototype"} <= set(snap.stages):
        st.subheader("Prototype links across cameras")
        with ui.guard("prototype links"):
            links = PL.prototype_links(snap.labels("local"), snap.labels("prototype"),
                                       snap.pid, snap.camid)
            n_ids = len(np.unique(snap.labels("local")))
            k = st.columns(4)
            k[0].metric("prototypes", f"{len(links)}")
            k[1].metric("IDs linked", f"{int(links['num_ids'].sum())} of {n_ids}")
            pairs = int(links["pairs"].sum())
            k[2].metric("right links", "–" if not pairs else
                        f"{100 * links['right_pairs'].sum() / pairs:.1f} %")
            k[3].metric("all-correct prototypes", f"{int(links['correct'].sum())}")
            ui.show_table(links, f"prototype_links_{run.name}_{epoch:03d}", key="pl_links")
            st.caption("Each prototype merges camera-local IDs (camera:pid, the pid is the "
                       "ground truth, never seen by the method) into one cross-camera "
                       "identity; a right link joins two IDs of one person. IDs in no row "
                       "were left out (isolated).")

    refine = PL.refinement_summary(PL.label_records(run), epoch)
    if refine is not None:
        st.subheader("Refinement: local → global → refined (CALR)")
        with ui.guard("refinement"):
            table, step = refine
            k = st.columns(4)
            k[0].metric("in conflict with their pivot", f"{step.get('refine_conflicts', '–')}")
            k[1].metric("removed", f"{step.get('refine_removed_total', '–')}")
            other = step.get("refine_removed_other_id_fraction")
            k[2].metric("removed that were another person",
                        "–" if other is None else f"{100 * other:.1f} %")
            dp = step.get("precision_change")
            k[3].metric("precision global → refined",
                        "–" if dp is None else f"{table.loc['refined', 'precision']:.3f}",
                        None if dp is None else f"{dp:+.3f}")
            ui.show_table(table, f"refinement_{run.name}_{epoch:03d}", key="pl_refine")
            st.caption("Cluster quality of the three labellings of this update against the "
                       "true identities (never seen by the method): per-camera local clusters, "
                       "global DBSCAN, and the global clusters after each pivot's camera-mates "
                       "outside its local cluster were removed. A removal is right when the "
                       "removed sample was another person than the pivot.")

    st.subheader("Clusters")
    top = st.slider("clusters listed", 3, 30, 10, key="pl_top")
    with ui.guard("clusters"):
        table = clusters(str(run.path), epoch, stage, path.stat().st_mtime)
        tag = f"{run.name}_{epoch:03d}" + (f"_{stage}" if stage else "")
        st.markdown("**Spanning the most cameras** — clusters that link a person across "
                    "cameras (what cross-camera training needs), or merge look-alikes")
        cluster_view(PL.widest_clusters(table, top), snap, labels, f"widest_clusters_{tag}",
                     "pl_widest", "none: every sample is an outlier")
        st.markdown("**Largest impure clusters** (purity < 1) — identities merged into one "
                    "pseudo label")
        cluster_view(PL.impure_clusters(table, top), snap, labels, f"impure_clusters_{tag}",
                     "pl_impure", "none: every cluster is pure")
        st.caption("purity = share of the cluster's members with its majority identity; ids = "
                   "distinct true identities; camera list is 1-based. Thumbnails: one "
                   "representative frame per sample, spread over the cluster's cameras and "
                   "identities.")

ui.note_unreadable_frames()  # frames shown as grey crosses, named once
