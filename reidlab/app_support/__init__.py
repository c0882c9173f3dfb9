"""Shared Streamlit widgets and cached loaders for ``app.py`` and ``app_pages/*.py``.

Pages only read run stores and call package functions; everything they share lives here, by
topic, and is imported from this package (``from reidlab import app_support as ui``):

- :mod:`~reidlab.app_support.frame`: where data and runs are (``$REIDLAB_DATA``,
  ``$REIDLAB_DATA_FORMAT``, ``$REIDLAB_RUNS``), the pages and their introductions, the page
  set-up, and :func:`guard`, which turns any error into an ``st.error`` message (never a
  stack trace);
- :mod:`~reidlab.app_support.datasets`: the dataset loader, SynthCams on first use, the
  "ImageNet init" baseline, thumbnails;
- :mod:`~reidlab.app_support.run_pickers`: run labels and details, the run pickers, a run's
  features;
- :mod:`~reidlab.app_support.display`: the paper style, figure display with per-figure export
  buttons, tables;
- :mod:`~reidlab.app_support.train_form`: the Train page's settings form, run names, wall-time
  estimates;
- :mod:`~reidlab.app_support.groups`: labels of runs grouped by their settings.
"""

from reidlab.app_support.frame import (DEFAULT_DATA, HOME, INTROS, PAGES, UNREADABLE,
                                       current_dataset, data_format, data_root, error_message,
                                       guard, navigation_pages, page_header, page_links,
                                       rank_list_key_html, runs_root, setup_page, url_path)
from reidlab.app_support.datasets import (ensure_baseline_run, ensure_default_dataset,
                                          load_dataset, note_unreadable_frames, run_dataset,
                                          thumbnail, tracklet_thumb, unreadable_frame)
from reidlab.app_support.run_pickers import (details_text, duration_text, features, list_runs,
                                             no_training, run_details, run_folder, run_label,
                                             run_picker, worst_first)
from reidlab.app_support.display import (COLUMN_WIDTHS, CUSTOM_WIDTH, image_button, paper_style,
                                         show_figure, show_table, style_controls)
from reidlab.app_support.train_form import (FIRST_SETTINGS, LABELS, NOT_SETTINGS, PRESET_HELP,
                                            PRESET_SECONDS, auto_run_name, check_run_name,
                                            dataset_problem, estimate_basis, estimate_seconds,
                                            field_widgets, preset_config, settings_widgets)
from reidlab.app_support.groups import (SETTING_NAMES, dataset_of, distinct_text, group_labels,
                                        line_labels)

__all__ = [
    "COLUMN_WIDTHS",
    "CUSTOM_WIDTH",
    "DEFAULT_DATA",
    "FIRST_SETTINGS",
    "HOME",
    "INTROS",
    "LABELS",
    "NOT_SETTINGS",
    "PAGES",
    "PRESET_HELP",
    "PRESET_SECONDS",
    "SETTING_NAMES",
    "UNREADABLE",
    "auto_run_name",
    "check_run_name",
    "current_dataset",
    "data_format",
    "data_root",
    "dataset_of",
    "dataset_problem",
    "details_text",
    "distinct_text",
    "duration_text",
    "ensure_baseline_run",
    "ensure_default_dataset",
    "error_message",
    "estimate_basis",
    "estimate_seconds",
    "features",
    "field_widgets",
    "group_labels",
    "guard",
    "image_button",
    "line_labels",
    "list_runs",
    "load_dataset",
    "navigation_pages",
    "no_training",
    "note_unreadable_frames",
    "page_header",
    "page_links",
    "paper_style",
    "preset_config",
    "rank_list_key_html",
    "run_dataset",
    "run_details",
    "run_folder",
    "run_label",
    "run_picker",
    "runs_root",
    "settings_widgets",
    "setup_page",
    "show_figure",
    "show_table",
    "style_controls",
    "thumbnail",
    "tracklet_thumb",
    "unreadable_frame",
    "url_path",
    "worst_first",
]
