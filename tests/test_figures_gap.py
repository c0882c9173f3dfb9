"""Figure-level checks of the analysis figures: one colour per meaning across the builders,
the gap numbers as small multiples, camera-pair panels and their difference, histograms that
do not blend, rank-list labels that name their numbers."""

from __future__ import annotations

import numpy as np
import pytest

from reidlab.viz.camera_gap import (camera_pair_heatmap, camera_pair_panels, distance_histograms,
                                    gap_bars)
from reidlab.viz.curves import counts_bar
from reidlab.viz.embeddings import embedding_scatter_pair
from reidlab.viz.image_figures import rank_list_figure
from reidlab.viz.style import (DEFAULT_STYLE, DIFFERENT_RGB, JUNK_RGB, SAME_RGB, SPLIT_COLOURS,
                               STAGE_COLOURS, STAGE_NAMES, part_colours, plural, rgb_hex,
                               stage_colour)


def test_one_colour_per_meaning_across_builders():
    style = DEFAULT_STYLE
    cams = set(style.camera_colors()[:6])
    same, diff = rgb_hex(SAME_RGB), rgb_hex(DIFFERENT_RGB)
    stages = set(STAGE_COLOURS.values())
    splits = set(SPLIT_COLOURS.values())
    parts = set(part_colours(6))
    groups = [cams, {same, diff}, stages, splits, parts, {rgb_hex(JUNK_RGB)}]
    for i, a in enumerate(groups):  # no colour means two things
        for b in groups[i + 1:]:
            assert not {c.upper() for c in a} & {c.upper() for c in b}, (a, b)
    # and the builders draw from them: cameras, splits, before/after, same/different
    xy = np.random.default_rng(0).normal(size=(12, 2))
    emb = embedding_scatter_pair(xy, np.arange(12) % 3, np.arange(12) // 2)
    assert [t.marker.color for t in emb.data[:3]] == list(style.camera_colors()[:3])
    bars = counts_bar({"train": {"per_camera": {0: 3}}, "query": {"per_camera": {0: 1}},
                         "gallery": {"per_camera": {0: 2}}})
    assert {t.name: t.marker.color for t in bars.data} == SPLIT_COLOURS
    gap = gap_bars({"before": {"camera probe acc.": 0.9}, "after": {"camera probe acc.": 0.4}})
    assert [t.marker.color for t in gap.data] == [STAGE_COLOURS["initial"],
                                                  STAGE_COLOURS["final"]]
    hist = distance_histograms({"all": {"same person": [1.0, 2.0],
                                          "different person": [3.0, 4.0]}})
    assert [t.marker.color for t in hist.data] == [same, diff]


def test_gap_bars_are_small_multiples_with_labelled_axes():
    vals = {"before": {"camera probe acc.": 0.99, "silhouette by camera": 0.18,
                       "silhouette by identity": -0.3},
            "after": {"camera probe acc.": 0.6, "silhouette by camera": 0.02,
                      "silhouette by identity": 0.1}}
    fig = gap_bars(vals, chance=0.17)
    axes = [t.yaxis for t in fig.data]
    assert len(set(axes)) == 3
    titles = [fig.layout[("yaxis" + a[1:])].title.text for a in dict.fromkeys(axes)]
    assert titles == ["accuracy (0–1)", "silhouette (−1…1)", "silhouette (−1…1)"]
    assert list(fig.layout.yaxis.range) == [0.0, 1.05]
    lo, hi = fig.layout.yaxis3.range
    assert lo < -0.3 and hi > 0.1  # each panel's own range holds its bars and 0
    assert any(s.y0 == 0.17 for s in fig.layout.shapes)  # chance in the probe panel
    with pytest.raises(ValueError):
        gap_bars({})


def test_camera_pair_panels_share_a_scale_and_show_the_difference():
    a = np.array([[90.0, 10.0], [20.0, 80.0]])
    b = np.array([[85.0, 30.0], [40.0, 88.0]])
    fig = camera_pair_panels({"before": a, "after": b}, difference=("before", "after"))
    coloured = [t for t in fig.data if t.name != "same camera"]
    assert [t.meta["panel"] for t in coloured] == ["before", "after", "after − before"]
    assert coloured[0].zmax == coloured[1].zmax == 40.0  # off-diagonal cells set the scale
    d = np.asarray(coloured[2].z, float)
    assert d[0, 1] == 20.0 and d[1, 0] == 20.0 and np.isnan(d[0, 0])
    assert coloured[2].zmin == -20.0 and coloured[2].zmax == 20.0
    greys = [t for t in fig.data if t.name == "same camera"]
    assert len(greys) == 3 and greys[0].text[0][0] == "90.0"
    with pytest.raises(ValueError):
        camera_pair_panels({"a": a, "b": np.zeros((3, 3))})
    with pytest.raises(ValueError):
        camera_pair_panels({"a": a}, difference=("a", "z"))


def test_rank_list_ranks_skip_junk_and_name_numbers():
    img = np.zeros((8, 4, 3), np.uint8)
    fig = rank_list_figure(img, [img] * 4, ["junk", "wrong", "junk", "match"],
                             distances=[0.0, 1.25, 1.5, 2.0],
                             labels=[f"id {p}<br>cam 1" for p in (3, 4, 3, 3)])
    titles = [a.text for a in fig.layout.annotations][1:]
    assert [t.split("<br>")[0] for t in titles] == ["junk", "rank 1", "junk", "rank 2"]
    assert titles[1] == "rank 1<br>d 1.25<br>id 4<br>cam 1"


def test_plural_and_vocabulary():
    assert plural(1, "epoch") == "1 epoch" and plural(2, "epoch") == "2 epochs"
    assert plural(0, "epoch") == "0 epochs"
    assert STAGE_NAMES == {"initial": "before", "final": "after"}
    assert stage_colour("before") == STAGE_COLOURS["initial"]
    assert stage_colour("no training") == STAGE_COLOURS["final"]
    assert camera_pair_heatmap(np.eye(2)).data[0].colorbar.title.text == "rank-1 (%)"
