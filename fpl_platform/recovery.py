"""Recovering from a crashed run: runs whose process is gone, the pool slots they hold, and waiting for the pool.

A run killed by kill -9, the out-of-memory killer or a full disk never records its end. Dagster then keeps
it STARTED and keeps its claim on the single `duckdb` pool slot, so every later run waits forever. Dagster's
run monitoring cannot tell, because the default run launcher has no worker health check, and a run the
command line executes in its own process has no launcher at all. Here a run's process is found from the
engine event that records its pid ("Executing steps in process (pid: …)", or the run worker's "Started
process for run (pid: …)"); a run whose process no longer exists on this machine is marked failed with the
reason and its slots are freed. Every entry point does this before it starts a run: the command line and
the replay (`execution.execute_in_process`), and the daemon through the `recover_dead_runs` sensor.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from fpl_platform.lib import paths

POOL = "duckdb"
# how long a step waits for the pool before its run fails (FPL_PLATFORM_POOL_WAIT_SECONDS)
DEFAULT_POOL_WAIT_SECONDS = 900.0
POLL_SECONDS = 2.0
STARTUP_SECONDS = 300.0
# on runs the command line executes in its own process: that process, which may die before the run starts
# (Dagster's hidden prefix: bookkeeping that the UI's run list need not show)
PROCESS_TAG = ".dagster/fpl_platform_process"


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("/proc/stat has no btime")


def process_started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), or None if it does not exist or is a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc: all that can be said is whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # the command name, in parentheses, may hold spaces
    if fields[0] in ("Z", "X"):
        return None
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def run_process(instance, run_id: str) -> int | None:
    """The pid recorded by the run's first engine event that names one (None if none was recorded yet)."""
    import dagster as dg

    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.event_specific_data if record.dagster_event else None
        pid = getattr(data, "metadata", {}).get("pid") if data is not None else None
        if pid is not None:
            with contextlib.suppress(TypeError, ValueError):
                return int(pid.value if hasattr(pid, "value") else pid)
    return None


def process_tag() -> str:
    """This process as a run tag (PROCESS_TAG): its pid and start time, so a reused pid is not mistaken for it."""
    return f"{os.getpid()}@{process_started_at(os.getpid()) or 0.0:.2f}"


def _tagged_process_alive(tag: str) -> bool:
    pid, _, started = tag.partition("@")
    with contextlib.suppress(ValueError):
        now = process_started_at(int(pid))
        return now is not None and abs(now - float(started or 0.0)) < 2.0
    return False


def run_is_alive(instance, record) -> bool:
    """Whether the run's process still exists (the same process: a pid reused since does not count)."""
    run = record.dagster_run
    if PROCESS_TAG in run.tags:  # created by a process that executes it itself (`execution.execute_in_process`)
        return _tagged_process_alive(run.tags[PROCESS_TAG])
    pid = run_process(instance, run.run_id)
    began = record.start_time or record.create_timestamp.timestamp()
    if pid is None:
        # a run records its pid as it starts; one silent for minutes died before it could
        return time.time() - began < STARTUP_SECONDS
    started = process_started_at(pid)
    if started is None:
        return False
    return started <= began + 5.0  # /proc's start time is in clock ticks; the run begins after its process


def _records(instance, run_ids) -> dict:
    import dagster as dg

    if not run_ids:  # an empty filter is refused, not read as "none"
        return {}
    return {r.dagster_run.run_id: r for r in instance.get_run_records(filters=dg.RunsFilter(run_ids=list(run_ids)))}


def describe(record) -> str:
    run = record.dagster_run
    began = record.start_time or record.create_timestamp.timestamp()
    return f"run {run.run_id[:8]} ({run.job_name}, started {datetime.fromtimestamp(began):%H:%M:%S})"


def recover(instance, log: Callable[[str], None] = print) -> list[str]:
    """Mark failed every unfinished run whose process is gone, and free the pool slots of finished runs.

    Returns the ids of the runs marked failed. Their failure is an ordinary RUN_FAILURE: the daemon's
    run-failure sensor alerts on it, and the command line records the alert itself (`alert_for_failed_run`).
    """
    import dagster as dg

    unfinished = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING]
    failed = []
    # a NOT_STARTED run is a launcher's business until it starts, unless its own process made it and died
    records = [
        *instance.get_run_records(filters=dg.RunsFilter(statuses=unfinished)),
        *(
            record
            for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.NOT_STARTED]))
            if PROCESS_TAG in record.dagster_run.tags
        ),
    ]
    for record in records:
        if run_is_alive(instance, record):
            continue
        run = record.dagster_run
        pid = run_process(instance, run.run_id) or run.tags.get(PROCESS_TAG, "?").partition("@")[0]
        message = (
            f"its process (pid {pid}) is gone: killed, out of memory or crashed; marked failed by fpl_platform "
            "so that the runs after it can start"
        )
        instance.report_run_failed(run, message=message)
        failed.append(run.run_id)
        log(f"recovered {describe(record)}: {message}")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids()
        records = _records(instance, holders)
        for run_id in holders:
            record = records.get(run_id)
            if record is None or record.dagster_run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
                if run_id not in failed:
                    log(f"freed the {POOL} pool slot still held by finished run {run_id[:8]}")
    return failed


def pool_wait_seconds() -> float:
    """FPL_PLATFORM_POOL_WAIT_SECONDS: how long a step waits for the duckdb pool (checked by the CLI's settings)."""
    text = paths.setting("FPL_PLATFORM_POOL_WAIT_SECONDS")
    return float(text) if text else DEFAULT_POOL_WAIT_SECONDS


class PoolWaitTimeout(Exception):
    """A step waited longer than FPL_PLATFORM_POOL_WAIT_SECONDS for the duckdb pool."""


def _sleep_unless_interrupted(seconds: float, step_key: str) -> None:
    # a run holds Ctrl-C back until its next step starts (Dagster's capture_interrupts); none starts while this
    # one waits, so the wait looks for a held-back Ctrl-C itself
    from dagster._core.errors import DagsterExecutionInterruptedError
    from dagster._utils.interrupts import pop_captured_interrupt

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pop_captured_interrupt():
            raise DagsterExecutionInterruptedError(f"interrupted while {step_key} waited for the pool")
        time.sleep(0.1)


@contextlib.contextmanager
def waiting_for_the_pool(instance, log: Callable[[str], None] = print) -> Iterator[None]:
    """While a run executes in this process, a step that finds the pool taken waits here, not in Dagster's loop.

    Dagster's in-process executor polls a blocked claim without sleeping and logs only at DEBUG. Here the
    wait says which run holds the slot, sleeps between polls (so Ctrl-C stops it at once), recovers a holder
    whose process has died, and gives up after `pool_wait_seconds()` with an error naming the holder.
    """

    storage = instance.event_log_storage
    claim = storage.claim_concurrency_slot
    limit = pool_wait_seconds()

    def claim_or_wait(concurrency_key, run_id, step_key, priority=None):
        status = claim(concurrency_key, run_id, step_key, priority)
        started, said = time.monotonic(), ""
        while not status.is_claimed:
            holders = {slot.run_id for slot in storage.get_concurrency_info(concurrency_key).claimed_slots} - {run_id}
            others = list(_records(instance, holders).values())
            if recover(instance, log):
                status = claim(concurrency_key, run_id, step_key, priority)
                continue
            holder = ", ".join(describe(r) for r in others) or "a run that has just finished"
            waited = time.monotonic() - started
            if waited > limit:
                raise PoolWaitTimeout(
                    f"{step_key} waited {waited:.0f}s for the {concurrency_key} pool, held by {holder}; "
                    f"FPL_PLATFORM_POOL_WAIT_SECONDS is {limit:g}. If that run is stuck, cancel it in the UI"
                )
            if holder != said:
                log(f"{datetime.now():%H:%M:%S} {step_key:28} waiting for the {concurrency_key} pool: held by {holder}")
                said = holder
            _sleep_unless_interrupted(POLL_SECONDS, step_key)
            status = claim(concurrency_key, run_id, step_key, priority)
        return status

    storage.claim_concurrency_slot = claim_or_wait
    try:
        yield
    finally:
        del storage.claim_concurrency_slot
