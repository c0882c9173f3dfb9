"""The analysis pages (Domain gap, Part masks, Distances, Rank lists, Pseudo labels) under
Streamlit's AppTest: what each figure says is labelled, the same figure as the export, two
runs side by side, and one vocabulary. On the tiny SynthCams and fake runs of
``test_app_pages`` (its ``lab`` fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from test_app_pages import chart_titled, charts, env, lab, no_errors, page, pick  # noqa: F401

from reidlab.eval.features import FeatureSet


def title_of(fig: dict) -> str:
    t = fig["layout"].get("title", {})
    return (t.get("text", "") if isinstance(t, dict) else str(t)) or ""


def panel(fig: dict, name: str) -> list[dict]:
    return [t for t in fig["data"] if (t.get("meta") or {}).get("panel") == name]


# --------------------------------------------------------------------------- Domain gap

def test_pair_heat_map_leaves_the_diagonal_off_the_scale_and_equals_the_export(lab):
    """The same-camera diagonal (85–87 on a real run) no longer sets the colour scale: it is
    a grey, written trace of its own; the page's one-model figure is the export's."""
    from reidlab.analysis.gap_report import pair_rank1
    from reidlab.engine.runs import Run
    from reidlab.viz.cli_export import standard_figures

    at = page("app_pages/3_Domain_gap.py").run()
    pick(at, "gap_run", "fake_k2").run()
    at.multiselect(key="gap_views").set_value(["final"]).run()
    no_errors(at)
    heat = chart_titled(at, "rank-1 (%) per camera pair")
    run = Run(lab["runs"] / "fake_k2")
    pr = pair_rank1(run, "final")
    m = pr["rank1"]
    off = m.copy()
    np.fill_diagonal(off, np.nan)
    coloured = heat["data"][0]
    np.testing.assert_allclose(np.asarray(coloured["z"], float), off, equal_nan=True)
    assert coloured["zmax"] == pytest.approx(np.nanmax(off))
    # the diagonal, when the record has one, is written in grey cells off the scale
    export = standard_figures(run, part_masks=False)["pair_rank1"]
    assert len(export.data) == len(heat["data"])
    for t, u in zip(export.data, heat["data"]):
        np.testing.assert_array_equal(np.asarray(t.z, float), np.asarray(u["z"], float))
        assert t.zmax == u.get("zmax") and t.zmin == u.get("zmin")
    assert list(export.data[0].text) == [list(r) for r in coloured["text"]]
    # the gap numbers: the export's figure holds the page's numbers
    gap = chart_titled(at, "Camera-domain gap")
    egap = standard_figures(run, part_masks=False)["gap"]
    page_vals = {(t["meta"]["measure"], t["name"]): float(t["y"][0]) for t in gap["data"]
                 if t["name"] == "after"}
    exp_vals = {(t.meta["measure"], t.name): float(t.y[0]) for t in egap.data
                if t.name == "after"}
    assert page_vals == pytest.approx(exp_vals)


def test_heat_map_with_a_diagonal_keeps_it_out_of_the_range():
    from reidlab.viz.camera_gap import camera_pair_heatmap

    m = np.array([[86.0, 10.0, 20.0], [15.0, 87.0, 30.0], [5.0, 25.0, 85.0]])
    fig = camera_pair_heatmap(m)
    assert fig.data[0].zmax == 30.0 and fig.data[0].zmin == 0.0
    z = np.asarray(fig.data[0].z, float)
    assert np.isnan(np.diag(z)).all()
    same = fig.data[1]
    assert same.name == "same camera" and same.showscale is False
    assert [same.text[i][i] for i in range(3)] == ["86.0", "87.0", "85.0"]
    assert len({c for _, c in same.colorscale}) == 1  # one grey, no scale


def test_gap_numbers_one_labelled_axis_per_measure(lab):
    at = page("app_pages/3_Domain_gap.py").run()
    pick(at, "gap_run", "fake_k2").run()
    no_errors(at)
    gap = chart_titled(at, "Camera-domain gap")
    measures = list(dict.fromkeys(t["meta"]["measure"] for t in gap["data"]))
    assert len(measures) >= 3
    axes = {t["meta"]["measure"]: t.get("yaxis", "y") for t in gap["data"]}
    assert len(set(axes.values())) == len(measures)  # one axis per measure
    for m, ax in axes.items():
        title = gap["layout"]["yaxis" + ax[1:]]["title"]["text"]
        assert title and ("accuracy" in title or "silhouette" in title), (m, title)
    # before light, after dark: the model stages' colours
    from reidlab.viz.style import STAGE_COLOURS

    colours = {t["name"]: t["marker"]["color"] for t in gap["data"]}
    assert colours == {"before": STAGE_COLOURS["initial"], "after": STAGE_COLOURS["final"]}


def test_identities_across_models_camera_legend_has_no_colours(lab):
    at = page("app_pages/3_Domain_gap.py").run()
    pick(at, "gap_run", "fake_k2").run()
    at.slider(key="fig3_ids").set_value(5).run()
    at.button(key="fig3_draw").click().run()
    no_errors(at)
    fig = chart_titled(at, "identities")
    legend = [t for t in fig["data"] if t.get("showlegend")]
    assert [t["name"] for t in legend] == ["cam 1", "cam 2", "cam 3"]
    colours = {t["marker"]["color"] for t in legend}  # a string each: one neutral colour
    assert len(colours) == 1
    symbols = [t["marker"]["symbol"] for t in legend]
    assert len(set(symbols)) == 3
    # points are coloured by identity only: one identity, one colour, in every camera
    pts = [t for t in fig["data"] if not t.get("showlegend") and t.get("x") is not None
           and len(t["x"])]
    by_id: dict = {}
    for t in pts:
        for (pid, _), c in zip(t["customdata"], t["marker"]["color"]):
            by_id.setdefault(int(pid), set()).add(c)
    assert all(len(c) == 1 for c in by_id.values())
    assert not colours & {c for cs in by_id.values() for c in cs}


def test_two_runs_side_by_side_and_before_after_difference(lab):
    from reidlab.analysis.gap_report import pair_rank1
    from reidlab.engine.runs import Run

    at = page("app_pages/3_Domain_gap.py").run()
    pick(at, "gap_run", "fake_k2").run()
    no_errors(at)
    # one run: before and after side by side, and after − before
    heat = chart_titled(at, "rank-1 (%) per camera pair")
    r2 = Run(lab["runs"] / "fake_k2")
    before, after = pair_rank1(r2, "initial")["rank1"], pair_rank1(r2, "final")["rank1"]
    diff = panel(heat, "after − before")[0]
    want = after - before
    np.fill_diagonal(want, np.nan)
    np.testing.assert_allclose(np.asarray(diff["z"], float), want, equal_nan=True)
    assert diff["zmin"] == -diff["zmax"]  # centred on no change
    # a second run: its embeddings beside the first's, the gap numbers of both, the two
    # heat maps and their difference
    pick(at, "gap_run_b", "fake_k4").run()
    no_errors(at)
    titles = [title_of(c) for c in charts(at)]
    for r in ("fake_k2", "fake_k4"):
        for w in ("before", "after"):
            assert any(t.startswith(f"{r} (padal_mp) — {w}") for t in titles), titles
    gap = chart_titled(at, "Camera-domain gap — fake_k2 (padal_mp) vs fake_k4 (padal_mp)")
    names = list(dict.fromkeys(t["name"] for t in gap["data"]))
    assert names == ["fake_k2: before", "fake_k2: after", "fake_k4: before", "fake_k4: after"]
    hatched = {t["name"] for t in gap["data"] if (t["marker"].get("pattern") or {}).get("shape")}
    assert hatched == {"fake_k4: before", "fake_k4: after"}
    heat = chart_titled(at, "rank-1 (%) per camera pair — fake_k2")
    a4 = pair_rank1(Run(lab["runs"] / "fake_k4"), "final")["rank1"]
    d = panel(heat, "fake_k4 (after) − fake_k2 (after)")[0]
    want = a4 - after
    np.fill_diagonal(want, np.nan)
    np.testing.assert_allclose(np.asarray(d["z"], float), want, equal_nan=True)


# --------------------------------------------------------------------------- Distances

def test_distances_overlay_is_distinguishable_named_and_sampled(lab):
    from reidlab.viz.style import DIFFERENT_RGB, SAME_RGB, rgb_hex

    at = page("app_pages/5_Distances.py").run()
    pick(at, "dist_a", "fake_k2").run()
    no_errors(at)
    fig = charts(at)[0]
    assert fig["layout"]["xaxis"]["title"]["text"] == "Euclidean distance"  # the metric named
    pick(at, "dist_b", "fake_k4").run()
    no_errors(at)
    assert at.toggle(key="dist_norm").value  # a second run: normalised by default ...
    fig = charts(at)[0]
    assert fig["layout"]["xaxis"]["title"]["text"] == "Euclidean distance / the run's median"
    looks = {t["name"]: t["marker"] for t in fig["data"]}
    same, diff = rgb_hex(SAME_RGB), rgb_hex(DIFFERENT_RGB)
    a_same, b_same = looks["fake_k2 (padal_mp): same person"], looks["fake_k4 (padal_mp): same person"]
    assert a_same["color"] == same and looks["fake_k2 (padal_mp): different person"]["color"] == diff
    # the second run: outlined and hatched in the same colours, never a blend of the first's
    assert b_same["line"]["color"] == same and b_same["pattern"]["shape"] == "/"
    assert b_same["color"] != a_same["color"] and not a_same.get("pattern", {}).get("shape")
    at.toggle(key="dist_norm").set_value(False).run()  # ... and the axis says which
    assert charts(at)[0]["layout"]["xaxis"]["title"]["text"] == "Euclidean distance"
    text = " ".join(c.value for c in at.caption)
    assert "random sample" in text and "100 000" in text


def test_distances_per_pair_maps_of_two_runs_are_one_figure(lab):
    at = page("app_pages/5_Distances.py").run()
    pick(at, "dist_a", "fake_k2").run()
    pick(at, "dist_b", "fake_k4").run()
    at.toggle(key="dist_pairs").set_value(True).run()
    no_errors(at)
    seps = [c for c in charts(at) if "separation" in title_of(c)]
    assert len(seps) == 1  # full width: its titles whole, its download buttons labelled
    fig = seps[0]
    panels = [a["text"] for a in fig["layout"]["annotations"]]
    assert panels[:2] == ["fake_k2", "fake_k4"] and panels[2] == "fake_k4 − fake_k2"
    assert len(title_of(fig)) < 70
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels and all(lab_.strip() for lab_ in labels)


# --------------------------------------------------------------------------- Rank lists

def test_rank_list_labels_name_their_numbers_and_skip_junk(lab):
    from reidlab.eval.ranking import compute_distmat, per_query

    at = page("app_pages/6_Rank_lists.py").run()
    pick(at, "rl_run", "fake_k2").run()
    at.slider(key="rl_k").set_value(4).run()
    no_errors(at)
    fs = FeatureSet.load(lab["runs"] / "fake_k2" / "features" / "final.npz")
    pq = per_query(compute_distmat(fs.q_feat, fs.g_feat), fs.q_pids, fs.g_pids, fs.q_camids,
                   fs.g_camids)
    junk_seen = False
    for fig, md in zip(charts(at), [m.value for m in at.markdown if "query row" in m.value]):
        labels = [a["text"] for a in fig["layout"]["annotations"]][1:]
        ranks = [t.split("<br>")[0] for t in labels]
        junk_seen |= "junk" in ranks
        # the real gallery ranks of the valid items: 1..k, junk shown without one
        assert [r for r in ranks if r != "junk"] == [f"rank {i}" for i in range(1, 5)], ranks
        for t in labels:
            lines = t.split("<br>")
            assert lines[1].startswith("d ") and lines[2].startswith("id ") and \
                lines[3].startswith("cam "), t
        qi = int(md.split("query row ")[1].split("**")[0])
        assert f"first true match at rank {pq.first_pos[qi] + 1}" in md, md
        assert f"AP {pq.ap[qi]:.2f}" in md, md
    assert junk_seen  # the query's own tracklet is in the gallery (MARS protocol): junk


def test_rank_lists_search_by_identity_and_a_second_run(lab):
    at = page("app_pages/6_Rank_lists.py").run()
    pick(at, "rl_run", "fake_k2").run()
    fs = FeatureSet.load(lab["runs"] / "fake_k2" / "features" / "final.npz")
    pid = int(sorted(set(fs.q_pids.tolist()))[1])
    at.selectbox(key="rl_pid").set_value(pid).run()
    no_errors(at)
    queries = [a["text"] for c in charts(at) for a in c["layout"]["annotations"][:1]]
    assert queries and all(f"id {pid}<br>" in q for q in queries)
    assert len(queries) == min(3, int((fs.q_pids == pid).sum()))
    pick(at, "rl_run_b", "fake_k4").run()
    no_errors(at)
    figs = charts(at)
    assert [title_of(f).split(" (")[0] for f in figs[:2]] == ["fake_k2", "fake_k4"]
    # the same query tracklet under both models
    assert figs[0]["layout"]["annotations"][0]["text"] == \
        figs[1]["layout"]["annotations"][0]["text"]
    assert any(m.value.startswith("same query · fake_k4") for m in at.markdown)


# --------------------------------------------------------------------------- Part masks

def test_part_masks_gallery_lists_gallery_tracklets_and_k_is_capped(lab):
    at = page("app_pages/4_Part_masks.py").run()
    pick(at, "pm_run", "fake_k2").run()
    no_errors(at)
    slider = at.slider(key="pm_K")
    assert slider.max == 4 and "4×2" in slider.help  # the tiny model's map X: 4×2 cells
    at.radio(key="pm_split").set_value("gallery").run()
    no_errors(at)
    ms = at.multiselect(key="pm_items_gallery")
    assert ms.label == "gallery tracklets"
    gallery = lab["dataset"].gallery
    fig = charts(at)[0]
    shown = [a["text"] for a in fig["layout"]["annotations"]][:len(ms.value)]
    assert shown == [f"id {gallery[i].pid}<br>cam {gallery[i].camid + 1}" for i in ms.value]
    # a K asked for above what the map holds: capped, and said
    at.session_state["pm_K_wanted"] = 8
    at.run()
    no_errors(at)
    parts = [t["name"] for t in charts(at)[0]["data"] if t["type"] == "scatter"]
    assert parts == [f"part {k}" for k in range(1, 5)]
    assert any("K = 8 capped at 4" in c.value for c in at.caption)


def test_part_masks_of_a_second_run_use_the_same_frames(lab):
    at = page("app_pages/4_Part_masks.py").run()
    pick(at, "pm_run", "fake_k2").run()
    pick(at, "pm_run_b", "fake_k4").run()
    no_errors(at)
    figs = charts(at)
    assert len(figs) == 2
    assert "fake_k2" in title_of(figs[0]) and "fake_k4" in title_of(figs[1])
    frames = [[t["source"] for t in f["data"] if t["type"] == "image"][:3] for f in figs]
    assert frames[0] == frames[1]  # the same tracklets' frames under both models


def test_part_colours_are_their_own_and_ordered():
    from reidlab.viz.style import DEFAULT_STYLE, hex_rgb, part_colours

    cols = part_colours(4)
    assert len(set(cols)) == 4 and not set(cols) & set(DEFAULT_STYLE.camera_colors())
    light = [sum(hex_rgb(c)) for c in cols]
    assert light == sorted(light)  # head dark → legs light


# --------------------------------------------------------------------------- Pseudo labels

def test_pseudo_labels_legends_apart_and_one_epoch(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from test_pseudo_labels_page import ROOT, make_label_run, write_frames

    runs = tmp_path / "runs"
    make_label_run(runs, "one_update", write_frames(tmp_path / "frames"), epochs=(1,))
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    monkeypatch.setenv("REIDLAB_DATA", str(tmp_path / "nodata"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app_pages/9_Pseudo_labels.py"), default_timeout=120)
    at.run()
    no_errors(at)
    assert any(c.value == "one update, after 1 epoch" for c in at.caption)
    emb = chart_titled(at, "one_update (cawcl) — update after 1 epoch ·")
    cams = [t for t in emb["data"] if t["name"].startswith("cam ")]
    others = [t for t in emb["data"] if not t["name"].startswith("cam ")]
    assert cams and all(t.get("legend") == "legend2" for t in cams)
    assert all(t.get("legend", "legend") == "legend" for t in others)
    assert emb["layout"]["legend2"]["x"] > emb["layout"]["legend"].get("x", 0)


# --------------------------------------------------------------------------- one vocabulary

def test_one_vocabulary_on_the_analysis_pages(lab):
    for path, key in (("app_pages/5_Distances.py", "dist_which"),
                      ("app_pages/6_Rank_lists.py", "rl_which")):
        at = page(path).run()
        no_errors(at)
        assert list(at.radio(key=key).options) == ["after", "before"], path  # not final/initial
    at = page("app_pages/3_Domain_gap.py").run()
    assert list(at.multiselect(key="gap_views").options) == ["before", "after"]
    assert list(at.radio(key="gap_method").options) == ["PCA", "t-SNE", "UMAP"]
    at = page("app_pages/4_Part_masks.py").run()
    pick(at, "pm_run", "fake_k2").run()
    opts = at.multiselect(key="pm_items_query").options
    assert opts[0].startswith("#0 id ") and not any("pid" in o for o in opts)


def test_a_run_beside_the_imagenet_init_is_named_so(lab):
    """The baseline's folder is a hash: side by side it is named "ImageNet init"."""
    at = page("app_pages/3_Domain_gap.py").run()
    pick(at, "gap_run", "fake_k2").run()
    pick(at, "gap_run_b", "ImageNet init").run()
    no_errors(at)
    gap = chart_titled(at, "Camera-domain gap")
    assert list(dict.fromkeys(t["name"] for t in gap["data"])) == [
        "fake_k2: before", "fake_k2: after", "ImageNet init: no training"]
    heat = chart_titled(at, "rank-1 (%) per camera pair")
    assert {(t.get("meta") or {}).get("panel") for t in heat["data"]} == {
        "fake_k2 (after)", "ImageNet init (no training)",
        "ImageNet init (no training) − fake_k2 (after)"}
    at = page("app_pages/5_Distances.py").run()
    pick(at, "dist_a", "fake_k2").run()
    pick(at, "dist_b", "ImageNet init").run()
    at.toggle(key="dist_pairs").set_value(True).run()
    no_errors(at)
    sep = next(c for c in charts(at) if "separation" in title_of(c))
    assert [a["text"] for a in sep["layout"]["annotations"]][:2] == ["fake_k2", "ImageNet init"]
