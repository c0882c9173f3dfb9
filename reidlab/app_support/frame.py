"""The app's frame: where data and runs are, the pages and their one-line introductions, the
page set-up every page opens with, and :func:`guard`, which turns any error into an
``st.error`` message (never a stack trace)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import streamlit as st

from reidlab.engine.runs import runs_root  # the runs folder: $REIDLAB_RUNS, else runs
from reidlab.errors import ReidlabError


DEFAULT_DATA = "data/synthcams"
HOME = ("app_pages/0_Home.py", "Home", ":material/home:")
# (file, title, one-line description, icon); the URL path is the title with "_" for spaces
PAGES = [
    ("app_pages/1_Data.py", "Data", "datasets: counts per camera, thumbnails, tracklets",
     ":material/dataset:"),
    ("app_pages/2_Train.py", "Train", "start background training jobs, live curves",
     ":material/model_training:"),
    ("app_pages/3_Domain_gap.py", "Domain gap", "t-SNE/UMAP/PCA by camera vs identity, gap numbers",
     ":material/scatter_plot:"),
    ("app_pages/4_Part_masks.py", "Part masks", "PAM K-means parts vs strict stripes",
     ":material/accessibility_new:"),
    ("app_pages/5_Distances.py", "Distances", "same- vs different-person distance histograms",
     ":material/bar_chart:"),
    ("app_pages/6_Rank_lists.py", "Rank lists", "a query and its top-k, worst queries first",
     ":material/format_list_numbered:"),
    ("app_pages/7_Ablations.py", "Ablations", "sweeps over K, λ, clips; comparison table",
     ":material/tune:"),
    ("app_pages/8_Export.py", "Export", "paper-ready PNG/SVG/PDF/HTML, CSV/LaTeX, zip",
     ":material/download:"),
    ("app_pages/9_Pseudo_labels.py", "Pseudo labels",
     "clustering methods: label quality over updates, clusters by label/identity/camera",
     ":material/workspaces:"),
]
# What each page shows and what to do first: the one line every page opens with.
INTROS = {
    "Home": "The lab's front door: the dataset in use, how untrained ImageNet features "
            "score on it, and your trained runs with their best results. **First:** open "
            "**Domain gap** to see the camera gap, then **Train** a model to close it.",
    "Data": "The dataset: tracklets per camera and split, which person each camera saw, one "
            "tracklet's frames. **First:** SynthCams is loaded; to use your own data, pick its "
            "layout and folder here.",
    "Train": "Training jobs run in the background and survive reloads; their curves update "
             "live. **First:** pick a method and a preset (*quick*: about four minutes on a 2-core "
             "CPU) and press **Start training**.",
    "Domain gap": "Do the features cluster by camera (the gap) or by identity, before and after "
                  "training? **First:** pick a run (the ImageNet init needs no training) and an "
                  "embedding; PCA is instant.",
    "Part masks": "The part masks a network's PAM would use: K-means parts ordered head→legs, "
                  "strict stripes below. **First:** pick a trained run and move the K slider.",
    "Distances": "How far same-person pairs are from different-person pairs, overall and per "
                 "camera pair. **First:** pick a run; overlay a second to compare; turn on "
                 "**per camera pair** to find the hardest pairs.",
    "Rank lists": "Queries and their top-k gallery tracklets, bordered by correctness. "
                  "**First:** pick a run and choose **worst first** to see where it fails.",
    "Ablations": "Metric against K, λ or clips per tracklet, and a comparison of runs. "
                 "**First:** queue a sweep (or train on the Train page); finished runs appear "
                 "here.",
    "Export": "Paper-ready figures (PNG/SVG/PDF/HTML) and tables (CSV/LaTeX). **First:** set "
              "the column width, font and palette: every download in the app uses them.",
    "Pseudo labels": "How the pseudo labels of clustering methods evolve over label updates, "
                     "against the ground truth. **First:** pick a run of a clustering method "
                     "(train one on the Train page if there is none).",
}


def data_root() -> Path:
    return Path(os.environ.get("REIDLAB_DATA", DEFAULT_DATA))


def data_format() -> str:
    return os.environ.get("REIDLAB_DATA_FORMAT", "mars")


def current_dataset() -> tuple[str, str]:
    """(format, root) chosen on the Data page, else the default from the environment."""
    return st.session_state.get("dataset", (data_format(), str(data_root())))


UNREADABLE = "unreadable_frames"  # session state: {path: reason} of frames shown as crosses


def setup_page(title: str, icon: str = "🔬") -> None:
    st.set_page_config(page_title=f"reidlab · {title}", page_icon=icon, layout="wide")
    st.session_state[UNREADABLE] = {}  # frames this run of the page could not read
    with st.sidebar:
        fmt, root = current_dataset()
        st.caption(f"dataset: `{root}` ({fmt})  \nruns: `{runs_root()}`")


def page_header(title: str, heading: str | None = None) -> None:
    """Page set-up, the title and the page's one-line introduction (:data:`INTROS`)."""
    setup_page(title)
    st.title(heading or title)
    st.markdown(INTROS[title])


def url_path(title: str) -> str:
    return title.replace(" ", "_")


def navigation_pages() -> list:
    """``st.Page`` objects for ``st.navigation`` in ``app.py``: Home (default), then PAGES."""
    root = Path(__file__).resolve().parents[2]  # the repository: reidlab/app_support/..
    home = st.Page(str(root / HOME[0]), title=HOME[1], icon=HOME[2], default=True)
    return [home] + [st.Page(str(root / path), title=title, icon=icon, url_path=url_path(title))
                     for path, title, _, icon in PAGES]


def page_links() -> None:
    for path, label, help_, icon in PAGES:
        st.page_link(path, label=f"**{label}** — {help_}", icon=icon)


def error_message(e: BaseException) -> str:
    if isinstance(e, ReidlabError):
        return str(e)
    if isinstance(e, (ValueError, FileNotFoundError, KeyError, IndexError)):
        return f"{type(e).__name__}: {e}"
    return f"Unexpected {type(e).__name__}: {e}"


@contextlib.contextmanager
def guard(what: str = ""):
    """Show any exception inside the block as ``st.error`` (no stack trace) and carry on."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - the page must never show a traceback
        if type(e).__name__ in ("StopException", "RerunException"):
            raise
        st.error((f"{what}: " if what else "") + error_message(e))


def rank_list_key_html() -> str:
    """The rank lists' colour key as coloured swatches, in the colours the borders are drawn
    with (``reidlab.viz.style.RANK_LIST_KEY``)."""
    from reidlab.viz.style import RANK_LIST_KEY, rgb_hex

    parts = []
    for status, (name, rgb, meaning) in RANK_LIST_KEY.items():
        parts.append(
            f'<span data-status="{status}" style="display:inline-block;width:0.9em;'
            f'height:0.9em;border:3px solid {rgb_hex(rgb)};vertical-align:middle"></span> '
            f"<b>{name}</b> = {meaning}")
    return '<div data-testid="rank-list-key">' + " &nbsp; ".join(parts) + "</div>"
