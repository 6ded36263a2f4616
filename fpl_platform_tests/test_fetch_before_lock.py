"""Ingestion fetches from the network before it opens the warehouse: while a live source is slow to answer, another
process can still write the warehouse (a publish, another run), instead of waiting on the lock until it times out."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from fpl_platform.lib.fpl_api import recorded_responses
from fpl_platform_tests.conftest import BUNDLED, materialise, resources_for, table
from fpl_platform_tests.http_server import serve_files, serve_json
from fpl_platform_tests.test_football_data import season_file

# Opens the warehouse for writing in its own process and adds a row: DuckDB refuses at once while any other process
# has the file open, so success means the ingestion step held no connection at that moment
PROBE = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("CREATE TABLE IF NOT EXISTS main.probe_writes (path VARCHAR)")
connection.execute("INSERT INTO main.probe_writes VALUES (?)", [sys.argv[2]])
connection.close()
"""


class WriterDuringFetch:
    """Called by the HTTP server inside the chosen requests, before it answers: another process writes the warehouse."""

    def __init__(self, warehouse_file, paths: set[str]):
        self.warehouse_file = warehouse_file
        self.paths = paths
        self.outcomes: list[tuple[str, int, str]] = []
        self.lock = threading.Lock()

    def __call__(self, path: str) -> None:
        if path not in self.paths:
            return
        probe = subprocess.run(
            [sys.executable, "-c", PROBE, str(self.warehouse_file), path], capture_output=True, text=True, timeout=120
        )
        with self.lock:
            self.outcomes.append((path, probe.returncode, probe.stderr[-500:]))


@pytest.fixture(scope="module")
def responses() -> dict:
    return recorded_responses(BUNDLED, "2025-26")


def last_player_summary(responses: dict) -> str:
    return f"/api/element-summary/{responses['bootstrap-static/']['elements'][-1]['id']}/"


LIVE_FPL = {
    "raw/matches": (["raw/matches"], ("2025-26", "2025-26")),
    "raw/player_gameweeks": (["raw/matches", "raw/player_gameweeks"], ("2025-26", "2025-26")),
    "raw/fixtures": (["raw/fixtures"], None),
    "raw/squad": (["raw/fixtures", "raw/squad"], None),
}


@pytest.mark.parametrize(("selection", "seasons"), LIVE_FPL.values(), ids=LIVE_FPL.keys())
def test_the_warehouse_stays_writable_while_the_live_fpl_api_is_answering(warehouse, instance, responses, selection, seasons):
    if seasons is None:  # the fixtures' checks compare them with the stored results
        materialise(["raw/matches"], resources_for(warehouse), instance, seasons=("2025-26", "2025-26"))
    fetched = {"/api/bootstrap-static/", "/api/fixtures/", last_player_summary(responses)}
    writer = WriterDuringFetch(warehouse.file, fetched)
    with serve_json(responses, during=writer) as server:
        resources = resources_for(
            warehouse, fpl={"mode": "live", "api_base": f"{server.url}/api", "retries": 0, "backoff_seconds": 0.01}
        )
        result = materialise(selection, resources, instance, seasons=seasons)
    assert result.success
    assert writer.outcomes, "no probed request was made"
    assert [(path, code, error) for path, code, error in writer.outcomes if code != 0] == []
    if "raw/player_gameweeks" in selection:
        assert last_player_summary(responses) in [path for path, _, _ in writer.outcomes]
    written = table(warehouse, "SELECT count(*) AS n FROM main.probe_writes")["n"].iat[0]
    assert written == len(writer.outcomes)
    ingested = selection[-1].replace("/", ".")
    assert table(warehouse, f"SELECT count(*) AS n FROM {ingested}")["n"].iat[0] >= (0 if ingested == "raw.squad" else 1)


def test_the_warehouse_stays_writable_while_football_data_is_answering(warehouse, instance, tmp_path):
    root = tmp_path / "football-data"
    (root / "2425").mkdir(parents=True)
    (root / "2425" / "E0.csv").write_bytes(season_file())
    writer = WriterDuringFetch(warehouse.file, {"/2425/E0.csv"})
    with serve_files(root, during=writer) as server:
        resources = resources_for(warehouse, football_data={"location": server.url, "retries": 0, "backoff_seconds": 0.01})
        result = materialise(["raw/match_odds"], resources, instance, seasons=("2024-25", "2024-25"))
    assert result.success
    assert [(path, code) for path, code, _ in writer.outcomes] == [("/2425/E0.csv", 0)], writer.outcomes
    assert table(warehouse, "SELECT count(*) AS n FROM main.probe_writes")["n"].iat[0] == 1
    assert table(warehouse, "SELECT count(*) AS n FROM raw.match_odds")["n"].iat[0] > 0
