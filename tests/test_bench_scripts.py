"""``make bench`` names real scripts with arguments they accept (the benchmarks themselves are
run by ``make bench``, never by the tests)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def test_make_bench_runs_scripts_that_exist_with_flags_they_define():
    import run_all

    for name, (script, full, quick) in {**run_all.SPEED, **run_all.TABLES}.items():
        path = ROOT / "bench" / script
        assert path.is_file(), f"{name}: bench/{script} does not exist"
        text = path.read_text()
        if "from tablelib import" in text:  # the tables' common arguments
            text += (ROOT / "bench" / "tablelib.py").read_text()
        for flag in [a for a in full + quick if a.startswith("--")]:
            assert f'"{flag}"' in text, f"{name}: bench/{script} has no {flag} option"
    out = subprocess.run([sys.executable, "bench/run_all.py", "--dry-run", "--tables"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "table_cawcl" in out and "eval: bench/bench_eval.py" in out
    assert "run_all.py" in (ROOT / "Makefile").read_text()
