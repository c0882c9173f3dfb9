"""A real tiny trained run (``python -m reidlab train --preset test``), for app/export tests."""

from __future__ import annotations

from pathlib import Path


def train_tiny_run(data_root: str | Path, out: str | Path, method: str = "padal_mp",
                   *extra: str) -> Path:
    """Train ``method`` with the ``test`` preset (tiny backbone, 2 epochs, about 5 s on one
    core) in-process through the real CLI, and return the run folder."""
    from reidlab.cli import main

    rc = main(["train", "--preset", "test", "--method", method, "--dataset", str(data_root),
               "--out", str(out), "--no-progress", *extra])
    if rc != 0:
        raise RuntimeError(f"reidlab train {method} on {data_root} failed with exit code {rc}")
    return Path(out)


def stop_and_resume(cfg, folder: str | Path, steps_before: int) -> tuple[Path, Path]:
    """The resume check of every method: train ``cfg`` uninterrupted into ``folder/full``, then
    into ``folder/part`` stopped at the step after ``steps_before`` steps (a cancelled run),
    resumed to the end. Returns (full, part)."""
    from reidlab.engine.runs import Run
    from reidlab.engine.trainer import train

    folder = Path(folder)
    full = train(cfg, folder / "full")
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] == steps_before + 1

    part = train(cfg, folder / "part", stop_flag=stop)
    assert Run(part).status()["state"] == "cancelled"
    train(cfg, part, resume=True)
    return full, part


def assert_same_state(a, b, path: str = "") -> None:
    """Two (nested) state dicts of tensors are equal key by key, extra state included."""
    import torch

    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            assert_same_state(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    else:
        assert a == b, path


def assert_resumed_equals_full(full: Path, part: Path, label_keys=("epoch", "num_clusters",
                                                                   "precision")) -> None:
    """Same weights, same method state, same label updates and same final mAP."""
    import torch

    from reidlab.engine.runs import Run

    assert_same_state(torch.load(Path(full) / "checkpoint.pt", weights_only=True)["model"],
                      torch.load(Path(part) / "checkpoint.pt", weights_only=True)["model"])
    la = [tuple(r.get(k) for k in label_keys) for r in Run(full).metrics("labels")]
    lb = [tuple(r.get(k) for k in label_keys) for r in Run(part).metrics("labels")]
    assert la == lb
    assert Run(full).final_metrics()["mAP"] == Run(part).final_metrics()["mAP"]
