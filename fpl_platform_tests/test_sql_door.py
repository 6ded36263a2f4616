"""`fpl-platform sql` is a read-only door: the statements the fault probe used to damage the warehouse are refused
with one line, and no file changes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from fpl_platform.lib import analyst, paths
from fpl_platform.lib import warehouse as duck

CLI = Path(sys.executable).with_name("fpl-platform")


@pytest.fixture
def door(isolated_home, tmp_path) -> dict[str, Path]:
    """A warehouse with raw.matches, its published analyst copy, and a CSV and Parquet file outside the home."""
    warehouse = paths.warehouse_path()
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE SCHEMA raw")
        connection.execute(
            "CREATE TABLE raw.matches AS SELECT * FROM (VALUES ('2025-26', 'Arsenal', 'Chelsea', 2, 1), "
            "('2025-26', 'Everton', 'Fulham', 0, 0)) AS t(season, home_team, away_team, home_goals, away_goals)"
        )
    duck.publish_copy(warehouse, paths.analytics_path(), note="test")
    outside = tmp_path / "outside"
    outside.mkdir()
    pd.DataFrame({"secret": [42]}).to_csv(outside / "secret.csv", index=False)
    pd.DataFrame({"secret": [42]}).to_parquet(outside / "secret.parquet")
    return {"home": isolated_home, "warehouse": warehouse, "analytics": paths.analytics_path(), "outside": outside}


def sql(query: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "sql", query], capture_output=True, text=True, env=dict(os.environ), timeout=120)


def fingerprint(*directories: Path) -> dict[str, str]:
    """Every file under the directories with the SHA-256 of its bytes: a changed, added or removed file shows."""
    return {
        str(file): hashlib.sha256(file.read_bytes()).hexdigest()
        for directory in directories
        for file in sorted(directory.rglob("*"))
        if file.is_file()
    }


REFUSED = {
    "attach the warehouse read-write, then delete": (
        "ATTACH '{warehouse}' AS production (READ_WRITE); DELETE FROM production.raw.matches",
        "attaching another database",
    ),
    "copy over the warehouse": ("COPY (SELECT 1 AS x) TO '{warehouse}'", "COPY"),
    "copy to a new file": ("COPY raw.matches TO '{outside}/leak.csv'", "COPY"),
    "install httpfs": ("INSTALL httpfs", "extensions"),
    "load httpfs": ("LOAD httpfs", "extensions"),
    "read_csv outside": ("SELECT * FROM read_csv('{outside}/secret.csv')", "reading files"),
    "read_parquet outside": ("SELECT * FROM read_parquet('{outside}/secret.parquet')", "reading files"),
    "a file named as a table": ("SELECT * FROM '{outside}/secret.csv'", "reading files"),
    "set a setting": ("SET threads = 1", "changing a setting"),
    "switch external access back on": ("SET enable_external_access = true", "changing a setting"),
    "create a table": ("CREATE TABLE raw.injected AS SELECT 1 AS x", "writing to the analyst copy"),
}


@pytest.mark.parametrize(("statement", "refusal"), REFUSED.values(), ids=REFUSED.keys())
def test_the_sql_door_refuses_with_one_line_and_changes_no_file(door, statement, refusal):
    query = statement.format(**door)
    before = fingerprint(door["home"], door["outside"])
    out = sql(query)
    lines = out.stderr.splitlines()
    assert out.returncode == 1, (out.returncode, out.stderr[-2000:])
    assert len(lines) == 1, out.stderr[-2000:]
    assert lines[0].startswith("fpl-platform sql: the SQL door is read-only: refused "), lines[0]
    assert refusal in lines[0] and query.split()[0] in lines[0], lines[0]
    assert "secret" not in out.stdout and "42" not in out.stdout
    assert fingerprint(door["home"], door["outside"]) == before


def test_the_sql_door_answers_selects(door):
    query = (
        "-- the README's style\nSELECT season, count(*) AS matches, sum(home_goals) AS goals\nFROM raw.matches GROUP BY season;"
    )
    out = sql(query)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert "2025-26" in out.stdout and "matches" in out.stdout
    # temporary tables live in the connection's memory only: allowed, and gone with it
    out = sql("CREATE TEMP TABLE goals AS SELECT home_goals FROM raw.matches; SELECT sum(home_goals) AS total FROM goals")
    assert out.returncode == 0 and "total" in out.stdout and "2" in out.stdout, out.stderr
    # several queries: each runs to its end, the last one's rows are shown
    out = sql("SELECT count(*) AS n FROM raw.matches; SELECT 'second' AS which, 42 AS answer")
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert "second" in out.stdout and "42" in out.stdout


def test_ordinary_errors_stay_duckdbs_first_line(door):
    out = sql("SELECT * FROM raw.nosuch")
    assert out.returncode == 1 and out.stderr.startswith("fpl-platform sql: Catalog Error") and len(out.stderr.splitlines()) == 1


def test_the_factory_names_a_missing_analyst_copy(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.duckdb"):
        analyst.connect_read_only(tmp_path / "missing.duckdb")
    assert not (tmp_path / "missing.duckdb").exists()
