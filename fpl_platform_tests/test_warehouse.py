"""The warehouse: one transaction per write, partition-scoped replaces, lock retries, clear errors."""

from __future__ import annotations

import contextlib
import multiprocessing
import time

import duckdb
import pandas as pd
import pytest

from fpl_platform.lib import schemas
from fpl_platform.lib import warehouse as duck
from fpl_platform.lib.errors import DataValidationError

TABLE = schemas.TableSchema(
    name="raw.example",
    doc="test table",
    key=("id",),
    partition_column="season",
    columns=(
        schemas.Column("id", "VARCHAR", "id"),
        schemas.Column("season", "VARCHAR", "season"),
        schemas.Column("goals", "SMALLINT", "goals"),
    ),
)


def frame(season: str, n: int, goals=1) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"{season}-{i}" for i in range(n)], "season": season, "goals": goals})


def rows(path) -> list:
    return duck.read_sql(path, "SELECT season, count(*) AS n FROM raw.example GROUP BY season ORDER BY season").values.tolist()


def test_partition_write_replaces_only_its_partition(tmp_path):
    path = tmp_path / "w.duckdb"
    duck.write_table(path, TABLE, frame("2024-25", 3), partition_values=["2024-25"])
    duck.write_table(path, TABLE, frame("2025-26", 2), partition_values=["2025-26"])
    duck.write_table(path, TABLE, frame("2024-25", 5), partition_values=["2024-25"])
    assert rows(path) == [["2024-25", 5], ["2025-26", 2]]


def test_partitions_of_several_columns_replace_only_those_combinations(tmp_path):
    """Rounds (season, goals here) as partitions: only the listed combinations are deleted and rewritten, a listed
    one without new rows is emptied, and rows outside the list are refused before the file is touched."""
    import numpy as np

    path = tmp_path / "w.duckdb"
    first = pd.concat([frame("2024-25", 2, goals=1), frame("2025-26", 3, goals=2)]).assign(
        id=lambda f: f["id"] + "-" + f["goals"].astype(str)
    )
    duck.write_table(path, TABLE, pd.concat([first, frame("2024-25", 1, goals=2).assign(id="x")]))
    again = frame("2025-26", 1, goals=2).assign(id="y")
    # a NumPy gameweek-like value (from a frame) is bound as a plain integer
    duck.write_table(
        path, TABLE, again, partition_values=[("2025-26", np.int64(2)), ("2024-25", 2)], partition_by=("season", "goals")
    )
    found = duck.read_sql(path, "SELECT id FROM raw.example ORDER BY id")["id"].tolist()
    assert found == ["2024-25-0-1", "2024-25-1-1", "y"]
    with pytest.raises(DataValidationError, match=r"\('2024-25', 1\)"):
        duck.write_table(
            path, TABLE, frame("2024-25", 1, goals=1), partition_values=[("2024-25", 2)], partition_by=("season", "goals")
        )
    assert len(duck.read_sql(path, "SELECT id FROM raw.example")) == 3


def test_a_write_that_changes_only_the_ignored_columns_writes_nothing(tmp_path):
    """`unless_same_except`: equal rows (in any order) leave the stored ones, timestamps included; any other change,
    a missing or an extra row, replaces the partition as usual."""
    stamped = schemas.TableSchema(
        name="raw.stamped",
        doc="test table",
        key=("id",),
        partition_column="season",
        columns=(*TABLE.columns, schemas.Column("written_at", "INTEGER", "when")),
    )
    path = tmp_path / "w.duckdb"
    first = frame("2024-25", 3).assign(written_at=1)
    assert duck.write_table(path, stamped, first, partition_values=["2024-25"], unless_same_except=["written_at"]) == 3
    duck.write_table(path, stamped, frame("2025-26", 2).assign(written_at=1), partition_values=["2025-26"])
    again = first.iloc[::-1].assign(written_at=2)
    assert duck.write_table(path, stamped, again, partition_values=["2024-25"], unless_same_except=["written_at"]) == 0
    stored = "SELECT season, sum(written_at) AS w, count(*) AS n FROM raw.stamped GROUP BY season ORDER BY season"
    assert duck.read_sql(path, stored).values.tolist() == [["2024-25", 3, 3], ["2025-26", 2, 2]]
    for changed in (first.assign(goals=[1, 1, 2]), first.iloc[:2], frame("2024-25", 4).assign(written_at=1)):
        duck.write_table(
            path, stamped, changed.assign(written_at=5), partition_values=["2024-25"], unless_same_except=["written_at"]
        )
        found = duck.read_sql(path, stored).values.tolist()
        assert found == [["2024-25", 5 * len(changed), len(changed)], ["2025-26", 2, 2]]


def test_failed_insert_leaves_the_previous_content(tmp_path):
    path = tmp_path / "w.duckdb"
    duck.write_table(path, TABLE, frame("2024-25", 3), partition_values=["2024-25"])
    bad = frame("2024-25", 4, goals=[1, 2, 3, 99999])  # overflows SMALLINT inside the transaction, after the DELETE
    with pytest.raises(duckdb.Error):
        duck.write_table(path, TABLE, bad, partition_values=["2024-25"])
    assert rows(path) == [["2024-25", 3]]


def test_validation_names_the_row_and_field_before_touching_the_file(tmp_path):
    path = tmp_path / "w.duckdb"
    duck.write_table(path, TABLE, frame("2024-25", 3), partition_values=["2024-25"])
    missing = frame("2024-25", 3).assign(goals=[1, None, 2])
    with pytest.raises(DataValidationError) as error:
        duck.write_table(path, TABLE, missing, partition_values=["2024-25"], source="input.csv")
    assert (error.value.row, error.value.field) == (1, "goals")
    duplicate = pd.concat([frame("2024-25", 2), frame("2024-25", 1)])
    with pytest.raises(DataValidationError, match="duplicate id"):
        duck.write_table(path, TABLE, duplicate, partition_values=["2024-25"])
    with pytest.raises(DataValidationError, match="outside"):
        duck.write_table(path, TABLE, frame("2023-24", 1), partition_values=["2024-25"])
    assert rows(path) == [["2024-25", 3]]


def test_new_schema_columns_are_added_to_existing_tables(tmp_path):
    path = tmp_path / "w.duckdb"
    duck.write_table(path, TABLE, frame("2024-25", 1), partition_values=["2024-25"])
    wider = schemas.TableSchema(
        name=TABLE.name, doc="", key=TABLE.key, partition_column="season",
        columns=(*TABLE.columns, schemas.Column("shots", "SMALLINT", "shots", nullable=True)),
    )  # fmt: skip
    duck.write_table(path, wider, frame("2025-26", 1).assign(shots=4), partition_values=["2025-26"])
    stored = duck.read_sql(path, "SELECT season, shots FROM raw.example ORDER BY season")
    assert stored["shots"].isna().tolist() == [True, False]


def _hold_lock(path: str, seconds: float, ready) -> None:
    connection = duckdb.connect(path)
    connection.execute("CREATE TABLE IF NOT EXISTS main.holder (x INT)")
    ready.set()
    time.sleep(seconds)
    connection.close()


@contextlib.contextmanager
def another_process_holding(path, seconds: float):
    """A separate process that opens the warehouse for writing and keeps it for `seconds`."""
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(path), seconds, ready))
    holder.start()
    assert ready.wait(20)
    try:
        yield
    finally:
        holder.join()


def test_writes_wait_for_another_process_holding_the_lock(tmp_path):
    path = tmp_path / "w.duckdb"
    with another_process_holding(path, 1.5):
        started = time.monotonic()
        duck.write_table(path, TABLE, frame("2024-25", 2), partition_values=["2024-25"], timeout_seconds=30)
        waited = time.monotonic() - started
    assert rows(path) == [["2024-25", 2]]
    assert waited > 0.2  # it really had to wait for the other process


def test_lock_timeout_names_the_table(tmp_path):
    path = tmp_path / "w.duckdb"
    with another_process_holding(path, 2), pytest.raises(duck.WarehouseLockedError, match=r"writing raw\.example"):
        duck.write_table(path, TABLE, frame("2024-25", 2), partition_values=["2024-25"], timeout_seconds=0.5)


def test_a_session_keeps_one_open_database_and_each_write_stays_a_transaction(tmp_path, monkeypatch):
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    duck.write_table(path, TABLE, frame("2024-25", 3), partition_values=["2024-25"])
    opens = []
    real_connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *args, **kwargs: opens.append(args) or real_connect(*args, **kwargs))
    with duck.session(path):
        duck.write_table(path, TABLE, frame("2025-26", 2), partition_values=["2025-26"])
        with pytest.raises(duckdb.Error):  # a failed write inside the session rolls back alone
            duck.write_table(path, TABLE, frame("2024-25", 4, goals=[1, 2, 3, 99999]), partition_values=["2024-25"])
        assert rows(path) == [["2024-25", 3], ["2025-26", 2]]
        assert len(opens) == 1  # the session's own open: the reads and writes inside used cursors on it
        other = subprocess.run(
            [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}, read_only=True)"], capture_output=True
        )
        assert other.returncode != 0 and b"lock" in other.stderr.lower()  # held for the session, as for a write
        with pytest.raises(RuntimeError, match="inside a session"):
            duck.publish_copy(path, tmp_path / "a.duckdb")
    with duckdb.connect(str(path), read_only=True) as other:
        assert other.execute("SELECT count(*) FROM raw.example").fetchone()[0] == 5


def test_a_session_ensures_each_table_once_and_again_after_a_rolled_back_create(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    other = schemas.TableSchema(name="raw.other", doc="test table", key=("id",), columns=(schemas.Column("id", "VARCHAR", "id"),))
    ensured = []
    real_ensure = duck.ensure_table
    monkeypatch.setattr(
        duck, "ensure_table", lambda connection, table: ensured.append(table.name) or real_ensure(connection, table)
    )
    with duck.session(path):
        duck.write_table(path, TABLE, frame("2024-25", 3), partition_values=["2024-25"])
        overflowing = (TABLE, frame("2025-26", 1, goals=[99999]))
        with pytest.raises(duckdb.Error):  # raw.other is created, then the transaction rolls back with its CREATE
            duck.append_rows(path, [(other, pd.DataFrame({"id": ["a"]})), overflowing])
        assert not duck.table_exists(path, "raw.other")
        duck.append_rows(path, [(other, pd.DataFrame({"id": ["b"]}))])  # so it is created again, not assumed
        assert duck.read_sql(path, "SELECT id FROM raw.other")["id"].tolist() == ["b"]
        duck.write_table(path, TABLE, frame("2025-26", 2), partition_values=["2025-26"])
        duck.append_rows(path, [(other, pd.DataFrame({"id": ["c"]}))])
    assert ensured == ["raw.example", "raw.other", "raw.other"]  # once per session, and again after the rollback
    duck.write_table(path, TABLE, frame("2025-26", 2), partition_values=["2025-26"])  # a new session ensures anew
    assert ensured[-1] == "raw.example" and rows(path) == [["2024-25", 3], ["2025-26", 2]]


def test_publish_copy_is_complete_and_atomic(tmp_path):
    path, target = tmp_path / "w.duckdb", tmp_path / "a.duckdb"
    duck.write_table(path, TABLE, frame("2024-25", 3), partition_values=["2024-25"])
    counts = duck.publish_copy(path, target, note="first")
    assert counts == {"raw.example": 3}
    reader = duckdb.connect(str(target), read_only=True)  # an analyst session stays open across a publish
    duck.write_table(path, TABLE, frame("2025-26", 2), partition_values=["2025-26"])
    duck.publish_copy(path, target, note="second")
    assert reader.execute("SELECT count(*) FROM raw.example").fetchone()[0] == 3  # old snapshot, still readable
    reader.close()
    fresh = duckdb.connect(str(target), read_only=True)
    assert fresh.execute("SELECT count(*) FROM raw.example").fetchone()[0] == 5
    assert fresh.execute("SELECT note FROM main.published").fetchone()[0] == "second"
    fresh.close()
    assert not list(tmp_path.glob(".a.duckdb.*"))


def test_publish_removes_temporary_files_of_dead_processes_and_keeps_those_of_running_ones(tmp_path):
    import subprocess
    import sys

    path, target = tmp_path / "w.duckdb", tmp_path / "a.duckdb"
    duck.write_table(path, TABLE, frame("2024-25", 3), partition_values=["2024-25"])
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # reaped: its pid names no process now
    dead = finished.pid
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        stale = [tmp_path / f".a.duckdb.{dead}.tmp", tmp_path / f".a.duckdb.{dead}.tmp.wal"]
        for file in stale:
            file.write_bytes(b"\0" * 1_000_000)  # what a publish killed mid-copy leaves
        (tmp_path / f".a.duckdb.{dead}.tmp.tmp").mkdir()  # DuckDB's spill directory for it
        in_progress = tmp_path / f".a.duckdb.{running.pid}.tmp"
        in_progress.write_bytes(b"a publish still copying")
        unrelated = tmp_path / ".b.duckdb.1.tmp"  # another target's: not this publish's to judge
        unrelated.write_bytes(b"x")

        assert duck.publish_copy(path, target) == {"raw.example": 3}

        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == sorted([in_progress.name, unrelated.name])
        assert in_progress.read_bytes() == b"a publish still copying"
    finally:
        running.kill()
        running.wait()


@pytest.mark.parametrize("failure", ["source is not a DuckDB file", "target cannot be replaced"])
def test_a_failed_publish_leaves_no_temporary_file(tmp_path, failure):
    path, target = tmp_path / "w.duckdb", tmp_path / "a.duckdb"
    if failure == "source is not a DuckDB file":
        path.write_text("season,goals\n2024-25,3\n")
        expected = duckdb.IOException
    else:
        # the copy is complete before the rename fails: the temporary file is a whole warehouse
        duck.write_table(path, TABLE, frame("2024-25", 3), partition_values=["2024-25"])
        (target / "in_the_way").mkdir(parents=True)
        expected = OSError
    with pytest.raises(expected):
        duck.publish_copy(path, target)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
