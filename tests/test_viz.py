"""Every figure builder of reidlab.viz (style, images, embeddings, curves, camera_gap,
image_figures): the data in the figure is the data given."""

import numpy as np
import pytest

from reidlab.viz.camera_gap import auc_floor, camera_pair_heatmap, distance_histograms, gap_bars
from reidlab.viz.curves import (ablation_plot, counts_bar, label_quality_curves, loss_curves,
                                metric_curves)
from reidlab.viz.embeddings import embedding_scatter_pair
from reidlab.viz.image_figures import (frames_strip, part_masks_figure, rank_list_figure,
                                       thumbnail_grid)
from reidlab.viz.images import decode_data_uri
from reidlab.viz.style import (COLORBLIND_SAFE, JUNK_RGB, MATCH_RGB, PALETTES, QUERY_RGB,
                               RANK_LIST_KEY, Style, WRONG_RGB, hex_rgb, identity_colours,
                               part_colours, restyle)


def _img(h=32, w=16, rgb=(10, 200, 30)):
    a = np.zeros((h, w, 3), np.uint8)
    a[:] = rgb
    return a


def test_palettes_and_style_sizes():
    s = Style(palette="okabe_ito", width_in=3.5, height_in=2.0, dpi=300, font_pt=9)
    assert s.colors()[0] == "#E69F00" and len(s.colors()) == 8
    assert s.color(8) == s.color(0)
    assert s.width_px == pytest.approx(336.0) and s.height_px == pytest.approx(192.0)
    assert s.width_px * s.scale == pytest.approx(1050, abs=1e-3)
    assert s.font_px == pytest.approx(12.0)
    with pytest.raises(ValueError, match="unknown palette"):
        Style(palette="nope").colors()
    assert set(COLORBLIND_SAFE) <= set(PALETTES)


def test_embedding_scatter_pair_splits_by_camera(rng):
    xy = rng.normal(size=(30, 2))
    cams = np.repeat([0, 1, 2], 10)
    pids = np.tile(np.arange(5), 6)
    fig = embedding_scatter_pair(xy, cams, pids, method="PCA", style=Style(palette="tol_bright"))
    cam_traces = [t for t in fig.data if t.legendgroup == "cam"]
    assert [t.name for t in cam_traces] == ["cam 1", "cam 2", "cam 3"]
    for c, t in enumerate(cam_traces):
        np.testing.assert_allclose(t.x, xy[cams == c, 0])
        np.testing.assert_allclose(t.y, xy[cams == c, 1])
        assert t.marker.color == PALETTES["tol_bright"][c]
        assert t.xaxis == "x"
    ident = fig.data[-1]
    assert ident.xaxis == "x2"
    np.testing.assert_allclose(ident.x, xy[:, 0])
    # same identity -> same colour, different (within palette size) -> different
    cols = list(ident.marker.color)
    assert cols[0] == cols[5] and cols[0] != cols[1]
    assert "by camera" in fig.layout.annotations[0].text
    # the camera legend is on the left of the by-camera panel (not beside the identities), and
    # identities take colours from another family than the cameras
    assert fig.layout.legend.xanchor == "right" and fig.layout.legend.x <= fig.layout.xaxis.domain[0]
    assert not set(cols) & set(PALETTES["tol_bright"])
    assert not set(cols) & set(PALETTES["okabe_ito"])
    with pytest.raises(ValueError):
        embedding_scatter_pair(xy[:, :1], cams, pids)


def test_loss_and_metric_curves():
    recs = [{"step": i, "epoch": i // 5, "loss": 2.0 / (i + 1), "loss/adv": 0.5, "lr": 1e-3}
            for i in range(10)]
    recs.append({"step": 10, "loss": float("nan")})  # non-finite values are dropped
    fig = loss_curves(recs)
    assert [t.name for t in fig.data] == ["loss", "loss/adv"]
    np.testing.assert_allclose(fig.data[0].y, [2.0 / (i + 1) for i in range(10)])
    assert list(fig.data[0].x) == list(range(10))
    evals = [{"epoch": 1, "rank1": 40.0, "mAP": 20.0}, {"epoch": 2, "rank1": 55.5, "mAP": 30.0}]
    m = metric_curves(evals)
    assert [t.name for t in m.data] == ["rank1", "mAP"]
    assert list(m.data[0].y) == [40.0, 55.5] and list(m.data[1].x) == [1, 2]


def test_camera_pair_heatmap_keeps_nan():
    mat = np.array([[np.nan, 50.0], [25.0, np.nan]])
    fig = camera_pair_heatmap(mat)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 0]) and z[0, 1] == 50.0 and z[1, 0] == 25.0
    assert list(fig.data[0].x) == ["cam 1", "cam 2"]
    assert fig.data[0].text[0][1] == "50.0" and fig.data[0].text[0][0] == ""


def test_gap_bars_groups_runs():
    fig = gap_bars({"ImageNet init": {"camera probe": 0.9, "silhouette": 0.3},
                      "trained": {"camera probe": 0.4}})
    # one panel per measure, a bar per model in each
    assert [(t.meta["measure"], t.name) for t in fig.data] == [
        ("camera probe", "ImageNet init"), ("camera probe", "trained"),
        ("silhouette", "ImageNet init"), ("silhouette", "trained")]
    assert fig.data[1].y[0] == 0.4 and np.isnan(fig.data[3].y[0])


def test_distance_histograms_overlay_and_facets(rng):
    same, diff = rng.normal(1, 0.2, 100), rng.normal(2, 0.2, 300)
    fig = distance_histograms({"all": {"same": same, "different": diff}})
    assert [t.name for t in fig.data] == ["same", "different"]
    np.testing.assert_allclose(fig.data[1].x, diff)
    assert fig.data[0].xbins.size == fig.data[1].xbins.size  # shared bins
    assert fig.layout.barmode == "overlay"
    two = distance_histograms({f"cam {a}-{b}": {"A same": same, "A different": diff,
                                                   "B same": same + 1}
                                 for a, b in [(1, 2), (1, 3), (2, 3), (3, 4)]}, facet_cols=2)
    assert len(two.data) == 12
    assert sum(t.showlegend for t in two.data) == 3  # one legend entry per series
    # a first panel without same-person pairs (a same-camera pair) still gets every entry
    empty_first = distance_histograms({"cam 1→1": {"same": [], "different": diff},
                                         "cam 1→2": {"same": same, "different": diff}})
    assert {t.name for t in empty_first.data if t.showlegend} == {"same", "different"}
    assert {t.xaxis for t in two.data} == {"x", "x2", "x3", "x4"}
    with pytest.raises(ValueError):
        distance_histograms({})


def test_rank_list_borders_and_junk():
    q = _img()
    gal = [_img(rgb=(200, 10, 10)) for _ in range(3)]
    fig = rank_list_figure(q, gal, ["match", "wrong", "junk"], distances=[0.1, 0.2, 0.3],
                             thumb=(32, 16), border=3)
    imgs = [decode_data_uri(t.source) for t in fig.data]
    assert len(imgs) == 4 and imgs[0].shape == (38, 22, 3)
    assert tuple(imgs[0][0, 0]) == QUERY_RGB
    assert tuple(imgs[1][0, 0]) == MATCH_RGB and tuple(imgs[2][0, 0]) == WRONG_RGB
    assert tuple(imgs[3][0, 0]) == JUNK_RGB
    assert tuple(imgs[2][10, 8]) == (200, 10, 10)  # the image itself is kept
    centre = imgs[3][10, 8]
    assert centre[0] == centre[1] == centre[2]  # junk is greyed out
    titles = [a.text for a in fig.layout.annotations]
    assert all(a.font.size >= fig.layout.font.size for a in fig.layout.annotations)
    assert RANK_LIST_KEY["wrong"][:2] == ("vermillion", WRONG_RGB)
    assert RANK_LIST_KEY["match"][1] == MATCH_RGB and RANK_LIST_KEY["junk"][1] == JUNK_RGB
    assert titles[0] == "query" and titles[1] == "rank 1<br>d 0.1" and "junk" in titles[3]
    with pytest.raises(ValueError):
        rank_list_figure(q, gal, ["match", "bad", "junk"])


def test_part_masks_overlay_colours_parts():
    frame = np.full((32, 16, 3), 255, np.uint8)
    K = 2
    masks = np.zeros((1, K, 4, 2), np.float32)
    masks[0, 0, :2] = 1  # top half = part 1
    masks[0, 1, 2:] = 1
    style = Style(palette="okabe_ito")
    fig = part_masks_figure([frame], masks, strict=masks[:, ::-1].copy(), style=style)
    images = [t for t in fig.data if t.type == "image"]
    assert len(images) == 3  # frame, K-means overlay, strict overlay
    top = decode_data_uri(images[1].source)
    c0 = np.array(hex_rgb(part_colours(K)[0]))  # parts: their own sequential colours
    c1 = np.array(hex_rgb(part_colours(K)[1]))
    expect_top = np.round(0.45 * 255 + 0.55 * c0)
    expect_bottom = np.round(0.45 * 255 + 0.55 * c1)
    np.testing.assert_allclose(top[2, 8], expect_top, atol=1)
    np.testing.assert_allclose(top[30, 8], expect_bottom, atol=1)
    strict = decode_data_uri(images[2].source)  # reversed order -> colours swapped
    np.testing.assert_allclose(strict[2, 8], expect_bottom, atol=1)
    legend = [t.name for t in fig.data if t.type == "scatter"]
    assert legend == ["part 1", "part 2"]
    with pytest.raises(ValueError):
        part_masks_figure([frame, frame], masks)


def test_thumbnail_grid_places_cells():
    imgs = {(0, 5): _img(rgb=(255, 0, 0)), (1, 7): _img(rgb=(0, 0, 255))}
    fig = thumbnail_grid(imgs, cams=[0, 1], pids=[5, 7], thumb=(8, 4), pad=1)
    mosaic = decode_data_uri(fig.data[0].source)
    assert mosaic.shape == (2 * 9 + 1, 2 * 5 + 1, 3)
    assert tuple(mosaic[1 + 4, 1 + 2]) == (255, 0, 0)  # cam 0, pid 5
    assert tuple(mosaic[10 + 4, 6 + 2]) == (0, 0, 255)  # cam 1, pid 7
    assert tuple(mosaic[10 + 4, 1 + 2]) == (255, 255, 255)  # missing cell stays white
    assert list(fig.layout.xaxis.ticktext) == ["5", "7"]


def test_frames_strip_and_counts_bar():
    fig = frames_strip([_img(), _img()], labels=["a", "b"])
    assert len(fig.data) == 2
    summary = {"train": {"per_camera": {0: 5, 2: 7}}, "query": {"per_camera": {1: 3}}}
    bar = counts_bar(summary)
    assert list(bar.data[0].x) == ["cam 1", "cam 2", "cam 3"]
    assert list(bar.data[0].y) == [5, 0, 7] and list(bar.data[1].y) == [0, 3, 0]


def test_ablation_plot_sorts_by_value():
    rows = [{"method": "padal_mp", "K": 4, "rank1": 60.0, "mAP": 40.0},
            {"method": "padal_mp", "K": 1, "rank1": 50.0, "mAP": 30.0},
            {"method": "padal_mp", "K": 2, "rank1": 65.0, "mAP": 45.0},
            {"method": "padal_m", "K": 2, "rank1": 55.0},
            {"method": "x", "K": None, "rank1": 1.0}]
    fig = ablation_plot(rows, x="K")
    names = [t.name for t in fig.data]
    assert names == ["padal_mp rank1", "padal_mp mAP", "padal_m rank1"]
    assert list(fig.data[0].x) == [1, 2, 4] and list(fig.data[0].y) == [50, 65, 60]
    assert fig.layout.xaxis.title.text == "K"


def test_ablation_plot_averages_runs_at_one_value_and_groups_by_several_keys():
    rows = [{"method": "padal_mp", "parts": "kmeans", "K": 3, "rank1": 30.0, "seed": 0},
            {"method": "padal_mp", "parts": "kmeans", "K": 3, "rank1": 34.0, "seed": 1},
            {"method": "padal_mp", "parts": "kmeans", "K": 1, "rank1": 20.0, "seed": 0},
            {"method": "padal_mp", "parts": "strict", "K": 3, "rank1": 40.0, "seed": 0}]
    fig = ablation_plot(rows, x="K", metrics=["rank1"], group=("method", "parts"))
    assert [t.name for t in fig.data] == ["padal_mp kmeans rank1", "padal_mp strict rank1"]
    km = fig.data[0]
    assert list(km.x) == [1.0, 3.0] and list(km.y) == [20.0, 32.0]  # one point per K, the mean
    assert list(km.error_y.array) == pytest.approx([0.0, np.std([30, 34], ddof=1)])
    assert list(km.customdata) == [1, 2] and km.error_y.visible
    assert fig.data[1].error_y.visible is False
    assert list(fig.layout.xaxis.tickvals) == [1.0, 3.0]  # ticks at the values tried


def test_camera_pair_heatmap_at_msmt17_size_keeps_every_cell_and_whole_numbers(rng):
    m = rng.uniform(0, 100, (15, 15))
    fig = camera_pair_heatmap(m)
    assert len(fig.data[0].x) == 15 and fig.data[0].text[3][4] == f"{m[3, 4]:.0f}"
    assert camera_pair_heatmap(m[:6, :6]).data[0].text[0][1] == f"{m[0, 1]:.1f}"


def test_apply_style_keeps_a_builders_margins():
    fig = embedding_scatter_pair(np.zeros((4, 2)), np.array([0, 0, 1, 1]), np.arange(4))
    left = fig.layout.margin.l
    out = restyle(fig, Style(width_in=7.16, height_in=2.0))  # (under 5 in its legend
    assert out.layout.margin.l == left and out.layout.width == pytest.approx(687.36)  # moves)
    assert restyle(counts_bar({}), Style()).layout.margin.l == 50


def test_restyle_for_a_single_column_scales_every_text_and_fits_titles_and_legends():
    """Exported at 3.5 in and 8 pt: panel titles at 8 pt (make_subplots writes 16 px), a long
    title wrapped to the width, a right-side legend moved under the plot, and subplot rows
    re-spaced so a panel title fits between them."""
    style = Style(width_in=3.5, height_in=2.6, font_pt=8)
    recs = {"run": [{"epoch": e, "precision": 0.5, "recall": 0.4, "fscore": 0.45,
                     "nmi": 0.6, "ari": 0.1, "num_clusters": 10 + e} for e in range(3)]}
    lq = label_quality_curves(recs, keys=["num_clusters", "precision", "recall", "fscore",
                                            "nmi", "ari"], cols=3)
    out = restyle(lq, style)
    assert all(a.font.size == pytest.approx(style.font_px) for a in out.layout.annotations)
    assert out.layout.title.font.size == pytest.approx(style.font_px * 1.15, abs=0.01)
    doms = sorted({tuple(out.layout[k].domain) for k in out.layout if k.startswith("yaxis")})
    plot_h = style.height_px - out.layout.margin.t - out.layout.margin.b
    assert len(doms) == 2 and (doms[1][0] - doms[0][1]) * plot_h >= 2.5 * style.font_px
    tops = {round(d[1], 6) for d in doms}
    assert {round(a.y, 6) for a in out.layout.annotations} <= tops  # titles moved with panels

    long = counts_bar({"train": {"per_camera": {0: 3, 1: 4}}, "query": {"per_camera": {0: 1}}},
                        title="Tracklets per camera and split of a dataset with a long name")
    out = restyle(long, style)
    assert "<br>" in out.layout.title.text and "<br>" not in long.layout.title.text
    assert out.layout.legend.orientation == "h" and out.layout.legend.yref == "container"
    assert out.layout.margin.b > 45
    wide = restyle(long, Style(width_in=7.16, height_in=3.0, font_pt=8))
    assert wide.layout.legend.orientation is None  # a double column keeps the legend right


def test_identity_colours_are_distinct_and_not_a_camera_palette():
    cols = identity_colours(24)
    assert len(set(cols)) == 24
    assert not set(c.upper() for c in cols) & {c.upper() for p in PALETTES.values() for c in p}


def test_auc_floor_shows_pairs_worse_than_chance():
    assert auc_floor([[np.nan, 61.0], [75.0, np.nan]]) == 50.0
    assert auc_floor([[np.nan, 42.0], [75.0, np.nan]]) == 40.0
    assert auc_floor([[np.nan]]) == 50.0


def test_rank_list_top_margin_holds_its_longest_label():
    fig = rank_list_figure(_img(), [_img(), _img()], ["junk", "wrong"], distances=[0.0, 1.5],
                             labels=["4<br>c2", "9<br>c1"], query_label="query<br>id 4<br>c2")
    lines = max(a.text.count("<br>") + 1 for a in fig.layout.annotations)
    assert lines == 4 and fig.layout.margin.t >= lines * fig.layout.font.size * 1.2
