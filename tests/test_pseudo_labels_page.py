"""The Pseudo labels page (AppTest) and the label-store readers behind it, on fake run stores.

A fake clustering run has three label updates (after 0, 1 and 2 epochs) whose pseudo labels get
better: first one cluster per (group of three identities, camera), then pairs of identities
across cameras, then one cluster per identity except identities 10 and 11, which stay merged
(the largest impure cluster), and a few outliers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from test_app_pages import chart_titled, no_errors

from reidlab.analysis import pseudo_labels as PL
from reidlab.errors import DatasetError

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
N_IDS, N_CAMS, CLIPS, DIM = 12, 4, 2, 16
PRECISION = [0.3, 0.6, 0.9]
RECALL = [0.2, 0.7, 0.8]
MERGED = 10  # the label of identities 10 and 11 in the last update


# --------------------------------------------------------------------------- fake run store

def write_frames(folder: Path) -> dict[tuple[int, int], str]:
    """One small PNG per (identity, camera): a body in the identity's colour, the camera's
    background."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for p in range(N_IDS):
        for c in range(N_CAMS):
            img = np.zeros((64, 32, 3), np.uint8)
            img[:] = (40 * c + 60, 200 - 40 * c, 120)
            img[12:56, 8:24] = ((37 * p) % 256, (91 * p + 50) % 256, (53 * p + 100) % 256)
            path = folder / f"{p:04d}C{c + 1}.png"
            Image.fromarray(img).save(path)
            out[(p, c)] = str(path.resolve())
    return out


def fake_labels(update: int, pid: np.ndarray, camid: np.ndarray) -> np.ndarray:
    if update == 0:
        return (pid // 3) * N_CAMS + camid  # groups of three identities, split by camera
    if update == 1:
        return pid // 2  # pairs of identities across cameras
    lab = np.where(pid == 11, MERGED, pid)  # identities 10 and 11 merged
    lab[(pid == 0) & (camid == N_CAMS - 1)] = -1  # a few outliers
    return lab


def make_label_run(runs: Path, name: str, frames: dict, *, method: str = "cawcl",
                   stages: tuple[str, ...] = (), epochs=(0, 1, 2), seed: int = 0) -> Path:
    """A run folder like a clustering method's training writes it: labels records in
    metrics.jsonl and labels/update_EEE.npz (``stages``: several labellings per update)."""
    rng = np.random.default_rng(seed)
    out = runs / name
    (out / "labels").mkdir(parents=True)
    pid = np.repeat(np.arange(N_IDS), N_CAMS * CLIPS)
    camid = np.tile(np.repeat(np.arange(N_CAMS), CLIPS), N_IDS)
    index = np.arange(len(pid)) // CLIPS
    clip = np.arange(len(pid)) % CLIPS
    protos = rng.normal(size=(N_IDS, DIM))
    cams = rng.normal(size=(N_CAMS, DIM))
    recs = []
    for u, e in enumerate(epochs):
        w = 1.5 / (1 + 2 * u)  # the camera part shrinks as training goes on
        feat = protos[pid] + w * cams[camid] + 0.2 * rng.normal(size=(len(pid), DIM))
        feat /= np.linalg.norm(feat, axis=1, keepdims=True)
        label = fake_labels(u, pid, camid)
        arrays = {"index": index, "clip": clip, "label": label, "pid": pid, "camid": camid,
                  "feat": feat.astype(np.float16),
                  "frame": np.array([frames[(p, c)] for p, c in zip(pid, camid)], dtype=str)}
        for si, st in enumerate(stages):
            arrays[f"label_{st}"] = label if si == len(stages) - 1 else pid * N_CAMS + camid
        np.savez(out / "labels" / f"update_{e:03d}.npz", **arrays)
        for st in stages or (None,):
            rec = {"kind": "labels", "epoch": e, "step": 10 * e, "time": float(e),
                   "num_samples": len(pid), "num_clusters": int(len(np.unique(label[label >= 0]))),
                   "outlier_fraction": float(np.mean(label < 0)), "precision": PRECISION[u],
                   "recall": RECALL[u], "fscore": 2 * PRECISION[u] * RECALL[u] /
                   (PRECISION[u] + RECALL[u]), "nmi": 0.5 + 0.1 * u, "ari": None,
                   "cameras_per_cluster": 1.0 + u, "expansion": 1.0, "update_time": 0.1}
            if st is not None:
                rec["stage"] = st
                if st != stages[-1]:
                    rec["precision"] = 0.95
            recs.append(rec)
        recs.append({"kind": "epoch", "epoch": e + 1, "step": 10 * e + 10, "loss": 1.0})
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (out / "config.json").write_text(json.dumps({
        "config": {"method": method, "epochs": len(epochs)}, "created": time.time(),
        "dataset": {"format": "mars", "root": str(runs / "nodata"), "options": {},
                    "name": "fake", "num_cameras": N_CAMS}}))
    (out / "status.json").write_text(json.dumps({"state": "finished", "progress": 1.0}))
    return out


def make_store(base: Path) -> Path:
    """A runs folder with two label runs (one with local/global stages) and a run without."""
    frames = write_frames(base / "frames")
    runs = base / "runs"
    make_label_run(runs, "cawcl_a", frames)
    time.sleep(0.01)
    make_label_run(runs, "calr_b", frames, method="calr", stages=("local", "global"),
                   epochs=(0, 2), seed=1)
    plain = runs / "plain"
    plain.mkdir()
    (plain / "config.json").write_text(json.dumps({"config": {"method": "padal_id"},
                                                   "created": time.time() - 100}))
    (plain / "status.json").write_text(json.dumps({"state": "finished"}))
    return runs


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("pl"))


@pytest.fixture
def env(store, monkeypatch, tmp_path):
    monkeypatch.setenv("REIDLAB_RUNS", str(store))
    monkeypatch.setenv("REIDLAB_DATA", str(tmp_path / "nodata"))
    monkeypatch.chdir(ROOT)
    return store


def cluster_tables(at) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if "majority_pid" in d.value.columns]


# --------------------------------------------------------------------------- pure functions

def test_label_records_default_stage_and_resume(tmp_path, store):
    recs = PL.label_records(store / "cawcl_a")
    assert [r["epoch"] for r in recs] == [0, 1, 2]
    assert {r["stage"] for r in recs} == {"global"}
    assert [r["precision"] for r in recs] == PRECISION
    staged = PL.label_records(store / "calr_b")
    assert [(r["epoch"], r["stage"]) for r in staged] == [(0, "local"), (0, "global"),
                                                         (2, "local"), (2, "global")]
    assert PL.stages_of(staged) == ["local", "global"]
    # a record logged again for the same update (a resumed run) replaces the first one
    run = tmp_path / "r"
    run.mkdir()
    lines = [{"kind": "labels", "epoch": 0, "precision": 0.1},
             {"kind": "labels", "epoch": 1, "precision": 0.2},
             {"kind": "labels", "epoch": 1, "precision": 0.3}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"kin')
    assert [r["precision"] for r in PL.label_records(run)] == [0.1, 0.3]
    assert PL.label_records(tmp_path / "missing") == []


def test_quality_table_and_updates(store):
    t = PL.quality_table(PL.label_records(store / "cawcl_a"), run="a")
    assert list(t["epoch"]) == [0, 1, 2] and list(t["precision"]) == PRECISION
    assert "ari" not in t.columns  # all null: left out
    assert t["run"].unique().tolist() == ["a"]
    assert PL.label_updates(store / "cawcl_a") == [0, 1, 2]
    assert PL.label_updates(store / "calr_b") == [0, 2]
    assert PL.label_updates(store / "plain") == []
    assert PL.has_labels(store / "cawcl_a") and not PL.has_labels(store / "plain")


def test_load_update_arrays_stages_and_errors(store, tmp_path):
    s = PL.load_update(store / "cawcl_a", 2)
    assert len(s) == N_IDS * N_CAMS * CLIPS and s.feat.shape == (len(s), DIM)
    assert s.stages == [] and (s.labels() == s.label).all()
    assert Path(s.frame[0]).is_file()
    b = PL.load_update(store / "calr_b", 2)
    assert b.stages == ["local", "global"]
    assert (b.labels("global") == b.label).all() and not (b.labels("local") == b.label).all()
    with pytest.raises(DatasetError, match="update_005.npz"):
        PL.load_update(store / "cawcl_a", 5)
    bad = tmp_path / "bad"
    (bad / "labels").mkdir(parents=True)
    np.savez(bad / "labels" / "update_000.npz", label=np.zeros(3, int), pid=np.zeros(3, int))
    with pytest.raises(DatasetError, match="missing index, clip, camid, feat, frame"):
        PL.load_update(bad, 0)
    np.savez(bad / "labels" / "update_001.npz", index=np.zeros(3), clip=np.zeros(3),
             label=np.zeros(3), pid=np.zeros(2), camid=np.zeros(3), feat=np.zeros((3, 2)),
             frame=np.array(["a", "b", "c"]))
    with pytest.raises(DatasetError, match="lengths"):
        PL.load_update(bad, 1)


def test_cluster_table_purity_majority_and_orders():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, -1, -1, 3])
    pids = np.array([5, 5, 6, -1, 7, 7, 7, 8, 9, 1, 2, -1])
    camids = np.array([0, 1, 2, 2, 0, 0, 0, 1, 3, 0, 0, 1])
    t = PL.cluster_table(labels, pids, camids)
    assert list(t["label"]) == [0, 1, 2, 3]  # largest first, outliers are no cluster
    r0 = t.iloc[0]
    assert (r0["size"], r0["num_cameras"], r0["num_ids"], r0["majority_pid"]) == (4, 3, 2, 5)
    assert r0["purity"] == pytest.approx(2 / 3)  # unknown identities do not count
    assert r0["cameras"] == "1 2 3"
    r2 = t.iloc[2]
    assert r2["purity"] == 0.5 and r2["majority_pid"] == 8  # a tie: the lower pid
    assert t.iloc[3]["majority_pid"] == -1 and np.isnan(t.iloc[3]["purity"])
    assert list(PL.widest_clusters(t, 2)["label"]) == [0, 2]
    assert list(PL.impure_clusters(t)["label"]) == [0, 2]
    top = PL.largest_clusters(labels, pids, camids, top=2)
    assert [d["label"] for d in top] == [0, 1]
    assert set(top[0]) == {"label", "size", "num_cameras", "num_ids", "majority_pid", "purity"}
    assert PL.cluster_table(np.array([-1, -1]), np.array([1, 2]), np.array([0, 0])).empty
    with pytest.raises(ValueError, match="one length"):
        PL.cluster_table(labels, pids[:3], camids)


def test_cluster_tables_agree_with_cluster_quality():
    """The page's tables and reidlab.cluster.quality.largest_clusters (when it exists) name
    the same clusters in the same order (every identity known)."""
    quality = pytest.importorskip("reidlab.cluster.quality")
    if not hasattr(quality, "largest_clusters"):
        pytest.skip("reidlab.cluster.quality.largest_clusters not there yet")
    rng = np.random.default_rng(3)
    pids = rng.integers(0, 30, 400)
    camids = rng.integers(0, 5, 400)
    labels = np.where(rng.random(400) < 0.1, -1, pids // 2 + (rng.random(400) < 0.1))
    t = PL.cluster_table(labels, pids, camids)
    cols = ["label", "size", "num_cameras", "num_ids", "majority_pid", "purity"]

    def rows(df):
        return [tuple(r) for r in df[cols].itertuples(index=False)]

    def theirs(**kw):
        return [tuple(d[c] for c in cols) for d in quality.largest_clusters(
            labels, pids, camids, top=8, **kw)]

    assert [tuple(d.values()) for d in PL.largest_clusters(labels, pids, camids, 8)] == \
        theirs()
    assert rows(PL.widest_clusters(t, 8)) == theirs(by="cameras")
    assert rows(PL.impure_clusters(t, 8)) == theirs(by="impure")


def test_cluster_members_spread_and_sample_points():
    labels = np.array([4] * 10 + [1])
    pids = np.array([1, 1, 1, 1, 1, 1, 2, 2, 3, 1, 9])
    camids = np.array([0, 0, 0, 0, 1, 1, 0, 0, 2, 3, 0])
    m = PL.cluster_members(labels, pids, camids, 4, n=5)
    assert len(m) == 5 and len(set(m)) == 5
    # the first round holds one member of every (camera, identity) group of the cluster
    assert {(camids[r], pids[r]) for r in m[:5]} == {(0, 1), (1, 1), (0, 2), (2, 3), (3, 1)}
    assert [pids[r] for r in m[:3]] == [1, 2, 3]  # identities alternate, most frequent first
    every = PL.cluster_members(labels, pids, camids, 4, n=50)
    assert sorted(every) == list(range(10))  # each member once, never the other cluster's
    assert len(PL.cluster_members(labels, pids, camids, 7)) == 0
    assert list(PL.sample_points(5, cap=10)) == list(range(5))
    s = PL.sample_points(5000, cap=2000, seed=0)
    assert len(s) == 2000 == len(set(s)) and (np.diff(s) > 0).all()
    assert (s == PL.sample_points(5000, cap=2000, seed=0)).all()


def test_figure_builders():
    from reidlab.viz.curves import label_quality_curves
    from reidlab.viz.embeddings import pseudo_label_embedding
    from reidlab.viz.images import image_strip

    series = {"a": PL.label_records(Path("/nonexistent"))}
    with pytest.raises(ValueError):
        label_quality_curves(series, keys=["precision"])
    recs = [{"epoch": e, "stage": s, "precision": p, "num_clusters": 10 - e}
            for e, p in ((0, 0.2), (1, 0.5)) for s in ("local", "global")]
    fig = label_quality_curves({"r": recs}, keys=["num_clusters", "precision", "ari"],
                                 unit_keys=["precision"])
    metas = [(t.meta["metric"], t.meta["stage"]) for t in fig.data]
    assert metas == [("num_clusters", "local"), ("num_clusters", "global"),
                     ("precision", "local"), ("precision", "global")]  # no ari values: no panel
    assert [t.name for t in fig.data][:2] == ["r · local", "r · global"]
    assert [t.showlegend for t in fig.data] == [True, True, False, False]
    xy = np.random.default_rng(0).normal(size=(6, 2))
    emb = pseudo_label_embedding(xy, np.array([0, 0, 1, -1, 1, -1]), np.arange(6),
                                   np.array([0, 1, 0, 1, 2, 2]), method="PCA")
    assert [a.text for a in emb.layout.annotations] == [
        "pseudo label", "true identity", "camera"]  # short: they fit a single column
    assert emb.layout.title.text == "PCA, coloured by"
    names = [t.name for t in emb.data]
    assert names == ["outliers (−1)", "clusters", "identities", "cam 1", "cam 2", "cam 3"]
    assert len(emb.data[0].x) == 2
    strip = image_strip([np.zeros((10, 5, 3)), np.ones((20, 10, 3))], height=16, width=8,
                          pad=2, borders=[(0, 255, 0), None])
    assert strip.shape == (16 + 4 + 4, 2 * (8 + 4 + 2) + 2, 3)
    assert tuple(strip[2, 2]) == (0, 255, 0)


# --------------------------------------------------------------------------- the page

def test_page_is_registered():
    from reidlab import app_support as ui

    entry = next(p for p in ui.PAGES if p[1] == "Pseudo labels")
    assert entry[0] == "app_pages/9_Pseudo_labels.py" and (ROOT / entry[0]).is_file()
    assert entry[3].startswith(":material/") and ui.url_path(entry[1]) == "Pseudo_labels"


def test_page_curves_embedding_and_tables(env):
    from reidlab.analysis.embedding import embed_2d

    at = AppTest.from_file(str(ROOT / "app_pages/9_Pseudo_labels.py"), default_timeout=TIMEOUT)
    at.run()
    no_errors(at)
    assert "Train" in at.caption[0].value and "cawcl" in at.caption[0].value
    assert set(at.multiselect(key="pl_runs").options) == {"cawcl_a (cawcl)", "calr_b (calr)"}

    curves = chart_titled(at, "Pseudo-label quality")
    prec = [t for t in curves["data"] if t["meta"]["metric"] == "precision"]
    a = next(t for t in prec if t["meta"]["run"] == "cawcl_a (cawcl)")
    assert a["name"] == "cawcl_a (cawcl) · global"  # stages are named: calr_b has two
    assert list(a["x"]) == [0, 1, 2]
    np.testing.assert_allclose(a["y"], PRECISION)
    assert np.all(np.diff(a["y"]) > 0)  # improving
    b = {t["meta"]["stage"]: t for t in prec if t["meta"]["run"] == "calr_b (calr)"}
    assert set(b) == {"local", "global"} and list(b["global"]["x"]) == [0, 2]
    np.testing.assert_allclose(b["local"]["y"], [0.95, 0.95])
    clusters = next(t for t in curves["data"] if t["meta"]["metric"] == "num_clusters"
                    and t["meta"]["run"] == "cawcl_a (cawcl)")
    assert list(clusters["y"]) == [16, 6, 11]
    assert {t["meta"]["metric"] for t in curves["data"]} == {
        "num_clusters", "outlier_fraction", "precision", "recall", "fscore", "nmi"}  # ari null

    # one update: cawcl_a after 2 epochs (the default is the last update)
    at.selectbox(key="pl_run").set_value("cawcl_a (cawcl)").run()
    no_errors(at)
    assert at.select_slider(key="pl_update").value == 2
    emb = chart_titled(at, "cawcl_a (cawcl) — update after 2 epochs")
    titles = [x["text"] for x in emb["layout"]["annotations"]]
    assert titles == ["pseudo label", "true identity", "camera"]
    assert emb["layout"]["title"]["text"].endswith("· PCA, coloured by")
    assert {"xaxis", "xaxis2", "xaxis3"} <= set(emb["layout"])
    snap = PL.load_update(env / "cawcl_a", 2)
    xy = embed_2d(snap.feat.astype(np.float32), method="pca", seed=0, use_cache=False)
    out = next(t for t in emb["data"] if t["name"] == "outliers (−1)")
    np.testing.assert_allclose(out["x"], xy[snap.label < 0, 0], rtol=1e-5, atol=1e-5)
    cam2 = next(t for t in emb["data"] if t["name"] == "cam 2")
    assert len(cam2["x"]) == int((snap.camid == 1).sum()) and cam2["xaxis"] == "x3"

    widest, impure = cluster_tables(at)
    assert impure.index[0] == MERGED and len(impure) == 1
    row = impure.iloc[0]
    assert (row["size"], row["num_cameras"], row["num_ids"], row["purity"]) == (16, 4, 2, 0.5)
    assert widest.index[0] == MERGED and (widest["num_cameras"] == N_CAMS).all()
    assert widest.iloc[0]["members"].startswith("data:image/png;base64,")
    from reidlab.viz.images import decode_data_uri

    img = decode_data_uri(widest.iloc[0]["members"])
    assert img.shape[1] > 8 * 32  # eight thumbnails
    tables = at.session_state["tables"]
    assert "members" not in tables["impure_clusters_cawcl_a_002"].columns  # CSV without images

    # an earlier update: one cluster per (three identities, camera) → single-camera clusters
    at.select_slider(key="pl_update").set_value(0).run()
    no_errors(at)
    widest, impure = cluster_tables(at)
    assert (widest["num_cameras"] == 1).all() and (impure["num_ids"] == 3).all()
    # a run with several stages: choose the stage whose labels are shown
    at.selectbox(key="pl_run").set_value("calr_b (calr)").run()
    no_errors(at)
    assert at.select_slider(key="pl_update").value == 0  # kept: calr_b has an update 0 too
    at.select_slider(key="pl_update").set_value(2).run()
    assert at.selectbox(key="pl_stage").value == "global"
    at.selectbox(key="pl_stage").set_value("local").run()
    no_errors(at)
    (widest,) = cluster_tables(at)  # every local cluster is pure: no impure table
    assert (widest["num_cameras"] == 1).all()  # local: (identity, camera) clusters
    assert any("every cluster is pure" in c.value for c in at.caption)
    assert chart_titled(at, "calr_b (calr) — update after 2 epochs (local)")


def test_page_without_label_runs(env, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    (runs / "plain").mkdir(parents=True)
    (runs / "plain" / "config.json").write_text(json.dumps({"config": {"method": "padal_id"}}))
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    at = AppTest.from_file(str(ROOT / "app_pages/9_Pseudo_labels.py"), default_timeout=TIMEOUT)
    at.run()
    no_errors(at)
    assert len(at.info) == 1 and "No run has pseudo labels" in at.info[0].value
    assert "cawcl" in at.info[0].value and "Train" in at.info[0].value
    assert not at.get("plotly_chart")


def test_page_bad_label_file_is_a_message(env, tmp_path, monkeypatch):
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(env / "cawcl_a", runs / "cawcl_a")
    (runs / "cawcl_a" / "labels" / "update_002.npz").write_bytes(b"not a zip")
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    at = AppTest.from_file(str(ROOT / "app_pages/9_Pseudo_labels.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert any("update_002.npz" in e.value for e in at.error), [e.value for e in at.error]
    assert chart_titled(at, "Pseudo-label quality")  # the curves still show


def test_prototype_links_right_and_wrong():
    # slots 0..4 (camera, pid): (0,1) (1,1) (2,1) | (0,2) (1,3) wrongly merged | slot 5 dropped
    local = np.array([0, 0, 1, 2, 3, 4, 5])  # two samples of slot 0
    proto = np.array([0, 0, 0, 0, 1, 1, -1])
    pids = np.array([1, 1, 1, 1, 2, 3, 4])
    cams = np.array([0, 0, 1, 2, 0, 1, 2])
    t = PL.prototype_links(local, proto, pids, cams)
    assert t.columns.tolist() == PL.LINK_COLUMNS and len(t) == 2
    a, b = t.to_dict("records")
    assert a == {"prototype": 0, "num_ids": 3, "num_cameras": 3, "ids": "1:1 2:1 3:1",
                 "right_pairs": 3, "pairs": 3, "majority_pid": 1, "correct": True}
    assert b["ids"] == "1:2 2:3" and b["right_pairs"] == 0 and b["pairs"] == 1
    assert not b["correct"]
    assert PL.prototype_links([0], [-1], [1], [0]).empty


def test_page_shows_pirid_prototype_links(env, tmp_path, monkeypatch):
    """A real two-epoch PIRID run (tiny data): the page lists its prototypes with the
    camera-local IDs each one merged."""
    from tiny_mars import write_tiny_mars

    from reidlab.engine.config import make_config
    from reidlab.engine.trainer import train

    data = write_tiny_mars(tmp_path / "mars", train_ids=6, test_ids=3, frames=(4, 8))
    runs = tmp_path / "runs"
    cfg = make_config("test", dataset=str(data), method="pirid", epochs=2, batch_size=8,
                      num_instances=2, options={"k1": 4, "k2": 2, "eps": 0.8,
                                                "intra_epochs": 1})
    train(cfg, runs / "pirid_tiny")
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    at = AppTest.from_file(str(ROOT / "app_pages/9_Pseudo_labels.py"), default_timeout=TIMEOUT)
    at.run()
    no_errors(at)
    assert any(h.value == "Prototype links across cameras" for h in at.subheader)
    z = np.load(runs / "pirid_tiny" / "labels" / "update_001.npz")
    want = PL.prototype_links(z["label_local"], z["label_prototype"], z["pid"], z["camid"])
    shown = [d.value for d in at.dataframe if "ids" in getattr(d.value, "columns", [])]
    assert len(want) > 0 and shown and shown[0].reset_index(drop=True).equals(want)
    assert at.metric[0].label == "samples"
    assert any(m.label == "prototypes" and m.value == str(len(want)) for m in at.metric)


def test_page_shows_calr_refinement(env, tmp_path, monkeypatch):
    """A real two-epoch CALR run: the page shows local → global → refined quality and what
    the refinement removed, from the run's own label records."""
    from tiny_mars import write_tiny_mars

    from reidlab.engine.config import make_config
    from reidlab.engine.trainer import train

    data = write_tiny_mars(tmp_path / "mars", train_ids=8, test_ids=3, frames=(4, 8))
    runs = tmp_path / "runs"
    cfg = make_config("test", dataset=str(data), method="calr", batch_size=8, options={
        "k1": 6, "k2": 2, "eps": 0.7, "min_samples": 2, "local_k1": 4, "local_k2": 2,
        "local_ratio": 1.5, "pivot_k": 4, "label_frames": 4})
    train(cfg, runs / "calr_tiny")
    recs = PL.label_records(runs / "calr_tiny")
    last = max(r["epoch"] for r in recs)
    table, step = PL.refinement_summary(recs, last)
    assert list(table.index) == ["local", "global", "refined"]
    refined = next(r for r in recs if r["epoch"] == last and r["stage"] == "refined")
    assert table.loc["refined", "precision"] == pytest.approx(refined["precision"])
    assert step["refine_removed_total"] == refined["refine_removed_total"]
    assert PL.refinement_summary(recs, -5) is None
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    at = AppTest.from_file(str(ROOT / "app_pages/9_Pseudo_labels.py"), default_timeout=TIMEOUT)
    at.run()
    no_errors(at)
    assert any(h.value.startswith("Refinement: local → global → refined") for h in at.subheader)
    assert any(m.label == "removed" and m.value == str(refined["refine_removed_total"])
               for m in at.metric)
