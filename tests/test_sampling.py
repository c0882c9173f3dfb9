from collections import Counter

import numpy as np
import pytest

from reidlab.data.sampling import (chunk_bounds, clip_frame_indices, epoch_batches,
                                   eval_frame_indices, item_rng, pk_batches)
from reidlab.errors import ConfigError


def reference_chunks(L, T):
    """Chunk i starts at frame floor(i*L/T); frame j belongs to the last chunk starting at or
    before it (the equal split, counted another way)."""
    def chunk(j):
        return sum(1 for k in range(1, T) if (k * L) // T <= j)
    return [[j for j in range(L) if chunk(j) == i] for i in range(T)]


@pytest.mark.parametrize("L,T", [(8, 4), (10, 4), (7, 3), (4, 4), (100, 8), (9, 2)])
def test_chunks_match_reference(L, T):
    b = chunk_bounds(L, T)
    assert [list(range(s, e)) for s, e in b] == reference_chunks(L, T)


@pytest.mark.parametrize("L,T", [(10, 4), (7, 3), (12, 4)])
def test_training_draws_one_uniform_frame_per_chunk(L, T):
    chunks = reference_chunks(L, T)
    rng = np.random.default_rng(0)
    seen = [Counter() for _ in range(T)]
    for _ in range(3000):
        idx = clip_frame_indices(L, T, rng)
        assert len(idx) == T
        for i, j in enumerate(idx):
            assert j in chunks[i]
            seen[i][int(j)] += 1
    for i in range(T):  # every frame of a chunk is drawn, about equally often
        assert set(seen[i]) == set(chunks[i])
        freq = np.array(list(seen[i].values())) / 3000
        assert np.allclose(freq, 1 / len(chunks[i]), atol=0.05)


def test_eval_mode_is_chunk_centre():
    assert clip_frame_indices(8, 4).tolist() == [0, 2, 4, 6]  # chunks of 2: centre (lower)
    assert clip_frame_indices(12, 4).tolist() == [1, 4, 7, 10]  # chunks of 3: middle frame


def test_short_tracklet_repeats_frames():
    assert clip_frame_indices(3, 4).tolist() == [0, 0, 1, 2]
    assert clip_frame_indices(1, 4).tolist() == [0, 0, 0, 0]
    rng = np.random.default_rng(0)
    assert clip_frame_indices(2, 5, rng).tolist() == [0, 0, 0, 1, 1]


def test_clips_use_different_offsets():
    # L=16, T=4: chunks of 4 frames; N=2 clips -> clip 0 uses the first 2 of each chunk
    rng = np.random.default_rng(0)
    for _ in range(200):
        c0 = clip_frame_indices(16, 4, rng, clip=0, num_clips=2)
        c1 = clip_frame_indices(16, 4, rng, clip=1, num_clips=2)
        assert all(j % 4 in (0, 1) for j in c0) and all(j % 4 in (2, 3) for j in c1)
    # chunks smaller than N still give valid in-chunk frames
    for c in range(3):
        idx = clip_frame_indices(8, 4, rng, clip=c, num_clips=3)
        assert all(2 * i <= j < 2 * i + 2 for i, j in enumerate(idx))


def test_eval_frame_indices():
    idx = eval_frame_indices(10, 4)  # all frames: ceil(10/4)=3 clips over 12 slots
    assert idx.shape == (3, 4) and set(idx.ravel()) == set(range(10))
    idx = eval_frame_indices(100, 4, max_frames=8)
    assert idx.shape == (2, 4) and idx.ravel().tolist() == [5, 18, 30, 43, 55, 68, 80, 93]  # lower middle of 12.5-frame chunks
    assert eval_frame_indices(2, 4).shape == (1, 4)


def test_item_rng_deterministic():
    a = item_rng(3, 1, 5, 0).random(4)
    assert np.array_equal(a, item_rng(3, 1, 5, 0).random(4))
    assert not np.array_equal(a, item_rng(3, 2, 5, 0).random(4))


def test_random_batches_cover_epoch_and_are_seeded():
    b1 = epoch_batches("random", 10, 2, 4, seed=0, epoch=0)
    assert [len(b) for b in b1] == [4] * 5
    assert sorted(x for b in b1 for x in b) == [(t, c) for t in range(10) for c in range(2)]
    assert b1 == epoch_batches("random", 10, 2, 4, seed=0, epoch=0)
    assert b1 != epoch_batches("random", 10, 2, 4, seed=0, epoch=1)
    b = epoch_batches("random", 10, 1, 4, seed=0, epoch=0)  # 10 = 4+4+2: short batch dropped
    assert [len(x) for x in b] == [4, 4]


def test_pk_batches_arbitrary_groups():
    groups = [101, 101, 101, 7, 7, 7, 7, 55, 55, 9]  # camera-local pseudo ids, any labels
    rng = np.random.default_rng(0)
    items = list(range(len(groups)))
    batches = pk_batches(items, groups, batch_size=4, instances=2, rng=rng)
    assert batches
    used = Counter()
    for b in batches:
        assert len(b) == 4
        g = [groups[i] for i in b]
        assert len(set(g)) == 2 and all(c == 2 for c in Counter(g).values())
        used.update(b)
    # group 9 has one item: padded with replacement inside its own group
    # fewer groups than P = 6 (a clustering that merged nearly everything): batches hold all
    # four groups instead of failing mid-training
    few = pk_batches(items, groups, batch_size=12, instances=2, rng=rng)
    assert few and all(len({groups[i] for i in b}) == 4 and len(b) == 8 for b in few)
    with pytest.raises(ConfigError, match="no group"):
        pk_batches([], [], batch_size=4, instances=2, rng=rng)


def test_pk_via_epoch_batches_is_deterministic():
    groups = [i // 3 for i in range(12)]
    a = epoch_batches("pk", 12, 1, 4, 0, 0, groups=groups, instances=2)
    assert a == epoch_batches("pk", 12, 1, 4, 0, 0, groups=groups, instances=2)
    for b in a:
        assert len({groups[t] for t, _ in b}) == 2


def test_camera_balanced_batches():
    camids = [0] * 12 + [1] * 3 + [2] * 3  # camera 0 dominates
    batches = epoch_batches("camera", len(camids), 1, 6, 0, 0, camids=camids)
    assert len(batches) == 3
    for b in batches:
        assert Counter(camids[t] for t, _ in b) == {0: 2, 1: 2, 2: 2}
    # small cameras are reused (over-sampled), each camera-1 tracklet appears twice
    cnt = Counter(t for b in batches for t, _ in b if camids[t] == 1)
    assert sorted(cnt.values()) == [2, 2, 2]


def test_unknown_sampler():
    with pytest.raises(ConfigError, match="unknown sampler"):
        epoch_batches("nope", 4, 1, 2, 0, 0)


def test_pk_cam_draws_each_groups_k_items_from_as_many_cameras_as_it_has():
    from reidlab.data.sampling import camera_mixed_chunks

    # group 0: 3 cameras × 4 tracklets; group 1: 2 cameras (6 + 2); group 2: one camera
    camids = [0, 1, 2] * 4 + [3] * 6 + [4] * 2 + [5] * 8
    groups = [0] * 12 + [1] * 8 + [2] * 8
    n = len(groups)
    batches = epoch_batches("pk_cam", n, 1, 8, 0, 0, groups=groups, camids=camids, instances=4)
    assert batches == epoch_batches("pk_cam", n, 1, 8, 0, 0, groups=groups, camids=camids,
                                    instances=4)
    seen = 0
    for b in batches:
        for g in {groups[t] for t, _ in b}:
            members = [t for t, _ in b if groups[t] == g]
            assert len(members) == 4
            cams = {camids[t] for t in members}
            assert len(cams) == {0: 3, 1: 2, 2: 1}[g], (g, members)
            seen += 1
    assert seen >= 4
    # plain pk on the same groups does put several of a group's K items in one camera
    plain = [b for e in range(10) for b in epoch_batches("pk", n, 1, 8, 0, e, groups=groups,
                                                          camids=camids, instances=4)]
    assert any(len({camids[t] for t, _ in b if groups[t] == 0}) < 3 for b in plain
               if any(groups[t] == 0 for t, _ in b))
    # the chunking itself: every chunk as mixed as the cameras left allow, nothing repeated
    rng = np.random.default_rng(1)
    idx = list(range(12))
    cams = [0] * 6 + [1] * 3 + [2] * 3
    chunks = camera_mixed_chunks(idx, cams, 3, rng)
    assert len(chunks) == 4 and len({i for c in chunks for i in c}) == 12
    # cameras 1 and 2 have 3 items for 4 chunks: each is in 3 chunks, camera 0 in all 4 —
    # 10 (chunk, camera) pairs, the most there can be
    assert sorted(len({cams[i] for i in c}) for c in chunks) == [2, 2, 3, 3]
    with pytest.raises(ValueError, match="camera ids"):
        epoch_batches("pk_cam", n, 1, 8, 0, 0, groups=groups, instances=4)


def test_pk_cam_with_camera_local_groups_is_plain_pk_in_shape():
    camids = [i % 3 for i in range(18)]
    groups = [(c, i // 6) for i, c in enumerate(camids)]
    gid = {g: k for k, g in enumerate(sorted(set(groups)))}
    groups = [gid[g] for g in groups]
    for b in epoch_batches("pk_cam", 18, 1, 4, 0, 0, groups=groups, camids=camids, instances=2):
        assert len(b) == 4 and all(n == 2 for n in Counter(groups[t] for t, _ in b).values())


def test_iters_gives_a_fixed_length_epoch_of_fresh_sampler_passes():
    """``iters``: exactly that many batches, further passes drawn afresh (the IterLoader of the
    SpCL / CALR code); 0 is one pass; deterministic in (seed, epoch)."""
    groups = [i // 3 for i in range(12)]  # 4 groups of 3
    one = epoch_batches("pk", 12, 1, 4, 0, 0, groups=groups, instances=2)
    assert len(one) == 2  # one pass: each group's 3 items (filled to 4) once, 2 groups a batch
    assert epoch_batches("pk", 12, 1, 4, 0, 0, groups=groups, instances=2, iters=0) == one
    ten = epoch_batches("pk", 12, 1, 4, 0, 0, groups=groups, instances=2, iters=10)
    assert len(ten) == 10 and ten[:2] == one
    assert ten == epoch_batches("pk", 12, 1, 4, 0, 0, groups=groups, instances=2, iters=10)
    passes = [ten[0:2], ten[2:4]]
    assert passes[0] != passes[1]  # the second pass is drawn afresh, not a copy
    for b in ten:
        assert len(b) == 4 and len({groups[t] for t, _ in b}) == 2
    short = epoch_batches("random", 12, 1, 4, 0, 0, iters=2)
    assert short == epoch_batches("random", 12, 1, 4, 0, 0)[:2]  # fewer than a pass: cut
    groups_out = [-1] * 6 + [0] * 6  # outliers stay out of every pass
    assert all(t >= 6 for b in epoch_batches("pk", 12, 1, 4, 0, 0, groups=groups_out,
                                             instances=2, iters=7) for t, _ in b)
    with pytest.raises(ConfigError, match="iters"):
        epoch_batches("random", 12, 1, 4, 0, 0, iters=-1)
