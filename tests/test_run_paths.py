"""Run paths stay inside the runs folder, and the job queue survives two tabs at once.

- Names typed into the app (``jobs.submit/enqueue/cancel/job_state``, ``runs.run_path``) and
  run paths typed on the CLI (``train --out``, ``sweep --base-out``, ``eval/export --run``)
  cannot leave the runs folder: ``../x``, absolute paths, ``a/../../b`` are clear errors and
  nothing is written outside.
- Concurrent submits, enqueues and cancels (threads and processes, as two browser tabs) lose
  no job and start none twice.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import threading
import time
from pathlib import Path

import pytest

from reidlab.engine import jobs
from reidlab.engine.runs import confine, process_start_ticks, run_path
from reidlab.errors import ConfigError, RunStoreError
from test_jobs import fake_argv, wait

ESCAPES = ["../x", "../../etc/x", "/tmp/elsewhere", "a/../../b", "..", ".", "a/..", "~/x",
           "", "_queue", ".hidden", "a\\..\\b"]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")} if folder.exists() else set()


# ----------------------------------------------------------------------------- names

@pytest.mark.parametrize("name", ["a", "padal_mp_K3", "lam=0.1", "sweepK/K=3"])
def test_plain_names_are_run_folders_inside(name, tmp_path):
    root = tmp_path / "runs"
    assert run_path(name, root) == root / name


@pytest.mark.parametrize("name", ESCAPES + ["a/b/c"])
def test_names_that_would_escape_are_refused(name, tmp_path):
    root = tmp_path / "runs"
    with pytest.raises(RunStoreError) as info:
        run_path(name, root)
    assert str(info.value).startswith(f"{root}: expected a run name inside the runs folder")


@pytest.mark.parametrize("path,ok", [("runs/a", True), ("runs/sweep/a", True),
                                      ("./runs/a", True), ("runs", False), ("x", False),
                                      ("runs/../x", False), ("runs/a/../../x", False),
                                      ("/etc/passwd", False), ("runsX/a", False)])
def test_cli_paths_must_lie_inside(path, ok, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if ok:
        assert confine(path, "runs") == Path(os.path.normpath(path))
    else:
        with pytest.raises(RunStoreError, match="inside the runs folder"):
            confine(path, "runs")


def test_a_runs_folder_reached_through_a_link(tmp_path, monkeypatch):
    real = tmp_path / "disk" / "runs"
    real.mkdir(parents=True)
    (tmp_path / "runs").symlink_to(real)
    monkeypatch.chdir(tmp_path)
    assert confine(real / "a", "runs") == real / "a"  # the same folder, written another way
    assert confine("runs/a", "runs") == Path("runs/a")


# ----------------------------------------------------------------------------- CLI

@pytest.fixture
def tiny(tmp_path_factory):
    from tiny_mars import write_tiny_mars

    return write_tiny_mars(tmp_path_factory.mktemp("paths") / "mars", train_ids=3, test_ids=2)


@pytest.mark.parametrize("bad", ["../x", "/tmp/elsewhere_reidlab_test", "a/../../b",
                                 "runs/../../x"])
def test_the_cli_refuses_run_paths_outside(bad, tiny, tmp_path, monkeypatch, capsys):
    from reidlab.cli import main

    work = tmp_path / "work"
    (work / "runs").mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.delenv("REIDLAB_RUNS")
    before = files_under(tmp_path)
    for argv in (["train", "--preset", "test", "--dataset", str(tiny), "--out", bad,
                  "--no-progress"],
                 ["train", "--resume", "--out", bad, "--no-progress"],
                 ["sweep", "--param", "K", "--values", "1", "--preset", "test", "--dataset",
                  str(tiny), "--base-out", bad, "--no-progress"],
                 ["eval", "--run", bad],
                 ["export", "--run", bad, "--out", "figs"]):
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2, argv
        assert err.startswith("error: ") and "inside the runs folder" in err, err
        assert str(work / "runs") in err and "Traceback" not in err
    assert files_under(tmp_path) == before  # nothing written anywhere
    assert not Path("/tmp/elsewhere_reidlab_test").exists()


def test_the_cli_trains_inside_the_runs_folder(tiny, tmp_path, monkeypatch, capsys):
    from reidlab.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REIDLAB_RUNS")
    assert main(["train", "--preset", "test", "--dataset", str(tiny), "--epochs", "1",
                 "--out", "runs/ok", "--no-progress"]) == 0
    assert (tmp_path / "runs" / "ok" / "checkpoint.pt").is_file()
    other = tmp_path / "elsewhere"
    assert main(["train", "--preset", "test", "--dataset", str(tiny), "--epochs", "1",
                 "--out", str(other / "r"), "--runs", str(other), "--no-progress"]) == 0
    assert main(["eval", "--run", str(other / "r"), "--runs", str(other)]) == 0
    assert main(["eval", "--run", str(other / "r")]) == 2  # outside ./runs
    capsys.readouterr()


# ----------------------------------------------------------------------------- the app's API

@pytest.mark.parametrize("name", ESCAPES)
def test_job_names_cannot_escape(name, tmp_path):
    root = tmp_path / "runs"
    victim = tmp_path / "x"
    victim.mkdir()
    (victim / "job.json").write_text(json.dumps({"pid": os.getpid(), "argv": []}))
    before = files_under(tmp_path)
    for call in (lambda: jobs.submit(name, ["-c", "pass"], root=root),
                 lambda: jobs.enqueue(name, ["-c", "pass"], root=root, start_worker=False),
                 lambda: jobs.cancel(name, root=root, grace_s=0),
                 lambda: jobs.job_state(name, root)):
        with pytest.raises((ConfigError, RunStoreError)):
            call()
    assert files_under(tmp_path) - before <= {root, root / ".jobs.lock"}
    assert not (victim / "CANCEL").exists()


def test_the_train_page_refuses_a_name_that_escapes(tmp_path, tiny, monkeypatch):
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]
    runs = tmp_path / "runs"
    monkeypatch.setenv("REIDLAB_RUNS", str(runs))
    monkeypatch.setenv("REIDLAB_DATA", str(tiny))
    monkeypatch.chdir(root)
    at = AppTest.from_file(str(root / "app_pages" / "2_Train.py"), default_timeout=60).run()
    at.text_input(key="run_name").set_value("../escaped")
    at.button[0].click().run()
    assert any("run name '../escaped'" in e.value for e in at.error), [e.value for e in at.error]
    assert not (tmp_path / "escaped").exists() and jobs.list_jobs(runs) == []


# ----------------------------------------------------------------------------- two tabs

def _runs_of(run: Path) -> int:
    """How many times the fake job of ``run`` started (one line per start)."""
    log = run / "order.log"
    return len(log.read_text().splitlines()) if log.is_file() else 0


def test_two_tabs_submitting_and_cancelling_at_once(tmp_path):
    """8 threads (tabs) submit the same 6 names in their own orders while 2 more cancel 2 of
    them: every name has exactly one job and one process start, and both cancels stick."""
    root = tmp_path / "runs"
    names = [f"j{i}" for i in range(6)]
    cancelled = {"j1", "j4"}
    barrier = threading.Barrier(10)
    errors = []

    def tab(seed: int) -> None:
        order = names[:]
        random.Random(seed).shuffle(order)
        barrier.wait()
        try:
            for n in order:
                jobs.submit(n, fake_argv(root / n, 40), root=root)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def canceller(name: str) -> None:
        barrier.wait()
        try:
            wait(name, root, until=lambda j: j.state in ("starting", "running"), timeout=30)
            jobs.cancel(name, root=root, grace_s=5)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=tab, args=(s,)) for s in range(8)]
    threads += [threading.Thread(target=canceller, args=(n,)) for n in sorted(cancelled)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    done = {n: wait(n, root, timeout=30) for n in names}
    assert {n: _runs_of(root / n) for n in names} == {n: 1 for n in names}
    pids = [json.loads((root / n / "job.json").read_text())["pid"] for n in names]
    assert len(set(pids)) == len(names)
    assert {n for n, j in done.items() if j.state == "cancelled"} == cancelled
    assert all(done[n].state == "finished" for n in set(names) - cancelled)
    assert sorted(j.name for j in jobs.list_jobs(root)) == names


def _tab_process(root: str, names: list[str], seed: int, cancel: list[str], go) -> None:
    go.wait()
    rng = random.Random(seed)
    order = names[:]
    rng.shuffle(order)
    for n in order:
        jobs.enqueue(n, fake_argv(Path(root) / n, 2), root=root)
        time.sleep(rng.uniform(0, 0.05))
        if n in cancel:
            jobs.cancel(n, root=root, grace_s=5)


@pytest.mark.slow  # subprocesses / a browser: in make test, not the fast set
def test_two_tabs_queueing_a_sweep_at_once(tmp_path):
    """Two processes queue the same sweep in different orders and each cancels one entry: the
    queue drains with every other job run exactly once (one worker at a time), and a cancelled
    entry never runs after its cancel."""
    root = tmp_path / "runs"
    names = [f"s{i}" for i in range(6)]
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    procs = [ctx.Process(target=_tab_process, args=(str(root), names, s, [c], go))
             for s, c in ((1, "s2"), (2, "s5"))]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    end = time.time() + 90
    while time.time() < end and (jobs._queued_files(root) or
                                 any(j.active for j in jobs.list_jobs(root))):
        time.sleep(0.2)
    assert not jobs._queued_files(root)
    for n in names:
        j = jobs.job_state(n, root)
        if n in ("s2", "s5"):  # cancelled while queued (never started) or while running
            assert j is None or j.state in ("cancelled", "finished"), (n, j)
            assert _runs_of(root / n) <= 1
        else:
            assert j is not None and j.state == "finished", (n, j)
            assert _runs_of(root / n) == 1, n
    # one at a time: the starts recorded in the runs' logs never overlap a running job
    starts = sorted(float(line.split()[1]) for n in names
                    for line in ((root / n / "order.log").read_text().splitlines()
                                 if (root / n / "order.log").is_file() else []))
    assert all(b - a > 0.15 for a, b in zip(starts, starts[1:])), starts


def test_a_job_queued_while_the_worker_exits_is_not_lost(tmp_path, monkeypatch):
    """The worker sees an empty queue and is about to exit when a tab queues a job and finds
    the worker still alive: the job must still run (the worker retires under the lock, so
    the tab starts a new worker)."""
    root = tmp_path / "runs"
    qdir = root / jobs.QUEUE_DIR
    qdir.mkdir(parents=True)
    # this process plays the worker
    (qdir / "worker.json").write_text(json.dumps({"pid": os.getpid(),
                                                  "start": process_start_ticks(os.getpid())}))
    real = jobs._queued_files
    saw_empty = threading.Event()
    proceed = threading.Event()
    calls = {"n": 0}

    def queued(r, name=None):
        out = real(r, name)
        if name is None and threading.current_thread() is worker:
            calls["n"] += 1
            if calls["n"] == 1 and not out:  # the worker's first look: empty
                saw_empty.set()
                proceed.wait(10)
        return out

    monkeypatch.setattr(jobs, "_queued_files", queued)
    worker = threading.Thread(target=jobs.work_queue, args=(root, 0.05))
    worker.start()
    assert saw_empty.wait(10)
    tab = threading.Thread(target=jobs.enqueue, args=("late", fake_argv(root / "late", 2)),
                           kwargs={"root": root})
    tab.start()
    time.sleep(0.3)  # the tab has queued its job and asked for a worker
    proceed.set()
    worker.join(30)
    tab.join(30)
    j = wait("late", root, timeout=60)
    assert j.state == "finished" and _runs_of(root / "late") == 1
