"""ConfigurableResources: the DuckDB warehouse, the data sources, MLflow, the notifier and the run's clock.

definitions.py sets them from the deployment's environment; unset paths fall back to the platform home
(lib.paths) so the same Definitions work in `make demo`, `dagster dev` and tests that pass explicit paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import PrivateAttr

from fpl_platform.lib import paths
from fpl_platform.lib.clock import Clock
from fpl_platform.lib.run_tags import REVEAL_TAG, SIMULATED_AT_TAG

if TYPE_CHECKING:  # pandas, duckdb and requests load lazily: every step and sensor tick imports this module
    import pandas as pd

    from fpl_platform.lib.schemas import TableSchema


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse: one transaction per table write, lock-aware connects, the analyst copy."""

    path: str = ""
    analytics_path: str = ""
    lock_timeout_seconds: float = 120.0

    @property
    def file(self) -> Path:
        return Path(self.path) if self.path else paths.warehouse_path()

    @property
    def analytics_file(self) -> Path:
        return Path(self.analytics_path) if self.analytics_path else paths.analytics_path()

    def session(self):
        """A context in which this process keeps the warehouse open (see `lib.warehouse.session`)."""
        from fpl_platform.lib import warehouse as duck

        return duck.session(self.file, timeout_seconds=self.lock_timeout_seconds, purpose="a step's warehouse session")

    def read(self, sql: str, params: Sequence | Mapping | None = None) -> pd.DataFrame:
        """Run a read-only query (positional `?` parameters as a sequence, named `$name` ones as a mapping)."""
        from fpl_platform.lib import warehouse as duck

        return duck.read_sql(self.file, sql, params, timeout_seconds=self.lock_timeout_seconds)

    def read_with_nullable_numbers(
        self, sql: str, columns: Sequence[str], params: Sequence | Mapping | None = None
    ) -> pd.DataFrame:
        """Run a query; integer `columns` that may hold NULL (goals, points of unplayed fixtures) come back as float."""
        frame = self.read(sql, params)
        for column in columns:
            frame[column] = frame[column].astype("Float64").astype(float)
        return frame

    def append(self, *tables: tuple[TableSchema, pd.DataFrame], source: str = "data") -> int:
        """Insert rows into one or more tables in one transaction (logs: alerts, drift reports)."""
        from fpl_platform.lib import warehouse as duck

        return duck.append_rows(self.file, tables, source=source, timeout_seconds=self.lock_timeout_seconds)

    def upsert(self, *tables: tuple[TableSchema, pd.DataFrame], source: str = "data") -> int:
        """Insert rows, replacing those with the same key, into one or more tables in one transaction."""
        from fpl_platform.lib import warehouse as duck

        return duck.upsert_rows(self.file, tables, source=source, timeout_seconds=self.lock_timeout_seconds)

    def exists(self, table: str) -> bool:
        """Whether `schema.table` exists."""
        from fpl_platform.lib import warehouse as duck

        return duck.table_exists(self.file, table)

    def write(
        self,
        table: TableSchema,
        frame: pd.DataFrame,
        *,
        partitions: Sequence[str] | Sequence[tuple] | None = None,
        partition_by: Sequence[str] | None = None,
        source: str = "data",
        unless_same_except: Sequence[str] | None = None,
        audit=None,
    ) -> int:
        """Replace the table, or the given partitions of it (tuples of the `partition_by` columns' values), in one
        transaction; with `unless_same_except`, not when only those columns would change; `audit(connection)` runs
        before the commit and may refuse the write (see `write_table`)."""
        from fpl_platform.lib import warehouse as duck

        return duck.write_table(
            self.file,
            table,
            frame,
            partition_values=partitions,
            partition_by=partition_by,
            source=source,
            timeout_seconds=self.lock_timeout_seconds,
            unless_same_except=unless_same_except,
            audit=audit,
        )

    def ensure(self, *tables: TableSchema) -> None:
        """Create whichever of `tables` are missing, empty (an asset that had nothing to write still has its table)."""
        from fpl_platform.lib import warehouse as duck

        duck.ensure_tables(self.file, tables, timeout_seconds=self.lock_timeout_seconds)

    def publish(self, note: str = "") -> dict:
        """Publish the analyst copy atomically; returns row counts per table."""
        from fpl_platform.lib import warehouse as duck

        return duck.publish_copy(self.file, self.analytics_file, note=note, timeout_seconds=self.lock_timeout_seconds)


def warehouse_step(compute: Callable) -> Callable:
    """Run an asset's, check's or sensor's body in one session of its `Warehouse` resource: one open, not one
    per query.

    For short steps in the `duckdb` pool and sensor ticks; training steps open sessions around their reads and
    writes only, so the file is not held while models fit.
    """
    import contextlib
    import functools
    import inspect

    def session_of(args: tuple, kwargs: dict):
        found = next((value for value in (*args, *kwargs.values()) if isinstance(value, Warehouse)), None)
        return found.session() if found is not None else contextlib.nullcontext()

    if inspect.isgeneratorfunction(compute):

        @functools.wraps(compute)
        def generator(*args, **kwargs):
            with session_of(args, kwargs):
                yield from compute(*args, **kwargs)

        return generator

    @functools.wraps(compute)
    def function(*args, **kwargs):
        with session_of(args, kwargs):
            return compute(*args, **kwargs)

    return function


class RunClock(dg.ConfigurableResource):
    """The run's "now", data cutoff and replay reveal (lib.clock.Clock): its tags', else these fields'.

    `default_as_of` is the deployment's cutoff ('<season>:<gameweek>', FPL_PLATFORM_AS_OF; empty: the latest).
    A run tagged by a replay carries its own simulated time, cutoff and reveal. A sensor has no run: it lives
    in real time, or in the replay's when the replay ticks it with `RunClock.of(clock)`.
    """

    default_as_of: str = ""
    simulated_at: str = ""
    reveal_through: str = ""
    _tags: dict = PrivateAttr(default_factory=dict)

    @classmethod
    def of(cls, clock: Clock) -> RunClock:
        at = clock.simulated_at.isoformat() if clock.simulated_at is not None else ""
        return cls(default_as_of=clock.as_of, simulated_at=at, reveal_through=clock.reveal)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._tags = dict(context.dagster_run.tags) if context.dagster_run else {}

    @property
    def state(self) -> Clock:
        own = Clock.from_tags({SIMULATED_AT_TAG: self.simulated_at, REVEAL_TAG: self.reveal_through})
        return Clock.from_tags({**own.tags(), **self._tags}, as_of=self.default_as_of)

    def now(self) -> pd.Timestamp:
        return self.state.now()

    @property
    def as_of(self) -> str:
        return self.state.as_of


class FplSource(dg.ConfigurableResource):
    """Where FPL matches, fixtures and player gameweeks come from: 'bundled' snapshot or 'live' FPL API."""

    mode: str = "bundled"
    data_dir: str = ""
    api_base: str = ""
    retries: int = 4
    backoff_seconds: float = 0.5

    def source(self, clock: RunClock):
        """The source object for this run: the bundled snapshot, the live API, or, for a run whose clock
        reveals a replayed season up to a gameweek, the bundled data as it stood then."""
        from fpl_platform.lib.sources import BundledSource, LiveSource, ReplaySource

        data_dir = self.data_dir or str(paths.data_dir())
        reveal = clock.state.reveal
        if reveal:
            return ReplaySource(data_dir, reveal)
        if paths.source_mode(self.mode, setting="FPL_PLATFORM_SOURCE (the fpl_source resource's mode)") == "bundled":
            return BundledSource(data_dir)
        base = self.api_base or paths.DEFAULT_FPL_API
        return LiveSource(data_dir, base, retries=self.retries, backoff_seconds=self.backoff_seconds)


class FootballData(dg.ConfigurableResource):
    """football-data.co.uk season CSVs: a base URL or a local directory laid out as `<yyzz>/E0.csv`."""

    location: str = ""
    retries: int = 4
    backoff_seconds: float = 0.5

    @property
    def base(self) -> str:
        return self.location


class MlflowTracking(dg.ConfigurableResource):
    """MLflow tracking and registry (sqlite + artifacts under FPL_PLATFORM_HOME/mlflow by default)."""

    tracking_uri: str = ""
    artifact_root: str = ""

    @property
    def uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        paths.mlflow_dir().mkdir(parents=True, exist_ok=True)
        return paths.mlflow_uri()

    @property
    def artifacts(self) -> str:
        return self.artifact_root or str(paths.mlflow_dir() / "artifacts")

    def training_run(self, experiment: str, run_name: str, tags: dict[str, str]):
        """Context manager: a new MLflow run that ends FINISHED or FAILED."""
        from fpl_platform.lib import tracking

        return tracking.training_run(self.uri, experiment, self.artifacts, run_name, tags)

    def register(self, model: object, name: str, run_id: str) -> str:
        """Log and register a model version; returns the version."""
        from fpl_platform.lib import tracking

        return tracking.log_model(self.uri, model, name, run_id=run_id)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        from fpl_platform.lib import tracking

        tracking.set_alias(self.uri, name, alias, version)

    def load(self, name: str, alias: str = "champion", *, version: str | None = None) -> tuple[object, str]:
        """The model object carrying `alias` (or the given version) and its version."""
        from fpl_platform.lib import tracking

        return tracking.load(self.uri, name, alias, version=version)

    def aliases(self, name: str) -> dict[str, str]:
        """alias → version of a registered model."""
        from fpl_platform.lib import tracking

        return tracking.aliases(self.uri, name)

    def has_version(self, name: str, version: str) -> bool:
        """Whether the registry holds this version (without loading the model)."""
        from fpl_platform.lib import tracking

        return tracking.version_exists(self.uri, name, version)

    def latest_version(self, name: str) -> tuple[str, dict[str, str], str] | None:
        """(version, tags, MLflow run id) of the newest registered version, or None."""
        from fpl_platform.lib import tracking

        return tracking.latest_version(self.uri, name)

    def delete_alias(self, name: str, alias: str) -> None:
        from fpl_platform.lib import tracking

        tracking.delete_alias(self.uri, name, alias)

    def tag_version(self, name: str, version: str, key: str, value: str) -> None:
        from fpl_platform.lib import tracking

        tracking.set_version_tag(self.uri, name, version, key, value)

    def versions(self, name: str) -> list:
        """Every registered version (version, tags, MLflow run id), oldest first, from one search."""
        from fpl_platform.lib import tracking

        return tracking.model_versions(self.uri, name)

    def unfinished_runs(self, experiment: str) -> list[tuple[str, dict[str, str]]]:
        """(run id, tags) of the experiment's RUNNING runs."""
        from fpl_platform.lib import tracking

        return tracking.unfinished_runs(self.uri, experiment)

    def end_run_failed(self, run_id: str, reason: str) -> None:
        """End a run left RUNNING by a dead process as FAILED, saying why."""
        from fpl_platform.lib import tracking

        tracking.end_run_failed(self.uri, run_id, reason)


class Notifier(dg.ConfigurableResource):
    """Sends alerts to the channels configured by environment variables and records every outcome in monitoring.alerts.

    Channels: FPL_PLATFORM_SMTP_HOST/_PORT/_USER/_PASSWORD/_FROM/_TO (STARTTLS + login; _CA_FILE to trust a
    private CA), FPL_PLATFORM_SLACK_WEBHOOK, FPL_PLATFORM_DISCORD_WEBHOOK, FPL_PLATFORM_ALERT_WEBHOOK.
    Secrets are read when sending, never stored in this resource's config.
    """

    cooldown_minutes: float = 60.0
    retries: int = 2
    backoff_seconds: float = 0.5

    def notify(self, alert, warehouse: Warehouse, now: pd.Timestamp) -> list:
        """Deliver `alert` unless its key sent within the cooldown before `now` (the run's clock); a failing
        channel never raises. Returns the deliveries."""
        import uuid
        from datetime import timedelta

        import pandas as pd

        from fpl_platform.lib import notify, schemas

        last_sent = None
        if warehouse.exists(schemas.ALERTS.name):
            found = warehouse.read(
                "SELECT max(created_at) AS last FROM monitoring.alerts WHERE alert_key = ? AND status = 'sent'", [alert.key]
            )["last"].iat[0]
            last_sent = None if pd.isna(found) else pd.Timestamp(found)
        if notify.in_cooldown(last_sent, now, timedelta(minutes=self.cooldown_minutes)):
            deliveries = [notify.Delivery("none", "suppressed", 0, f"same key sent at {last_sent}")]
        else:
            deliveries = notify.deliver(
                alert, notify.channels_from_environment(), retries=self.retries, backoff_seconds=self.backoff_seconds
            )
        rows = pd.DataFrame(
            [
                {
                    "alert_id": uuid.uuid4().hex,
                    "created_at": now,
                    "alert_key": alert.key,
                    "severity": alert.severity,
                    "title": alert.title,
                    "message": alert.text(),
                    "metric": alert.metric,
                    "value": alert.value,
                    "threshold": alert.threshold,
                    "channel": d.channel,
                    "status": d.status,
                    "attempts": d.attempts,
                    "error": d.error,
                }
                for d in deliveries
            ]
        )
        rows["alert_id"] = rows["alert_id"].iat[0]
        warehouse.append((schemas.ALERTS, rows), source=schemas.ALERTS.name)
        return deliveries
