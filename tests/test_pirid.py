"""PIRID: the memory update and the per-camera non-parametric classifier on tiny tensors,
prototype linking on a constructed case, two-epoch runs (intra → inter), resume, variants and
bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tiny_mars import write_tiny_mars
from tiny_runs import assert_resumed_equals_full, stop_and_resume

from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError
from reidlab.methods.pirid import link_prototypes, link_stats, memory_update

# prototype clustering that links on a tiny dataset (few ID slots)
SMALL = {"k1": 4, "k2": 2, "eps": 0.8, "min_samples": 2, "intra_epochs": 1}


def test_memory_update_rules():
    mem = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=1)
    f = torch.tensor([[0.0, 2.0]])
    a = mem.clone()
    memory_update(a, torch.tensor([0]), f, 0.05, "centroid")  # 5 % of the new feature
    assert torch.allclose(a[0], F.normalize(torch.tensor([0.95, 0.05]), dim=0))
    assert torch.equal(a[1], mem[1])
    b = mem.clone()
    memory_update(b, torch.tensor([0]), f, 0.05, "as_printed")  # eq. 1: 5 % of the old
    assert torch.allclose(b[0], F.normalize(torch.tensor([0.05, 0.95]), dim=0))
    c = mem.clone()  # two features of one slot in one batch: applied in order
    memory_update(c, torch.tensor([1, 1]), torch.tensor([[1.0, 0.0], [1.0, 0.0]]), 0.5)
    v = F.normalize(torch.tensor([0.5, 0.5]), dim=0)
    assert torch.allclose(c[1], F.normalize(0.5 * v + 0.5 * torch.tensor([1.0, 0.0]), dim=0))


def test_links_on_a_constructed_case():
    """Three people seen by three cameras (one ID slot each), one person seen once: the three
    people become three prototypes spanning the cameras, the lone ID is dropped."""
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:4]
    slots, cams, pids = [], [], []
    for p in range(3):
        for c in range(3):
            slots.append(centres[p] + 0.05 * rng.standard_normal(8))
            cams.append(c)
            pids.append(p)
    slots.append(centres[3])
    cams.append(0)
    pids.append(3)
    x = np.asarray(slots, np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    proto = link_prototypes(x, np.array(cams), k1=3, k2=1, eps=0.6, min_samples=2)
    assert proto[-1] == -1
    groups = [set(proto[i * 3:(i + 1) * 3].tolist()) for i in range(3)]
    assert all(len(g) == 1 and -1 not in g for g in groups)
    assert len(set.union(*groups)) == 3
    s = link_stats(proto, np.array(pids), np.array(cams))
    assert s == {"prototypes": 3, "linked_ids": 9, "dropped_ids": 1, "link_pairs": 9,
                 "link_precision": 1.0, "link_recall": 1.0, "multi_camera_prototypes": 3}
    wrong = proto.copy()
    wrong[0] = proto[3]  # person 0, camera 0 linked to person 1
    s = link_stats(wrong, np.array(pids), np.array(cams))
    assert s["link_precision"] == pytest.approx(7 / 10) and s["link_recall"] == pytest.approx(7 / 9)


def test_cross_camera_only_keeps_one_cameras_ids_apart():
    """Pairs of look-alike IDs: one pair within camera 0 (two people by construction), two
    pairs across cameras. Plain DBSCAN links all three; ``cross_camera_only`` drops the first."""
    x = np.array([[1, 0.02, 0, 0], [1, -0.02, 0, 0], [0, 1, 0.02, 0], [0, 1, -0.02, 0],
                  [0, 0, 1, 0.02], [0, 0, 1, -0.02]], np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cams = np.array([0, 0, 1, 2, 0, 1])
    plain = link_prototypes(x, cams, k1=2, k2=1, eps=0.9, min_samples=2)
    assert plain.tolist() == [0, 0, 1, 1, 2, 2]
    split = link_prototypes(x, cams, k1=2, k2=1, eps=0.9, min_samples=2, cross_camera_only=True)
    assert split.tolist() == [-1, -1, 0, 0, 1, 1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("p") / "mars", train_ids=6, test_ids=3,
                           frames=(4, 8))


def pirid_cfg(root, **kw):
    opts = {**SMALL, **kw.pop("options", {})}
    kw.setdefault("batch_size", 8)
    kw.setdefault("num_instances", 2)
    return make_config("test", dataset=str(root), method="pirid", options=opts, **kw)


def test_intra_then_inter_with_label_updates(data, tmp_path):
    out = train(pirid_cfg(data, epochs=3), tmp_path / "p")
    run = Run(out)
    assert run.status()["state"] == "finished"
    ep = run.metrics("epoch")
    assert [r["stage"] for r in ep] == ["intra", "inter", "inter"]
    assert set(ep[0]["terms"]) == {"intra"}
    assert {"intra", "inter", "triplet"} <= set(ep[1]["terms"])
    labels = run.metrics("labels")
    assert [(r["epoch"], r["stage"]) for r in labels] == [
        (0, "local"), (1, "local"), (1, "prototype"), (2, "local"), (2, "prototype")]
    # the local labels are the camera-local IDs: pure, one camera each
    n_ids = len({(t.camid, t.pid) for t in run.dataset().train})
    assert all(r["num_clusters"] == n_ids and r["cameras_per_cluster"] == 1.0
               and r["outlier_fraction"] == 0 for r in labels if r["stage"] == "local")
    for r in labels:
        if r["stage"] == "prototype":
            for k in ("prototypes", "link_precision", "link_recall", "dropped_ids"):
                assert k in r, k
    z = np.load(out / "labels" / "update_002.npz")
    assert {"label_local", "label_prototype", "label"} <= set(z.files)
    # one camera-local ID → one prototype
    for s in np.unique(z["label_local"]):
        assert len(set(z["label_prototype"][z["label_local"] == s].tolist())) == 1
    extra = torch.load(out / "checkpoint.pt", weights_only=True)["model"]["_extra_state"]
    assert extra["id_memory"].shape[0] == n_ids and extra["history"].shape[0] == 2


def test_the_intra_stage_is_evaluated_where_it_ends_without_changing_training(data, tmp_path):
    """PIRID's Table 2 compares the intra-camera stage with the whole method: the run evaluates
    when the intra stage ends (which=stage), and that evaluation leaves the training as it was:
    the same weights and final metrics as a run without it."""
    with_eval = Run(train(pirid_cfg(data, epochs=3), tmp_path / "e"))
    evals = with_eval.metrics("eval")
    assert [(e["which"], e["epoch"], e.get("stage")) for e in evals] == [
        ("initial", 0, None), ("stage", 1, "intra"), ("final", 3, None)]
    without = Run(train(pirid_cfg(data, epochs=3, eval_stage_end=False), tmp_path / "n"))
    assert [e["which"] for e in without.metrics("eval")] == ["initial", "final"]
    a = torch.load(with_eval.path / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(without.path / "checkpoint.pt", weights_only=True)["model"]
    for k, v in a.items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, b[k]), k
    assert evals[-1]["rank1"] == without.metrics("eval")[-1]["rank1"]
    assert evals[-1]["mAP"] == without.metrics("eval")[-1]["mAP"]
    # not a setting of what is computed: both runs have one fingerprint
    assert with_eval.fingerprint() == without.fingerprint()


def test_variants_pirid1_and_pirid2(data, tmp_path):
    one = Run(train(pirid_cfg(data, epochs=2, options={"inter": False}), tmp_path / "p1"))
    assert [r["stage"] for r in one.metrics("epoch")] == ["intra", "intra"]
    assert all(r["stage"] == "local" for r in one.metrics("labels"))
    two = Run(train(pirid_cfg(data, epochs=2, options={"triplet_weight": 0}), tmp_path / "p2"))
    terms = two.metrics("epoch")[-1]["terms"]
    assert "inter" in terms and "triplet" not in terms


def test_resume_mid_run_equals_uninterrupted(data, tmp_path):
    cfg = pirid_cfg(data, epochs=3)
    per_epoch = len(Run(train(cfg, tmp_path / "count")).metrics("step")) // 3
    # stopped inside epoch 3 (inter), after its label update
    full, part = stop_and_resume(cfg, tmp_path, 2 * per_epoch)
    assert_resumed_equals_full(full, part, ("epoch", "stage", "prototypes", "link_precision"))


def test_bad_input_is_a_clear_error(data, tmp_path):
    one_cam = write_tiny_mars(tmp_path / "one", train_ids=3, test_ids=2, cameras=1)
    with pytest.raises(ConfigError, match="at least 2 training cameras"):
        train(pirid_cfg(one_cam, epochs=1), tmp_path / "r1")
    train(pirid_cfg(one_cam, epochs=1, options={"inter": False}), tmp_path / "r1b")
    with pytest.raises(ConfigError, match="memory_rule"):
        pirid_cfg(data, options={"memory_rule": "fast"})
        train(pirid_cfg(data, options={"memory_rule": "fast"}), tmp_path / "r2")
    with pytest.raises(ConfigError, match="eps"):
        train(pirid_cfg(data, options={"eps": 1.5}), tmp_path / "r3")
