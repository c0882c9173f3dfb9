"""Shared Streamlit widgets and cached loaders for ``app.py`` and ``app_pages/*.py``.

Pages only read run stores and call package functions; everything they share lives here:
where data and runs are (``$REIDLAB_DATA``, ``$REIDLAB_DATA_FORMAT``, ``$REIDLAB_RUNS``), the
dataset and run pickers, the "ImageNet init" baseline, figure display with per-figure export
buttons, and :func:`guard`, which turns any error into an ``st.error`` message (never a stack
trace).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from pathlib import Path

import numpy as np
import streamlit as st

from reidlab.engine.baseline import (BASELINE_LABEL, baseline_name, baseline_ready, is_baseline,
                                     trained_nothing)
from reidlab.engine.runs import runs_root  # the runs folder: $REIDLAB_RUNS, else runs
from reidlab.errors import ReidlabError
from reidlab.viz.figures import PALETTES, Style

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
# journal column widths (inches): IEEE / ACM; Elsevier and Springer are within 0.2 in
COLUMN_WIDTHS = {"single column": 3.5, "double column": 7.16}

# --------------------------------------------------------------------------- locations

def data_root() -> Path:
    return Path(os.environ.get("REIDLAB_DATA", DEFAULT_DATA))


def data_format() -> str:
    return os.environ.get("REIDLAB_DATA_FORMAT", "mars")


def current_dataset() -> tuple[str, str]:
    """(format, root) chosen on the Data page, else the default from the environment."""
    return st.session_state.get("dataset", (data_format(), str(data_root())))


# --------------------------------------------------------------------------- page frame

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


def rank_list_key_html() -> str:
    """The rank lists' colour key as coloured swatches, in the colours the borders are drawn
    with (``reidlab.viz.figures.RANK_LIST_KEY``)."""
    from reidlab.viz.figures import RANK_LIST_KEY, rgb_hex

    parts = []
    for status, (name, rgb, meaning) in RANK_LIST_KEY.items():
        parts.append(
            f'<span data-status="{status}" style="display:inline-block;width:0.9em;'
            f'height:0.9em;border:3px solid {rgb_hex(rgb)};vertical-align:middle"></span> '
            f"<b>{name}</b> = {meaning}")
    return '<div data-testid="rank-list-key">' + " &nbsp; ".join(parts) + "</div>"


def no_training(run) -> bool:
    """True for a run that trained nothing (:func:`reidlab.engine.baseline.trained_nothing`:
    the ImageNet init baseline, or no epochs): its before and after are the same."""
    return trained_nothing(run)


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


# --------------------------------------------------------------------------- dataset

@st.cache_resource(show_spinner=False, max_entries=8)
def _load_dataset(fmt: str, root: str, options_json: str, _stamp: float):
    from reidlab.data import load_dataset

    return load_dataset(fmt, root, **json.loads(options_json))


def _stamp(root: str | Path) -> float:
    p = Path(root)
    try:
        return max(p.stat().st_mtime, *(c.stat().st_mtime for c in p.iterdir()))
    except (OSError, ValueError):
        return 0.0


def load_dataset(fmt: str, root: str | Path, options: dict | None = None):
    """The dataset (cached per folder until it changes on disk)."""
    return _load_dataset(fmt, str(root), json.dumps(options or {}, sort_keys=True), _stamp(root))


def ensure_default_dataset() -> bool:
    """Generate SynthCams on first use when the default dataset folder is used and missing.
    Returns True when the dataset is ready."""
    from reidlab.data import synthcams

    fmt, root = current_dataset()
    if fmt != "mars" or Path(root).resolve() != data_root().resolve():
        return Path(root).is_dir()
    if synthcams.is_complete(root):
        return True
    if Path(root).resolve() != Path(DEFAULT_DATA).resolve() and Path(root).is_dir():
        return True  # a user's MARS copy: not ours to regenerate
    with st.status("Generating the SynthCams dataset (first use only)…", expanded=True) as s:
        bar = st.progress(0.0)

        def progress(done: int, total: int) -> None:
            bar.progress(min(1.0, done / max(total, 1)), text=f"{done}/{total} tracklets")

        synthcams.ensure_default(root, progress=progress)
        s.update(label="SynthCams ready", state="complete")
    _load_dataset.clear()
    return True


def ensure_baseline_run():
    """The "ImageNet init" run of the current dataset (computed once with a progress bar)."""
    from reidlab.engine.baseline import ensure_baseline
    from reidlab.engine.runs import Run

    fmt, root = current_dataset()
    if baseline_ready(root, runs_root(), fmt):
        return Run(runs_root() / baseline_name(root, fmt))
    with st.status("Computing ImageNet-initialised features (once; cached on disk)…",
                   expanded=True) as s:
        bar = st.progress(0.0)
        run = ensure_baseline(root, runs_root(), fmt=fmt,
                              progress=lambda f, m: bar.progress(min(1.0, f), text=m))
        s.update(label=f"{BASELINE_LABEL} features ready", state="complete")
    return run


# --------------------------------------------------------------------------- runs

def run_folder(run) -> str | None:
    """The sweep or benchmark folder a run sits in (runs/table2/padal_id → "table2"), or None
    for a run directly under the runs folder."""
    return None if run.path.parent.resolve() == runs_root().resolve() else run.path.parent.name


def run_details(run) -> dict:
    """``preset, backbone, size ("96×48"), epochs, dataset, seed, wall_s`` of a run
    (:meth:`reidlab.engine.runs.Run.details`; ``{}`` for a folder whose config cannot be
    read)."""
    try:
        return run.details()
    except (ReidlabError, OSError, ValueError, TypeError):
        return {}


def duration_text(seconds: float | None) -> str:
    """``42 s``, ``3.5 min``, ``1.2 h`` (empty for None)."""
    if seconds is None or seconds != seconds:
        return ""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def details_text(d: dict, wall: bool = True) -> str:
    """A run's details in one line: ``quick · effnet_lite0 96×48 · 8 ep · synthcams · seed 0
    · 4.1 min`` (parts that are unknown are left out)."""
    parts = [d.get("preset") or "custom",
             " ".join(str(x) for x in (d.get("backbone"), d.get("size")) if x),
             f"{d['epochs']} ep" if d.get("epochs") is not None else "",
             str(d.get("dataset") or ""),
             f"seed {d['seed']}" if d.get("seed") is not None else "",
             duration_text(d.get("wall_s")) if wall else ""]
    return " · ".join(p for p in parts if p)


def run_label(run, details: bool = False) -> str:
    """``name (method)``, with ``details=True`` followed by the run's preset, backbone, input
    size, epochs, dataset, seed and wall time (what every run picker shows)."""
    if is_baseline(run):
        d = run.config.get("dataset", {})
        # the dataset's folder: datasets of one kind (synthcams_gap0, synthcams_gap0.33) differ
        label = f"{BASELINE_LABEL} ({Path(str(d.get('root') or d.get('name') or '?')).name})"
        if details:
            dd = run_details(run)
            label += " · " + " · ".join(str(x) for x in (
                " ".join(str(v) for v in (dd.get("backbone"), dd.get("size")) if v),
                "no training") if x)
        return label
    method = run.config.get("config", {}).get("method", "?")
    # runs inside a sweep or benchmark folder keep that folder in the name
    folder = run_folder(run)
    name = run.name if folder is None else f"{folder}/{run.name}"
    label = f"{name} ({method})"
    if details:
        label += " · " + details_text(run_details(run))
    return label


def list_runs(finished_only: bool = True, need_features: bool = True):
    """Runs under the runs folder, newest last (cached per directory state)."""
    from reidlab.engine.runs import list_runs as _list

    out = []
    problems: list = []
    for r in _list(runs_root(), problems=problems):
        if finished_only and r.status().get("state") != "finished":
            continue
        if need_features and not r.has_features("final"):
            continue
        out.append(r)
    st.session_state["unreadable_runs"] = problems
    return out


def run_picker(label: str, key: str, *, runs=None, default_baseline: bool = True,
               allow_none: bool = False):
    """A selectbox of finished runs; the current dataset's baseline is the default."""
    runs = list_runs() if runs is None else runs
    bad = st.session_state.get("unreadable_runs") or []
    if bad:
        st.warning(f"{len(bad)} run folder(s) could not be read and are not listed: "
                   + "; ".join(msg for _, msg in bad[:3]))
    if not runs:
        st.info("No finished runs yet: train one on the Train page.")
        return None
    labels = [run_label(r, details=True) for r in runs]
    index = 0
    if default_baseline:
        fmt, root = current_dataset()
        name = baseline_name(root, fmt)
        index = next((i for i, r in enumerate(runs) if r.name == name), len(runs) - 1)
    options = ([None] if allow_none else []) + list(range(len(runs)))
    if allow_none:  # optional pickers start empty unless the baseline is asked for
        index = index + 1 if default_baseline else 0
    choice = st.selectbox(label, options, index=index, key=key,
                          format_func=lambda i: "(none)" if i is None else labels[i])
    return None if choice is None else runs[choice]


@st.cache_data(show_spinner=False, max_entries=32)
def _features(path: str, which: str, mtime: float):
    from reidlab.engine.runs import Run

    return Run(path).features(which)


def features(run, which: str = "final"):
    """The run's ``which`` features (cached until the file changes)."""
    if not run.has_features(which):
        raise ReidlabError(f"{run.features_path(which)}: run {run.name} has no {which} "
                           "features (still training, or it failed)")
    return _features(str(run.path), which, run.features_mtime(which))


@st.cache_data(show_spinner=False, max_entries=16)
def _worst_first(path: str, which: str, mtime: float) -> np.ndarray:
    from reidlab.analysis.ranklists import worst_queries_features

    fs = _features(path, which, mtime)
    return worst_queries_features(fs.q_feat, fs.g_feat, fs.q_pids, fs.g_pids, fs.q_camids,
                                  fs.g_camids, n=len(fs.q_pids))


def worst_first(run, which: str = "final") -> np.ndarray:
    """Query rows of ``run``'s ``which`` features, worst AP first (valid queries only),
    computed block by block (the Nq×Ng distance matrix is never held) and cached."""
    features(run, which)  # clear error if missing
    return _worst_first(str(run.path), which, run.features_mtime(which))


def run_dataset(run):
    from reidlab.engine.runs import read_run_config

    d = read_run_config(run.path, dataset=True)["dataset"]  # a clear error for an old folder
    return load_dataset(d["format"], d["root"], d.get("options") or {})


@st.cache_data(show_spinner=False, max_entries=4096)
def _thumbnail(path: str, height: int, width: int) -> np.ndarray:
    from reidlab.data.images import read_frame

    return read_frame(path, (height, width))


UNREADABLE = "unreadable_frames"  # session state: {path: reason} of frames shown as crosses


def unreadable_frame(height: int, width: int) -> np.ndarray:
    """The stand-in of a frame that cannot be read: mid grey with a red cross."""
    img = np.full((height, width, 3), 128, np.uint8)
    for i in range(max(height, width)):
        y, x = i * height // max(height, width), i * width // max(height, width)
        img[y, x] = img[y, width - 1 - x] = (220, 40, 40)
    return img


def thumbnail(path: str, height: int = 128, width: int = 64) -> np.ndarray:
    """The frame at ``path`` resized; a corrupt, truncated or missing frame is shown as
    :func:`unreadable_frame` and remembered for :func:`note_unreadable_frames`."""
    from reidlab.errors import CorruptFrameError

    try:
        return _thumbnail(path, height, width)
    except CorruptFrameError as e:
        st.session_state.setdefault(UNREADABLE, {})[str(path)] = e.found or str(e)
        return unreadable_frame(height, width)


def note_unreadable_frames() -> int:
    """One warning on the page naming the frames this session could not read (they are shown
    as grey crosses); returns how many."""
    bad = st.session_state.get(UNREADABLE) or {}
    if bad:
        first, why = next(iter(bad.items()))
        st.warning(f"{len(bad)} frame(s) could not be read and are shown as grey crosses, "
                   f"e.g. {first}: {why}")
    return len(bad)


def tracklet_thumb(tracklet, height: int = 128, width: int = 64) -> np.ndarray:
    """The middle frame of a tracklet (pseudo-infrared tracklets as the model sees them)."""
    img = thumbnail(str(tracklet.frames[len(tracklet.frames) // 2]), height, width)
    if getattr(tracklet, "pseudo_infrared", False):
        from reidlab.data.tracklets import red_channel

        img = red_channel(img)
    return img


# --------------------------------------------------------------------------- figures

def paper_style() -> Style:
    """The export style chosen on the Export page (defaults otherwise)."""
    return st.session_state.get("paper_style", Style())


CUSTOM_WIDTH = "custom"


def _column_of(width: float) -> str:
    """The column preset whose width is ``width`` (else "custom")."""
    return next((n for n, w in COLUMN_WIDTHS.items() if abs(w - width) < 1e-6), CUSTOM_WIDTH)


def _apply_column(key: str) -> None:
    preset = st.session_state.get(f"{key}_col")
    if preset in COLUMN_WIDTHS:
        st.session_state[f"{key}_w"] = COLUMN_WIDTHS[preset]
        aspect = 0.75 if preset == "single column" else 0.5
        st.session_state[f"{key}_h"] = round(COLUMN_WIDTHS[preset] * aspect, 2)
    elif preset is None:  # a click on the selected option: keep it selected
        st.session_state[f"{key}_col"] = _column_of(st.session_state[f"{key}_w"])


def _width_typed(key: str) -> None:
    st.session_state[f"{key}_col"] = _column_of(st.session_state[f"{key}_w"])


def style_controls(key: str = "style") -> Style:
    """Widgets for the paper style; stores the result in session state. The column-width
    control always shows which preset the width is (``custom`` for any other width)."""
    cur = paper_style()
    # the size widgets take their values from session state (the column presets set them)
    st.session_state.setdefault(f"{key}_w", float(cur.width_in))
    st.session_state.setdefault(f"{key}_h", float(cur.height_in))
    st.session_state.setdefault(f"{key}_col", _column_of(st.session_state[f"{key}_w"]))
    st.segmented_control(
        "column width", [*COLUMN_WIDTHS, CUSTOM_WIDTH], key=f"{key}_col",
        format_func=lambda n: f"{n} ({COLUMN_WIDTHS[n]} in)" if n in COLUMN_WIDTHS else
        "custom (width below)", on_change=_apply_column, args=(key,),
        help="sets the width (in) below to a journal's single- or double-column width")
    c1, c2, c3, c4, c5 = st.columns(5)
    width = c1.number_input("width (in)", 1.0, 20.0, step=0.1, key=f"{key}_w",
                            on_change=_width_typed, args=(key,))
    height = c2.number_input("height (in)", 1.0, 20.0, step=0.1, key=f"{key}_h")
    dpi = c3.number_input("dpi", 50, 1200, int(cur.dpi), 50, key=f"{key}_dpi")
    font = c4.number_input("font (pt)", 5.0, 24.0, float(cur.font_pt), 0.5, key=f"{key}_font")
    names = list(PALETTES)
    palette = c5.selectbox("palette", names, index=names.index(cur.palette), key=f"{key}_pal",
                           help="okabe_ito, tol_bright and tol_muted are colour-blind safe")
    style = Style(palette=palette, font_pt=font, width_in=width, height_in=height, dpi=int(dpi))
    st.session_state["paper_style"] = style
    return style


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("_") or "figure"


def image_button(name: str, style: Style) -> dict:
    """plotly's config for a chart's "download plot as PNG" button: the paper style's size in
    pixels (``width_in`` × ``height_in`` at ``dpi``) and the file name ``name``."""
    return {"toImageButtonOptions": {"format": "png", "filename": name,
                                     "width": style.width_px, "height": style.height_px,
                                     "scale": style.scale}}


def show_figure(fig, name: str, *, key: str | None = None, downloads: bool = True) -> None:
    """Show a plotly figure; remember it for the Export page; offer PNG/SVG/PDF/HTML downloads
    (generated only when clicked, in the paper style)."""
    from reidlab.viz.export import MIME, figure_bytes, static_export_available

    name = _safe_name(name)
    style = paper_style()
    # the chart's own camera button saves a PNG in the paper size, named like the downloads
    # below (underscores kept)
    st.plotly_chart(fig, theme=None, key=key or f"chart_{name}", config=image_button(
        name, style))
    st.session_state.setdefault("figures", {})[name] = fig
    if not downloads:
        return
    fmts = ["png", "svg", "pdf", "html"] if static_export_available() else ["html"]
    cols = st.columns([1] * len(fmts) + [12 - len(fmts)], gap="small")
    for c, fmt in zip(cols, fmts):
        c.download_button(fmt.upper(), data=functools.partial(figure_bytes, fig, fmt, style),
                          file_name=f"{name}.{fmt}", mime=MIME[fmt], on_click="ignore",
                          key=f"dl_{key or name}_{fmt}")


def show_table(df, name: str, *, key: str, column_config: dict | None = None,
               csv_columns=None, **kwargs) -> None:
    """Show a table, remember it for the Export page (CSV/LaTeX) and offer it as CSV here;
    ``csv_columns`` limits both to those columns (e.g. leave out an image column)."""
    from reidlab.viz.export import table_bytes

    st.dataframe(df, key=key, column_config=column_config, **kwargs)
    plain = df if csv_columns is None else df[list(csv_columns)]
    name = _safe_name(name)
    st.session_state.setdefault("tables", {})[name] = plain
    st.download_button("CSV", data=functools.partial(table_bytes, plain, "csv"),
                       file_name=f"{name}.csv", mime="text/csv", on_click="ignore",
                       key=f"dl_{key}_csv")


def url_path(title: str) -> str:
    return title.replace(" ", "_")


def navigation_pages() -> list:
    """``st.Page`` objects for ``st.navigation`` in ``app.py``: Home (default), then PAGES."""
    root = Path(__file__).resolve().parents[1]
    home = st.Page(str(root / HOME[0]), title=HOME[1], icon=HOME[2], default=True)
    return [home] + [st.Page(str(root / path), title=title, icon=icon, url_path=url_path(title))
                     for path, title, _, icon in PAGES]


def page_links() -> None:
    for path, label, help_, icon in PAGES:
        st.page_link(path, label=f"**{label}** — {help_}", icon=icon)


def progress_of(status: dict) -> float:
    try:
        return float(min(1.0, max(0.0, status.get("progress") or 0.0)))
    except (TypeError, ValueError):
        return 0.0


# --------------------------------------------------------------------------- training settings

PRESET_HELP = ("test: seconds (tiny CNN); quick: 96×48, ~4 min on a 2-core CPU; quick128: the "
               "quick preset before 2026-12-03 (128×64, ~7.5 min); paper: ResNet-50 224×112, "
               "for GPUs")
# TrainConfig fields the Train form does not show as settings: chosen elsewhere on the page
# (the method above the form, the dataset on the Data page, the source in its own field)
NOT_SETTINGS = ("method", "dataset_format", "source_format")
# shown first, the rest under "more settings"
FIRST_SETTINGS = ("backbone", "epochs", "batch_size", "height", "width", "clips_per_tracklet",
                  "frames_per_clip", "seed")
LABELS = {"clips_per_tracklet": "clips per tracklet", "lr": "learning rate",
          "height": "height (px)", "width": "width (px)"}
# a preset's wall time on SynthCams when no run of it is on disk yet (quick: 244 s measured on
# a 2-core Intel Xeon, docs/training.md; quick128: 443 s; test: a few seconds plus start-up)
PRESET_SECONDS = {"test": 15.0, "quick": 245.0, "quick128": 445.0}


def _choices(f):
    try:
        from reidlab.schema import choices_of
    except ImportError:  # pragma: no cover - a field's choices as a plain tuple
        return f.metadata.get("choices")
    return choices_of(f)


def field_widgets(fields, defaults: dict, *, key: str, columns: int = 4,
                  labels: dict | None = None) -> dict:
    """One widget per scalar dataclass field (a select box for a field with choices, a check
    box, a number or a text field; its help as the tooltip), starting at ``defaults``; returns
    the values that differ from ``defaults``."""
    values = {}
    cols = st.columns(columns)
    for i, f in enumerate(fields):
        col, helptext, k = cols[i % columns], f.metadata.get("help"), f"{key}_{f.name}"
        label = (labels or {}).get(f.name, f.name)
        default = defaults[f.name]
        choices = _choices(f)
        if choices:
            choices = list(choices)
            if default not in choices:
                choices.append(default)
            v = col.selectbox(label, choices, index=choices.index(default), help=helptext,
                              key=k)
        elif isinstance(default, bool):
            v = col.checkbox(label, default, help=helptext, key=k)
        elif isinstance(default, int):
            v = int(col.number_input(label, value=default, step=1, help=helptext, key=k))
        elif isinstance(default, float):
            v = float(col.number_input(label, value=default, format="%g", help=helptext,
                                       key=k))
        else:
            v = col.text_input(label, str(default), help=helptext, key=k)
        if v != default:
            values[f.name] = v
    return values


def settings_widgets(base, *, key: str) -> dict:
    """The Train form's general settings, generated from ``TrainConfig``'s fields (help,
    choices, ``form``), starting at ``base`` (the preset's and the method's values); returns
    the fields whose value differs from ``base``."""
    import dataclasses

    from reidlab.engine.config import TrainConfig, setting_applies

    fields = [f for f in dataclasses.fields(TrainConfig)
              if f.metadata.get("form", True) and f.name not in NOT_SETTINGS
              and setting_applies(f.name, base.method)
              and isinstance(getattr(base, f.name), (bool, int, float, str))]
    first = [f for name in FIRST_SETTINGS for f in fields if f.name == name]
    rest = [f for f in fields if f not in first]
    values = dict(base.to_dict())
    labels = {f.name: LABELS.get(f.name, f.name.replace("_", " ")) for f in fields}
    out = field_widgets(first, values, key=key, labels=labels)
    with st.expander("more settings (the preset's values unless changed)"):
        out.update(field_widgets(rest, values, key=key, labels=labels))
    return out


def preset_config(preset: str | None, method: str, root: str, fmt: str, **overrides):
    """The ``TrainConfig`` a job of the Train page would train: the preset, the method's own
    defaults, the dataset, then ``overrides`` (settings and method options)."""
    from reidlab.engine.config import make_config

    return make_config(preset, method=method, dataset=str(root), dataset_format=fmt,
                       **overrides)


def dataset_problem(fmt: str, root: str) -> str | None:
    """Why the dataset cannot be trained on, in one line (None when it loads)."""
    try:
        if not ensure_default_dataset():
            return "no such folder"
        load_dataset(fmt, root)
    except Exception as e:  # noqa: BLE001 - any reader error is the message
        if type(e).__name__ in ("StopException", "RerunException"):
            raise
        return error_message(e)
    return None


def auto_run_name(cfg, preset: str | None) -> str:
    """A run name from the settings: ``padal_mp_K3_quick`` (``_s1`` for seed 1); when that
    name holds a run of other settings, the settings' fingerprint is added
    (``padal_mp_K3_quick_3f2a9c``)."""
    from reidlab.engine.settings import fingerprint

    from reidlab.methods import METHODS

    cls = METHODS.get(cfg.method)
    parts = [cfg.method]
    if cls is not None and cls.traits().get("uses_parts"):
        parts.append(f"K{cfg.K}")
    parts.append(preset or "custom")
    if cfg.seed:
        parts.append(f"s{cfg.seed}")
    name = "_".join(str(p) for p in parts)
    try:
        check_run_name(name, cfg)
        return name
    except ReidlabError:
        return f"{name}_{fingerprint(cfg)[:6]}"


def check_run_name(name: str, cfg):
    """The job already under ``name`` when it trains exactly ``cfg`` (same settings and seed),
    None when the name is free; a ConfigError naming the differing settings when the name
    holds a run (or a queued job) of other settings."""
    from reidlab.engine import jobs
    from reidlab.engine.runs import Run, run_path
    from reidlab.engine.settings import diff_line, settings_diff
    from reidlab.errors import ConfigError

    jobs.check_name(name)
    folder = run_path(name, runs_root())
    job = jobs.job_state(name, runs_root())
    if (folder / "config.json").is_file():
        stored = Run(folder).config
        diff = settings_diff(stored, cfg)
        old_seed = stored.get("config", {}).get("seed")
        if old_seed != cfg.seed:
            diff["seed"] = (old_seed, cfg.seed)
        if diff:
            raise ConfigError(f"run name {name!r} holds a run with other settings: "
                              f"{diff_line(diff, 'stored', 'asked')}; leave the name empty "
                              "for a new one, or choose another")
        return job if job is not None else jobs.Job(name, Run(folder).status().get(
            "state", "unknown"), run_dir=folder)
    if job is not None:
        raise ConfigError(f"run name {name!r}: a job of that name is {job.state} and has not "
                          "written its settings yet; choose another name")
    return None


def estimate_seconds(preset: str | None, method: str | None = None) -> float | None:
    """A run's wall time: the median of the finished runs of this preset (and method, when
    there are such) on disk, else the preset's measured figure (:data:`PRESET_SECONDS`)."""
    walls = _walls(preset, method) or _walls(preset, None)
    if walls:
        return float(np.median(walls))
    return PRESET_SECONDS.get(preset or "")


def estimate_basis(preset: str | None, method: str | None = None) -> str:
    n = len(_walls(preset, method))
    if n:
        return f"median of {n} finished {method} run(s)"
    n = len(_walls(preset, None))
    if n:
        return f"median of {n} finished {preset} run(s)"
    return "measured on a 2-core CPU; no finished run of it here yet"


def _walls(preset, method) -> list[float]:
    out = []
    for r in list_runs(need_features=False):
        with contextlib.suppress(Exception):
            if is_baseline(r):
                continue
            d = run_details(r)
            c = r.config.get("config", {})
            if d.get("preset") == preset and (method is None or c.get("method") == method) \
                    and d.get("wall_s"):
                out.append(float(d["wall_s"]))
    return out


# --------------------------------------------------------------------------- setting groups

SETTING_NAMES = {"lam": "λ", "clips_per_tracklet": "clips", "frames_per_clip": "frames",
                 "dataset_fingerprint": "dataset content"}


def distinct_text(settings: dict, keys) -> str:
    """The settings ``keys`` of ``settings`` as short text: ``K=3, 96×48, epochs=8``
    (height and width as one size, a dataset by its folder name)."""
    from reidlab.engine.settings import _short

    keys = [k for k in keys if k != "method" and settings.get(k) is not None]
    parts = []
    if "height" in keys or "width" in keys:
        parts.append(f"{settings.get('height')}×{settings.get('width')}")
    for k in keys:
        if k in ("height", "width"):
            continue
        v = settings.get(k)
        if k in ("dataset", "source"):
            v = Path(str(v)).name
        parts.append(f"{SETTING_NAMES.get(k, k)}={_short(v)}")
    return ", ".join(parts)


def _labels(settings_list: list[dict]) -> list[str]:
    """One label per settings dict: the method and the settings whose values differ between
    the dicts given (equal dicts get equal labels, different dicts different ones)."""
    uniq = {json.dumps(s, sort_keys=True, default=str): s for s in settings_list}
    keys = sorted({k for s in uniq.values() for k in s})
    varying = [k for k in keys if len({json.dumps(s.get(k), sort_keys=True, default=str)
                                       for s in uniq.values()}) > 1]
    out = {}
    for key, s in uniq.items():
        text = distinct_text(s, varying)
        out[key] = " · ".join(x for x in (str(s.get("method", "?")), text) if x)
    # labels that still collide (settings differing only in values set to None): numbered
    seen: dict[str, int] = {}
    for key in out:
        n = seen[out[key]] = seen.get(out[key], 0) + 1
        if n > 1:
            out[key] += f" ({n})"
    return [out[json.dumps(s, sort_keys=True, default=str)] for s in settings_list]


def group_labels(groups) -> dict[str, str]:
    """``{fingerprint: label}`` of :func:`reidlab.engine.settings.group_runs` groups: the
    method and the settings that tell the group apart (the ImageNet init by its name)."""
    base = [g for g in groups if all(is_baseline(r) for r in g.runs)]
    trained = [g for g in groups if g not in base]  # labelled among themselves
    out = {g.fingerprint: f"{BASELINE_LABEL} ({dataset_of(g.settings)})" for g in base}
    out.update(zip([g.fingerprint for g in trained], _labels([g.settings for g in trained])))
    return out


def line_labels(settings_list: list[dict], x: str) -> list[str]:
    """The line of each run of a plot against setting ``x``: runs whose settings are equal
    except ``x`` share a line, labelled by the settings that tell the lines apart."""
    return _labels([{k: v for k, v in s.items() if k != x} for s in settings_list])


def dataset_of(settings: dict) -> str:
    return Path(str(settings.get("dataset") or "?")).name
