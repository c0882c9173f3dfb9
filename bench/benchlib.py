"""What every benchmark records beside its numbers: the command, the machine and the date."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """Cores, CPU model, load, Python/torch versions and the GPU (if any)."""
    info = {"nproc": os.cpu_count(), "cpu_model": cpu_model(),
            "python": platform.python_version(), "loadavg_1min": round(os.getloadavg()[0], 2)}
    try:
        import torch

        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                    gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    except ImportError:
        pass
    return info


def describe(m: dict) -> str:
    gpu = m.get("gpu") or "no GPU"
    return (f"{m['nproc']} cores ({m['cpu_model']}), {gpu}, torch {m.get('torch', '-')}, "
            f"1-min load {m['loadavg_1min']}")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def command(argv: list[str] | None = None, script: str | None = None) -> str:
    """``python bench/x.py args``: ``script`` defaults to ``sys.argv[0]`` and ``argv`` to
    ``sys.argv[1:]`` (pass both when a script's ``main(argv)`` is called from Python)."""
    script = os.path.relpath(script or sys.argv[0], ROOT)
    return "python " + " ".join([script] + list(sys.argv[1:] if argv is None else argv))


def stamp(argv: list[str] | None = None, script: str | None = None) -> dict:
    """``{"command", "machine", "date"}`` for the top of a results file."""
    return {"command": command(argv, script), "machine": machine(), "date": now()}


def md_header(s: dict) -> list[str]:
    """The Markdown lines naming the command, date and machine of a :func:`stamp`."""
    return [f"Command: `{s['command']}`  ", f"Date: {s['date']}  ",
            f"Machine: {describe(s['machine'])}  "]


def git_rev() -> str:
    """The short hash of the checked-out commit (benchmarks record which code they measured)."""
    import subprocess

    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()


def write_plot(fig, png: Path, title: str) -> None:
    """The benches' plot style (900×380, simple white) and a PNG next to the results; without
    Chromium for kaleido it says so and goes on (the numbers are in the JSON anyway)."""
    fig.update_layout(width=900, height=380, template="simple_white", title=title)
    try:
        fig.write_image(str(png), scale=2)
    except Exception as e:
        print(f"figure not written ({e})")


def refuse_other_settings(out, cfg) -> None:
    """Stop (SystemExit naming the settings) when the finished run in ``out`` was trained with
    other settings than ``cfg``: a stale folder must never be counted as another row."""
    from reidlab.engine.runs import Run
    from reidlab.engine.settings import diff_line, settings_diff

    diff = settings_diff(Run(out).config, cfg)
    if diff:
        raise SystemExit(f"{out}: expected a run with this row's settings, found one trained "
                         f"with others ({diff_line(diff)}); delete the folder or choose "
                         "another --out")
