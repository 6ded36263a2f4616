"""Foundation benchmarks: `make demo` wall time, Dagster's per-step overhead, code-location import time.

Run: .venv/bin/python benchmarks/bench_foundation.py [--repeats N]
Prints markdown tables; copy them into BENCHMARKS.md with the date and the command.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(command: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def fresh_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_HOME"))}
    env["FPL_PLATFORM_HOME"] = str(home)
    return env


def bench_demo(repeats: int) -> list[float]:
    """`fpl-platform demo` (what `make demo` runs after install) on a cold warehouse."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as home:
            times.append(timed([str(BIN / "fpl-platform"), "demo"], fresh_env(Path(home))))
    return times


def bench_imports(repeats: int) -> dict[str, list[float]]:
    """Fresh-interpreter import times of dagster alone and of the whole code location."""
    snippet = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    out: dict[str, list[float]] = {}
    for module in ("dagster", "fpl_platform.definitions"):
        values = []
        for _ in range(repeats):
            result = subprocess.run(
                [sys.executable, "-c", snippet.format(m=module)], capture_output=True, text=True, check=True, cwd=REPO
            )
            values.append(float(result.stdout.strip()))
        out[module] = values
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, fpl_platform.definitions; print([m for m in ('mlflow','evidently','xgboost','sklearn','scipy','pandas','duckdb') if m in sys.modules])"],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout.strip()  # fmt: skip
    print(f"heavy modules loaded by the code location: {heavy}")
    return out


def bench_step_overhead(repeats: int) -> list[dict]:
    """The same work done as plain function calls, as an in-process Dagster run, and via the dagster CLI."""
    import dagster as dg

    from fpl_platform.definitions import defs
    from fpl_platform.lib import schemas
    from fpl_platform.lib.seasons import ALL_SEASONS
    from fpl_platform.lib.sources import BundledSource
    from fpl_platform.resources import FootballData, FplSource, RunClock, Warehouse

    rows = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            warehouse = Warehouse(path=str(tmp / "plain.duckdb"))
            source = BundledSource(REPO / "data")
            started = time.perf_counter()
            import pandas as pd

            frame = pd.concat([source.matches(s) for s in ALL_SEASONS], ignore_index=True)
            warehouse.write(schemas.MATCHES, frame, partitions=ALL_SEASONS)
            plain = time.perf_counter() - started

            warehouse = Warehouse(path=str(tmp / "dagster.duckdb"))
            resources = {
                "warehouse": warehouse,
                "fpl_source": FplSource(),
                "football_data_source": FootballData(),
                "clock": RunClock(),
            }
            tags = {"dagster/asset_partition_range_start": ALL_SEASONS[0], "dagster/asset_partition_range_end": ALL_SEASONS[-1]}
            with dg.instance_for_test() as instance:
                started = time.perf_counter()
                dg.materialize(list(defs.assets), selection=["raw/matches"], resources=resources, instance=instance, tags=tags)
                in_process = time.perf_counter() - started
                started = time.perf_counter()
                dg.materialize(
                    [*defs.assets, *defs.asset_checks], selection=dg.AssetSelection.assets(["raw", "matches"]),
                    resources=resources, instance=instance, tags=tags,
                )  # fmt: skip
                with_checks = time.perf_counter() - started

            env = fresh_env(tmp / "cli-home")
            env["DAGSTER_HOME"] = str(tmp / "cli-home" / "dagster")
            Path(env["DAGSTER_HOME"]).mkdir(parents=True)
            shutil.copyfile(REPO / "dagster.yaml", Path(env["DAGSTER_HOME"]) / "dagster.yaml")
            cli = timed(
                [
                    str(BIN / "dagster"),
                    "asset",
                    "materialize",
                    "-m",
                    "fpl_platform.definitions",
                    "--select",
                    "raw/matches",
                    "--partition",
                    "2025-26",
                ],
                env,
            )
        rows.append({"plain": plain, "in_process": in_process, "with_checks": with_checks, "cli_one_partition": cli})
    return rows


def median(values) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"# fpl_platform foundation benchmarks ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]})\n"
    )

    imports = bench_imports(max(args.repeats, 5))
    print("\n| import (fresh interpreter) | median s | min s |\n|---|---|---|")
    for module, values in imports.items():
        print(f"| `import {module}` | {median(values):.2f} | {min(values):.2f} |")
    ours = median(imports["fpl_platform.definitions"]) - median(imports["dagster"])
    print(f"| our code on top of dagster | {ours:.2f} | |")

    overhead = bench_step_overhead(args.repeats)
    print("\n| raw/matches, 13 seasons (4,560 rows) | median s |\n|---|---|")
    for key, label in [
        ("plain", "plain function calls (read, validate, write)"),
        ("in_process", "`dg.materialize` in-process, asset only"),
        ("with_checks", "`dg.materialize` in-process, asset + 6 checks"),
        ("cli_one_partition", "`dagster asset materialize` CLI, 1 partition (new process, in-process executor)"),
    ]:
        print(f"| {label} | {median([r[key] for r in overhead]):.2f} |")
    per_step = median([r["in_process"] - r["plain"] for r in overhead])
    print(f"| Dagster overhead of a one-step in-process run (in-process − plain) | {per_step:.2f} |")

    demo = bench_demo(args.repeats)
    print("\n| `fpl-platform demo` (= `make demo` after install), cold warehouse | median s | min s | max s |\n|---|---|---|---|")
    print(f"| 5 assets, 13 season partitions, 10 checks, publish | {median(demo):.1f} | {min(demo):.1f} | {max(demo):.1f} |")


if __name__ == "__main__":
    main()
