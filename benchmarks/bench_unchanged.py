"""Nothing changes for users: the demo's and a replay's tables, content-hashed on two commits.

    .venv/bin/python benchmarks/bench_unchanged.py --against REV [--gameweeks 6] [--season 2025-26] [--full]

Checks REV and the working tree's HEAD out as git worktrees, and in each runs `fpl-platform demo` and
`fpl-platform replay --season S --to-gameweek N --quick` (--full: without --quick) in its own fresh
FPL_PLATFORM_HOME, with the same installed environment (the worktree's code comes first on PYTHONPATH). Then
every table of both warehouses (the demo's, and the replay's under replays/<season>/) is hashed without the
columns that name a run or a moment (ids, `*_at` times, MLflow and Dagster run ids) and with each home's path
replaced by a placeholder, independent of row order.

Prints a markdown table per warehouse (rows and digest per table on each commit) and the replay's seconds per
gameweek on each; exit status 1 if any table differs. The two commits run alternately in the same hour, so the
timing comparison is fair on one machine.
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
# columns that identify a run, a record or a wall-clock moment, not a result
VOLATILE = {
    "alert_id", "report_id", "event_id", "mlflow_run_id", "dagster_run_id",
    "trained_at", "predicted_at", "created_at", "computed_at", "assigned_at", "evaluated_at", "started_at", "ended_at",
}  # fmt: skip
# a Dagster run id (UUID) or an MLflow run id (32 hex digits)
RUN_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}"


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def digests(path: Path, home: Path) -> dict[str, str]:
    """Per table "<rows>:<digest>" of its rows without VOLATILE columns, with `home` replaced by '<home>' and run
    ids inside texts by '<id>'."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        connection.execute("SET enable_progress_bar = false")
        tables = connection.execute(
            "SELECT schema_name, table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
            "WHERE NOT internal GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        result = {}
        for schema, table, columns in tables:
            kept = ", ".join(f'"{c}"' for c in columns if c not in VOLATILE) or "1"
            # run ids inside texts (evidence "run <id>", an MLflow artifact URL) are masked like the id columns
            query = (
                f"SELECT count(*), sum(hash(regexp_replace(replace(t::VARCHAR, ?, '<home>'), ?, '<id>', 'g'))) "
                f'FROM (SELECT {kept} FROM "{schema}"."{table}") AS t'
            )
            rows, digest = connection.execute(query, [str(home), RUN_ID]).fetchone()
            result[f"{schema}.{table}"] = f"{rows}:{digest}"
        return result


def run(worktree: Path, home: Path, *arguments: str) -> float:
    """`fpl-platform <arguments>` from `worktree`'s code in `home`; its wall-clock seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_HOME"))}
    env.update(FPL_PLATFORM_HOME=str(home), PYTHONPATH=str(worktree))
    command = [sys.executable, "-m", "fpl_platform.cli", *arguments]
    started = time.perf_counter()
    out = subprocess.run(command, cwd=worktree, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed on {worktree.name} (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return time.perf_counter() - started


def commit_of(rev: str) -> str:
    out = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench_unchanged: error: --against {rev!r} is not a commit of {REPO}")
    return out.stdout.strip()


def gameweeks(text: str) -> int:
    if not (text.isdigit() and 1 <= int(text) <= 38):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of gameweeks from 1 to 38")
    return int(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", required=True, help="the commit to compare HEAD with, e.g. HEAD~3")
    parser.add_argument("--season", default="2025-26")
    parser.add_argument("--gameweeks", type=gameweeks, default=6, help="gameweeks to replay, 1 to 38 (default 6)")
    parser.add_argument("--full", action="store_true", help="the replay without --quick")
    args = parser.parse_args()
    commits = {"before": commit_of(args.against), "after": commit_of("HEAD")}
    scratch = Path(tempfile.mkdtemp(prefix="bench_unchanged."))
    trees = {}
    for side, commit in commits.items():
        trees[side] = scratch / side
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(trees[side]), commit], cwd=REPO, check=True)
    replay = ["replay", "--season", args.season, "--to-gameweek", str(args.gameweeks), *([] if args.full else ["--quick"])]
    seconds: dict[str, dict[str, float]] = {side: {} for side in commits}
    try:
        for step, arguments in (("demo", ["demo"]), ("replay", replay)):
            for side in commits:  # alternately, so both see the same machine
                log(f"{side} ({commits[side][:9]}): fpl-platform {' '.join(arguments)}")
                seconds[side][step] = run(trees[side], scratch / f"home-{side}", *arguments)
        failed = False
        for title, relative in (("demo", "warehouse.duckdb"), ("replay", f"replays/{args.season}/warehouse.duckdb")):
            found = {side: digests(scratch / f"home-{side}" / relative, scratch / f"home-{side}") for side in commits}
            names = sorted(set(found["before"]) | set(found["after"]))
            differ = [n for n in names if found["before"].get(n) != found["after"].get(n)]
            failed |= bool(differ)
            print(f"\n### {title}: {len(names) - len(differ)} of {len(names)} tables identical\n")
            print("| table | rows before | rows after | same |\n|---|---:|---:|---|")
            for name in names:
                before, after = (found[s].get(name, "absent:") for s in ("before", "after"))
                print(f"| `{name}` | {before.split(':')[0]} | {after.split(':')[0]} | {'yes' if before == after else '**no**'} |")
        print("\n| seconds | before | after |\n|---|---:|---:|")
        for step in ("demo", "replay"):
            print(f"| {step} | {seconds['before'][step]:.0f} | {seconds['after'][step]:.0f} |")
        per_gameweek = {side: seconds[side]["replay"] / args.gameweeks for side in commits}
        print(f"| replay per gameweek (incl. bootstrap) | {per_gameweek['before']:.1f} | {per_gameweek['after']:.1f} |")
        print(json.dumps({"commits": commits, "seconds": seconds}), file=sys.stderr)
        return 1 if failed else 0
    finally:
        for tree in trees.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
