"""Run labels: runs nested in a sweep/benchmark folder keep that folder in their name."""

import json

from reidlab import app_support as ui
from reidlab.engine.runs import Run


def _run(path, method):
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"config": {"method": method}}))
    return Run(path)


def test_run_label_names_the_folder_of_nested_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("REIDLAB_RUNS", str(tmp_path))
    top = _run(tmp_path / "padal_id", "padal_id")
    nested = _run(tmp_path / "table2" / "padal_id", "padal_id")
    assert ui.run_label(top) == "padal_id (padal_id)"
    assert ui.run_label(nested) == "table2/padal_id (padal_id)"
