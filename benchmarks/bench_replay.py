"""Season replay speed: bootstrap, then seconds per gameweek and per job, from the replay's own state file.

    .venv/bin/python benchmarks/bench_replay.py [--season 2025-26] [--to-gameweek 4] [--quick]

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
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="fpl_replay_bench_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_HOME"))}
    env["FPL_PLATFORM_HOME"] = str(home)
    command = [
        str(Path(sys.executable).with_name("fpl-platform")),
        "replay",
        "--season",
        args.season,
        "--to-gameweek",
        str(args.to_gameweek),
        *(["--quick"] if args.quick else []),
    ]
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    state = json.loads((home / "replays" / args.season / "replay_state.json").read_text())
    seconds = state["seconds"]
    weeks = {int(k.split("_")[1]): v for k, v in seconds.items() if k.startswith("gameweek_")}
    print(f"# fpl_platform replay benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n")
    print(f"`{' '.join(['fpl-platform', *command[1:]])}`: {elapsed:.0f} s in all\n")
    print("| part | s |\n|---|---|")
    print(f"| bootstrap (ingest, features, backtests, first champions) | {seconds.get('bootstrap', 0):.0f} |")
    for gameweek, value in sorted(weeks.items()):
        print(f"| gameweek {gameweek} | {value:.1f} |")
    print(f"| **mean per gameweek** | **{sum(weeks.values()) / max(len(weeks), 1):.1f}** |")
    print("\n| job (summed over the replay) | s |\n|---|---|")
    for job, value in sorted(seconds.items()):
        if job.endswith("_job"):
            print(f"| {job} | {value:.1f} |")


if __name__ == "__main__":
    main()
