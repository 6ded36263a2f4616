"""raw/match_odds from a football-data.co.uk-shaped directory and URL; bad files never corrupt the table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fpl_platform_tests.conftest import REPO, failure_message, materialise, resources_for, table
from fpl_platform_tests.http_server import serve_files
from fpl_platform_tests.test_football_data import HEADER_2425, ROWS_2425, season_file


def write_season(base: Path, code: str, content: bytes) -> Path:
    path = base / code / "E0.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def odds_dir(tmp_path) -> Path:
    base = tmp_path / "football-data"
    write_season(base, "2425", season_file())
    return base


def odds_resources(warehouse, location, retries=3):
    return resources_for(warehouse, football_data={"location": str(location), "retries": retries, "backoff_seconds": 0.01})


def test_loads_a_season_from_a_directory(warehouse, instance, odds_dir):
    result = materialise(["raw/match_odds"], odds_resources(warehouse, odds_dir), instance, seasons=("2024-25", "2024-25"))
    assert result.success
    stored = table(
        warehouse, "SELECT match_id, odds['PSCH'] AS psch, odds['B365CH'] AS b365ch FROM raw.match_odds ORDER BY match_id"
    )
    assert len(stored) == 4
    forest = stored.set_index("match_id").loc["2024-25:NFO-BOU"]
    assert forest["psch"] == 2.4 and pd.isna(forest["b365ch"])


BAD_FILES = {
    "missing column": (
        season_file([",".join(r.split(",")[:6] + r.split(",")[7:]) for r in ROWS_2425], HEADER_2425.replace("FTAG,", "")),
        "FTAG",
    ),
    "non-numeric goals": (
        season_file([ROWS_2425[0].replace(",Fulham,1,0,", ",Fulham,one,0,"), *ROWS_2425[1:]]),
        "row 2, field 'FTHG'",
    ),
    "unknown team": (season_file([ROWS_2425[0].replace("Fulham", "Fulham Reserves"), *ROWS_2425[1:]]), "Fulham Reserves"),
    "duplicated match": (season_file([*ROWS_2425, ROWS_2425[1]]), "duplicated match"),
    "wrong delimiter": (season_file([r.replace(",", ";") for r in ROWS_2425], HEADER_2425.replace(",", ";")), "delimiter"),
    "empty file": (b"", "empty"),
    "not UTF-8": (season_file().replace(b"Hooper", b"H\xf6oper"), "not UTF-8"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_fails_the_partition_and_keeps_previous_rows(warehouse, instance, odds_dir, kind):
    resources = odds_resources(warehouse, odds_dir)
    materialise(["raw/match_odds"], resources, instance, seasons=("2024-25", "2024-25"))
    before = table(warehouse, "SELECT * EXCLUDE (odds), odds::VARCHAR AS odds FROM raw.match_odds ORDER BY match_id")
    content, expected = BAD_FILES[kind]
    path = write_season(odds_dir, "2425", content)
    result = materialise(["raw/match_odds"], resources, instance, seasons=("2024-25", "2024-25"), raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert str(path) in message and expected in message, message
    after = table(warehouse, "SELECT * EXCLUDE (odds), odds::VARCHAR AS odds FROM raw.match_odds ORDER BY match_id")
    pd.testing.assert_frame_equal(before, after)


def test_loads_from_a_base_url_and_retries_server_errors(warehouse, instance, odds_dir):
    with serve_files(odds_dir, fail_first=2) as server:
        result = materialise(["raw/match_odds"], odds_resources(warehouse, server.url), instance, seasons=("2024-25", "2024-25"))
        assert result.success
        assert server.requests.count("/2425/E0.csv") == 3  # two 503s, then the file
    assert len(table(warehouse, "SELECT * FROM raw.match_odds")) == 4


def test_unreachable_url_fails_clearly_and_keeps_rows(warehouse, instance, odds_dir):
    materialise(["raw/match_odds"], odds_resources(warehouse, odds_dir), instance, seasons=("2024-25", "2024-25"))
    with serve_files(odds_dir, fail_first=100) as server:
        result = materialise(
            ["raw/match_odds"],
            odds_resources(warehouse, server.url),
            instance,
            seasons=("2024-25", "2024-25"),
            raise_on_error=False,
        )
    assert not result.success
    assert "could not fetch" in failure_message(result) and "nothing was written" in failure_message(result)
    assert len(table(warehouse, "SELECT * FROM raw.match_odds")) == 4


def test_dagster_cli_materialise_is_idempotent(isolated_home, odds_dir):
    from fpl_platform.runtime import prepare_home

    prepare_home()
    env = {**os.environ, "FPL_PLATFORM_FOOTBALL_DATA": str(odds_dir)}
    command = [
        str(Path(sys.executable).with_name("dagster")), "asset", "materialize", "-m", "fpl_platform.definitions",
        "--select", "raw/match_odds", "--partition", "2024-25",
    ]  # fmt: skip
    for _ in range(2):
        out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
        assert out.returncode == 0, out.stderr[-3000:]
    import duckdb

    connection = duckdb.connect(str(isolated_home / "warehouse.duckdb"), read_only=True)
    assert connection.execute("SELECT count(*), count(DISTINCT match_id) FROM raw.match_odds").fetchone() == (4, 4)
    connection.close()
