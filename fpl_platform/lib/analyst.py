"""The read-only SQL door to the analyst copy: one connection factory for `fpl-platform sql`, dashboards and APIs.

`duckdb.connect(path, read_only=True)` alone only stops writes to that one file: its SQL can still ATTACH the
warehouse read-write, COPY over any file, INSTALL extensions from the internet and SET its way out. Every
reader that runs SQL it did not write itself opens the analyst copy through `connect_read_only`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb

# Set when the database starts, then locked: a statement cannot undo them (DuckDB 2.0, constraints.txt).
READ_ONLY_CONFIG: dict[str, object] = {
    # no file or network beyond the opened database: ATTACH, COPY TO/FROM, EXPORT, read_csv/read_parquet/...,
    # INSTALL, LOAD of a file, persistent secrets, Python replacement scans
    "enable_external_access": False,
    # a query naming httpfs, sqlite, ... does not quietly fetch or load the extension
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_persistent_secrets": False,
    # without it, SET, RESET or a PRAGMA could turn any of the above back on
    "lock_configuration": True,
}

# What each kind of refused statement would have done, for the refusal's one line
_REFUSED_KINDS = {
    "ATTACH": "attaching another database",
    "DETACH": "detaching a database",
    "COPY": "reading or writing files with COPY",
    "COPY_DATABASE": "copying a database",
    "EXPORT": "exporting files",
    "LOAD": "installing or loading extensions",
    "EXTENSION": "installing or loading extensions",
    "SET": "changing a setting",
    "VARIABLE_SET": "changing a setting",
    "PRAGMA": "changing a setting",
    "CREATE": "writing to the analyst copy",
    "CREATE_FUNC": "writing to the analyst copy",
    "INSERT": "writing to the analyst copy",
    "UPDATE": "writing to the analyst copy",
    "DELETE": "writing to the analyst copy",
    "DROP": "writing to the analyst copy",
    "ALTER": "writing to the analyst copy",
    "MERGE_INTO": "writing to the analyst copy",
    "VACUUM": "writing to the analyst copy",
    "ANALYZE": "writing to the analyst copy",
    "SELECT": "reading files or URLs outside the analyst copy",
}

# DuckDB's own words when the configuration above stops a statement
_REFUSAL_MARKS = (
    "disabled by configuration",
    "disabled through configuration",
    "configuration has been locked",
    "read-only mode",
    "external access",
)


class RefusedStatement(Exception):
    """A statement the read-only SQL door does not run: it would write, reach outside the analyst copy, or change
    a setting. The message is one line naming the statement and what was refused."""

    def __init__(self, statement: str, kind: str, reason: str):
        self.statement = statement
        self.kind = kind
        self.reason = reason
        super().__init__(f"the SQL door is read-only: refused {kind}: `{statement}` ({reason})")


def connect_read_only(path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """Open the analyst copy at `path` for SQL written by someone else (an analyst, a dashboard, an HTTP API).

    The connection reads the tables of that one file and nothing else:
    - read-only: CREATE, INSERT, UPDATE, DELETE, DROP on the analyst copy fail;
    - external access disabled: ATTACH (of the warehouse or any file), COPY ... TO/FROM, EXPORT DATABASE, file
      readers (`read_csv`, `read_parquet`, `read_json`, `read_text`, `'file.csv'`, glob) on any path or URL, and
      Python replacement scans fail;
    - no extensions: INSTALL and LOAD fail, and none is installed or loaded on a query's behalf;
    - configuration locked: SET, RESET and setting PRAGMAs fail, so none of the above can be switched back on.
    Temporary tables, macros and `SET VARIABLE` still work: they live in this connection's memory and vanish
    with it.

    Pass each statement through `run` to turn a refusal into a `RefusedStatement` that names it. Raises
    FileNotFoundError naming `path` when there is no analyst copy yet (DuckDB would otherwise create nothing and
    say only "cannot open").
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"analyst copy {path} does not exist yet: publish the warehouse first (`fpl-platform publish`)")
    return duckdb.connect(str(path), read_only=True, config=dict(READ_ONLY_CONFIG))


def run(connection: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation | None:
    """Run the statements of `sql` in order on a `connect_read_only` connection and return the last one's result.

    The result is a relation (print it, or `.df()`, `.fetchall()`), or None for a statement without rows. A
    statement the door refuses raises `RefusedStatement` naming it, and the statements after it do not run; any
    other DuckDB error (a syntax error, an unknown table) is raised as DuckDB raised it.
    """
    statements = connection.extract_statements(sql)
    result = None
    for statement in statements:
        try:
            # every statement but the last runs to completion; the last comes back as a relation to render
            if statement is statements[-1]:
                result = connection.sql(statement.query)
            else:
                # to its end: DuckDB 2 keeps a statement's rows pending and refuses the next statement until then
                connection.execute(statement).fetchall()
        except duckdb.Error as error:
            refusal = refused(statement, error)
            if refusal is None:
                raise
            raise refusal from error
    return result


def refused(statement: duckdb.Statement, error: duckdb.Error) -> RefusedStatement | None:
    """The `RefusedStatement` for `error` when the door's configuration caused it, else None (an ordinary error)."""
    text = str(error)
    if not isinstance(error, duckdb.PermissionException) and not any(mark in text.lower() for mark in _REFUSAL_MARKS):
        return None
    kind = _REFUSED_KINDS.get(statement.type.name, "reaching outside the analyst copy")
    reason = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return RefusedStatement(_shown(statement.query), kind, reason)


def _shown(query: str, width: int = 100) -> str:
    """A statement on one line, shortened to `width` characters."""
    flat = " ".join(query.split()).rstrip(";").rstrip()
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class AnalystCopy:
    """Cursors on the analyst copy, one connection per published file (a publish renames a new file over it).

    DuckDB keeps one database per path in a process: while any connection to the old file is open, connecting to
    the path again reaches the old file. So a new file is opened only once the requests reading the old one have
    closed their cursors (milliseconds), and the old connection is closed first."""

    def __init__(self, path: Path):
        self.path = path
        self._changed = threading.Condition()
        self._identity: tuple[int, int] | None = None
        self._connection = None
        self._reading = 0

    def identity(self) -> tuple[int, int]:
        """The published file's identity (inode, mtime): a publish renames a new file over the path, so it changes
        exactly when the content does. FileNotFoundError when there is no copy yet."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise FileNotFoundError(f"no analyst copy at {self.path}: run `make demo` or `fpl-platform publish`") from None
        return stat.st_ino, stat.st_mtime_ns

    @contextlib.contextmanager
    def cursor(self) -> Iterator[tuple]:
        """A cursor on the newest published copy, and that copy's identity; FileNotFoundError when there is none."""
        with self._changed:
            while (identity := self.identity()) != self._identity:
                if self._reading:  # readers of the old file first; another waiter may open the new one meanwhile
                    self._changed.wait()
                    continue
                if self._connection is not None:
                    self._connection.close()
                self._connection = connect_read_only(self.path)
                self._identity = identity
            cursor = self._connection.cursor()
            self._reading += 1
        try:
            yield cursor, identity
        finally:
            cursor.close()
            with self._changed:
                self._reading -= 1
                self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            if self._connection is not None:
                self._connection.close()
            self._connection, self._identity = None, None

    def published_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(os.stat(self.path).st_mtime, tz=dt.UTC)
