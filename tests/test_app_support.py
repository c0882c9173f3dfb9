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


def test_the_lab_serves_this_machine_only_by_default():
    """``streamlit run app.py`` (config.toml) and ``make app`` bind 127.0.0.1 unless asked."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    conf = tomllib.loads((root / ".streamlit" / "config.toml").read_text())
    assert conf["server"]["address"] == "127.0.0.1"
    make = (root / "Makefile").read_text()
    assert re.search(r"^ADDRESS \?= 127\.0\.0\.1$", make, re.M)
    app = next(line for line in make.splitlines() if "streamlit run app.py" in line)
    assert "--server.address $(ADDRESS)" in app
