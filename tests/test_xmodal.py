"""xmodal_adv (the infrared ↔ colour paper): entropy weights, the two-stream routing, the
alternating phases, a two-epoch run on the SYSU-MM01 layout, resume, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reidlab.data import load_dataset
from reidlab.data.tracklets import COLOUR, INFRARED
from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError
from reidlab.methods.xmodal import TwoStreamNet, entropy_weights
from reidlab.models.backbones import build_backbone
from test_formats_xmodal import write_sysu
from tiny_mars import write_tiny_mars
from tiny_runs import assert_resumed_equals_full, stop_and_resume


@pytest.fixture(scope="module")
def sysu(tmp_path_factory):
    return write_sysu(tmp_path_factory.mktemp("xm") / "sysu", per=2, train=(1, 2, 3),
                      val=(4,), test=(5, 6))


def cfg_for(root, epochs=2, **options):
    return make_config("test", dataset=str(root), dataset_format="sysumm01",
                       dataset_options={"trials": 2}, method="xmodal_adv", epochs=epochs,
                       batch_size=8, options={"part_dim": 16, "modality_hidden": 8, **options})


def test_entropy_weights_by_hand():
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0],      # uniform: H = log 4
                           [10.0, 0.0, 0.0, 0.0]])    # confident: H ≈ 0
    p = torch.softmax(logits, 1).numpy()
    h = -(p * np.log(p)).sum(1)
    v = 1 + np.exp(-h)
    w = entropy_weights(logits).numpy()
    np.testing.assert_allclose(w, v / v.sum(), rtol=1e-5)
    assert w.sum() == pytest.approx(1.0) and w[1] > w[0]  # the confident sample counts more
    assert w[0] == pytest.approx(1.25 / (1.25 + v[1]), rel=1e-5)  # 1 + e^-log4 = 1.25


def test_two_streams_route_each_image_by_modality():
    torch.manual_seed(0)
    net = TwoStreamNet(build_backbone("tiny", pretrained=False), share_from=3).eval()
    assert len(net.colour) == len(net.infrared) == 2 and len(net.shared) == 2
    with torch.no_grad():
        for p in net.infrared.parameters():
            p.add_(0.5)  # the infrared copy now differs
    x = torch.randn(4, 1, 3, 32, 16)
    mod = torch.tensor([COLOUR, INFRARED, COLOUR, INFRARED])
    with torch.no_grad():
        out = net(x, mod)

        def through(stream, xi):
            for piece in [*stream, *net.shared]:
                xi = piece(xi)
            return xi

        for i in range(4):
            ref = through(net.infrared if mod[i] == INFRARED else net.colour, x[i])
            wrong = through(net.colour if mod[i] == INFRARED else net.infrared, x[i])
            torch.testing.assert_close(out["map"][i], ref[0], rtol=1e-3, atol=1e-4)
            assert (out["map"][i] - wrong[0]).abs().max() > 1e-2
    assert len(out["g"]) == 4 and out["g"][3].shape == (4, net.out_channels)
    one = TwoStreamNet(build_backbone("tiny", pretrained=False), share_from=1)
    assert len(one.colour) == 0 and len(one.shared) == 4


def test_alternating_phases_train_one_side_each(sysu):
    from reidlab.data.loader import TrainClipDataset
    from reidlab.methods import build_method

    cfg = cfg_for(sysu)
    data = load_dataset("sysumm01", sysu, trials=2)
    method = build_method(cfg, data.train, data.num_cameras)
    ds = TrainClipDataset(method.train_tracklets, cfg, method.net.input_norm)
    items = [ds[(0, i, 0)] for i in range(0, len(ds.tracklets), 5)][:10]
    batch = {k: torch.stack([torch.as_tensor(it[k]) for it in items])
             for k in ("clips", "index", "modality")}
    assert set(batch["modality"].tolist()) == {COLOUR, INFRARED}
    disc_params = set(map(id, method.discs.parameters()))

    def grads(epoch):
        method.zero_grad(set_to_none=True)
        out = method.training_step(batch, epoch)
        out.loss.backward()
        with_grad = {id(p) for p in method.parameters() if p.grad is not None}
        return out, with_grad

    out, g = grads(0)  # epoch 0: the extractor; the classifiers held fixed
    assert out.metrics["phase_disc"] == 0.0 and not (g & disc_params) and g - disc_params
    assert out.loss.item() == pytest.approx(out.terms["ce"] + out.terms["triplet"]
                                            - out.terms["adv"], rel=1e-4)
    out, g = grads(1)  # epoch 1: the classifiers alone
    assert out.metrics["phase_disc"] == 1.0 and g == disc_params
    method.opts.adv_mode = "grl"  # both at once through the reversal
    out, g = grads(0)
    assert disc_params <= g and g - disc_params


def test_two_epoch_run_on_the_sysu_layout_and_its_rows(sysu, tmp_path):
    run = Run(train(cfg_for(sysu), tmp_path / "full"))
    final = run.final_metrics()
    assert final["trials"] == 2 and final["protocol"].startswith("sysu-all-search")
    epochs = run.metrics("epoch")
    assert [e["metrics"]["phase_disc"] for e in epochs] == [0.0, 1.0]
    base = Run(train(cfg_for(sysu, epochs=1, adv_stages="none"), tmp_path / "base"))
    assert "adv" not in base.metrics("epoch")[0]["terms"]  # the baseline: CE + triplet
    deep = Run(train(cfg_for(sysu, epochs=1, adv_stages="4", entropy_weights=False,
                             adv_loss="confusion"), tmp_path / "deep"))
    assert "conf" in deep.metrics("epoch")[0]["terms"]
    fs = run.features("final")
    assert fs.q_modality.tolist() == [INFRARED] * len(fs.q_pids)
    assert fs.q_feat.shape[1] == 3 * 16  # three stripes of 16-d parts


def test_resume_mid_run_equals_uninterrupted(sysu, tmp_path):
    cfg = cfg_for(sysu, epochs=2, alternate_every="step")
    full, part = stop_and_resume(cfg, tmp_path, 3)
    assert_resumed_equals_full(full, part)


def test_bad_input_is_a_clear_error(sysu, tmp_path):
    colour_only = write_tiny_mars(tmp_path / "mars", train_ids=3, test_ids=2, cameras=2)
    cfg = make_config("test", dataset=str(colour_only), method="xmodal_adv", epochs=1)
    with pytest.raises(ConfigError, match="both modalities"):
        train(cfg, tmp_path / "r")
    cfg = make_config("test", dataset=str(colour_only), method="xmodal_adv", epochs=1,
                      options={"adv_stages": "none", "part_dim": 8})
    train(cfg, tmp_path / "r2")  # the baseline needs no infrared
    with pytest.raises(ConfigError, match="adv_stages"):
        train(cfg_for(sysu, adv_stages="1,5"), tmp_path / "r3")
    with pytest.raises(ConfigError, match="share_from"):
        train(cfg_for(sysu, share_from=7), tmp_path / "r4")


def test_stage_correlation_by_hand_and_on_a_run(sysu, tmp_path):
    """Fig. 3's numbers: Pearson correlation of infrared/colour pairs per stage, same person
    vs different people; on a trained run, one value per stage."""
    from reidlab.analysis.modality import cross_modal_pairs, stage_correlation, stage_features
    from reidlab.engine.restore import load_run_model

    pids = np.array([1, 1, 2, 2])
    mods = np.array([INFRARED, COLOUR, INFRARED, COLOUR])
    same, diff = cross_modal_pairs(pids, mods)
    assert sorted(map(tuple, same.tolist())) == [(0, 1), (2, 3)]
    assert sorted(map(tuple, diff.tolist())) == [(0, 3), (2, 1)]
    f = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.1], [3.0, 1.0, 0.0], [0.0, 1.0, 3.0]])
    r = stage_correlation([f], pids, mods)
    ref_same = np.mean([np.corrcoef(f[0], f[1])[0, 1], np.corrcoef(f[2], f[3])[0, 1]])
    ref_diff = np.mean([np.corrcoef(f[0], f[3])[0, 1], np.corrcoef(f[2], f[1])[0, 1]])
    assert r["same_person"][0] == pytest.approx(ref_same)
    assert r["different_person"][0] == pytest.approx(ref_diff) and r["pairs"] == 2
    run = Run(train(cfg_for(sysu, epochs=1), tmp_path / "r"))
    method, data, cfg = load_run_model(run).method, run.dataset(), run.train_config()
    items = data.query + data.gallery
    feats = stage_features(method, items, cfg)
    assert [x.shape[0] for x in feats] == [len(items)] * 4
    corr = stage_correlation(feats, [t.pid for t in items], [t.modality for t in items])
    assert len(corr["same_person"]) == 4 and corr["pairs"] > 0
    assert all(-1 <= c <= 1 for c in corr["same_person"] + corr["different_person"])


def test_domain_gap_page_shows_the_modality_views(sysu, tmp_path, monkeypatch):
    """On infrared ↔ colour data the Domain gap page adds the map coloured by modality, the
    modality probe, and (one click) the per-stage correlation of the paper's Fig. 3."""
    import json
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    runs = tmp_path / "runs"
    train(cfg_for(sysu, epochs=1), runs / "xm")
    monkeypatch.setenv("REIDLAB_DATA", str(sysu))
    monkeypatch.setenv("REIDLAB_DATA_FORMAT", "sysumm01")
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    page = Path(__file__).resolve().parents[1] / "app_pages" / "3_Domain_gap.py"
    at = AppTest.from_file(str(page), default_timeout=300)
    at.run()
    at.selectbox(key="gap_run").set_value(next(o for o in at.selectbox(key="gap_run").options
                                               if o.startswith("xm"))).run()
    assert not at.exception and not at.error

    def charts():
        return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]

    by_mod = [c for c in charts() if "by modality" in c["layout"]["title"]["text"]]
    assert by_mod and {d["name"] for d in by_mod[0]["data"] if d.get("name")} >= {
        "colour", "infrared"}
    bars = next(c for c in charts() if c["layout"]["title"]["text"].startswith("Camera-domain"))
    labels = " ".join(d["meta"]["measure"] for d in bars["data"])  # a panel per measure
    assert "modality probe" in labels
    assert "infrared → infrared rank-1" in labels and "colour → colour rank-1" in labels
    at.button(key="gap_stage_corr").click().run()
    assert not at.exception and not at.error
    corr = next(c for c in charts() if c["layout"]["title"]["text"].startswith("Cross-modality"))
    assert len(corr["data"]) == 4  # initial and trained, same person and different people


def test_modality_retrieval_by_hand():
    """Inside each modality and across, each the protocol's evaluation of that subset (own
    camera junk); a colour-only set gives colour → colour alone."""
    from reidlab.analysis.modality import modality_retrieval
    from reidlab.eval.ranking import compute_distmat, evaluate

    rng = np.random.default_rng(0)
    pids = np.repeat(np.arange(6), 4)
    cams = np.tile([0, 1, 2, 3], 6)
    mods = np.where(cams >= 2, INFRARED, COLOUR)
    centre = rng.normal(size=(6, 8))
    # colour tracklets near their person's centre, infrared ones far from it (noisy)
    feats = (centre[pids] + np.where(mods[:, None] == COLOUR, 0.1, 3.0)
             * rng.normal(size=(24, 8))).astype(np.float32)
    r = modality_retrieval(feats, pids, cams, mods)
    assert list(r) == ["colour → colour", "infrared → infrared", "infrared → colour"]
    for name, (a, b) in {"colour → colour": (COLOUR, COLOUR),
                         "infrared → infrared": (INFRARED, INFRARED),
                         "infrared → colour": (INFRARED, COLOUR)}.items():
        q, g = np.flatnonzero(mods == a), np.flatnonzero(mods == b)
        ref = evaluate(compute_distmat(feats[q], feats[g]), pids[q], pids[g], cams[q], cams[g])
        assert r[name]["rank1"] == pytest.approx(ref["rank1"])
        assert r[name]["mAP"] == pytest.approx(ref["mAP"])
    assert r["colour → colour"]["rank1"] == 1.0 > r["infrared → infrared"]["rank1"]
    assert r["colour → colour"]["queries"] == 12  # each colour tracklet has its other camera
    assert list(modality_retrieval(feats, pids, cams, np.zeros(24, int))) == ["colour → colour"]


def test_modality_distance_sets_by_hand(tmp_path):
    from reidlab.analysis.modality import modality_distance_sets

    feats = np.array([[0.0], [1.0], [10.0], [12.0]], np.float32)
    pids = np.array([1, 1, 2, 1])
    cams = np.array([0, 2, 1, 5])
    mods = np.array([COLOUR, INFRARED, COLOUR, INFRARED])
    s = modality_distance_sets(feats, pids, cams, mods)
    # colour ↔ colour: (0, 2) different people, 10 apart; infrared ↔ infrared: (1, 3) one
    # person, 11 apart; across: (0, 1) same 1, (0, 3) same 12, (2, 1) diff 9, (2, 3) diff 2
    assert s["colour ↔ colour"]["diff"].tolist() == pytest.approx([10.0], abs=1e-3)
    assert len(s["colour ↔ colour"]["same"]) == 0
    assert s["infrared ↔ infrared"]["same"].tolist() == pytest.approx([11.0], abs=1e-3)
    assert sorted(s["infrared ↔ colour"]["same"].tolist()) == pytest.approx([1.0, 12.0], abs=1e-3)
    assert sorted(s["infrared ↔ colour"]["diff"].tolist()) == pytest.approx([2.0, 9.0], abs=1e-3)
    only_colour = modality_distance_sets(feats, pids, cams, np.zeros(4, int))
    assert list(only_colour) == ["colour ↔ colour"]


def test_data_and_distances_pages_show_both_modalities(sysu, tmp_path, monkeypatch):
    import json
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    runs = tmp_path / "runs"
    train(cfg_for(sysu, epochs=1), runs / "xm")
    monkeypatch.setenv("REIDLAB_DATA", str(sysu))
    monkeypatch.setenv("REIDLAB_DATA_FORMAT", "sysumm01")
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    pages = Path(__file__).resolve().parents[1] / "app_pages"
    at = AppTest.from_file(str(pages / "1_Data.py"), default_timeout=300)
    at.run()
    assert not at.exception and not at.error
    assert any("cam 3 · infrared" in c.value for c in at.caption)
    grid = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "camera × identity" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert "cam 1 · colour" in grid["layout"]["yaxis"]["ticktext"]
    at = AppTest.from_file(str(pages / "5_Distances.py"), default_timeout=300)
    at.run()
    assert not at.exception and not at.error
    fig = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
               if "modality pair" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    panels = {a["text"] for a in fig["layout"]["annotations"]}
    assert {"colour ↔ colour", "infrared ↔ infrared", "infrared ↔ colour"} <= panels


def test_bad_option_values_fail_when_the_config_is_made():
    with pytest.raises(ConfigError, match="share_from"):
        make_config("test", method="xmodal_adv", options={"share_from": 7})
    with pytest.raises(ConfigError, match="adv_stages"):
        make_config("test", method="xmodal_adv", options={"adv_stages": "0"})


def test_rank_lists_name_the_modality(sysu, tmp_path, monkeypatch):
    import json
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    runs = tmp_path / "runs"
    train(cfg_for(sysu, epochs=1), runs / "xm")
    monkeypatch.setenv("REIDLAB_DATA", str(sysu))
    monkeypatch.setenv("REIDLAB_DATA_FORMAT", "sysumm01")
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    page = Path(__file__).resolve().parents[1] / "app_pages" / "6_Rank_lists.py"
    at = AppTest.from_file(str(page), default_timeout=300)
    at.run()
    assert not at.exception and not at.error
    assert any("modality" in c.value for c in at.caption)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert any(t.endswith(" IR") for t in texts) and any(t.endswith(" RGB") for t in texts)
