"""XGBoost fits when two processes fit at once: OpenMP's spinning wait against the sleeping one the platform sets.

    .venv/bin/python benchmarks/bench_threads.py [--rows 30000] [--repeats 3]

Each case starts one or two processes that fit an XGBoost regressor the size of the player model's (`--rows`
rows, 20 features, 200 trees of depth 4, 2 threads) and reports the median seconds per fit. `spinning` is
libgomp's default (threads spin up to 300,000 times before they sleep); `sleeping` is OMP_WAIT_POLICY=PASSIVE,
which `import fpl_platform` sets unless the environment says otherwise. Two processes at once is what a
2-core machine sees when the daemon runs two runs, or when the test suite runs on its two workers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

FIT = """
import statistics, sys, time
import numpy as np
from xgboost import XGBRegressor
rows, repeats = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X, y = rng.normal(size=(rows, 20)), rng.normal(size=rows)
times = []
for _ in range(repeats):
    started = time.perf_counter()
    XGBRegressor(n_estimators=200, max_depth=4, learning_rate=0.05, n_jobs=2, tree_method="hist").fit(X, y)
    times.append(time.perf_counter() - started)
print(statistics.median(times))
"""


def case(processes: int, policy: str | None, rows: int, repeats: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    started = [
        subprocess.Popen([sys.executable, "-c", FIT, str(rows), str(repeats)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    return [float(process.communicate()[0]) for process in started]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"| processes at once | OpenMP wait | seconds per fit ({args.rows:,} rows, 2 threads) |")
    print("|---:|---|---:|")
    for processes in (1, 2):
        for label, policy in (("spinning (libgomp default)", None), ("sleeping (fpl_platform)", "PASSIVE")):
            seconds = case(processes, policy, args.rows, args.repeats)
            print(f"| {processes} | {label} | {max(seconds):.2f} |", flush=True)


if __name__ == "__main__":
    main()
