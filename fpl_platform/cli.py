"""`fpl-platform`: the command line for people (demo, publish, build-data)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from fpl_platform.lib import paths


def prepare_home(instance_yaml: str | None = None) -> Path:
    """Create FPL_PLATFORM_HOME and a DAGSTER_HOME inside it holding the repo's dagster.yaml (or `instance_yaml`)."""
    home = paths.platform_home()
    home.mkdir(parents=True, exist_ok=True)
    dagster_home = paths.dagster_home()
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    source = paths.REPO_ROOT / "dagster.yaml"
    if instance_yaml is not None:
        if not config.exists() or config.read_text() != instance_yaml:
            config.write_text(instance_yaml)
    elif source.exists() and (not config.exists() or config.read_bytes() != source.read_bytes()):
        from fpl_platform.replay_storage import HEADER

        if not (config.exists() and config.read_text().startswith(HEADER)):  # a replay's instance keeps its own
            shutil.copyfile(source, config)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return home


# console logs at INFO: the event stream at DEBUG drowns the summary people read
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


# `demo --quick`: the same graph with the backtests cut to one season and coarser refits (tests use it)
QUICK = {
    "ml__match_backtest": {"config": {"seasons": ["2025-26"], "validation_seasons": ["2024-25"], "refit_every_gameweeks": 8}},
    "ml__match_outcome_model": {"config": {"validation_season_count": 1, "refit_every_gameweeks": 8}},
    "ml__player_backtest": {"config": {"seasons": ["2025-26"], "refit_every_gameweeks": 19, "training_seasons": 1}},
    "ml__player_points_model": {"config": {"validation_gameweeks": 4, "training_seasons": 1}},
}


def materialise_all(instance, *, seasons: list[str] | None = None, quick: bool = False) -> list:
    """Materialise every asset: the season-partitioned ones in one single-run backfill, then the rest."""
    import dagster as dg

    from fpl_platform.definitions import defs
    from fpl_platform.lib.seasons import ALL_SEASONS

    seasons = seasons or ALL_SEASONS
    graph = defs.resolve_asset_graph()
    assets = list(defs.assets or [])
    checks = list(defs.asset_checks or [])
    resources = defs.resources or {}
    partitioned = [k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None]
    unpartitioned = [k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is None]
    results = []
    results.append(
        dg.materialize(
            [*assets, *checks],
            selection=dg.AssetSelection.assets(*partitioned),
            resources=resources,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": seasons[0],
                "dagster/asset_partition_range_end": seasons[-1],
                "fpl_platform/trigger": "cli",
            },
            raise_on_error=True,
            run_config=QUIET,
        )
    )
    results.append(
        dg.materialize(
            [*assets, *checks],
            selection=dg.AssetSelection.assets(*unpartitioned),
            resources=resources,
            instance=instance,
            tags={"fpl_platform/trigger": "cli"},
            raise_on_error=True,
            run_config={**QUIET, "ops": QUICK} if quick else QUIET,
        )
    )
    return results


def cmd_demo(args: argparse.Namespace) -> int:
    prepare_home()
    import dagster as dg

    from fpl_platform.resources import Warehouse

    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        materialise_all(instance, quick=args.quick)
    from fpl_platform.lib.schemas import ALL_TABLES

    warehouse = Warehouse()
    # tables that only events fill (alerts, A/B tests) exist from the start, empty, so analysts' queries run
    warehouse.ensure(*ALL_TABLES)
    counts = warehouse.publish(note="make demo")
    elapsed = time.perf_counter() - started
    print()
    print(f"fpl_platform demo finished in {elapsed:.1f}s")
    print(f"  warehouse:     {warehouse.file}")
    print(f"  analyst copy:  {warehouse.analytics_file}")
    print('                 query it: .venv/bin/fpl-platform sql "SELECT season, count(*) FROM raw.matches GROUP BY ALL"')
    print(f"  dagster home:  {paths.dagster_home()}")
    print("  rows:")
    for table, rows in sorted(counts.items()):
        print(f"    {table:<28} {rows:>8,}")
    if not os.environ.get("FPL_PLATFORM_FOOTBALL_DATA"):
        print(
            "  raw.match_odds was skipped: set FPL_PLATFORM_FOOTBALL_DATA to a football-data.co.uk URL or directory to load odds."
        )
    print()
    print("Open the Dagster UI with `make ui` (http://127.0.0.1:3000).")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    prepare_home()
    # `dagster dev` runs the webserver and the daemon (sensors, schedule); --webserver-only just the UI
    program = ["dagster-webserver"] if args.webserver_only else ["dagster", "dev"]
    command = [
        str(Path(sys.executable).with_name(program[0])),
        *program[1:],
        "-h",
        args.host,
        "-p",
        str(args.port),
        "-w",
        str(paths.REPO_ROOT / "workspace.yaml"),
    ]
    print(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']}; starting {' '.join(command)}", flush=True)
    os.execv(command[0], command)
    return 0  # pragma: no cover - execv does not return


def cmd_publish(args: argparse.Namespace) -> int:
    from fpl_platform.resources import Warehouse

    warehouse = Warehouse()
    counts = warehouse.publish(note="fpl-platform publish")
    print(f"published {warehouse.analytics_file}: {len(counts)} tables, {sum(counts.values()):,} rows")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    path = paths.analytics_path()
    if not path.exists():
        print(f"{path} does not exist yet: run `make demo` first", file=sys.stderr)
        return 1
    connection = duckdb.connect(str(path), read_only=True)
    try:
        print(connection.sql(args.query))
    finally:
        connection.close()
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    prepare_home()
    import dagster as dg

    from fpl_platform.definitions import defs
    from fpl_platform.defs.training.jobs import MODEL_ASSETS
    from fpl_platform.defs.training.sensors import REFRESHED_TAG

    if args.model not in MODEL_ASSETS:
        print(f"unknown model {args.model!r}; expected one of {', '.join(sorted(MODEL_ASSETS))}", file=sys.stderr)
        return 2
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("rollback_job").execute_in_process(
            instance=instance,
            run_config={**QUIET, "ops": {"rollback_champion": {"config": {"model_name": args.model}}}},
            tags={
                REFRESHED_TAG: "fpl-platform rollback",
                "fpl_platform/evidence": f"fpl-platform rollback {args.model} (by a person)",
            },
            raise_on_error=False,
        )
        if not result.success:
            errors = [e.event_specific_data.error.message.strip() for e in result.all_events if e.is_step_failure]
            print(
                f"rollback of {args.model} failed: {'; '.join(errors) or 'see the Dagster run ' + result.run_id}", file=sys.stderr
            )
            return 1
        refreshed = dg.materialize(
            [*defs.assets, *(defs.asset_checks or [])],
            selection=dg.AssetSelection.assets(MODEL_ASSETS[args.model][1]),
            resources=defs.resources or {},
            instance=instance,
            tags={"fpl_platform/trigger": "rollback", "fpl_platform/after_run": result.run_id},
            raise_on_error=False,
            run_config=QUIET,
        )
    from fpl_platform.lib import tracking
    from fpl_platform.resources import MlflowTracking

    aliases = tracking.aliases(MlflowTracking().uri, args.model)
    print(f"{args.model}: champion is now version {aliases.get('champion')} (rolled back: {aliases.get('rolled_back')})")
    print(f"  predictions refreshed: {'yes' if refreshed.success else 'NO - see Dagster run ' + refreshed.run_id}")
    return 0 if refreshed.success else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from fpl_platform.replay import Replay

    replay = Replay(
        args.season,
        inject_drift=args.inject_drift,
        quick=args.quick,
        ab_test=args.ab_test,
        history_seasons=args.history_seasons,
        log=lambda line: print(line, flush=True),
    )
    started = time.perf_counter()
    state = replay.run(args.from_gameweek, args.to_gameweek)
    elapsed = time.perf_counter() - started
    played = [v for k, v in state.seconds.items() if k.startswith("gameweek_")]
    print()
    print(f"replay of {args.season} reached gameweek {state.next_gameweek - 1} in {elapsed:.0f}s this session")
    if played:
        print(
            f"  {len(played)} gameweeks so far, {sum(played) / len(played):.1f}s per gameweek (bootstrap {state.seconds.get('bootstrap', 0):.0f}s)"
        )
    print(f"  home: {replay.home}   (FPL_PLATFORM_HOME={replay.home} fpl-platform status)")
    return 0


def cmd_ab_test(args: argparse.Namespace) -> int:
    prepare_home()
    from fpl_platform import ab_tests
    from fpl_platform.resources import MlflowTracking, Warehouse

    warehouse = Warehouse()
    try:
        if args.action == "create":
            row = ab_tests.create(
                warehouse,
                MlflowTracking(),
                args.name,
                model=args.model,
                treatment=args.treatment,
                split=args.split,
                rollout=args.rollout or "",
                min_gameweeks_per_step=args.min_gameweeks_per_step,
                target_size=args.target_size,
                end_as_of=args.end,
                alpha=args.alpha,
            )
            print(f"A/B test {args.name}: {row['note']}; start it with `fpl-platform ab-test start {args.name}`")
        elif args.action == "start":
            ab_tests.start(warehouse, args.name)
            print(f"A/B test {args.name} is running: the next predictions are served by arm")
        elif args.action == "stop":
            ab_tests.stop(warehouse, args.name)
            print(f"A/B test {args.name} stopped: the champion serves every item again")
        else:
            print(ab_tests.report(warehouse, args.name))
    except ab_tests.AbTestError as error:
        print(f"ab-test {args.action}: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from fpl_platform.lib import status

    print(status.report())
    return 0


def cmd_build_data(args: argparse.Namespace) -> int:
    from fpl_platform.lib.bundle_builder import WHEEL_NAME, build_all

    wheel = Path(args.wheel) if args.wheel else None
    if wheel is None:
        import subprocess
        import tempfile

        target = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "airsenal==1.17.0", "-d", str(target)], check=True)
        wheel = target / WHEEL_NAME
    counts = build_all(wheel, Path(args.out))
    for name, rows in counts.items():
        print(f"{name:<20} {rows:>8,}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fpl-platform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="materialise every asset on the bundled data and publish the analyst copy")
    demo.add_argument("--quick", action="store_true", help="backtest one season with coarser refits (about 2x faster)")
    demo.set_defaults(func=cmd_demo)
    ui = sub.add_parser("ui", help="run `dagster dev` (webserver + daemon) against the platform's instance")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--webserver-only", action="store_true", help="the UI without the daemon (no sensor or schedule runs)")
    ui.set_defaults(func=cmd_ui)
    sub.add_parser("publish", help="publish analytics.duckdb from the warehouse").set_defaults(func=cmd_publish)
    sql = sub.add_parser("sql", help="run a query against the analyst copy (read-only)")
    sql.add_argument("query")
    sql.set_defaults(func=cmd_sql)
    rollback = sub.add_parser("rollback", help="restore a model's previous champion and refresh its predictions")
    rollback.add_argument("model", help="match_outcome or player_points")
    rollback.set_defaults(func=cmd_rollback)
    replay = sub.add_parser("replay", help="replay a bundled season gameweek by gameweek through sensors, schedule and gates")
    replay.add_argument("--season", default="2025-26")
    replay.add_argument("--from-gameweek", type=int, default=1)
    replay.add_argument("--to-gameweek", type=int, default=38)
    replay.add_argument("--inject-drift", help="e.g. swap:0.5@20 (swap home/away goals in 50%% of matches from gameweek 20)")
    replay.add_argument("--quick", action="store_true", help="lighter backtests and training validation")
    replay.add_argument(
        "--history-seasons", type=int, help="ingest only this many seasons before the replayed one (default: all)"
    )
    replay.add_argument(
        "--ab-test",
        help="A/B test a second match-outcome recipe all season at these treatment shares, e.g. 0.5 or 0.1,0.25,0.5",
    )
    replay.set_defaults(func=cmd_replay)
    ab_test = sub.add_parser("ab-test", help="A/B test a model version against the champion: create, start, stop, report")
    ab_actions = ab_test.add_subparsers(dest="action", required=True)
    create = ab_actions.add_parser("create", help="define a test (then `start` it)")
    create.add_argument("name")
    create.add_argument("--model", required=True, help="match_outcome or player_points")
    create.add_argument("--treatment", default="challenger", help="a registered version number or alias (default: challenger)")
    create.add_argument("--split", type=float, default=0.1, help="the treatment's initial share of items (default 0.1)")
    create.add_argument("--rollout", help="raise the share through these steps while not worse, e.g. 0.25,0.5")
    create.add_argument("--min-gameweeks-per-step", type=int, default=2)
    create.add_argument("--target-size", type=int, help="complete after this many evaluated items")
    create.add_argument("--end", help="complete at this as-of, e.g. 2025-26:38")
    create.add_argument("--alpha", type=float, default=0.05)
    for action, text in (
        ("start", "start serving by arm"),
        ("stop", "stop (the champion serves all)"),
        ("report", "print the analysis"),
    ):
        ab_actions.add_parser(action, help=text).add_argument("name")
    ab_test.set_defaults(func=cmd_ab_test)
    sub.add_parser(
        "status", help="champions, last retrain, last drift report, performance, open alerts, data freshness"
    ).set_defaults(func=cmd_status)
    build = sub.add_parser("build-data", help="rebuild data/ from the airsenal==1.17.0 wheel")
    build.add_argument("--wheel", help="path to airsenal-1.17.0-py3-none-any.whl (downloaded with pip when omitted)")
    build.add_argument("--out", default=str(paths.REPO_ROOT / "data"), help="output directory (default: data/)")
    build.set_defaults(func=cmd_build_data)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
