"""The analyst copy: published after successful runs by a sensor, readable while pipelines write."""

from __future__ import annotations

import multiprocessing
import time

import dagster as dg
import duckdb

from fpl_platform.definitions import defs
from fpl_platform.defs.analytics.jobs import publish_analytics_job
from fpl_platform.defs.analytics.sensors import publish_analytics_after_success
from fpl_platform_tests.conftest import materialise, resources_for


def _latest_run_record(instance, job_name=None):
    runs = instance.get_run_records(filters=dg.RunsFilter(job_name=job_name) if job_name else None, limit=1)
    return runs[0]


def _sensor_context(instance, run_record):
    run = run_record.dagster_run
    event = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0]
    return dg.build_run_status_sensor_context(
        sensor_name=publish_analytics_after_success.name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event.dagster_event,
        repository_def=defs.get_repository_def(),
    )


def test_sensor_requests_a_publish_after_a_run_that_wrote_tables(warehouse, instance):
    resources = resources_for(warehouse)
    materialise(["raw/matches"], resources, instance, seasons=("2025-26", "2025-26"))
    record = _latest_run_record(instance)
    request = publish_analytics_after_success(_sensor_context(instance, record))
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"publish-after-{record.dagster_run.run_id}"

    # run what the sensor asked for, on the same instance
    result = publish_analytics_job.execute_in_process(instance=instance, resources={"warehouse": warehouse})
    assert result.success
    copy = duckdb.connect(str(warehouse.analytics_file), read_only=True)
    assert copy.execute("SELECT count(*) FROM raw.matches").fetchone()[0] == 380
    assert result.run_id in copy.execute("SELECT note FROM main.published").fetchone()[0]
    copy.close()

    # the publish run itself does not trigger another publish
    publish_record = _latest_run_record(instance, publish_analytics_job.name)
    skipped = publish_analytics_after_success(_sensor_context(instance, publish_record))
    assert isinstance(skipped, dg.SkipReason) and "publish" in skipped.skip_message


def test_sensor_ticks_against_the_instance_through_its_cursor(warehouse, instance):
    """Daemon semantics: the tick reads run events from the instance after its cursor."""
    repository = defs.get_repository_def()

    def tick(cursor):
        context = dg.build_sensor_context(instance=instance, repository_def=repository, cursor=cursor)
        result = publish_analytics_after_success.evaluate_tick(context)
        return result, context.cursor if result.cursor is None else result.cursor

    first, cursor = tick(None)  # the first tick only positions the cursor
    assert first.run_requests == []
    materialise(["raw/matches"], resources_for(warehouse), instance, seasons=("2025-26", "2025-26"))
    run_id = _latest_run_record(instance).dagster_run.run_id
    second, cursor = tick(cursor)
    assert [r.run_key for r in second.run_requests] == [f"publish-after-{run_id}"]
    assert publish_analytics_after_success.job_name == publish_analytics_job.name  # the job the daemon launches
    third, cursor = tick(cursor)
    assert third.run_requests == []  # the same success is not published twice


def test_sensor_skips_runs_that_materialised_nothing(warehouse, instance):
    materialise(["raw/match_odds"], resources_for(warehouse), instance, seasons=("2025-26", "2025-26"))  # skipped: no source
    skipped = publish_analytics_after_success(_sensor_context(instance, _latest_run_record(instance)))
    assert isinstance(skipped, dg.SkipReason) and "materialised no assets" in skipped.skip_message


def test_sensor_is_running_by_default():
    assert publish_analytics_after_success.default_status == dg.DefaultSensorStatus.RUNNING


def _analyst(path: str, stop, results) -> None:
    """An analyst querying the published copy in a loop, opening a fresh read-only session each time."""
    ok = errors = 0
    last = ""
    while not stop.is_set():
        try:
            connection = duckdb.connect(path, read_only=True)
            connection.execute("SELECT count(*), sum(points) FROM raw.player_gameweeks").fetchone()
            connection.close()
            ok += 1
        except Exception as error:
            errors += 1
            last = repr(error)
        time.sleep(0.01)
    results.put((ok, errors, last))


def test_analyst_reads_while_a_materialisation_writes(warehouse, instance):
    resources = resources_for(warehouse)
    materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=("2025-26", "2025-26"))
    warehouse.publish()
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    analyst = multiprocessing.Process(target=_analyst, args=(str(warehouse.analytics_file), stop, results))
    analyst.start()
    try:
        for _ in range(2):
            result = materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=("2024-25", "2025-26"))
            assert result.success
            warehouse.publish()
    finally:
        stop.set()
        ok, errors, last = results.get(timeout=30)
        analyst.join()
    assert errors == 0, last
    assert ok > 10
    copy = duckdb.connect(str(warehouse.analytics_file), read_only=True)
    assert copy.execute("SELECT count(*) FROM raw.matches").fetchone()[0] == 760
    copy.close()
