"""The trainer and run store on a tiny MARS-layout dataset with real JPEG frames."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny_mars import write_tiny_mars

from reidlab.data.images import read_frame
from reidlab.data.loader import TrainClipDataset, norm_params, to_tensor
from reidlab.data import load_dataset
from reidlab.engine.config import make_config
from reidlab.engine.runs import Run, list_runs
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError, DatasetError
from reidlab.eval.features import FeatureSet, extract_features

NORM = ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("tiny") / "mars", train_ids=5, test_ids=4)


def cfg_for(root, **kw):
    kw.setdefault("method", "padal_id")
    kw.setdefault("batch_size", 4)
    return make_config("test", dataset=str(root), **kw)


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_run_store_files(tiny, tmp_path):
    seen = []
    out = train(cfg_for(tiny), tmp_path / "r1", progress=lambda f, m: seen.append((f, m)))
    run = Run(out)
    info = run.config
    assert info["config"]["method"] == "padal_id" and info["seed"] == 0
    assert len(info["dataset"]["fingerprint"]) == 64 and info["protocol"] == "official"
    assert info["dataset"]["summary"]["train"]["tracklets"] == len(load_dataset("mars", tiny).train)
    assert {"torch", "numpy", "python"} <= set(info["versions"])
    st = run.status()
    assert st["state"] == "finished" and st["progress"] == 1.0 and st["pid"] == os.getpid()
    kinds = [r["kind"] for r in run.metrics()]
    assert kinds[0] == "eval" and kinds[-1] == "eval" and kinds.count("epoch") == 2
    steps = run.metrics("step")
    assert steps and all("id" in r["terms"] and r["lr"] > 0 and r["images_per_s"] > 0
                         for r in steps)
    assert [r["step"] for r in steps] == list(range(1, len(steps) + 1))
    fin = run.final_metrics()
    assert fin["which"] == "final" and 0 <= fin["rank1"] <= 1 and fin["protocol"] == "official"
    assert np.array(fin["pair_rank1"], dtype=float).shape == (3, 3)
    # features of the initial and final model, rows pointing into the dataset
    data = run.dataset()
    for which in ("initial", "final"):
        fs = run.features(which)
        assert fs.q_feat.shape[0] == len(data.query) and fs.g_feat.shape[0] == len(data.gallery)
        assert np.array_equal(fs.q_pids, [data.query[i].pid for i in fs.q_index])
    assert not np.allclose(run.features("initial").q_feat, run.features("final").q_feat)
    # checkpoint loads without pickled objects
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck["epoch"] == 2 and set(ck) >= {"model", "optimizer", "scheduler", "scaler", "rng"}
    assert no_temp_files(out)
    fr = [f for f, _ in seen]
    assert fr == sorted(fr) and fr[-1] == 1.0
    # metrics.jsonl: strict JSON lines
    for line in (out / "metrics.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_existing_run_needs_resume(tiny, tmp_path):
    train(cfg_for(tiny, epochs=1), tmp_path / "r")
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg_for(tiny, epochs=1), tmp_path / "r")


def test_resume_equals_uninterrupted(tiny, tmp_path):
    cfg = cfg_for(tiny, method="padal_mp", crop_pad=2)
    full = train(cfg, tmp_path / "full")

    calls = {"n": 0}
    steps_per_epoch = len(Run(full).metrics("step")) // 2
    assert steps_per_epoch >= 2

    def stop_in_epoch_2():  # checked after every step: stop after the first step of epoch 2
        calls["n"] += 1
        return calls["n"] == steps_per_epoch + 1

    part = train(cfg, tmp_path / "part", stop_flag=stop_in_epoch_2)
    assert Run(part).status()["state"] == "cancelled"
    assert torch.load(part / "checkpoint.pt", weights_only=True)["epoch"] == 1
    train(cfg, part, resume=True)
    assert Run(part).status()["state"] == "finished"

    a = torch.load(full / "checkpoint.pt", weights_only=True)
    b = torch.load(part / "checkpoint.pt", weights_only=True)
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    la = [(r["step"], r["loss"], r["terms"]) for r in Run(full).metrics("step")]
    lb = [(r["step"], r["loss"], r["terms"]) for r in Run(part).metrics("step")]
    assert la == lb  # the interrupted epoch's partial records were replaced
    fa, fb = Run(full).features(), Run(part).features()
    assert np.array_equal(fa.q_feat, fb.q_feat) and np.array_equal(fa.g_feat, fb.g_feat)
    assert Run(full).final_metrics()["mAP"] == Run(part).final_metrics()["mAP"]


def test_cancel_file_stops_cleanly(tiny, tmp_path):
    out = tmp_path / "c"

    def progress(frac, msg):  # create the CANCEL file as soon as training steps begin
        if msg.startswith("epoch"):
            (out / "CANCEL").touch()

    train(cfg_for(tiny), out, progress=progress)
    st = Run(out).status()
    assert st["state"] == "cancelled"
    assert len(Run(out).metrics("step")) == 1 and not Run(out).has_features("final")


def test_resume_rejects_another_dataset(tiny, tmp_path):
    out = train(cfg_for(tiny, epochs=1), tmp_path / "r")
    other = write_tiny_mars(tmp_path / "other", train_ids=3, test_ids=3, seed=5)
    cfg = json.loads((out / "config.json").read_text())
    cfg["config"]["dataset"] = str(other)
    (out / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(DatasetError, match="same dataset"):
        train(cfg_for(other, epochs=2), out, resume=True)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def test_corrupt_frame_replaced_and_reported(tiny, tmp_path):
    data = load_dataset("mars", tiny)
    tr = max(data.train, key=len)
    bad = tr.frames[1]
    saved = bad.read_bytes()
    try:
        _truncate(bad)
        cfg = cfg_for(tiny, frames_per_clip=len(tr), hflip=False)  # every frame in the clip
        ds = TrainClipDataset(data.train, cfg, NORM)
        t = data.train.index(tr)
        item = ds[(0, t, 0)]
        assert item["valid"] and item["corrupt"] == str(bad)
        assert item["frame_pos"].tolist() == list(range(len(tr)))
        # reference: frame 1 replaced by its nearest readable neighbour, frame 0
        frames = np.stack([read_frame(f, (cfg.height, cfg.width))
                           for f in (tr.frames[0], tr.frames[0], *tr.frames[2:])])
        ref = to_tensor(frames, *norm_params(NORM))
        assert torch.equal(item["clips"], ref)
        assert ds[(1, t, 0)]["corrupt"] == ""  # known bad: not reported twice by one reader
    finally:
        bad.write_bytes(saved)


def test_training_survives_corrupt_frames(tiny, tmp_path):
    data = load_dataset("mars", tiny)
    one_bad = data.train[0].frames[0]
    all_bad = data.train[1].frames
    backup = {p: p.read_bytes() for p in (one_bad, *all_bad)}
    try:
        for p in backup:
            _truncate(p)
        # 6 frames per clip: every frame of these <= 6-frame tracklets is read
        out = train(cfg_for(tiny, batch_size=len(data.train), frames_per_clip=6), tmp_path / "r")
    finally:
        for p, b in backup.items():
            p.write_bytes(b)
    run = Run(out)
    assert run.status()["state"] == "finished"
    warns = run.metrics("warning")
    paths = {w["path"] for w in warns}
    assert str(one_bad) in paths and {str(p) for p in all_bad} <= paths
    dropped = [w for w in warns if "no readable frame" in w["message"]]
    assert len(dropped) == 1  # reported once, not every epoch
    assert sum(r["corrupt_frames"] for r in run.metrics("epoch")) == 1 + len(all_bad)


def test_extract_features_matches_manual_reference(tiny):
    data = load_dataset("mars", tiny)
    cfg = cfg_for(tiny, frames_per_clip=2, eval_frames=4)
    w = torch.randn(3, 5)

    def embed(clips):  # B×T×3×H×W -> B×5: mean colour projected
        return clips.mean((1, 3, 4)) @ w

    fs = extract_features(embed, data.query, data.gallery, cfg, input_norm=NORM)
    assert isinstance(fs, FeatureSet) and fs.q_feat.shape == (len(data.query), 5)
    mean, std = norm_params(NORM)
    for k, tr in enumerate(data.query):
        n = min(len(tr), 4)
        nclips = -(-n // 2)
        pos = np.floor(np.arange(nclips * 2) * len(tr) / (nclips * 2)).astype(int)
        ends = np.floor((np.arange(nclips * 2) + 1) * len(tr) / (nclips * 2)).astype(int)
        if len(tr) >= nclips * 2:
            pos = pos + (np.maximum(ends - pos, 1) - 1) // 2  # chunk centres
        frames = np.stack([read_frame(tr.frames[i], (cfg.height, cfg.width)) for i in pos])
        x = to_tensor(frames, mean, std).reshape(nclips, 2, 3, cfg.height, cfg.width)
        ref = embed(x).mean(0).numpy()
        np.testing.assert_allclose(fs.q_feat[k], ref, rtol=1e-5, atol=1e-6)
    assert np.array_equal(fs.g_index, np.arange(len(data.gallery)))


def test_one_frame_tracklets_are_embedded_in_larger_batches_with_the_same_features(tiny):
    """Image datasets (one frame per "tracklet") pack ~64 frames per extraction pass instead
    of 8; eval-mode embedding is per clip, so the features do not change."""
    from dataclasses import replace

    from reidlab.data.loader import embed_tracklets, eval_tracklets_per_batch

    data = load_dataset("mars", tiny)
    singles = [replace(tr, frames=tr.frames[k:k + 1]) for tr in data.query + data.gallery
               for k in range(len(tr))]
    assert eval_tracklets_per_batch(singles, 1, 8) == 64
    three = [replace(tr, frames=tuple(tr.frames)[:3]) for tr in data.query]
    assert eval_tracklets_per_batch(three, 2, 8) == 16  # 2 clips of 2 = 4 frames read
    eight = [replace(tr, frames=tuple(tr.frames) * 3) for tr in data.query]  # ≥ 8: as before
    assert eval_tracklets_per_batch(eight, 2, 8) == 8
    assert eval_tracklets_per_batch(eight, 4, 0) == 8
    sizes = []
    w = torch.randn(3, 5)

    def embed(clips):
        sizes.append(clips.shape[0])
        return clips.mean((1, 3, 4)) @ w

    one = cfg_for(tiny, frames_per_clip=1, eval_frames=8)
    packed = embed_tracklets(embed, singles, one, NORM)
    assert max(sizes) == min(64, len(singles))
    sizes.clear()
    small = embed_tracklets(embed, singles, one, NORM, tracklets_per_batch=8)
    assert max(sizes) == 8
    np.testing.assert_allclose(packed.feat, small.feat, rtol=1e-6, atol=1e-6)
    assert np.array_equal(packed.index, small.index)


def test_decoding_on_the_device_gives_the_host_features(tiny, tmp_path):
    """decode="device" reads JPEG bytes in the loader and decodes the batch with torchvision
    where the model runs (nvJPEG on a GPU; the same code path runs on the CPU here): equal
    features at the frames' own size, a few grey levels apart when it resizes, and a corrupt
    frame sends its batch back to the host path, which replaces and reports it."""
    from dataclasses import replace

    from reidlab.data.loader import embed_tracklets

    data = load_dataset("mars", tiny)
    w = torch.randn(3, 5)

    def embed(clips):
        return clips.mean((1, 3, 4)) @ w

    def pixels(clips):  # the normalised pixels themselves, to compare decoders
        return clips.mean(1).flatten(1)

    same = cfg_for(tiny, frames_per_clip=2, eval_frames=4)  # 32×16 = the frames' size
    host = embed_tracklets(embed, data.query, same, NORM, decode="host")
    dev = embed_tracklets(embed, data.query, same, NORM, decode="device")
    np.testing.assert_allclose(dev.feat, host.feat, rtol=1e-5, atol=1e-5)
    assert np.array_equal(dev.index, host.index)

    small = cfg_for(tiny, frames_per_clip=2, eval_frames=4, height=16, width=8)
    a = embed_tracklets(pixels, data.query, small, NORM, decode="host").feat
    b = embed_tracklets(pixels, data.query, small, NORM, decode="device").feat
    grey = np.abs(a - b) * 0.25 * 255  # back to grey levels (std 0.25)
    assert grey.mean() < 1.5 and grey.max() < 12

    broken = tmp_path / "broken.jpg"
    good = Path(data.query[0].frames[0])
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 3])  # truncated
    frames = tuple(data.query[0].frames)
    bad = [replace(data.query[0], frames=(broken,) + frames[1:])] + list(data.query[1:])
    dev = embed_tracklets(embed, bad, same, NORM, decode="device")
    host = embed_tracklets(embed, bad, same, NORM, decode="host")
    assert dev.corrupt == host.corrupt == [str(broken)]
    np.testing.assert_allclose(dev.feat, host.feat, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="decode"):
        embed_tracklets(embed, data.query, same, NORM, decode="gpu")


def test_run_reader_tolerates_partial_line_and_lists_runs(tiny, tmp_path):
    r1 = train(cfg_for(tiny, epochs=1), tmp_path / "runs" / "a")
    r2 = train(cfg_for(tiny, epochs=1, seed=1), tmp_path / "runs" / "b")
    n = len(Run(r1).metrics())
    with open(r1 / "metrics.jsonl", "a") as fh:
        fh.write('{"kind": "step", "epoch": 2, "lo')  # a writer killed mid-line
    assert len(Run(r1).metrics()) == n
    runs = list_runs(tmp_path / "runs")
    assert [r.name for r in runs] == ["a", "b"]
    (tmp_path / "runs" / "bench").mkdir()
    (tmp_path / "runs" / "bench" / "a").symlink_to(r1)  # a benchmark reusing run a
    assert [r.name for r in list_runs(tmp_path / "runs")] == ["a", "b"]  # listed once
    assert list_runs(tmp_path / "nothing") == []
    with pytest.raises(DatasetError, match="config.json"):
        Run(tmp_path)
    assert Run(r2).config["config"]["seed"] == 1


@pytest.mark.parametrize("method,extra", [
    ("padal_id", {}), ("padal_a", {}), ("padal_m", {}), ("padal_mp", {}),
    ("padal_mp", {"parts": "strict"}), ("padal_ap", {}),
])
def test_two_epochs_of_each_method(tiny, tmp_path, method, extra):
    out = train(cfg_for(tiny, method=method, **extra), tmp_path / "m")
    run = Run(out)
    assert run.status()["state"] == "finished"
    epochs = run.metrics("epoch")
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all(np.isfinite(e["loss"]) for e in epochs)
    if method != "padal_id":
        assert any(k.startswith("adv") for k in epochs[0]["terms"])
    assert run.final_metrics() is not None


def test_periodic_evaluation(tiny, tmp_path):
    out = train(cfg_for(tiny, epochs=3, eval_every=1), tmp_path / "p")
    evals = Run(out).metrics("eval")
    assert [(e["which"], e["epoch"]) for e in evals] == [
        ("initial", 0), ("epoch", 1), ("epoch", 2), ("final", 3)]
    assert all(len(e["pair_rank1"]) == 3 for e in evals)
    # the evaluations between epochs leave the random state as it was: the same training
    plain = Run(train(cfg_for(tiny, epochs=3), tmp_path / "q"))
    assert [e["which"] for e in plain.metrics("eval")] == ["initial", "final"]
    assert [r["loss"] for r in plain.metrics("epoch")] == \
        [r["loss"] for r in Run(out).metrics("epoch")]
    assert plain.metrics("eval")[-1]["mAP"] == evals[-1]["mAP"]


def test_warmup_and_step_schedule_follow_the_run_epoch(tiny, tmp_path):
    """Linear warm-up then step decay, by the run's epoch: epoch e runs at
    lr·min(1, (e+1)/warmup)·gamma^(e // step); a stage boundary (cawcl's pretrain → adapt)
    rebuilds Adam but does not restart the schedule."""
    from reidlab.engine.trainer import lr_factor

    cfg = cfg_for(tiny, epochs=3, warmup_epochs=2, lr_step=2, lr=1e-3)
    assert [lr_factor(cfg, e) for e in range(4)] == pytest.approx([0.5, 1.0, 0.1, 0.1])
    assert lr_factor(cfg_for(tiny, lr_step=40), 39) == 1.0
    run = Run(train(cfg, tmp_path / "warm"))
    lrs = [r["lr"] for r in run.metrics("epoch")]
    assert lrs == pytest.approx([5e-4, 1e-3, 1e-4])


def test_frame_cache_decodes_each_frame_once_within_its_budget(tmp_path):
    """Decoded frames are kept (read-only) up to the byte budget, least recently used out;
    an unreadable frame is never cached; 0 MB turns the cache off."""
    import numpy as np
    from PIL import Image

    from reidlab.data.loader import FrameCache
    from reidlab.errors import CorruptFrameError

    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.full((16, 8, 3), 40 * i, np.uint8)).save(p)
        paths.append(str(p))
    one = 16 * 8 * 3
    cache = FrameCache(budget_mb=2.5 * one / 2**20)  # room for two frames
    a = cache.get(paths[0], (16, 8))
    assert cache.get(paths[0], (16, 8)) is a and (cache.hits, cache.misses) == (1, 1)
    assert not a.flags.writeable
    cache.get(paths[1], (16, 8))
    cache.get(paths[2], (16, 8))  # the least recently used (frame 0) goes
    assert cache.bytes <= 2.5 * one and len(cache.items) == 2
    assert not any(k[0] == paths[0] for k in cache.items)
    Image.fromarray(np.full((16, 8, 3), 200, np.uint8)).save(paths[2])  # rewritten in place
    assert cache.get(paths[2], (16, 8))[0, 0, 0] > 150
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(CorruptFrameError):
        cache.get(str(bad), (16, 8))
    assert not any(k[0] == str(bad) for k in cache.items)
    off = FrameCache(budget_mb=0)
    off.get(paths[0], (16, 8))
    assert not off.items


def test_frozen_stages_train_resume_and_restore(tiny, tmp_path):
    """``freeze_stages``: the frozen pieces keep their initial weights through training, a
    resumed run loads its checkpoint, and the run's model is rebuilt frozen from its folder."""
    from reidlab.cli import main
    from reidlab.engine.restore import TRAINED, load_run_model

    out = tmp_path / "frozen"
    assert main(["train", "--preset", "test", "--method", "padal_id", "--dataset", str(tiny),
                 "--out", str(out), "--freeze-stages", "2", "--epochs", "1",
                 "--no-progress"]) == 0
    cfg = Run(out).train_config()
    assert cfg.freeze_stages == 2
    torch.manual_seed(cfg.seed)
    m = load_run_model(out)
    assert m.source == TRAINED and m.net.backbone.frozen_stages == 2
    trained = m.net.backbone.state_dict()
    assert main(["train", "--dataset", str(tiny), "--out", str(out), "--resume", "--epochs", "2",
                 "--no-progress"]) == 0
    assert Run(out).status()["state"] == "finished"
    resumed = load_run_model(out).net.backbone.state_dict()
    first = [k for k in trained if k.startswith("convs.0.") or k.startswith("convs.1.")]
    later = [k for k in trained if k.startswith("convs.3.") and "weight" in k]
    assert first and all(torch.equal(trained[k], resumed[k]) for k in first)
    assert later and any(not torch.equal(trained[k], resumed[k]) for k in later)


def test_eval_bf16_changes_only_the_feature_passes(tiny, tmp_path, monkeypatch):
    """``eval_bf16``: training is the same; the features come from bfloat16 autocast on the CPU
    (close to the float32 ones, not equal). The CPU's bfloat16 support is forced on, so the
    test runs the bf16 path on any CPU (oneDNN emulates it where it is not native)."""
    import reidlab.engine.trainer as trainer_mod

    monkeypatch.setattr(trainer_mod, "cpu_has_bf16", lambda: True)
    a = train(cfg_for(tiny, epochs=1), tmp_path / "fp32")
    b = train(cfg_for(tiny, epochs=1, eval_bf16=True), tmp_path / "bf16")
    la = [(r["step"], r["loss"]) for r in Run(a).metrics("step")]
    assert la == [(r["step"], r["loss"]) for r in Run(b).metrics("step")]
    fa, fb = Run(a).features(), Run(b).features()
    assert not np.array_equal(fa.q_feat, fb.q_feat)
    x, y = fa.q_feat, fb.q_feat
    cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    assert cos.min() > 0.98
    # each eval record names the precision its features were computed in
    assert {e["extraction"] for e in Run(a).metrics("eval")} == {"float32"}
    assert {e["extraction"] for e in Run(b).metrics("eval")} == {"bfloat16"}


def test_eval_bf16_is_skipped_with_a_warning_on_a_cpu_without_native_bf16(tiny, tmp_path,
                                                                          monkeypatch):
    """Emulated bfloat16 is slower than float32, so on such a CPU ``eval_bf16`` does nothing
    but say so: the features are the float32 ones, bit for bit."""
    import reidlab.engine.trainer as trainer_mod

    monkeypatch.setattr(trainer_mod, "cpu_has_bf16", lambda: False)
    a = train(cfg_for(tiny, epochs=1), tmp_path / "fp32")
    b = train(cfg_for(tiny, epochs=1, eval_bf16=True), tmp_path / "bf16")
    np.testing.assert_array_equal(Run(a).features().q_feat, Run(b).features().q_feat)
    warnings = [r["message"] for r in Run(b).metrics("warning")]
    assert len(warnings) == 1 and "no native bfloat16" in warnings[0]
    assert not Run(a).metrics("warning")
    # the eval records say what was used, not what was asked for
    assert [e["extraction"] for e in Run(b).metrics("eval")] == ["float32", "float32"]


def test_extraction_precision_names_what_autocast_computes_in():
    from reidlab.eval.features import extraction_precision

    assert extraction_precision("cpu", False) == "float32"
    assert extraction_precision("cuda", False) == "float32"
    assert extraction_precision("cpu", True) == "bfloat16"
    assert extraction_precision(torch.device("cuda", 0), True) == "float16-amp"


def test_bad_freeze_stages_fails_before_the_run_folder_is_written(tiny, tmp_path):
    with pytest.raises(ConfigError, match="freeze_stages"):
        train(cfg_for(tiny, freeze_stages=7), tmp_path / "bad")
    assert not [p for p in (tmp_path / "bad").rglob("*")]
