"""`fpl-platform demo` on a fresh home, then again: wall seconds of each, and the steps that took longest.

    .venv/bin/python benchmarks/bench_demo.py [--top 8]

The second run changes nothing (test_readme_and_demo checks that); it should also cost little, because every
step whose inputs are unchanged reuses what it stored (features by their input digests, fits by their rows).
Step seconds come from the runs' STEP_START/STEP_SUCCESS events in the home's Dagster instance.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def step_seconds(dagster_home: Path, run_ids: set[str]) -> dict[str, float]:
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    seconds: dict[str, float] = defaultdict(float)
    with dg.DagsterInstance.get() as instance:
        for run_id in run_ids:
            started = {}
            kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
            for record in instance.get_records_for_run(run_id, of_type=kinds).records:
                entry = record.event_log_entry
                if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                    started[entry.step_key] = entry.timestamp
                else:
                    seconds[entry.step_key] += entry.timestamp - started.pop(entry.step_key, entry.timestamp)
    return seconds


def run_ids(dagster_home: Path) -> set[str]:
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        return {run.run_id for run in instance.get_runs()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=8, help="how many of the longest steps to show")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as directory:
        home = Path(directory)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_HOME"))}
        env["FPL_PLATFORM_HOME"] = str(home)
        walls, steps, seen = [], [], set()
        for attempt in (1, 2):
            started = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).with_name("fpl-platform")), "demo"], cwd=REPO, env=env, check=True, capture_output=True
            )
            walls.append(time.perf_counter() - started)
            runs = run_ids(home / "dagster") - seen
            seen |= runs
            steps.append(step_seconds(home / "dagster", runs))
            print(f"run {attempt}: {walls[-1]:.1f} s", file=sys.stderr, flush=True)
    longest = sorted(steps[0], key=steps[0].get, reverse=True)[: args.top]
    print("| | first `fpl-platform demo` | second (nothing changed) |")
    print("|---|---:|---:|")
    print(f"| wall seconds | {walls[0]:.1f} | {walls[1]:.1f} |")
    for step in longest:
        print(f"| `{step}` | {steps[0][step]:.1f} | {steps[1].get(step, 0.0):.1f} |")


if __name__ == "__main__":
    main()
