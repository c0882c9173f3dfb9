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
