"""Live FPL mode against a local HTTP server serving recorded-format responses of the real 2025-26 season."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from fpl_platform.lib.errors import SourceUnavailableError
from fpl_platform.lib.fpl_api import LiveFpl, recorded_responses
from fpl_platform_tests.conftest import BUNDLED, failure_message, materialise, resources_for, table
from fpl_platform_tests.http_server import serve_json


@pytest.fixture(scope="module")
def responses() -> dict:
    return recorded_responses(BUNDLED, "2025-26")


def live(warehouse, url, retries=2):
    return resources_for(warehouse, fpl={"mode": "live", "api_base": url, "retries": retries, "backoff_seconds": 0.01})


def test_recorded_responses_have_the_api_shape(responses):
    boot = responses["bootstrap-static/"]
    assert len(boot["teams"]) == 20 and len(boot["events"]) == 38 and len(boot["elements"]) > 800
    assert len(responses["fixtures/"]) == 380
    raya = next(e for e in boot["elements"] if e["code"] == 154561)
    history = responses[f"element-summary/{raya['id']}/"]["history"]
    assert history[0]["total_points"] == 10 and history[0]["was_home"] is False


def test_live_client_reads_a_season(responses):
    with serve_json(responses) as server:
        season = LiveFpl(f"{server.url}/api", retries=0).season(with_players=False)
    assert season.season == "2025-26"
    assert len(season.matches) == 380 and len(season.fixtures) == 380


def test_live_mode_ingests_the_current_season_from_the_api(warehouse, instance, responses):
    with serve_json(responses) as server:
        result = materialise(
            ["raw/matches", "raw/player_gameweeks", "raw/fixtures"],
            live(warehouse, f"{server.url}/api"),
            instance,
            seasons=("2025-26", "2025-26"),
        )
        assert result.success
        assert any(path.startswith("/api/element-summary/") for path in server.requests)
    stored = table(warehouse, "SELECT * EXCLUDE (source) FROM raw.matches ORDER BY match_id")
    assert set(table(warehouse, "SELECT DISTINCT source FROM raw.matches")["source"]) == {"fpl-api"}
    bundled_only = resources_for(warehouse)
    materialise(["raw/matches"], bundled_only, instance, seasons=("2025-26", "2025-26"))
    expected = table(warehouse, "SELECT * EXCLUDE (source) FROM raw.matches ORDER BY match_id")
    pd.testing.assert_frame_equal(stored, expected)  # the API and the bundle agree on every result
    players = table(warehouse, "SELECT count(*) AS n, sum(points) AS points FROM raw.player_gameweeks WHERE source = 'fpl-api'")
    assert players["n"].iat[0] == 29_747
    fixtures = table(warehouse, "SELECT source, count(*) AS n FROM raw.fixtures WHERE season = '2025-26' GROUP BY source")
    assert fixtures.values.tolist() == [["fpl-api", 380]]


def test_api_outage_fails_with_a_clear_message_and_keeps_stored_rows(warehouse, instance, responses):
    materialise(["raw/matches"], resources_for(warehouse), instance, seasons=("2025-26", "2025-26"))
    before = table(warehouse, "SELECT * FROM raw.matches ORDER BY match_id")
    with serve_json(responses, fail_first=1000) as server:
        result = materialise(
            ["raw/matches"],
            live(warehouse, f"{server.url}/api", retries=2),
            instance,
            seasons=("2025-26", "2025-26"),
            raise_on_error=False,
        )
        assert server.requests.count("/api/bootstrap-static/") == 3  # first try + 2 retries
    assert not result.success
    message = failure_message(result)
    assert "bootstrap-static" in message and "HTTP 503" in message and "nothing was written" in message
    pd.testing.assert_frame_equal(before, table(warehouse, "SELECT * FROM raw.matches ORDER BY match_id"))


def test_transient_errors_are_retried(responses):
    with serve_json(responses, fail_first=2) as server:
        boot = LiveFpl(f"{server.url}/api", retries=3, backoff_seconds=0.01).bootstrap()
    assert len(boot["teams"]) == 20


def test_client_gives_up_after_retries():
    with serve_json({}, fail_first=10) as server, pytest.raises(SourceUnavailableError, match="after 2 attempts"):
        LiveFpl(f"{server.url}/api", retries=1, backoff_seconds=0.01).fixtures()


def before_last_gameweek(responses: dict) -> dict:
    """The recorded season as the API showed it before gameweek 38: its fixtures unplayed, no history for it."""
    recorded = copy.deepcopy(responses)
    for fixture in recorded["fixtures/"]:
        if fixture["event"] == 38:
            fixture.update(finished=False, team_h_score=None, team_a_score=None)
    for path, body in recorded.items():
        if path.startswith("element-summary/"):
            body["history"] = [h for h in body["history"] if h["round"] != 38]
    return recorded


def test_live_mode_predicts_the_real_next_gameweek(warehouse, instance, responses):
    """Live: results through gameweek 37 from the API; both models predict gameweek 38 from the FPL fixtures and squad."""
    from fpl_platform_tests.test_training_pipeline import FAST

    with serve_json(before_last_gameweek(responses)) as server:
        resources = live(warehouse, f"{server.url}/api")
        materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=("2021-22", "2025-26"))
        materialise(["raw/fixtures", "raw/squad"], resources, instance)
    assert table(warehouse, "SELECT count(*) AS n FROM raw.matches WHERE season = '2025-26'")["n"].iat[0] == 370
    squad = table(
        warehouse, "SELECT gameweek, count(DISTINCT match_id) AS fixtures, count(*) AS n FROM raw.squad GROUP BY gameweek"
    )
    assert squad["gameweek"].tolist() == [38] and squad["fixtures"].iat[0] == 10 and squad["n"].iat[0] > 500
    from fpl_platform.lib.schemas import SQUAD

    assert len(table(warehouse, SQUAD.example_sql)) == 10  # the README's example query
    selection = [
        "features/team_ratings", "features/match_features", "features/player_features",
        "ml/match_outcome_model", "ml/player_points_model", "predictions/match_outcomes", "predictions/player_points",
    ]  # fmt: skip
    import dagster as dg

    from fpl_platform.definitions import defs

    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=selection,
        resources=resources,
        instance=instance,
        run_config={"ops": {k: v for k, v in FAST["ops"].items() if k.replace("__", "/") in selection}},
    )
    assert result.success
    matches = table(warehouse, "SELECT gameweek, as_of, count(*) AS n FROM predictions.match_outcomes GROUP BY ALL")
    assert matches.values.tolist() == [[38, "2025-26:37", 10]]
    players = table(
        warehouse, "SELECT gameweek, count(*) AS n, max(predicted_points) AS top FROM predictions.player_points GROUP BY gameweek"
    )
    assert players["gameweek"].tolist() == [38] and players["n"].iat[0] == squad["n"].iat[0] and players["top"].iat[0] > 2
