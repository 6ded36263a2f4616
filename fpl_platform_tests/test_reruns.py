"""Re-runs are no-ops: the whole graph, every asset alone, then a new round of results (its first run killed
mid-write, the next recovering) and the whole graph again.

Everything runs in one FPL_PLATFORM_HOME through the platform's own Dagster instance, as `fpl-platform demo`
does; tables are compared by content (`table_digests`), the registry by its versions and aliases.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg

from fpl_platform.lib import tracking
from fpl_platform.lib.clock import Clock
from fpl_platform.lib.warehouse import table_digests

SEASONS = ["2023-24", "2024-25", "2025-26"]
# the bundled data as it stood before the season's last round (gameweek 38 not yet played), then after it
BEFORE_LAST_ROUND, AFTER_LAST_ROUND = Clock(reveal="2025-26:37").tags(), Clock(reveal="2025-26:38").tags()
MODELS = ("match_outcome", "player_points")


def kill_mid_write(instance, step_key: str, tags: dict) -> str:
    """Start the whole graph (its runs tagged `tags`) in another process, as `fpl-platform demo` does, and kill -9
    it once `step_key` (a step that writes a large table) has started; returns the dead run's id."""
    script = (
        "import dagster as dg\nfrom fpl_platform import runtime as cli\ncli.prepare_home()\n"
        "with dg.DagsterInstance.get() as instance:\n"
        f"    cli.materialise_all(instance, seasons={SEASONS!r}, quick=True, tags={tags!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ), stdout=subprocess.DEVNULL)
    before = {r.dagster_run.run_id for r in instance.get_run_records()}
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                run_id = record.dagster_run.run_id
                started = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
                if run_id not in before and any(event.step_key == step_key for event in started):
                    time.sleep(0.5)  # inside the step: reading, computing or writing its table
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()
                    return run_id
            time.sleep(0.2)
        raise AssertionError(f"{step_key} never started (exit status {process.poll()})")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def registry(uri: str) -> dict:
    return {name: (tracking.latest_version(uri, name)[0], tracking.aliases(uri, name)) for name in MODELS}


def changed(before: dict, after: dict) -> dict:
    return {
        name: (before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def test_rerunning_the_graph_and_each_asset_changes_nothing_and_a_new_round_is_taken_in(isolated_home):
    from fpl_platform import runtime as cli
    from fpl_platform.definitions import defs
    from fpl_platform.resources import MlflowTracking, Warehouse

    cli.prepare_home()
    warehouse, uri = Warehouse().file, MlflowTracking().uri
    with dg.DagsterInstance.get() as instance:
        cli.materialise_all(instance, seasons=SEASONS, quick=True, tags=BEFORE_LAST_ROUND)
        first, models = table_digests(warehouse), registry(uri)
        assert len(first) >= 20 and all(version == "1" for version, _ in models.values())

        # every asset alone (the whole graph again is the last step, and the README test's second `make demo`)
        graph = defs.resolve_asset_graph()
        for key in graph.toposorted_asset_keys:
            spec = graph.get(key)
            ops = {op: config for op, config in cli.QUICK.items() if op == key.to_python_identifier()}
            tags = dict(BEFORE_LAST_ROUND)
            if spec.partitions_def is not None:
                tags |= {"dagster/asset_partition_range_start": SEASONS[0], "dagster/asset_partition_range_end": SEASONS[-1]}
            result = dg.materialize(
                [*defs.assets, *defs.asset_checks],
                selection=dg.AssetSelection.assets(key).required_multi_asset_neighbors(),
                resources=defs.resources,
                instance=instance,
                tags=tags,
                run_config={**cli.QUIET, "ops": ops},
                raise_on_error=False,
            )
            assert result.success, f"{key.to_user_string()} failed when materialised again on its own"
            assert changed(first, table_digests(warehouse)) == {}, f"{key.to_user_string()} alone changed tables"
        assert registry(uri) == models

        # the last round's results arrive, and the run taking them in is killed (kill -9) in the middle of a write
        killed = kill_mid_write(instance, "raw__player_gameweeks", AFTER_LAST_ROUND)
        assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.STARTED  # what the crash leaves behind
        assert killed in instance.event_log_storage.get_concurrency_run_ids(), "the dead run should hold the pool slot"
        # the next run recovers: the dead run is failed with its reason and alerted, its slot freed; then it runs
        cli.materialise_all(instance, seasons=SEASONS, quick=True, tags=AFTER_LAST_ROUND)
        dead = instance.get_run_by_id(killed)
        assert dead.status == dg.DagsterRunStatus.FAILURE
        [failure] = instance.all_logs(killed, of_type=dg.DagsterEventType.RUN_FAILURE)
        assert "its process (pid" in failure.message and "is gone" in failure.message
        assert instance.event_log_storage.get_concurrency_run_ids() == set()
        alerts = Warehouse().read("SELECT title, message FROM monitoring.alerts WHERE alert_key LIKE 'run_failure:%'")
        assert any(killed in message for message in alerts["message"]), alerts
        # and the tables are what the uninterrupted run gives (below: the new round taken in, a re-run a no-op)
        after = table_digests(warehouse)
        moved = changed(first, after)
        assert {"raw.matches", "raw.fixtures", "raw.player_gameweeks", "features.match_features"} <= set(moved)
        rows = lambda digest: int(digest.split(":")[0])  # noqa: E731
        assert rows(after["raw.matches"]) == rows(first["raw.matches"]) + 10
        assert registry(uri) == models, "results after the training cutoff retrained a model"

        cli.materialise_all(instance, seasons=SEASONS, quick=True, tags=AFTER_LAST_ROUND)
        assert changed(after, table_digests(warehouse)) == {}, "re-running after the new round changed tables"
        assert registry(uri) == models, "the whole graph run again trained new model versions"
        for backtest in (["ml", "match_backtest"], ["ml", "player_backtest"]):  # every fold's fit came from the cache
            fits = instance.get_latest_materialization_event(dg.AssetKey(backtest)).asset_materialization.metadata["fits"]
            assert fits.value["fitted"] == 0 and fits.value["reused"] > 0, (backtest, fits.value)
