"""Season replay speed: bootstrap, then seconds per gameweek and per job, from the replay's own state file.

    .venv/bin/python benchmarks/bench_replay.py [--season 2025-26] [--from-gameweek 1] [--to-gameweek 4] [--quick]
        [--ab-test 0.1,0.25,0.5] [--inject-drift swap:0.5@20] [--history-seasons N]

Runs `fpl-platform replay` in a fresh temporary FPL_PLATFORM_HOME (nothing else should run meanwhile).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--season", default="2025-26")
    parser.add_argument("--to-gameweek", type=int, default=4)
    parser.add_argument("--from-gameweek", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ab-test")
    parser.add_argument("--inject-drift")
    parser.add_argument("--history-seasons", type=int)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="fpl_replay_bench_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_HOME"))}
    env["FPL_PLATFORM_HOME"] = str(home)
    command = [
        str(Path(sys.executable).with_name("fpl-platform")),
        "replay",
        "--season",
        args.season,
        "--from-gameweek",
        str(args.from_gameweek),
        "--to-gameweek",
        str(args.to_gameweek),
        *(["--quick"] if args.quick else []),
        *(["--ab-test", args.ab_test] if args.ab_test else []),
        *(["--inject-drift", args.inject_drift] if args.inject_drift else []),
        *(["--history-seasons", str(args.history_seasons)] if args.history_seasons else []),
    ]
    probe_before = cpu_probe()
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    probe_after = cpu_probe()
    state = json.loads((home / "replays" / args.season / "replay_state.json").read_text())
    seconds = state["seconds"]
    weeks = {int(k.split("_")[1]): v for k, v in seconds.items() if k.startswith("gameweek_")}
    print(f"# fpl_platform replay benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n")
    print(f"`{' '.join(['fpl-platform', *command[1:]])}`: {elapsed:.0f} s in all\n")
    print(
        f"CPU probe (best of 5 runs of a fixed single-threaded workload; compare runs through it): {probe_before:.2f} s before, "
        f"{probe_after:.2f} s after\n"
    )
    print("| part | s |\n|---|---|")
    print(f"| bootstrap (ingest, features, backtests, first champions) | {seconds.get('bootstrap', 0):.0f} |")
    for gameweek, value in sorted(weeks.items()):
        print(f"| gameweek {gameweek} | {value:.1f} |")
    print(f"| **mean per gameweek** | **{sum(weeks.values()) / max(len(weeks), 1):.1f}** |")
    print("\n| job (summed over the replay) | s |\n|---|---|")
    for job, value in sorted(seconds.items()):
        if job.endswith("_job"):
            print(f"| {job} | {value:.1f} |")
    print(f"\nhome kept for inspection: {home}")
    print(_outcomes(home / "replays" / args.season / "warehouse.duckdb", args.season))


def cpu_probe(repeats: int = 5) -> float:
    """The best of `repeats` timings (s) of a fixed single-threaded workload (NumPy sorts and a pure-Python loop).

    This machine's speed drifts by up to a third within hours: two replays are comparable only when run
    close together, or through this probe's times beside them.
    """
    import numpy as np

    def once() -> float:
        started = time.perf_counter()
        rng = np.random.default_rng(0)
        for _ in range(4):
            np.sort(rng.random(2_000_000))
        total = 0
        for i in range(3_000_000):
            total += i * i % 7
        return time.perf_counter() - started

    return min(once() for _ in range(repeats))


def _outcomes(path: Path, season: str) -> str:
    """What the replay decided: retraining events by trigger and decision, the last A/B analysis."""
    import duckdb

    connection = duckdb.connect(str(path), read_only=True)
    try:
        lines = ["\n| model | trigger | decision | events |\n|---|---|---|---|"]
        for row in connection.execute(
            "SELECT model_name, trigger, decision, count(*) FROM monitoring.retraining_events GROUP BY ALL ORDER BY ALL"
        ).fetchall():
            lines.append("| " + " | ".join(str(v) for v in row) + " |")
        tables = {r[0] for r in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "ab_results" in tables:
            row = connection.execute(
                "SELECT test_name, as_of, n_items, traffic_split, mean_difference, ci_low, ci_high, dm_p_better, power, "
                "recommendation, action FROM monitoring.ab_results ORDER BY evaluated_at DESC LIMIT 1"
            ).fetchone()
            lines.append(
                f"\nlast A/B analysis: {row[0]} at {row[1]}: {row[2]} items, split {row[3]:.2f}, difference {row[4]:+.5f} "
                f"[{row[5]:+.5f}, {row[6]:+.5f}], DM p {row[7]:.4f}, power {row[8]:.2f}: {row[9]} ({row[10]})"
            )
        served = connection.execute(
            "SELECT count(DISTINCT gameweek) FROM monitoring.performance WHERE source = 'served' AND season = ?", [season]
        ).fetchone()[0]
        lines.append(f"served gameweeks in monitoring.performance: {served}")
        return "\n".join(lines)
    finally:
        connection.close()


if __name__ == "__main__":
    main()
