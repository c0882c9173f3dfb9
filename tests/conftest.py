import os
import sys
from pathlib import Path

import pytest

# the tests import their helpers (tiny_mars, fakedata, tiny_runs, test_app_pages, ...) and the
# bench scripts (benchlib, tablelib, gap_sweep, ...) by name
_TESTS = Path(__file__).resolve().parent
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))
if str(_TESTS.parent / "bench") not in sys.path:
    sys.path.append(str(_TESTS.parent / "bench"))

# Tests share 2 CPU cores: keep each torch process single-threaded and deterministic.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["REIDLAB_OFFLINE"] = "1"  # no weight downloads (test_weights_download lifts it)
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)


@pytest.fixture(scope="session", autouse=True)
def runs_folder_is_the_test_temp(tmp_path_factory):
    """Run paths typed on the CLI must lie inside the runs folder ($REIDLAB_RUNS): the tests'
    runs live in pytest's temporary folders, so that is their runs folder (a test that needs
    another sets $REIDLAB_RUNS itself)."""
    old = os.environ.get("REIDLAB_RUNS")
    os.environ["REIDLAB_RUNS"] = str(tmp_path_factory.getbasetemp())
    yield
    if old is None:
        os.environ.pop("REIDLAB_RUNS", None)
    else:
        os.environ["REIDLAB_RUNS"] = old
