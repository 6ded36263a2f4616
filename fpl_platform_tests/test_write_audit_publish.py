"""Write, audit, publish: well-formed but incomplete input is refused before it is stored (the fault probe's cases).

Truncated live fixtures, half-empty live player histories and a valid but short matches.parquet each used to
replace good rows with fewer while every check passed. Each is now refused, and the stored tables are
byte-for-byte what they were (`table_digests`); `--allow-shrink` (run config `allow_shrink`) lets a shrink through.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fpl_platform.lib.fpl_api import recorded_responses
from fpl_platform.lib.warehouse import table_digests
from fpl_platform_tests.conftest import BUNDLED, failure_message, materialise, resources_for, table
from fpl_platform_tests.http_server import serve_json

SEASON = ("2025-26", "2025-26")


@pytest.fixture(scope="module")
def responses() -> dict:
    return recorded_responses(BUNDLED, "2025-26")


@pytest.fixture
def stored(warehouse, instance):
    """The bundled 2025-26 matches, player rows and fixtures, stored; returns their digests."""
    resources = resources_for(warehouse)
    assert materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=SEASON).success
    assert materialise(["raw/fixtures"], resources, instance).success
    return table_digests(warehouse.file)


def live(warehouse, url):
    return resources_for(warehouse, fpl={"mode": "live", "api_base": url, "retries": 0, "backoff_seconds": 0.01})


def test_truncated_live_fixtures_are_refused_and_nothing_changes(warehouse, instance, stored, responses):
    cut = copy.deepcopy(responses)
    cut["fixtures/"] = cut["fixtures/"][:100]
    with serve_json(cut) as server:
        resources = live(warehouse, f"{server.url}/api")
        matches = materialise(["raw/matches"], resources, instance, seasons=SEASON, raise_on_error=False)
        fixtures = materialise(["raw/fixtures"], resources, instance, raise_on_error=False)
    assert not matches.success and not fixtures.success
    for result, name in ((matches, "raw.matches"), (fixtures, "raw.fixtures")):
        message = failure_message(result)
        assert f"{name} refused from {server.url}/api" in message and "nothing stored changed" in message, message
        assert "2025-26 had all 380 rows of a completed season and would keep" in message, message
    assert table_digests(warehouse.file) == stored


def test_half_empty_live_player_histories_are_refused_unless_the_shrink_is_allowed(warehouse, instance, stored, responses):
    damaged = copy.deepcopy(responses)
    summaries = sorted(path for path in damaged if path.startswith("element-summary/"))
    for path in summaries[::2]:
        damaged[path] = {**damaged[path], "history": []}
    with serve_json(damaged) as server:
        resources = live(warehouse, f"{server.url}/api")
        refused = materialise(["raw/player_gameweeks"], resources, instance, seasons=SEASON, raise_on_error=False)
        assert not refused.success
        message = failure_message(refused)
        assert "raw.player_gameweeks refused" in message and "2025-26 would drop from 29747 to" in message, message
        assert "--allow-shrink" in message
        assert table_digests(warehouse.file) == stored

        allowed = materialise(
            ["raw/player_gameweeks"],
            resources,
            instance,
            seasons=SEASON,
            run_config={"ops": {"raw__player_gameweeks": {"config": {"allow_shrink": True}}}},
        )
    assert allowed.success
    assert 0 < table(warehouse, "SELECT count(*) AS n FROM raw.player_gameweeks")["n"].iat[0] < 29_747


def short_data(data_dir: Path) -> Path:
    """A valid matches.parquet missing 50 of 2025-26's results."""
    path = data_dir / "matches.parquet"
    frame = pd.read_parquet(path)
    last = frame.index[frame["season"] == "2025-26"][-50:]
    frame.drop(index=last).to_parquet(path, index=False)
    return data_dir


def test_a_short_matches_file_is_refused_before_it_is_stored(warehouse, instance, stored, data_dir):
    result = materialise(
        ["raw/matches"], resources_for(warehouse, short_data(data_dir)), instance, seasons=SEASON, raise_on_error=False
    )
    assert not result.success
    message = failure_message(result)
    assert "raw.matches refused" in message and "2025-26 had all 380 rows of a completed season and would keep 330" in message
    assert table_digests(warehouse.file) == stored


def test_the_demo_refuses_a_short_matches_file_with_one_line(warehouse, instance, stored, data_dir):
    env = {**os.environ, "FPL_PLATFORM_DATA_DIR": str(short_data(data_dir))}
    cli = Path(sys.executable).with_name("fpl-platform")
    done = subprocess.run([str(cli), "demo", "--quick"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "step raw__matches failed" in line and "raw.matches refused" in line and "would keep 330" in line, line
    after = table_digests(warehouse.file)
    assert {name: after[name] for name in stored} == stored
    assert set(after) - set(stored) == {"monitoring.alerts"}  # the failed run's alert, and nothing else
