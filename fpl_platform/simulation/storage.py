"""The replay's Dagster instance: production's sqlite storages, each holding one pooled SQLAlchemy engine.

Dagster's sqlite storages build a new SQLAlchemy engine for every connection they open: for every event
stored, run status change and sensor tick. Each new engine starts with an empty compiled-statement cache,
so every statement is compiled again, and opens (and closes) its own sqlite connection. A replay stores
about 175 events a gameweek and reads asset records, runs and ticks around them, all in one process. Its
instance (`replay_instance_yaml`, written by `Replay` into its own DAGSTER_HOME) therefore keeps one
engine per database file, whose pool keeps its connections open between uses (SQLAlchemy's default for
sqlite files; each use is still its own transaction).

Two more settings differ from production's `dagster.yaml`, both because a replay runs one run at a time,
in process:
- the event log is the consolidated one: one sqlite file, not one per run plus an index (the per-run shards
  exist so that concurrent run processes do not wait on one file's lock);
- the "duckdb" pool is claimed per run, not per step. Within a run the in-process executor runs one step
  at a time, so a per-step claim never waits; it only costs database round trips.

Everything else (the runs, events, asset records, checks, ticks and the pool's limit) is stored and read
as in production, and Dagster's webserver opens the replay's home like any other.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import yaml
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine

# the first line of a replay's dagster.yaml: `prepare_home` leaves such a file alone
from fpl_platform.runtime import REPLAY_INSTANCE_HEADER as HEADER


class _OneEngine:
    """One pooled engine per storage file; `connect` (or `_connect`) opens a transaction on it."""

    _conn_string: str
    connect_args: dict = {}

    @cached_property
    def _engine(self):
        return create_engine(self._conn_string, connect_args=self.connect_args)

    @contextmanager
    def _transaction(self):
        with self._engine.connect() as connection, connection.begin():
            yield connection

    def dispose(self) -> None:
        super().dispose()
        if "_engine" in self.__dict__:
            self.__dict__.pop("_engine").dispose()  # closes the pooled connections


class _OneEngineLocal(_OneEngine):
    """For the run and schedule storages: built by their `from_local`, connected through `connect`."""

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)  # the parents' build their own class, not `cls`

    def connect(self):
        return self._transaction()


class ReplayRunStorage(_OneEngineLocal, SqliteRunStorage):
    """`SqliteRunStorage` with one engine."""


class ReplayScheduleStorage(_OneEngineLocal, SqliteScheduleStorage):
    """`SqliteScheduleStorage` with one engine."""


class ReplayEventLogStorage(_OneEngine, ConsolidatedSqliteEventLogStorage):
    """`ConsolidatedSqliteEventLogStorage` (one file for every run's events) with one engine."""

    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}

    def _connect(self):
        return self._transaction()

    @cached_property
    def _tables(self) -> set[str]:
        return set()

    def has_table(self, table_name: str) -> bool:
        """Asked twice for every asset event stored (its parent builds an engine each time); a table once there stays."""
        if table_name not in self._tables:
            with self._engine.connect() as connection:
                if self._engine.dialect.has_table(connection, table_name):
                    self._tables.add(table_name)
        return table_name in self._tables


def replay_instance_yaml(production: Path, dagster_home: Path) -> str:
    """Production's instance settings (`production`, the repo's dagster.yaml) with the replay's storages and pool claims."""
    config = yaml.safe_load(production.read_text()) or {}
    config.pop("storage", None)
    module = __name__

    def storage(name: str, directory: str) -> dict:
        return {"module": module, "class": name, "config": {"base_dir": str(dagster_home / directory)}}

    config["run_storage"] = storage(ReplayRunStorage.__name__, "history")
    config["event_log_storage"] = storage(ReplayEventLogStorage.__name__, "history/events")
    config["schedule_storage"] = storage(ReplayScheduleStorage.__name__, "schedules")
    pools = config.setdefault("concurrency", {}).setdefault("pools", {})
    pools["granularity"] = "run"
    return HEADER + yaml.safe_dump(config, sort_keys=False)
