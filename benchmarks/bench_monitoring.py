"""How long one monitoring cycle takes on the bundled data: performance + drift + every sensor tick, and a gated retrain.

    .venv/bin/python benchmarks/bench_monitoring.py [--home PATH] [--repeats 3]

Without --home it builds a home first with `fpl-platform demo` (not timed). Each step runs through the
real Definitions against the home's Dagster instance, as the daemon would run it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(function, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", help="an FPL_PLATFORM_HOME after `fpl-platform demo` (default: build one)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="fpl_bench_"))
    os.environ["FPL_PLATFORM_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    if not args.home:
        subprocess.run([str(Path(sys.executable).with_name("fpl-platform")), "demo"], check=True, capture_output=True, cwd=REPO)
    warnings.simplefilter("ignore")

    import dagster as dg

    from fpl_platform.definitions import defs
    from fpl_platform.defs.ingestion.sensors import new_data_sensor
    from fpl_platform.defs.monitoring.sensors import stale_data_sensor
    from fpl_platform.defs.training.sensors import drift_retrain_sensor, performance_retrain_sensor
    from fpl_platform.runtime import QUIET

    resources = defs.resources or {}
    rows = []
    with dg.DagsterInstance.get() as instance:

        def materialise(*keys: str, ops: dict | None = None):
            def run():
                result = dg.materialize(
                    [*defs.assets, *defs.asset_checks],
                    selection=dg.AssetSelection.from_coercible(list(keys)),
                    resources=resources,
                    instance=instance,
                    run_config={**QUIET, **({"ops": ops} if ops else {})},
                )
                assert result.success

            return run

        def sensor_tick(sensor):
            def run():
                needed = {k: v for k, v in resources.items() if k in sensor.required_resource_keys}
                context = dg.build_sensor_context(
                    instance=instance, resources=needed, sensor_name=sensor.name, repository_def=defs.get_repository_def()
                )
                sensor.evaluate_tick(context)

            return run

        steps = [
            ("monitoring/performance (both models, SPC, plots)", materialise("monitoring/performance")),
            ("monitoring/drift (Evidently + PSI + KS, 2 HTML reports)", materialise("monitoring/drift")),
            ("drift_retrain_sensor tick", sensor_tick(drift_retrain_sensor)),
            ("performance_retrain_sensor tick", sensor_tick(performance_retrain_sensor)),
            ("new_data_sensor tick (bundled source)", sensor_tick(new_data_sensor)),
            ("stale_data_sensor tick", sensor_tick(stale_data_sensor)),
        ]
        cycle = 0.0
        for name, function in steps:
            seconds = timed(function, args.repeats)
            cycle += statistics.median(seconds)
            rows.append((name, statistics.median(seconds), min(seconds)))
        retrains = [
            ("gated retrain of match_outcome (selection + fit + 38-gameweek gate) + predictions", "retrain_match_outcome_job"),
            ("gated retrain of player_points (fit + 8-gameweek gate) + predictions", "retrain_player_points_job"),
        ]
        retrain_rows = []
        for name, job in retrains:
            seconds = timed(lambda job=job: defs.resolve_job_def(job).execute_in_process(instance=instance, run_config=QUIET), 1)
            retrain_rows.append((name, seconds[0]))

    print(f"# fpl_platform monitoring benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, home {home})\n")
    print(f"| step (median of {args.repeats}) | median s | min s |\n|---|---|---|")
    for name, median, low in rows:
        print(f"| {name} | {median:.2f} | {low:.2f} |")
    print(f"| **one monitoring cycle (sum of medians)** | **{cycle:.1f}** | |")
    print("\n| gated retrain job (in process, once) | s |\n|---|---|")
    for name, seconds in retrain_rows:
        print(f"| {name} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
