"""The leaderboard of runs on disk: grouping by variant, mean ± std over seeds, order."""

import math

import pytest

from reidlab.analysis.leaderboard import leaderboard_table, mean_std_text


def test_leaderboard_groups_variants_and_orders_by_map():
    rows = [{"variant": "a", "rank1": 10.0, "rank5": 20.0, "mAP": 5.0, "mINP": 1.0},
            {"variant": "a", "rank1": 14.0, "rank5": 22.0, "mAP": 7.0, "mINP": 3.0},
            {"variant": "b", "rank1": 30.0, "rank5": 40.0, "mAP": 20.0, "mINP": None},
            {"variant": None, "rank1": 99.0, "mAP": 99.0},  # not a method run
            {"variant": "c"}]  # no metrics: left out
    t = leaderboard_table(rows)
    assert t["variant"].tolist() == ["b", "a"] and t["runs"].tolist() == [2 - 1, 2]
    a = t[t["variant"] == "a"].iloc[0]
    assert a["rank1"] == 12.0 and a["rank1_std"] == pytest.approx(math.sqrt(8))
    assert math.isnan(t[t["variant"] == "b"].iloc[0]["rank1_std"])
    text = mean_std_text(t)
    assert text.set_index("variant").loc["a", "mAP"] == "6.0 ± 1.4"
    assert text.set_index("variant").loc["b", "mAP"] == "20.0"
    assert text.set_index("variant").loc["b", "mINP"] == "—"
    assert leaderboard_table([]).empty
