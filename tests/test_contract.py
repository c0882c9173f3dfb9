"""The method contract the trainer honours (``reidlab.methods.base``): the method's own training
list, groups of −1 never sampled, stages that rebuild the optimiser, per-method options."""

import numpy as np
import pytest
import torch

from tiny_mars import write_tiny_mars

from reidlab.data.sampling import clip_frame_indices, epoch_batches
from reidlab.data.tracklets import Tracklet, segment_bounds
from reidlab.engine.config import make_config
from reidlab.engine.runs import Run
from reidlab.engine.trainer import train
from reidlab.errors import ConfigError
from reidlab.methods import METHODS, build_method
from reidlab.methods.base import Stage
from reidlab.methods.padal import PadalID


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_mars(tmp_path_factory.mktemp("tiny") / "mars", train_ids=5, test_ids=3,
                           frames=(4, 7))


def test_fragment_halves_are_trained_under_their_own_pseudo_ids(tiny, tmp_path, monkeypatch):
    seen = []
    original = PadalID.training_step

    def spy(self, batch, epoch):
        labels = self.local_labels[batch["index"]]
        for i, c, lab, fp in zip(batch["index"].tolist(), batch["camid"].tolist(),
                                 labels.tolist(), batch["frame_pos"].tolist()):
            seen.append((i, c, lab, fp))
        return original(self, batch, epoch)

    monkeypatch.setattr(PadalID, "training_step", spy)
    cfg = make_config("test", dataset=str(tiny), method="padal_id", fragment_rate=1.0,
                      batch_size=4, epochs=3)
    train(cfg, tmp_path / "frag")
    from reidlab.data import load_dataset

    data = load_dataset("mars", str(tiny))
    method = build_method(cfg, data.train, data.num_cameras)
    n = len(data.train)
    assert len(method.train_tracklets) == 2 * n
    second = {i for i, *_ in seen if i >= n}
    assert len(second) >= n // 2  # the appended halves are sampled
    labels = method.local_labels.numpy()
    for i, cam, lab, frame_pos in seen:
        t = method.train_tracklets[i]
        assert cam == t.camid and max(frame_pos) < len(t)  # frames of that half only
        if i >= n:
            first = method.fragment_plan.second[i]
            assert lab == labels[i] != labels[first]  # its own pseudo ID, not the first half's
            s = method.fragment_plan.split[first]
            assert tuple(t.frames) == tuple(data.train[first].frames[s:])


def test_groups_of_minus_one_are_never_sampled():
    groups = [0, 0, -1, 1, 1, -1, 2, 2]
    for sampler in ("random", "pk", "camera"):
        b = epoch_batches(sampler, 8, 2, 4, seed=0, epoch=1, groups=groups,
                          camids=[0, 1] * 4, instances=2)
        used = {t for batch in b for t, _ in batch}
        assert used and not used & {2, 5}, sampler
    with pytest.raises(ConfigError, match="outlier"):
        epoch_batches("random", 3, 1, 2, 0, 0, groups=[-1, -1, -1])


def test_segment_clips_stay_inside_their_segment(rng):
    for length in (1, 3, 8, 21):
        for n in (1, 2, 3):
            for c in range(n):
                lo, hi = segment_bounds(length, c, n)
                idx = clip_frame_indices(length, 4, rng, clip=c, num_clips=n, mode="segments")
                assert len(idx) == 4 and idx.min() >= lo and idx.max() < max(hi, lo + 1)
    t = Tracklet(tuple(f"/x/{i}.jpg" for i in range(9)), 1, 0, 0)
    assert len(t.segment(0, 2)) == 4 and len(t.segment(1, 2)) == 5


class _TwoStage(PadalID):
    """padal_id with a second stage from epoch 1 on (test-only)."""

    entered: list = []

    def stages(self):
        return [Stage("one", 0), Stage("two", 1)]

    def on_stage_start(self, stage, trainer):
        super().on_stage_start(stage, trainer)
        type(self).entered.append(stage.name)


def test_stage_switch_rebuilds_the_optimiser_and_resume_restores_it(tiny, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setitem(METHODS, "two_stage", _TwoStage)
    _TwoStage.name = "two_stage"
    cfg = make_config("test", dataset=str(tiny), method="two_stage", batch_size=4, epochs=3)
    full = train(cfg, tmp_path / "full")
    recs = Run(full).metrics("stage")
    assert [(r["epoch"], r["stage"]) for r in recs] == [(1, "two")]
    assert [r["stage"] for r in Run(full).metrics("epoch")] == ["one", "two", "two"]
    assert torch.load(full / "checkpoint.pt", weights_only=True)["stage"] == "two"

    calls = {"n": 0}
    per_epoch = len(Run(full).metrics("step")) // 3

    def stop():  # stop inside epoch 2 (after the switch)
        calls["n"] += 1
        return calls["n"] == per_epoch + 1

    part = train(cfg, tmp_path / "part", stop_flag=stop)
    _TwoStage.entered.clear()
    train(cfg, part, resume=True)
    assert _TwoStage.entered[:1] == ["one"]  # the checkpoint's stage is restored first
    a = torch.load(full / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(part / "checkpoint.pt", weights_only=True)["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [(r["epoch"], r["stage"]) for r in Run(part).metrics("stage")] == [(1, "two")]


class _Hooked(PadalID):
    """padal_id recording what its hooks receive (test-only)."""

    seen: list = []

    def on_stage_start(self, stage, ctx):
        super().on_stage_start(stage, ctx)
        type(self).seen.append(("stage", ctx))

    def on_epoch_start(self, epoch, ctx):
        type(self).seen.append(("start", ctx))

    def after_epoch(self, epoch, ctx):
        type(self).seen.append(("after", ctx))
        ctx.log({"kind": "hooked", "epoch": epoch + 1, "step": ctx.step})
        return {"hook_step": ctx.step}


def test_hooks_get_a_narrow_context_not_the_trainer(tiny, tmp_path, monkeypatch):
    from reidlab.engine.hooks import HookContext

    monkeypatch.setitem(METHODS, "hooked", _Hooked)
    _Hooked.seen = []
    cfg = make_config("test", dataset=str(tiny), method="hooked", batch_size=4, epochs=2)
    run = Run(train(cfg, tmp_path / "run"))
    kinds = [k for k, _ in _Hooked.seen]
    assert kinds == ["stage", "start", "after", "start", "after"]
    assert all(type(ctx) is HookContext for _, ctx in _Hooked.seen)
    steps = [r["step"] for r in run.metrics("epoch")]  # steps done after each epoch
    assert [ctx.step for k, ctx in _Hooked.seen if k == "after"] == steps
    assert [ctx.step for k, ctx in _Hooked.seen if k == "start"] == [0, steps[0]]
    assert [ctx.epoch for k, ctx in _Hooked.seen if k == "start"] == [0, 1]
    ctx = _Hooked.seen[0][1]
    assert ctx.cfg.method == "hooked" and ctx.device.type == "cpu" and ctx.source is None
    assert len(ctx.data.query) > 0 and not hasattr(ctx, "method")
    assert [r["hook_step"] for r in run.metrics("epoch")] == steps
    assert [r["step"] for r in run.metrics("hooked")] == steps


def test_method_options_are_validated(tiny):
    with pytest.raises(ConfigError, match="unknown cawcl options"):
        METHODS["cawcl"].parse_options({"nope": 1})
    with pytest.raises(ConfigError, match="cam_loss"):
        METHODS["cawcl"].parse_options({"cam_loss": "mmd"})
    with pytest.raises(ConfigError, match="knn_k"):
        METHODS["cawcl"].parse_options({"knn_k": "many"})
    o = METHODS["cawcl"].parse_options({"knn_k": "3", "contrastive": "false", "eps": "0.5"})
    assert (o.knn_k, o.contrastive, o.eps) == (3, False, 0.5)
    with pytest.raises(ConfigError, match="unknown padal_m options"):
        METHODS["padal_m"].parse_options({"k1": 3})
    # PADAL's options: flat keyword arguments and old flat run stores go into options
    cfg = make_config("test", dataset=str(tiny), method="padal_mp", K=4, adv_loss="confusion")
    assert (cfg.options["K"], cfg.options["adv_loss"], cfg.K, cfg.lam) == (4, "confusion", 4, 0.1)
    assert cfg.options["disc_hidden"] == 256  # every option is stored, defaults included
    typed = make_config("test", dataset=str(tiny), method="supervised",
                        options={"triplet_weight": "0", "margin": "0.2"})  # as --opt gives them
    assert typed.options["triplet_weight"] == 0.0 and typed.options["margin"] == 0.2
    assert isinstance(typed.options["triplet_weight"], float)  # stored typed, not as "0"
    old = {**cfg.to_dict(), "K": 5, "lam": 0.3, "options": {}}
    again = type(cfg).from_dict(old)
    assert (again.options["K"], again.options["lam"], again.K) == (5, 0.3, 5)
    with pytest.raises(ConfigError, match="unknown config keys"):
        type(cfg).from_dict({**cfg.to_dict(), "nonsense": 1})
    with pytest.raises(AttributeError):
        make_config("test", method="cawcl").K  # not a cawcl option
    cfg = make_config("test", dataset=str(tiny), method="cawcl")
    assert (cfg.clips_per_tracklet, cfg.clip_mode) == (2, "segments")  # the paper's clips
    cfg = make_config("test", dataset=str(tiny), method="cawcl", clips_per_tracklet=1)
    assert cfg.clips_per_tracklet == 1  # explicit beats the method default


def test_traits_come_from_the_methods():
    assert METHODS["padal_id"].traits()["adversarial"] is False
    t = METHODS["padal_mp"].traits()
    assert (t["adversarial"], t["uses_lam"], t["uses_parts"], t["clusters"]) == \
        (True, True, True, False) and "K" in t["options"]
    t = METHODS["cawcl"].traits()
    assert t["clusters"] and "cam_loss" in t["options"]
    assert np.all([isinstance(v, (bool, list)) for v in t.values()])


def test_steps_per_epoch_caps_each_epoch_to_its_first_batches(tiny, tmp_path, monkeypatch):
    """``steps_per_epoch`` trains the first k batches of each epoch's own order (a step budget
    shared by settings whose epochs differ in length, e.g. 1 vs 4 clips per tracklet)."""
    from reidlab.engine.runs import Run
    from reidlab.errors import ConfigError

    seen: dict[int, list] = {}
    original = PadalID.training_step

    def spy(self, batch, epoch):
        seen.setdefault(epoch, []).append(sorted(batch["index"].tolist()))
        return original(self, batch, epoch)

    monkeypatch.setattr(PadalID, "training_step", spy)
    cfg = make_config("test", dataset=str(tiny), method="padal_id", batch_size=2, epochs=2,
                      clips_per_tracklet=2, steps_per_epoch=2)
    train(cfg, tmp_path / "cap")
    from reidlab.data import load_dataset

    data = load_dataset("mars", str(tiny))
    method = build_method(cfg, data.train, data.num_cameras)
    for epoch in (0, 1):
        full = method.epoch_batches(epoch)
        assert len(full) > 2  # the cap removed batches
        assert seen[epoch] == [sorted(t for t, _ in b) for b in full[:2]]
    steps = [m for m in Run(tmp_path / "cap").metrics("step")]
    assert max(m["step"] for m in steps) == 4
    with pytest.raises(ConfigError, match="steps_per_epoch"):
        make_config("test", dataset=str(tiny), method="padal_id", steps_per_epoch=-1)
    # a TrainConfig built without make_config is refused by train, before the run folder
    import dataclasses

    good = make_config("test", dataset=str(tiny), method="padal_id")
    for field, bad, said in (("steps_per_epoch", -1, "steps_per_epoch=-1"),
                             ("iters", -3, "iters=-3"), ("sampler", "pkk", "'pkk'"),
                             ("random_erase", 1.5, "random_erase=1.5")):
        with pytest.raises(ConfigError, match=said):
            train(dataclasses.replace(good, **{field: bad}), tmp_path / "bad")
        assert not (tmp_path / "bad").exists()
