"""DuckDB warehouse access: transactional table writes, lock-aware connects, the analyst copy.

DuckDB allows one writing process per file and, while it writes, no reading process either. Every
operation here opens a short-lived connection, retries while another process holds the file lock
(jittered exponential backoff), and gives up with an error that names the table it was working on.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from fpl_platform.lib.errors import DataValidationError
from fpl_platform.lib.schemas import ALL_TABLES, SCHEMAS, TableSchema


class WarehouseLockedError(RuntimeError):
    """The warehouse file stayed locked by another process for longer than the timeout."""


class WarehouseOpenError(OSError):
    """The warehouse file cannot be opened, for another reason than a lock (a read-only file system or directory, a
    directory where the file belongs, a file that is not a DuckDB database); the message names the path."""


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


@contextlib.contextmanager
def connect(
    path: str | os.PathLike,
    *,
    read_only: bool = False,
    timeout_seconds: float = 120.0,
    purpose: str = "the warehouse",
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to `path`, retried with jittered backoff while another process holds the lock.

    Inside `session(path)` it is a cursor on the session's open database instead (no lock to wait for).
    """
    path = Path(path)
    open_session = _open_sessions().get(str(path.resolve()))
    if open_session is not None:
        cursor = open_session.anchor.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        return
    mode = "read-only" if read_only else "read-write"
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            blocking = next((parent for parent in path.parents if parent.exists()), None)
            reason = (
                f"{blocking} is a file, not a directory"
                if blocking is not None and not blocking.is_dir()
                else f"its directory cannot be created ({error.strerror or error})"
            )
            raise WarehouseOpenError(f"cannot open {path} ({mode}) for {purpose}: {reason}") from error
    deadline = time.monotonic() + timeout_seconds
    delay = 0.05
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.Error as error:
            if not _is_lock_error(error):
                # DuckDB's own text may not name the file (sqlite-style "unable to open database file")
                reason = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
                raise WarehouseOpenError(f"cannot open {path} ({mode}) for {purpose}: {reason}") from error
            if time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"gave up on {purpose} after {timeout_seconds:.0f}s: {path} is locked by another process ({error})"
                ) from error
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
    try:
        yield connection
    finally:
        connection.close()


_sessions = threading.local()


@dataclass
class _Session:
    """An open database and the table definitions (DDL) this session has already ensured and committed."""

    anchor: duckdb.DuckDBPyConnection
    ensured: set[str] = field(default_factory=set)


def _open_sessions() -> dict[str, _Session]:
    if not hasattr(_sessions, "open"):
        _sessions.open = {}
    return _sessions.open


@contextlib.contextmanager
def session(path: str | os.PathLike, *, timeout_seconds: float = 120.0, purpose: str = "a session") -> Iterator[None]:
    """Keep `path` open for the block: every `connect(path)` inside (in this thread) reuses the open database.

    Opening a DuckDB file costs about 30 ms (lock, catalog, WAL replay, checkpoint on close); a step that
    reads and writes a dozen times pays it once. The process holds the file's lock for the whole block,
    so use it around short steps (the `duckdb` pool already runs one such step at a time), not around
    long model fits; a season replay holds one for its whole run, as nothing else opens its private
    warehouse. Each operation still runs in its own transaction. Nested sessions are one session.
    """
    key = str(Path(path).resolve())
    sessions = _open_sessions()
    if key in sessions:
        yield
        return
    with connect(path, timeout_seconds=timeout_seconds, purpose=purpose) as anchor:
        sessions[key] = _Session(anchor)
        try:
            yield
        finally:
            del sessions[key]


@contextlib.contextmanager
def _writing(path: str | os.PathLike, tables: Sequence[TableSchema], purpose: str, timeout_seconds: float):
    """A connection in a transaction, each table's schema ensured in it.

    Inside a session a table is ensured once: the session remembers it after the transaction commits (a
    rolled-back CREATE must be ensured again). Only this module creates or alters tables, so what a session
    has ensured stays true while it is open.
    """
    open_session = _open_sessions().get(str(Path(path).resolve()))
    done = open_session.ensured if open_session is not None else set()
    with connect(path, timeout_seconds=timeout_seconds, purpose=purpose) as connection:
        with _transaction(connection):
            for table in tables:
                if table.ddl() not in done:
                    ensure_table(connection, table)
            yield connection
        done.update(table.ddl() for table in tables)


def ensure_table(connection: duckdb.DuckDBPyConnection, table: TableSchema) -> None:
    """Create the table (and its schema) if missing; add columns a newer schema introduced."""
    schema = table.name.split(".")[0]
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    connection.execute(table.ddl())
    existing = {
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            table.name.split("."),
        ).fetchall()
    }
    for column in table.columns:
        if column.name not in existing:
            connection.execute(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {column.type}')
    _migrate_key(connection, table)


def ensure_tables(path: str | os.PathLike, tables: Sequence[TableSchema], *, timeout_seconds: float = 120.0) -> None:
    """Create whichever of `tables` are missing, empty, in one transaction (a documented table always exists)."""
    with _writing(path, tables, "creating tables", timeout_seconds):
        pass


def _migrate_key(connection: duckdb.DuckDBPyConnection, table: TableSchema) -> None:
    """Rebuild a table whose primary key an older schema defined differently (rows kept, same transaction)."""
    schema, name = table.name.split(".")
    found = connection.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [schema, name],
    ).fetchall()
    current = tuple(found[0][0]) if found else ()
    if current == tuple(table.key):
        return
    columns = ", ".join(f'"{c}"' for c in table.column_names)
    connection.execute(f"CREATE TEMP TABLE _rekey AS SELECT {columns} FROM {table.name}")
    connection.execute(f"DROP TABLE {table.name}")
    connection.execute(table.ddl())
    connection.execute(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM _rekey")
    connection.execute("DROP TABLE _rekey")


def validate_frame(table: TableSchema, frame: pd.DataFrame, source: str) -> None:
    """Columns, NULLs and key uniqueness of a frame about to be written; errors name the row and field."""
    missing = [c for c in table.column_names if c not in frame.columns]
    if missing:
        raise DataValidationError(source, f"table {table.name} needs columns {missing} that the data lacks")
    for column in table.columns:
        if column.nullable:
            continue
        nulls = frame[column.name].isna()
        if nulls.any():
            position = int(nulls.to_numpy().nonzero()[0][0])
            raise DataValidationError(
                source,
                f"{column.name} is empty but {table.name} requires a value",
                row=_row_of(frame, position),
                field=column.name,
            )
    if table.key:
        duplicated = frame.duplicated(list(table.key), keep=False)
        if duplicated.any():
            rows = [_row_of(frame, p) for p in duplicated.to_numpy().nonzero()[0][:2]]
            key = frame.loc[duplicated, list(table.key)].iloc[0].tolist()
            raise DataValidationError(
                source, f"duplicate {'/'.join(table.key)} {key} (rows {rows[0]} and {rows[1]})", row=rows[0], field=table.key[0]
            )


def _row_of(frame: pd.DataFrame, position: int) -> int:
    """The row number in the source file when the frame carries one (`_source_row`), else the position."""
    if "_source_row" in frame.columns:
        return int(frame["_source_row"].iat[position])
    return int(position)


def write_table(
    path: str | os.PathLike,
    table: TableSchema,
    frame: pd.DataFrame,
    *,
    partition_values: Sequence[str] | Sequence[tuple] | None = None,
    partition_by: Sequence[str] | None = None,
    source: str = "data",
    timeout_seconds: float = 120.0,
    unless_same_except: Sequence[str] | None = None,
    audit: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> int:
    """Replace the table (or the given partitions of it) with `frame` in one transaction.

    A partition is a value of the table's partition column, or with `partition_by` (several columns, e.g. season
    and gameweek) a tuple of their values. On any error the transaction rolls back and the previous content stays
    intact. With `unless_same_except` (columns such as `predicted_at` that say when, not what), nothing is written
    when the stored rows equal the frame in every other column: a re-run leaves the table identical. `audit` is
    called with the connection after the rows are in, before the commit, and sees the table as it would be
    published: an exception from it rolls the write back (write, audit, publish). Returns the rows written.
    """
    validate_frame(table, frame, source)
    columns = list(partition_by or [table.partition_column])
    if partition_values is not None:
        # NumPy scalars (a gameweek from a frame) as the Python values DuckDB binds
        wanted = [
            tuple(x.item() if isinstance(x, np.generic) else x for x in (v if partition_by else (v,))) for v in partition_values
        ]
        present = frame[columns].drop_duplicates().itertuples(index=False, name=None)
        outside = set(present) - set(wanted)
        if outside:
            shown = sorted(p if partition_by else p[0] for p in outside)
            raise DataValidationError(source, f"rows for partitions {shown} outside {list(partition_values)}")
    with _writing(path, [table], f"writing {table.name}", timeout_seconds) as connection:
        if partition_values is None:
            stored, parameters = f"SELECT * FROM {table.name}", []
        else:
            keys = ", ".join(f"unnest(${i + 1}) AS {column}" for i, column in enumerate(columns))
            match = " AND ".join(f"{table.name}.{column} = doomed.{column}" for column in columns)
            kept = " AND ".join(f"stored.{column} = doomed.{column}" for column in columns)
            stored = f"SELECT stored.* FROM {table.name} AS stored, (SELECT {keys}) AS doomed WHERE {kept}"
            parameters = [[value[i] for value in wanted] for i in range(len(columns))]
        if unless_same_except is not None and _same_rows(connection, table, frame, stored, parameters, unless_same_except):
            return 0
        if partition_values is None:
            connection.execute(f"DELETE FROM {table.name}")
        elif wanted:
            connection.execute(
                f"DELETE FROM {table.name} USING (SELECT {keys}) AS doomed WHERE {match}",
                parameters,
            )
        _insert(connection, table, frame)
        if audit is not None:
            audit(connection)
    return len(frame)


def _same_rows(
    connection: duckdb.DuckDBPyConnection,
    table: TableSchema,
    frame: pd.DataFrame,
    stored_sql: str,
    parameters: list,
    ignored: Sequence[str],
) -> bool:
    """Whether the stored rows (`stored_sql`) and the frame hold the same multiset of rows, `ignored` columns aside."""
    compared = ", ".join(f'"{c}"' for c in table.column_names if c not in ignored)
    connection.register("incoming_frame", frame[table.column_names])
    try:
        incoming = f"SELECT {compared} FROM (SELECT {_insert_select(table)} FROM incoming_frame)"
        stored = f"SELECT {compared} FROM ({stored_sql})"
        differing = connection.execute(
            f"SELECT count(*) FROM (({stored} EXCEPT ALL {incoming}) UNION ALL ({incoming} EXCEPT ALL {stored}))",
            parameters,
        ).fetchall()[0][0]
    finally:
        connection.unregister("incoming_frame")
    return differing == 0


def append_rows(
    path: str | os.PathLike,
    tables: Sequence[tuple[TableSchema, pd.DataFrame]],
    *,
    source: str = "data",
    timeout_seconds: float = 120.0,
) -> int:
    """Insert rows into one or more tables in a single transaction (logs such as monitoring.alerts, drift reports)."""
    return _insert_rows(path, tables, replace_keys=False, source=source, timeout_seconds=timeout_seconds)


def upsert_rows(
    path: str | os.PathLike,
    tables: Sequence[tuple[TableSchema, pd.DataFrame]],
    *,
    source: str = "data",
    timeout_seconds: float = 120.0,
) -> int:
    """Insert rows, replacing stored rows with the same key, into one or more tables in a single transaction."""
    for table, _ in tables:
        if not table.key:
            raise ValueError(f"{table.name} has no key to upsert on")
    return _insert_rows(path, tables, replace_keys=True, source=source, timeout_seconds=timeout_seconds)


def _insert_rows(
    path: str | os.PathLike,
    tables: Sequence[tuple[TableSchema, pd.DataFrame]],
    *,
    replace_keys: bool,
    source: str,
    timeout_seconds: float,
) -> int:
    """Validate every frame, then insert them all in one transaction (first deleting rows with the same keys)."""
    for table, frame in tables:
        validate_frame(table, frame, source)
    names = ", ".join(table.name for table, _ in tables)
    purpose = f"{'upserting into' if replace_keys else 'appending to'} {names}"
    with _writing(path, [table for table, _ in tables], purpose, timeout_seconds) as connection:
        for table, frame in tables:
            if replace_keys:
                key = ", ".join(f'"{column}"' for column in table.key)
                connection.register("incoming_keys", frame[list(table.key)])
                try:
                    connection.execute(f"DELETE FROM {table.name} WHERE ({key}) IN (SELECT ({key}) FROM incoming_keys)")
                finally:
                    connection.unregister("incoming_keys")
            _insert(connection, table, frame)
    return sum(len(frame) for _, frame in tables)


@contextlib.contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK on any error so the previous content survives."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _insert_select(table: TableSchema) -> str:
    """The select list that turns a registered frame into the table's columns (MAPs from lists of entries)."""
    return ", ".join(
        f'map_from_entries("{c.name}") AS "{c.name}"' if c.type.startswith("MAP") else f'"{c.name}"' for c in table.columns
    )


def _insert(connection: duckdb.DuckDBPyConnection, table: TableSchema, frame: pd.DataFrame) -> None:
    """INSERT … BY NAME from a frame; MAP columns arrive as lists of {key, value} entries."""
    connection.register("incoming_frame", frame[table.column_names])
    try:
        connection.execute(f"INSERT INTO {table.name} BY NAME SELECT {_insert_select(table)} FROM incoming_frame")
    finally:
        connection.unregister("incoming_frame")


def read_sql(
    path: str | os.PathLike, sql: str, params: Sequence | Mapping | None = None, *, timeout_seconds: float = 120.0
) -> pd.DataFrame:
    """Run a query and return a DataFrame; an absent warehouse file reads as an error naming it."""
    if not Path(path).exists():
        raise FileNotFoundError(f"warehouse {path} does not exist yet: materialise the ingestion assets first")
    with connect(path, read_only=True, timeout_seconds=timeout_seconds, purpose=f"reading ({sql[:60]})") as connection:
        return connection.execute(sql, params or []).df()


def table_digests(path: str | os.PathLike) -> dict[str, str]:
    """Per table, "<rows>:<digest of its content>", independent of row order: two warehouses with equal digests
    hold the same tables (re-run and replay comparisons)."""
    with connect(path, read_only=True, purpose="digesting tables") as connection:
        connection.execute("SET enable_progress_bar = false")  # a caller's terminal gets the digests only
        names = connection.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
        ).fetchall()
        return {
            name: "{}:{}".format(*connection.execute(f"SELECT count(*), sum(hash(t::VARCHAR)) FROM {name} AS t").fetchall()[0])
            for (name,) in names
        }


def table_exists(path: str | os.PathLike, qualified_name: str) -> bool:
    """Whether the table exists in the warehouse."""
    if not Path(path).exists():
        return False
    schema, name = qualified_name.split(".")
    # duckdb_tables() rather than information_schema.tables: a third of the cost, and asked ~30 times a gameweek
    found = read_sql(
        path,
        "SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?",
        [schema, name],
    )
    return bool(found["n"].iat[0])


def publish_copy(source: str | os.PathLike, target: str | os.PathLike, *, note: str = "", timeout_seconds: float = 120.0) -> dict:
    """Copy every table of `source` into a new file and atomically rename it over `target`; returns the row
    counts of the tables copied. The copy also has every documented table `source` lacks, empty.

    Analysts open `target` read-only; a session that has it open keeps reading the old version,
    the next connection sees the new one. The pipeline never reads `target`.
    """
    source, target = Path(source), Path(target)
    if str(source.resolve()) in _open_sessions():
        raise RuntimeError(f"publish_copy({source}) inside a session on it: publish after the session ends")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_publish_files(target)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    deadline = time.monotonic() + timeout_seconds
    delay = 0.05
    try:
        while True:
            _remove_publish_files(temporary)
            try:
                counts = _copy_database(source, temporary, note)
                break
            except duckdb.IOException as error:
                if not _is_lock_error(error):
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseLockedError(f"could not publish {target}: {source} stayed locked ({error})") from error
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
        os.replace(temporary, target)
    except BaseException:
        # a full copy of the warehouse: left behind, every failed publish would eat as much disk again
        _remove_publish_files(temporary)
        raise
    return counts


def remove_stale_publish_files(target: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of publishes to `target` whose process is gone (killed, out of memory, power cut).

    A publish writes `.<target name>.<pid>.tmp` (with its `.wal`, and a `.tmp` spill directory under memory
    pressure) beside `target`. A file whose pid is still running belongs to a publish in progress and is kept.
    Returns what was removed.
    """
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.tmp(\.wal|\.tmp)?")
    removed = []
    for candidate in target.parent.iterdir():
        found = pattern.fullmatch(candidate.name)
        if found is None or _process_running(int(found.group(1))):
            continue
        if candidate.is_dir():
            shutil.rmtree(candidate, ignore_errors=True)
        else:
            candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _remove_publish_files(temporary: Path) -> None:
    """A publish's temporary database, its write-ahead log and DuckDB's spill directory for it."""
    temporary.unlink(missing_ok=True)
    Path(f"{temporary}.wal").unlink(missing_ok=True)
    shutil.rmtree(f"{temporary}.tmp", ignore_errors=True)


def _process_running(pid: int) -> bool:
    """Whether `pid` is a live process on this machine (a zombie has exited: it holds no file open)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _copy_database(source: Path, temporary: Path, note: str) -> dict:
    connection = duckdb.connect(str(temporary))
    try:
        connection.execute(f"ATTACH '{source}' AS warehouse_source (READ_ONLY)")
        connection.execute(
            f"COPY FROM DATABASE warehouse_source TO {connection.execute('SELECT current_database()').fetchone()[0]}"
        )
        tables = connection.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema IN (SELECT unnest(?::VARCHAR[]))",
            [list(SCHEMAS)],
        ).fetchall()
        counts = {name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for (name,) in tables}
        # and every other documented table, empty until its first row (alerts, A/B tests): readers query what
        # docs/tables.md lists, whichever run published the copy
        for table in ALL_TABLES:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {table.name.split('.')[0]}")
            connection.execute(table.ddl())
        connection.execute("DETACH warehouse_source")
        connection.execute("CREATE OR REPLACE TABLE main.published AS SELECT now() AS published_at, ? AS note", [note])
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    return counts
