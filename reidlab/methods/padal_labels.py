"""Camera-local pseudo IDs and the ID-fragment-rate study (PADAL).

Pseudo IDs. Inside each camera, training tracklets of the same person share one local label
(as the paper does on MARS, where one person often has several tracklets in one camera);
labels are numbered 0.. per camera in order of increasing pid. The pid is only compared within
a camera, never across cameras, so no cross-camera identity information is used.

Fragment rate. To simulate tracking errors, a fraction ``rate`` of the training tracklets
(those with at least 2 frames; chosen with ``numpy.random.default_rng(seed)``, without
replacement, ``round(rate · eligible)`` of them) is split in two at ``s = len // 2``:
frames [0, s) stay at the tracklet's position in the list and keep its pseudo ID; frames
[s, len) become a NEW tracklet appended at the end of the list, with a NEW pseudo ID of its own
in the same camera. Because the split produces real tracklets, every clip of a fragment is
drawn from that fragment's frames only — there is never a clip that straddles both halves.
The trainer samples from ``method.train_tracklets`` (the list after splitting).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reidlab.data.tracklets import Tracklet
from reidlab.errors import ConfigError


@dataclass
class FragmentPlan:
    """How a training list was fragmented.

    ``split``: original index → split point s (frames [0, s) stay, [s, len) move);
    ``second``: index of the appended second half → original index.
    """

    split: dict[int, int] = field(default_factory=dict)
    second: dict[int, int] = field(default_factory=dict)


def fragment_tracklets(train: list[Tracklet], rate: float, seed: int = 0
                       ) -> tuple[list[Tracklet], FragmentPlan]:
    """Split a fraction ``rate`` of the tracklets in two (see module docstring)."""
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"fragment_rate must lie in [0, 1], got {rate}")
    out, plan = list(train), FragmentPlan()
    eligible = [i for i, t in enumerate(train) if len(t) >= 2]
    n = int(round(rate * len(eligible)))
    if n == 0:
        return out, plan
    chosen = np.sort(np.random.default_rng(seed).choice(eligible, size=n, replace=False))
    for i in chosen.tolist():
        t = train[i]
        s = len(t) // 2
        out[i] = Tracklet(t.frames[:s], t.pid, t.camid, t.tid)
        plan.split[i] = s
        plan.second[len(out)] = i
        out.append(Tracklet(t.frames[s:], t.pid, t.camid, t.tid))
    return out, plan


def camera_local_labels(train: list[Tracklet], num_cameras: int,
                        plan: FragmentPlan | None = None) -> tuple[np.ndarray, list[int]]:
    """(label per tracklet, number of local labels per camera).

    Tracklets of one pid in one camera share a label; second halves of fragments (``plan``)
    get fresh labels after those, in list order.
    """
    bad = [i for i, t in enumerate(train) if not 0 <= t.camid < num_cameras]
    if bad:
        raise ConfigError(f"training tracklet {bad[0]} has camera {train[bad[0]].camid}; "
                          f"expected 0..{num_cameras - 1}")
    second = plan.second if plan is not None else {}
    labels = np.full(len(train), -1, dtype=np.int64)
    counts = [0] * num_cameras
    for c in range(num_cameras):
        idx = [i for i, t in enumerate(train) if t.camid == c and i not in second]
        pids = sorted({train[i].pid for i in idx})
        local = {p: k for k, p in enumerate(pids)}
        for i in idx:
            labels[i] = local[train[i].pid]
        counts[c] = len(pids)
    for i in sorted(second):
        c = train[i].camid
        labels[i] = counts[c]
        counts[c] += 1
    return labels, counts
