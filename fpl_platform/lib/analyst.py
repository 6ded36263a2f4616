"""The read-only SQL door to the analyst copy: one connection factory for `fpl-platform sql`, dashboards and APIs.

`duckdb.connect(path, read_only=True)` alone only stops writes to that one file: its SQL can still ATTACH the
warehouse read-write, COPY over any file, INSTALL extensions from the internet and SET its way out. Every
reader that runs SQL it did not write itself opens the analyst copy through `connect_read_only`.
"""

from __future__ import annotations

import os
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
                connection.execute(statement)
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
