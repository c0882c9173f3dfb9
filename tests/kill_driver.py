"""Run ``python -m reidlab train --resume ...`` and SIGKILL it at a chosen moment (test helper).

    python tests/kill_driver.py KILL -- <train arguments>

KILL names the moment; ``none`` runs to the end. N counts occurrences in *this* process:

- ``write:NAME:N``  the N-th atomic write of a file whose name starts with NAME
  (``checkpoint.pt``, ``metrics.jsonl`` (the rewrite on resume), ``status.json``,
  ``update_`` (label store), ``initial.npz``, ``final.npz``, ``config.json``): the temp file is
  written, cut to half its size (as if the kill came mid-write), and the process is killed
  before the rename;
- ``log:N``        half of the N-th ``metrics.jsonl`` line is written and flushed, then kill;
- ``cluster:N``    inside the N-th pseudo-label clustering of a label update, then kill;
- ``step:N``       right after the N-th optimiser step.

The driver prints ``TRAINING`` once the heavy imports are done, so a parent that kills at a
random time can count from there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(kill: str) -> None:
    if kill == "none":
        return
    what, *rest = kill.split(":")
    count = {"n": 0}

    def hit(n: int) -> bool:
        count["n"] += 1
        return count["n"] == n

    if what == "write":
        import reidlab.atomic as atomic

        prefix, n = rest[0], int(rest[1])
        orig = atomic.atomic_path

        @contextlib.contextmanager
        def atomic_path(path):
            with orig(path) as tmp:
                yield tmp
                if Path(path).name.startswith(prefix) and hit(n):
                    size = os.path.getsize(tmp)
                    with open(tmp, "r+b") as fh:
                        fh.truncate(size // 2)
                    die()

        atomic.atomic_path = atomic_path
    elif what == "log":
        from reidlab.engine import store

        n = int(rest[0])
        orig_log = store.RunStore.log

        def log(self, record):
            if hit(n):
                import json

                line = json.dumps(store.clean_json(record), allow_nan=False) + "\n"
                self.fh.write(line[: len(line) // 2])
                self.fh.flush()
                die()
            orig_log(self, record)

        store.RunStore.log = log
    elif what == "cluster":
        import reidlab.cluster.debias as db  # every clustering method's label update

        n = int(rest[0])
        orig_cluster = db.debiased_labels

        def debiased_labels(*a, **kw):
            out = orig_cluster(*a, **kw)
            if hit(n):
                die()
            return out

        db.debiased_labels = debiased_labels
    elif what == "step":
        from reidlab.engine import trainer

        n = int(rest[0])
        orig_stop = trainer.Trainer.stop_requested  # asked once after every optimiser step

        def stop_requested(self):
            if hit(n):
                die()
            return orig_stop(self)

        trainer.Trainer.stop_requested = stop_requested
    else:
        raise SystemExit(f"unknown kill point {kill!r}")


def main(argv: list[str]) -> int:
    kill, sep, *train_args = argv
    assert sep == "--", "usage: kill_driver.py KILL -- <train arguments>"
    import torch  # noqa: F401  (the heavy import, before the marker)

    from reidlab.cli import main as cli_main

    install(kill)
    print("TRAINING", flush=True)
    return cli_main(["train", "--resume", "--no-progress", *train_args])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
