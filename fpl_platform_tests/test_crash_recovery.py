"""A run that holds the duckdb pool: the next run waits visibly, gives up with one line, stops on Ctrl-C, and
carries on once the holder's process dies (kill -9). The kill of a whole demo mid-write is in test_reruns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

CLI = Path(sys.executable).with_name("fpl-platform")
HOLDER = """
import time, dagster as dg

@dg.op(pool="duckdb")
def hold_the_pool():
    time.sleep(600)

@dg.job
def pool_holder():
    hold_the_pool()

with dg.DagsterInstance.get() as instance:
    pool_holder.execute_in_process(instance=instance)
"""


@pytest.fixture
def holder(isolated_home):
    """Another process whose run holds the single duckdb slot of the platform's instance."""
    from fpl_platform import runtime as cli

    cli.prepare_home()
    process = subprocess.Popen([sys.executable, "-c", HOLDER], env=dict(os.environ), stdout=subprocess.DEVNULL)
    with dg.DagsterInstance.get() as instance:
        deadline = time.monotonic() + 120
        while not instance.event_log_storage.get_concurrency_run_ids():
            assert process.poll() is None and time.monotonic() < deadline, "the holder never claimed the pool"
            time.sleep(0.2)
        [run_id] = instance.event_log_storage.get_concurrency_run_ids()
    yield process, run_id
    if process.poll() is None:
        process.kill()
        process.wait()


def demo(wait_seconds: str, output: Path) -> subprocess.Popen:
    env = {**os.environ, "FPL_PLATFORM_POOL_WAIT_SECONDS": wait_seconds}
    with output.open("w") as stdout:
        return subprocess.Popen([str(CLI), "demo", "--quick"], env=env, stdout=stdout, stderr=subprocess.PIPE, text=True)


def wait_for_line(path: Path, text: str, process: subprocess.Popen, timeout: float = 180.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in path.read_text().splitlines() if text in line]
        if found:
            return found[0]
        assert process.poll() is None, f"exited {process.returncode} before {text!r}: {path.read_text()[-2000:]}"
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} within {timeout:.0f}s: {path.read_text()[-2000:]}")


def test_a_step_waiting_for_the_pool_names_the_holder_and_gives_up_with_one_line(holder, tmp_path):
    _, holder_run = holder
    out = tmp_path / "out.txt"
    process = demo("3", out)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1
    [line] = stderr.splitlines()
    assert "waited" in line and f"duckdb pool, held by run {holder_run[:8]} (pool_holder" in line, line
    assert "FPL_PLATFORM_POOL_WAIT_SECONDS is 3" in line
    assert f"waiting for the duckdb pool: held by run {holder_run[:8]} (pool_holder, started" in out.read_text()


def test_ctrl_c_stops_a_run_waiting_for_the_pool(holder, tmp_path):
    out = tmp_path / "out.txt"
    process = demo("600", out)
    wait_for_line(out, "waiting for the duckdb pool", process)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    assert process.returncode == 130


def test_a_holder_killed_while_others_wait_is_recovered_and_the_waiting_run_goes_on(holder, tmp_path):
    holder_process, holder_run = holder
    out = tmp_path / "out.txt"
    process = demo("600", out)
    try:
        wait_for_line(out, "waiting for the duckdb pool", process)
        holder_process.send_signal(signal.SIGKILL)
        holder_process.wait()
        recovered = wait_for_line(out, "recovered run", process)
        assert f"run {holder_run[:8]} (pool_holder" in recovered and "is gone" in recovered
        wait_for_line(out, "raw/matches ", process)  # a step of the demo's first run ran
    finally:
        process.kill()
        process.wait()
    with dg.DagsterInstance.get() as instance:
        dead = instance.get_run_by_id(holder_run)
        assert dead.status == dg.DagsterRunStatus.FAILURE
        assert holder_run not in instance.event_log_storage.get_concurrency_run_ids()


NEVER_STARTED = """
import os, dagster as dg
from fpl_platform import recovery

@dg.op
def noop():
    pass

@dg.job
def never_started():
    noop()

with dg.DagsterInstance.get() as instance:
    run = instance.create_run_for_job(never_started, tags={recovery.PROCESS_TAG: recovery.process_tag()})
    print(run.run_id, flush=True)
    os._exit(9)  # killed after the run was recorded, before it started
"""


def test_a_run_whose_process_died_before_it_started_is_failed_but_a_live_ones_is_not(isolated_home):
    from fpl_platform import recovery
    from fpl_platform import runtime as cli

    cli.prepare_home()
    dead = subprocess.run([sys.executable, "-c", NEVER_STARTED], env=dict(os.environ), capture_output=True, text=True)
    run_id = dead.stdout.strip()
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.NOT_STARTED
        mine = instance.create_run_for_job(
            dg.GraphDefinition("mine", node_defs=[]).to_job(), tags={recovery.PROCESS_TAG: recovery.process_tag()}
        )
        untagged = instance.create_run_for_job(dg.GraphDefinition("queued_elsewhere", node_defs=[]).to_job())
        lines = []
        assert recovery.recover(instance, lines.append) == [run_id]
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
        assert "is gone" in lines[0] and run_id[:8] in lines[0]
        # this process is alive; a run without the tag belongs to a launcher
        assert instance.get_run_by_id(mine.run_id).status == dg.DagsterRunStatus.NOT_STARTED
        assert instance.get_run_by_id(untagged.run_id).status == dg.DagsterRunStatus.NOT_STARTED
        assert recovery.recover(instance, lines.append) == []
