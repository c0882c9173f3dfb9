"""Settings fingerprints: equal settings (seed aside) are seeds of one row; everything that
reuses or groups runs compares them."""

from __future__ import annotations

import json

import pytest

from tiny_mars import write_tiny_mars

from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
from reidlab.engine.settings import (describe, diff_line, fingerprint, group_runs,
                                     run_settings, settings_diff)
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError


def test_fingerprint_ignores_seed_and_speed_switches_only():
    a = make_config("quick", method="padal_mp", K=3)
    assert fingerprint(a) == fingerprint(make_config("quick", method="padal_mp", K=3, seed=4,
                                                     device="cpu", num_workers=2,
                                                     eval_every=1, channels_last=False))
    for change in (dict(K=4), dict(epochs=9), dict(height=128), dict(backbone="resnet18"),
                   dict(frames_per_clip=2), dict(dataset="data/other"),
                   dict(dataset_options={"protocol": "torchreid"}), dict(lam=0.2)):
        b = make_config("quick", method="padal_mp", **{"K": 3, **change})
        assert fingerprint(b) != fingerprint(a), change
        assert set(settings_diff(a, b)) & (set(change) | {"dataset", "dataset_options"})
    # a preset is the fields it fills: quick with explicit quick128 sizes is quick128's setting
    q = make_config("quick", method="padal_id", height=128, width=64, eval_bf16=False)
    assert fingerprint(q) == fingerprint(make_config("quick128", method="padal_id"))
    assert diff_line(settings_diff(a, make_config("quick", method="padal_mp", K=4))) == \
        "K 3 (stored) → 4 (asked)"
    assert describe(a) == "padal_mp · quick · effnet_lite0 96×48 · 8 ep · synthcams"


def test_option_defaults_added_later_keep_a_stored_runs_fingerprint():
    """A stored config from before an option existed reads with its default: same setting."""
    cfg = make_config("test", method="cawcl")
    stored = cfg.to_dict()
    stored["options"] = {k: v for k, v in stored["options"].items() if k != "knn_k"}
    assert fingerprint({"config": stored, "dataset": {}}) == fingerprint(cfg)


def test_a_setting_added_at_its_default_keeps_the_stored_fingerprint():
    """The hash that an older version stored (when an option or a TrainConfig field did not
    exist yet) equals the hash of the same settings read now, with the new entries at their
    defaults; a value off the default still changes it."""
    from reidlab.engine.settings import run_settings, settings_hash

    now = run_settings(make_config("test", method="calr", cam_norm="standardize"))
    assert now["iters"] == 0 and now["outliers"] == "drop"  # added later, at their defaults
    before = {k: v for k, v in now.items() if k not in ("iters", "outliers")}
    assert settings_hash(before) == settings_hash(now)
    assert settings_hash({**now, "iters": 33}) != settings_hash(now)
    assert settings_hash({**now, "outliers": "instances"}) != settings_hash(now)
    # defaults are the method's: calr's local_ratio at its default is left out for calr, but
    # a settings dict of cawcl (which has no such option) that carries it is another setting
    cawcl = {**now, "method": "cawcl"}
    without = {k: v for k, v in cawcl.items() if k != "local_ratio"}
    assert settings_hash(cawcl) != settings_hash(without)
    assert settings_hash(now) == settings_hash({k: v for k, v in now.items()
                                                if k != "local_ratio"})
    # what names the run is always hashed
    assert settings_hash({**now, "dataset": None}) != settings_hash(now)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("settings") / "mars", train_ids=4,
                           test_ids=3)


def _cfg(tiny, **kw):
    return make_config("test", **{"dataset": str(tiny), "epochs": 1, "batch_size": 4,
                                  "method": "padal_mp", **kw})


def test_runs_store_their_fingerprint_and_resume_refuses_other_settings(tiny, tmp_path):
    out = train(_cfg(tiny, K=2), tmp_path / "k2")
    run = Run(out)
    stored = json.loads((out / "config.json").read_text())
    assert stored["settings_fingerprint"] == run.fingerprint()
    assert run.settings()["K"] == 2 and "seed" not in run.settings()
    assert run.details()["size"] == "32×16" and run.details()["seed"] == 0
    assert run.details()["wall_s"] is not None
    mtime = (out / "metrics.jsonl").stat().st_mtime_ns
    with pytest.raises(ConfigError, match=r"other settings: K 2 \(stored\) → 3 \(asked\)"):
        train(_cfg(tiny, K=3), out, resume=True)
    assert Run(out).status()["state"] == "finished"  # the run is left as it was
    assert (out / "metrics.jsonl").stat().st_mtime_ns == mtime
    # the same settings (another device) resume, and may extend the epochs
    train(_cfg(tiny, K=2, device="cpu", epochs=2), out, resume=True)
    assert Run(out).train_config().epochs == 2


def test_group_runs_groups_equal_settings_only(tiny, tmp_path):
    runs = [Run(train(_cfg(tiny, K=k, seed=s), tmp_path / f"k{k}_s{s}"))
            for k, s in ((2, 0), (2, 1), (3, 0))]
    groups = group_runs(runs)
    assert [len(g.runs) for g in groups] == [2, 1]
    assert groups[0].seeds == [0, 1] and groups[0].distinct == {"K": 2}
    assert groups[0].label == "padal_mp · K=2" and groups[1].label == "padal_mp · K=3"
    assert "K=2" in groups[0].describe() and "test" in groups[0].describe()
    assert run_settings(runs[0].config) == run_settings(runs[1].config)


def test_bench_table_keeps_settings_apart(tmp_path):
    """bench/tablelib writes rows of one name but different fingerprints as separate lines,
    never one mean."""
    import argparse

    from tablelib import write_results

    rows = [{"row": "padal_mp", "seed": 0, "rank1": 0.3, "fingerprint": "aaa",
             "settings": "padal_mp · test"},
            {"row": "padal_mp", "seed": 1, "rank1": 0.2, "fingerprint": "aaa",
             "settings": "padal_mp · test"},
            {"row": "padal_mp", "seed": 0, "rank1": 0.9, "fingerprint": "bbb",
             "settings": "padal_mp · quick"}]
    args = argparse.Namespace(results=str(tmp_path), name="t", preset="test", epochs=None,
                              dataset="d")
    write_results(args, "T", rows, ["padal_mp"], 0.0, {}, "", ["rank-1"],
                  lambda n, rs: [f"{100 * sum(r['rank1'] for r in rs) / len(rs):.1f}"])
    md = (tmp_path / "t.md").read_text()
    assert "| padal_mp [aaa] | 2 | 25.0 |" in md and "| padal_mp [bbb] | 1 | 90.0 |" in md
    assert "not averaged" in md
