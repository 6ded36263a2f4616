"""The replay's Dagster instance: production's settings and sqlite storages, one SQLAlchemy engine per file."""

from __future__ import annotations

import collections

import dagster as dg
import sqlalchemy
import yaml

from fpl_platform.simulation.storage import ReplayEventLogStorage, ReplayRunStorage, ReplayScheduleStorage, replay_instance_yaml
from fpl_platform_tests.conftest import REPO


def _job():
    @dg.asset(pool="duckdb", check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
    def numbers():
        return dg.MaterializeResult(metadata={"n": 3}, check_results=[dg.AssetCheckResult(passed=True)])

    @dg.asset(deps=[numbers], pool="duckdb")
    def total():
        return dg.MaterializeResult(metadata={"n": 1})

    return dg.Definitions(assets=[numbers, total], jobs=[dg.define_asset_job("job")]).resolve_job_def("job")


def test_the_replay_instance_keeps_productions_settings_and_stores_everything_with_one_engine_per_file(tmp_path, monkeypatch):
    from fpl_platform.runtime import prepare_home

    home = tmp_path / "dagster"
    monkeypatch.setenv("FPL_PLATFORM_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    prepare_home(replay_instance_yaml(REPO / "dagster.yaml", home))
    written = (home / "dagster.yaml").read_text()
    prepare_home()  # any other command pointed at the replay's instance leaves its settings alone
    assert (home / "dagster.yaml").read_text() == written
    production = yaml.safe_load((REPO / "dagster.yaml").read_text())
    replay = yaml.safe_load((home / "dagster.yaml").read_text())
    assert "storage" not in replay
    for key in ("telemetry", "sensors"):
        assert replay[key] == production[key], key
    assert replay["concurrency"]["runs"] == production["concurrency"]["runs"]
    assert replay["concurrency"]["pools"] == {**production["concurrency"]["pools"], "granularity": "run"}

    engines: dict[str, set[int]] = collections.defaultdict(set)
    uses, opened = collections.Counter(), collections.Counter()

    def used(connection) -> None:
        engines[str(connection.engine.url)].add(id(connection.engine))
        uses[str(connection.engine.url)] += 1

    def connected(dbapi_connection, record) -> None:
        opened[dbapi_connection.execute("PRAGMA database_list").fetchone()[2]] += 1

    job = _job()
    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "engine_connect", used)
    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", connected)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert isinstance(instance.run_storage, ReplayRunStorage)
            assert isinstance(instance.event_log_storage, ReplayEventLogStorage)
            assert isinstance(instance.schedule_storage, ReplayScheduleStorage)
            for _ in range(3):
                assert job.execute_in_process(instance=instance).success
            pool = instance.event_log_storage._engine.pool
        assert pool.checkedin() == 0  # the instance's exit closed the pooled connections
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "engine_connect", used)
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "connect", connected)
    events = next(url for url in uses if "event_log" in url)
    assert uses[events] > 50  # every event stored is a use of a connection ...
    # ... of the storage's one engine (plus the one each storage builds once to create or migrate its file)
    assert all(len(ids) <= 2 for ids in engines.values()), {url: len(ids) for url, ids in engines.items()}
    # ... whose pool keeps a few sqlite connections open instead of opening one per use
    assert 0 < opened[str(home / "history" / "events" / "event_log.db")] <= 5, opened
    assert not list((home / "history").glob("*/*-*.db"))  # one event log file, no per-run shards

    # a second instance on the same home (as the webserver opens it) reads the runs, materialisations and checks
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 3 and all(run.is_success for run in runs)
        materialization = instance.get_latest_materialization_event(dg.AssetKey("total"))
        assert materialization is not None and materialization.run_id == runs[0].run_id
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")]
        )
        assert check[dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")].run_id == runs[0].run_id
        assert instance.get_concurrency_config().pool_config.pool_granularity.value == "run"
