"""The package's floors: reidlab's sub-packages import only those below them, and the engine's
rooms stay small (issue 25). Imports are read from the source (also those inside functions),
nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "reidlab"

# reidlab's sub-packages (and top-level modules), ground floor first; a unit may import only
# the units of lower floors (never one of its own floor, never a higher one)
FLOORS = [
    {"errors"},
    {"schema", "atomic"},
    {"layers"},  # the gradient-reversal layer, the discriminators' camera layout
    {"data"},  # tracklets, dataset readers, sampling, loading
    {"synth"},  # the SynthCams generator: writes the datasets that data/ reads
    {"eval", "losses"},
    {"models"},
    {"cluster"},
    {"methods"},
    {"engine"},
    {"analysis"},
    {"viz"},
    {"app_support"},
    {"cli"},  # dispatches to the commands' modules (import_module: not an arrow here)
    {"__main__"},
]
FLOOR = {unit: i for i, units in enumerate(FLOORS) for unit in units}

# arrows that run back up today, each with the work that removes it (a new one fails the test)
KNOWN_BACK_ARROWS: set[tuple[str, str]] = set()


def unit_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "reidlab" and len(parts) > 1 else None


def imported_modules(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "reidlab":  # from reidlab import data
                out += [f"reidlab.{a.name}" for a in node.names]
            else:
                out.append(node.module)
    return out


def arrows(root: Path = PKG) -> dict[tuple[str, str], set[str]]:
    """``(importer unit, imported unit) -> files`` over every ``.py`` under ``root``."""
    out: dict[tuple[str, str], set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        src = unit_of(".".join(rel.with_suffix("").parts))
        for module in imported_modules(ast.parse(path.read_text(), str(path))):
            dst = unit_of(module)
            if src and dst and dst != src:
                out.setdefault((src, dst), set()).add(str(rel))
    return out


def units(root: Path = PKG) -> set[str]:
    return {p.stem for p in root.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}


def test_every_sub_package_has_a_floor():
    missing = sorted(units() - set(FLOOR))
    assert not missing, (f"reidlab sub-packages without a floor: {missing}; add them to FLOORS "
                         "in tests/test_architecture.py")


def test_no_import_runs_back_up():
    back = {(a, b): files for (a, b), files in arrows().items()
            if a in FLOOR and b in FLOOR and FLOOR[a] <= FLOOR[b]}
    new = {k: sorted(v) for k, v in back.items() if k not in KNOWN_BACK_ARROWS}
    assert not new, "imports that run back up (importer -> imported: files): " + "; ".join(
        f"{a} -> {b}: {', '.join(files)}" for (a, b), files in sorted(new.items()))


def test_the_check_sees_an_arrow_back_up(tmp_path):
    """The checker itself: a lazy import inside a function is an arrow too."""
    pkg = tmp_path / "reidlab"
    (pkg / "data").mkdir(parents=True)
    (pkg / "data" / "__init__.py").write_text("")
    (pkg / "data" / "reader.py").write_text(
        "def f():\n    from reidlab.eval.crossmodal import x\n    from reidlab import errors\n")
    assert arrows(pkg) == {("data", "eval"): {"reidlab/data/reader.py"},
                           ("data", "errors"): {"reidlab/data/reader.py"}}
    assert FLOOR["data"] < FLOOR["eval"]


@pytest.mark.parametrize("limit, paths", [
    (600, sorted((PKG / "engine").glob("*.py"))),
    (450, [PKG / "engine" / "trainer.py"]),
])
def test_the_engine_rooms_are_small(limit, paths):
    sizes = {p.name: len(p.read_text().splitlines()) for p in paths}
    assert sizes and all(n <= limit for n in sizes.values()), \
        f"over {limit} lines: {[(k, n) for k, n in sizes.items() if n > limit]}"
