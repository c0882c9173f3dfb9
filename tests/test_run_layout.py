"""The run-store layout has one home (issue 25 part 3): pages name a run's files through
``reidlab.engine.runs.Run`` (``features_path``, ``checkpoint_path``, ...), never by spelling
them. Read from the source, nothing is imported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ("features/", ".npz", "checkpoint.pt")


def page_sources() -> list[Path]:
    return sorted((ROOT / "app_pages").glob("*.py")) + [ROOT / "app.py"]


@pytest.mark.parametrize("path", page_sources(), ids=lambda p: p.name)
def test_no_page_spells_the_run_store_layout(path):
    text = path.read_text()
    found = [s for s in LAYOUT if s in text]
    assert not found, (f"{path.relative_to(ROOT)} spells the run-store layout {found}: use "
                       "reidlab.engine.runs.Run (features_path, features, checkpoint_path, ...)")


def test_run_names_its_files(tmp_path):
    from reidlab.engine.runs import CHECKPOINT, Run, features_file
    from reidlab.eval.features import FeatureSet

    (tmp_path / "config.json").write_text('{"config": {}}')
    run = Run(tmp_path)
    assert run.features_path("initial") == features_file(tmp_path, "initial") == \
        tmp_path / "features" / "initial.npz"
    assert run.checkpoint_path == tmp_path / CHECKPOINT
    assert not run.has_features("final") and not run.has_checkpoint()
    assert run.checkpoint_mtime() == 0.0
    with pytest.raises(FileNotFoundError):
        run.features_mtime("final")
    fs = FeatureSet(q_feat=np.eye(2, dtype=np.float32), g_feat=np.eye(2, dtype=np.float32),
                    q_pids=np.arange(2), g_pids=np.arange(2), q_camids=np.zeros(2, int),
                    g_camids=np.ones(2, int), q_index=np.arange(2), g_index=np.arange(2))
    fs.save(run.features_path("final"))
    assert run.has_features("final") and run.features_mtime("final") > 0
    assert run.features("final").q_feat.shape == (2, 2)
    run.checkpoint_path.write_bytes(b"x")
    assert run.has_checkpoint() and run.checkpoint_mtime() > 0


def test_wall_seconds_add_up_the_sessions_of_a_resumed_run(tmp_path):
    """Each record's time counts from its session's start: a resumed run's duration is every
    session's last time added (the bench tables' run seconds), not the final evaluation's."""
    import json

    from reidlab.engine.runs import Run

    (tmp_path / "config.json").write_text('{"config": {}}')
    recs = [{"kind": "eval", "which": "initial", "time": 5.0},
            {"kind": "step", "time": 60.0}, {"kind": "epoch", "time": 61.0},
            {"kind": "warning", "message": "no time"},
            {"kind": "step", "time": 3.0}, {"kind": "epoch", "time": 40.0},  # resumed
            {"kind": "eval", "which": "final", "time": 52.5}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert Run(tmp_path).wall_seconds() == pytest.approx(61.0 + 52.5)
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"kind": "warning"}) + "\n")
    assert Run(tmp_path).wall_seconds() is None
