"""The same automation for every run: a failure is alerted and a success republishes the analyst copy,
whether the run came from `fpl-platform materialize` (no daemon needed) or from Dagster's own
`dagster asset materialize` (the daemon's run-status sensors, which now watch runs without an origin).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from fpl_platform.definitions import defs
from fpl_platform.defs.analytics.sensors import publish_analytics_after_success
from fpl_platform.defs.monitoring.sensors import alert_on_run_failure
from fpl_platform.runtime import location_job_origin, prepare_home
from fpl_platform_tests.conftest import REPO

BIN = Path(sys.executable).parent


def run(command: str, *arguments: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / command), *arguments], capture_output=True, text=True, cwd=cwd, env={**os.environ, **env}, timeout=600
    )


def single_line(out: subprocess.CompletedProcess, status: int) -> str:
    lines = out.stderr.splitlines()
    assert out.returncode == status and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr[-3000:]
    return lines[0]


def rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def alerts(home: Path) -> list[tuple]:
    return rows(home / "warehouse.duckdb", "SELECT alert_key, title FROM monitoring.alerts ORDER BY created_at")


def short_matches(data_dir: Path) -> Path:
    """A valid matches.parquet missing 50 of 2025-26's results: a load the audit refuses."""
    path = data_dir / "matches.parquet"
    frame = pd.read_parquet(path)
    frame.drop(frame[frame["season"] == "2025-26"].index[:50]).to_parquet(path, index=False)
    return data_dir


def test_fpl_platform_materialize_publishes_after_success_and_alerts_after_failure(isolated_home, data_dir):
    done = run("fpl-platform", "materialize", "raw/matches", "--partition", "2025-26")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "materialised raw/matches" in done.stdout and "published" in done.stdout, done.stdout
    assert rows(isolated_home / "analytics.duckdb", "SELECT count(*) FROM raw.matches") == [(380,)]
    with dg.DagsterInstance.get() as instance:
        [record] = instance.get_runs()
        # the UI's run list shows the run's assets as its target, and not the recovery's bookkeeping tag
        assert record.asset_selection == {dg.AssetKey(["raw", "matches"])}
        assert [tag for tag in record.tags if "process" in tag] == [".dagster/fpl_platform_process"]

    again = run("fpl-platform", "materialize", "raw/matches", "--partition", "2025-26")
    assert again.returncode == 0, again.stderr[-3000:]  # the same load again changes nothing and passes

    refused = run(
        "fpl-platform", "materialize", "raw/matches", "--partition", "2025-26", FPL_PLATFORM_DATA_DIR=str(short_matches(data_dir))
    )
    line = single_line(refused, 1)
    assert "raw.matches refused" in line and "alert recorded" in line, line
    assert alerts(isolated_home) == [("run_failure:__ASSET_JOB", "Asset run failed at step raw__matches")]
    # the analyst copy still holds the good season, as does the warehouse
    assert rows(isolated_home / "analytics.duckdb", "SELECT count(*) FROM raw.matches") == [(380,)]
    assert rows(isolated_home / "warehouse.duckdb", "SELECT count(*) FROM raw.matches") == [(380,)]


def test_fpl_platform_materialize_refuses_bad_arguments_in_one_line_before_writing(isolated_home):
    line = single_line(run("fpl-platform", "materialize", "raw/matchs"), 2)
    assert "asset is 'raw/matchs'" in line and "raw/matches" in line, line
    line = single_line(run("fpl-platform", "materialize", "raw/matches", "--partition", "1999-00"), 2)
    assert "'1999-00' is not a season with data" in line, line
    line = single_line(run("fpl-platform", "materialize", "raw/matches", "--partition", "2026-27"), 2)
    assert "'2026-27' is not a season with data; expected one of 2014-15 to 2025-26" in line, line
    line = single_line(run("fpl-platform", "materialize"), 2)
    assert "ASSET" in line, line
    assert list(isolated_home.iterdir()) == []


def _tick(sensor, instance, cursor):
    """A sensor tick as the daemon evaluates it: with the code location's origin in its context."""
    context = dg.SensorEvaluationContext(
        instance_ref=None,
        instance=instance,
        cursor=cursor,
        repository_def=defs.get_repository_def(),
        repository_name=defs.get_repository_def().name,
        sensor_name=sensor.name,
        resources=defs.resources,
        code_location_origin=location_job_origin(sensor.name).repository_origin.code_location_origin,
    )
    result = sensor.evaluate_tick(context)
    return result, result.cursor or context.cursor


def test_the_daemons_sensors_alert_and_publish_after_dagster_asset_materialize(isolated_home, data_dir):
    """`dagster asset materialize` records runs without a code-location origin; the sensors still see them."""
    prepare_home()  # the instance the commands use: the repo's dagster.yaml under DAGSTER_HOME
    with dg.DagsterInstance.get() as instance:
        publish_cursor = _tick(publish_analytics_after_success, instance, None)[1]
        alert_cursor = _tick(alert_on_run_failure, instance, None)[1]

    select = ("asset", "materialize", "-m", "fpl_platform.definitions", "--select", "raw/matches", "--partition", "2025-26")
    # from the home, not the repo root: the repo's .env would point Dagster at the repo's own instance
    done = run("dagster", *select, cwd=isolated_home)
    assert done.returncode == 0, done.stderr[-3000:]
    failed = run("dagster", *select, cwd=isolated_home, FPL_PLATFORM_DATA_DIR=str(short_matches(data_dir)))
    assert failed.returncode != 0

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=2)
        assert [r.remote_job_origin for r in runs] == [None, None]  # what makes them invisible to a location's sensors
        published, _ = _tick(publish_analytics_after_success, instance, publish_cursor)
        assert [request.run_key for request in published.run_requests] == [f"publish-after-{runs[1].run_id}"]
        _tick(alert_on_run_failure, instance, alert_cursor)
    assert alerts(isolated_home) == [("run_failure:__ASSET_JOB", "Asset run failed at step raw__matches")]
