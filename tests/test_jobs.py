"""Background jobs: detached processes, idempotent submit, dead pids, cancel, FIFO queue.

Most tests run a small stand-in training script (writes status.json like the trainer, honours
CANCEL) so they take seconds; ``test_real_training_job`` runs ``python -m reidlab train
--preset test`` on a tiny SynthCams.
"""

import json
import sys
import time
from pathlib import Path

import pytest

from reidlab.engine import jobs

FAKE = r"""
import json, os, sys, time
out = sys.argv[1]; steps = int(sys.argv[2]); fail = len(sys.argv) > 3
os.makedirs(out, exist_ok=True)
def st(state, p, msg=""):
    tmp = os.path.join(out, "status.tmp")
    json.dump({"state": state, "progress": p, "message": msg}, open(tmp, "w"))
    os.replace(tmp, os.path.join(out, "status.json"))
with open(os.path.join(out, "order.log"), "a") as fh:
    fh.write(f"{os.path.basename(out)} {time.time()}\n")
for i in range(steps):
    if os.path.exists(os.path.join(out, "CANCEL")):
        st("cancelled", i / steps, "cancelled"); sys.exit(0)
    st("running", i / steps); time.sleep(0.1)
if fail:
    sys.exit(3)
st("finished", 1.0)
"""


def fake_argv(run: Path, steps: int = 5, fail: bool = False) -> list[str]:
    return ["-c", FAKE, str(run), str(steps)] + (["fail"] if fail else [])


def wait(name, root, until=lambda j: not j.active, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        j = jobs.job_state(name, root)
        if j is not None and until(j):
            return j
        time.sleep(0.05)
    raise AssertionError(f"job {name} did not reach the expected state: {jobs.job_state(name, root)}")


def test_submit_is_idempotent_and_finishes(tmp_path):
    j = jobs.submit("a", fake_argv(tmp_path / "a", 5), root=tmp_path)
    assert j.state in ("starting", "running") and j.pid
    again = jobs.submit("a", fake_argv(tmp_path / "a", 50), root=tmp_path)  # second tab
    assert again.pid == j.pid and again.argv == j.argv
    done = wait("a", tmp_path)
    assert done.state == "finished" and done.progress == 1.0
    # still the same job after it finished: no duplicate
    assert jobs.submit("a", fake_argv(tmp_path / "a"), root=tmp_path).pid == j.pid
    assert [x.name for x in jobs.list_jobs(tmp_path)] == ["a"]
    info = json.loads((tmp_path / "a" / "job.json").read_text())
    assert info["argv"] == j.argv and info["submitted"] <= time.time()


def test_dead_process_reads_as_failed(tmp_path):
    jobs.submit("boom", fake_argv(tmp_path / "boom", 2, fail=True), root=tmp_path)
    j = wait("boom", tmp_path)
    assert j.state == "failed" and "ended without finishing" in j.message
    # a pid that no longer exists (e.g. after a reboot) is also detected
    info = json.loads((tmp_path / "boom" / "job.json").read_text())
    info["pid"], info["start"] = 2**22 - 7, "1"
    (tmp_path / "boom" / "job.json").write_text(json.dumps(info))
    assert jobs.job_state("boom", tmp_path).state == "failed"


def test_cancel_via_cancel_file(tmp_path):
    jobs.submit("c", fake_argv(tmp_path / "c", 400), root=tmp_path)
    wait("c", tmp_path, until=lambda j: j.state == "running")
    j = jobs.cancel("c", root=tmp_path, grace_s=5)
    assert j.state == "cancelled" and not jobs._alive(j.pid, None)
    assert (tmp_path / "c" / "CANCEL").exists()


def test_cancel_terminates_a_process_that_ignores_cancel(tmp_path):
    argv = ["-c", "import time; time.sleep(60)"]
    j = jobs.submit("stubborn", argv, root=tmp_path)
    t = time.time()
    j = jobs.cancel("stubborn", root=tmp_path, grace_s=0.3)
    assert time.time() - t < 6
    assert j.state == "cancelled"
    assert json.loads((tmp_path / "stubborn" / "status.json").read_text())["state"] == "cancelled"


def test_queue_runs_one_at_a_time_in_order(tmp_path):
    names = ["q1", "q2", "q3"]
    for n in names:
        jobs.enqueue(n, fake_argv(tmp_path / n, 3), root=tmp_path, start_worker=False)
    jobs.enqueue("q2", fake_argv(tmp_path / "q2", 3), root=tmp_path, start_worker=False)
    assert [j.state for j in (jobs.job_state(n, tmp_path) for n in names)] == ["queued"] * 3
    assert len(list((tmp_path / jobs.QUEUE_DIR).glob("[0-9]*.json"))) == 3  # no duplicate
    jobs.cancel("q3", root=tmp_path)  # dropped from the queue before it starts
    pid = jobs.ensure_worker(tmp_path)
    assert pid and jobs.ensure_worker(tmp_path) == pid  # one worker only
    for n in names[:2]:
        assert wait(n, tmp_path, until=lambda j: j.state == "finished").state == "finished"
    assert jobs.job_state("q3", tmp_path) is None
    starts = [float((tmp_path / n / "order.log").read_text().split()[1]) for n in names[:2]]
    ends = [(tmp_path / n / "status.json").stat().st_mtime for n in names[:2]]
    assert starts[0] < starts[1] and ends[0] <= starts[1] + 0.05  # q2 began after q1 ended


def test_names_are_checked(tmp_path):
    from reidlab.errors import ConfigError

    for bad in ("", "_imagenet", "../x", "a b"):
        with pytest.raises(ConfigError):
            jobs.submit(bad, ["-c", "pass"], root=tmp_path)


def test_train_argv():
    argv = jobs.train_argv("runs/x", method="padal_mp", preset="test", K=3, lam=0.1,
                           batch_size=8, clips=None)
    assert argv == ["-m", "reidlab", "train", "--method", "padal_mp", "--preset", "test",
                    "--K", "3", "--lam", "0.1", "--batch-size", "8", "--out", "runs/x"]


@pytest.mark.timeout(240)
@pytest.mark.slow  # subprocesses / a browser: in make test, not the fast set
def test_real_training_job(tmp_path, tiny_synthcams):
    from reidlab.engine.runs import Run

    j = jobs.submit("tiny", root=tmp_path, method="padal_m", preset="test", epochs=1,
                    dataset=str(tiny_synthcams), cwd=Path(__file__).resolve().parents[1])
    j = wait("tiny", tmp_path, timeout=200)
    assert j.state == "finished", j.log_tail()
    run = Run(tmp_path / "tiny")
    assert run.status()["state"] == "finished"
    assert run.has_features("final") and run.final_metrics() is not None


@pytest.fixture(scope="module")
def tiny_synthcams(tmp_path_factory):
    from reidlab.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("data") / "synth"
    generate(root, SynthConfig(ids=8, cameras=3, frames=3, height=32, width=16, distractors=0,
                               workers=1))
    return root


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
