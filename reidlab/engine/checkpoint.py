"""The checkpointer: ``checkpoint.pt`` with the global RNG states, written atomically by rank 0.

The RNG states are stored as tensors and plain lists, so the file loads with
``torch.load(weights_only=True)``; with batches, frames and augmentation depending only on
(seed, epoch, item), a resumed run gives the same weights as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import numpy as np
import torch

from reidlab.atomic import save_torch_atomic
from reidlab.engine.distributed import Dist
from reidlab.errors import DiskFullError, RunStoreError

# the keys every checkpoint has (more: scheduler, scaler, corrupt_seen, dropped_seen, stage,
# config)
REQUIRED = ("model", "optimizer", "epoch", "step", "rng")


def rng_state() -> dict:
    """Global RNG states as tensors / plain lists (``weights_only``-loadable)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, pystate, gauss = random.getstate()
    out = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "state": [int(x) for x in pystate], "gauss": gauss},
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


@contextlib.contextmanager
def kept_rng_state():
    """Run the block and put the global RNG states back as they were (an evaluation between
    epochs must not change the training that follows)."""
    state = rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def set_rng_state(st: dict) -> None:
    torch.set_rng_state(st["torch"])
    n = st["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    p = st["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def load_checkpoint(path: str | Path, device="cpu") -> dict:
    """``torch.load(path, weights_only=True)`` of a checkpoint; a damaged (e.g. truncated) file
    raises :class:`RunStoreError` naming it instead of torch's zip error."""
    try:
        ck = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        raise RunStoreError(path, "a complete checkpoint written by reidlab train",
                            f"a damaged or truncated file ({type(e).__name__}: "
                            f"{str(e)[:200]})") from e
    if not isinstance(ck, dict) or not set(REQUIRED) <= set(ck):
        raise RunStoreError(path, "a complete checkpoint written by reidlab train (keys model, "
                            "optimizer, epoch, step, rng)",
                            f"keys {sorted(ck) if isinstance(ck, dict) else type(ck).__name__}")
    return ck


class Checkpointer:
    """``path`` is the run's ``checkpoint.pt``; ``epoch`` the epochs of the one on disk."""

    def __init__(self, path: str | Path, dist: Dist):
        self.path = Path(path)
        self.dist = dist
        self.epoch: int | None = None

    def load(self, device) -> dict | None:
        """The checkpoint, or None when there is none. Its RNG states are restored by the
        caller with :func:`set_rng_state` once the model and optimiser are rebuilt."""
        if not self.path.is_file():
            return None
        ck = load_checkpoint(self.path, device)
        self.epoch = int(ck["epoch"])
        return ck

    def save(self, state: dict) -> None:
        """Write ``state`` plus the RNG states (rank 0; the others wait for it). A full disk
        leaves the previous checkpoint intact and says which epoch --resume continues from."""
        if not self.dist.is_main:
            self.dist.barrier()
            return
        try:
            save_torch_atomic({**state, "rng": rng_state()}, self.path)
        except DiskFullError as e:
            before = (f"the previous checkpoint (epoch {self.epoch}) is intact; free "
                      f"space and run --resume to continue from epoch {self.epoch}"
                      if self.epoch is not None else
                      "no earlier checkpoint exists, so --resume starts the run over")
            raise DiskFullError(e.path, f"the checkpoint of epoch {state['epoch']} was not "
                                f"written; {before}") from e
        self.epoch = int(state["epoch"])
        self.dist.barrier()
