"""Live FPL mode against a local HTTP server serving recorded-format responses of the real 2025-26 season."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from fpl_platform.lib.errors import SourceUnavailableError
from fpl_platform.lib.fpl_api import LiveFpl, recorded_responses
from fpl_platform.lib.warehouse import table_digests
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


def flag_players(recorded: dict) -> dict[str, tuple[str, int]]:
    """FPL's availability flags on a few players of the recorded bootstrap, as the API shows them before a
    gameweek: three who then did not play in gameweek 38 (two injured, one suspended, chance 0) and one who did
    (doubtful, chance 25 %). Returns player_id -> (status, chance)."""
    from fpl_platform.lib.sources import BundledSource

    played = BundledSource(BUNDLED).player_gameweeks("2025-26").query("gameweek == 38")
    minutes = played.groupby("player_code")["minutes"].sum()
    elements = {int(e["code"]): e for e in recorded["bootstrap-static/"]["elements"]}
    benched = [code for code in minutes.index[minutes == 0] if code in elements][:3]
    regular = next(code for code in minutes.index[minutes >= 60] if code in elements)
    flags = dict(zip([*benched, regular], [("i", 0), ("i", 0), ("s", 0), ("d", 25)], strict=True))
    for code, (status, chance) in flags.items():
        elements[code].update(status=status, chance_of_playing_next_round=chance)
    return {f"fpl:{code}": flag for code, flag in flags.items()}


def test_live_mode_predicts_the_real_next_gameweek(warehouse, instance, responses):
    """Live: results through gameweek 37 from the API; both models predict gameweek 38 from the FPL fixtures and squad,
    the player points with FPL's availability flags applied."""
    from fpl_platform_tests.test_training_pipeline import FAST

    recorded = before_last_gameweek(responses)
    flagged = flag_players(recorded)
    with serve_json(recorded) as server:
        resources = live(warehouse, f"{server.url}/api")
        materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=("2021-22", "2025-26"))
        materialise(["raw/fixtures", "raw/squad"], resources, instance)
    assert table(warehouse, "SELECT count(*) AS n FROM raw.matches WHERE season = '2025-26'")["n"].iat[0] == 370
    squad = table(
        warehouse, "SELECT gameweek, count(DISTINCT match_id) AS fixtures, count(*) AS n FROM raw.squad GROUP BY gameweek"
    )
    assert squad["gameweek"].tolist() == [38] and squad["fixtures"].iat[0] == 10 and squad["n"].iat[0] > 500
    from fpl_platform.lib.schemas import SQUAD

    assert len(table(warehouse, SQUAD.example_sql)) == 10  # docs/tables.md's example query
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

    # availability: the players FPL ruled out get no points, the doubtful one's p_play is capped by his chance
    served = table(
        warehouse,
        "SELECT p.player_id, p.p_play, p.predicted_points, p.availability_adjusted, p.availability_flag, "
        "coalesce(g.points, 0) AS actual FROM predictions.player_points p LEFT JOIN raw.player_gameweeks g "
        "ON g.player_id = p.player_id AND g.season = '2025-26' AND g.gameweek = 38 AND g.match_id = p.match_id",
    )
    rows = served[served["player_id"].isin(list(flagged))].set_index("player_id")
    assert set(rows.index) == set(flagged)
    for player, (status, chance) in flagged.items():
        assert rows.at[player, "availability_flag"] == f"{status} {chance}%"
        assert rows.at[player, "p_play"] <= chance / 100 + 1e-12
    out = rows[rows["availability_flag"].str.endswith(" 0%")]
    assert len(out) == 3 and (out["predicted_points"] == 0).all() and out["availability_adjusted"].all()
    assert (out["actual"] == 0).all()  # they did not play: the adjusted forecast is exactly right for them
    others = served[~served["player_id"].isin(list(flagged))]
    assert others["availability_flag"].isna().all() and not others["availability_adjusted"].any()
    metadata = instance.get_latest_materialization_event(dg.AssetKey(["predictions", "player_points"]))
    assert metadata.asset_materialization.metadata["availability_flagged"].value == 4


@pytest.fixture(scope="module")
def stored_season(tmp_path_factory) -> Path:
    """A warehouse holding the bundled 2025-26 matches, player gameweeks and fixtures: built once, copied per test."""
    import dagster as dg

    from fpl_platform.resources import Warehouse

    home = tmp_path_factory.mktemp("stored")
    with pytest.MonkeyPatch.context() as patch, dg.instance_for_test() as instance:
        patch.setenv("FPL_PLATFORM_HOME", str(home))
        stored = Warehouse(path=str(home / "warehouse.duckdb"), analytics_path=str(home / "analytics.duckdb"))
        resources = resources_for(stored)
        materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=("2025-26", "2025-26"))
        materialise(["raw/fixtures"], resources, instance)
    return home / "warehouse.duckdb"


PLAYERS_SERVED = 40  # the damaged responses list only the first players, so runs that fetch every history stay short


def first_history(responses: dict, rows: int = 2) -> str:
    """The element-summary path of the first listed player with at least `rows` history rows."""
    for element in responses["bootstrap-static/"]["elements"][:PLAYERS_SERVED]:
        path = f"element-summary/{element['id']}/"
        if len(responses[path]["history"]) >= rows:
            return path
    raise AssertionError("no listed player has a history")


def with_damage(responses: dict, target: str, damage) -> tuple[dict, str]:
    """The responses with `damage` (a copy of a response -> the response to serve) applied to the one at `target`
    ('bootstrap-static/', 'fixtures/', 'a history': the first listed player's with history rows, 'every history');
    returns them and the damaged path."""
    served = dict(responses)
    served["bootstrap-static/"] = {
        **responses["bootstrap-static/"],
        "elements": responses["bootstrap-static/"]["elements"][:PLAYERS_SERVED],
    }
    if target == "every history":
        for element in served["bootstrap-static/"]["elements"]:
            path = f"element-summary/{element['id']}/"
            served[path] = damage(copy.deepcopy(responses[path]))
        return served, "element-summary/"
    path = first_history(responses) if target == "a history" else target
    served[path] = damage(copy.deepcopy(served[path]))
    return served, path


def edit(change):
    """A damage that changes the response in place."""

    def damage(body):
        change(body)
        return body

    return damage


# the faults a probe of the live source found (a bare KeyError, AttributeError or number-parsing error), and more of
# their kind: (id, response, damage, what the one error line must say besides the URL)
DAMAGED_RESPONSES = [
    ("no deadline_time", "bootstrap-static/", edit(lambda b: b["events"][3].pop("deadline_time")),
     ["events[3] (id 4) has no 'deadline_time'", "expected an ISO timestamp"]),
    ("no teams", "bootstrap-static/", edit(lambda b: b.pop("teams")), ["the response has no 'teams'", "a list of the season's teams"]),
    ("teams an object", "bootstrap-static/", edit(lambda b: b.update(teams={str(t["id"]): t for t in b["teams"]})),
     ["teams is an object", "expected a list of the season's teams"]),
    ("now_cost a string", "bootstrap-static/", edit(lambda b: b["elements"][2].update(now_cost="5.5")),
     ['elements[2] (id 3): now_cost is "5.5"', "expected an integer"]),
    ("no fixtures (KeyError: 'kickoff')", "fixtures/", edit(lambda f: f.clear()),
     ["the response is an empty list", "the season's fixtures"]),
    ("fixtures an object", "fixtures/", lambda f: {"fixtures": f}, ["the response is an object", "a list of the season's fixtures"]),
    ("no team_h", "fixtures/", edit(lambda f: f[7].pop("team_h")), ["fixtures[7]", "has no 'team_h'", "expected an integer"]),
    ("score a string", "fixtures/", edit(lambda f: f[4].update(team_h_score="two")),
     ['fixtures[4] (id 5): team_h_score is "two"', "expected an integer"]),
    ("kickoff_time a number", "fixtures/", edit(lambda f: f[10].update(kickoff_time=20250816)),
     ["fixtures[10]", "kickoff_time is 20250816", "expected an ISO timestamp"]),
    ("history without fixture", "a history", edit(lambda s: s["history"][0].pop("fixture")),
     ["history[0] has no 'fixture'", "expected an integer"]),
    ("points a string", "a history", edit(lambda s: s["history"][1].update(total_points="ten")),
     ['history[1]: total_points is "ten"', "expected a number"]),
    ("history an object", "a history", lambda s: {"history": {"0": s["history"][0]}},
     ["history is an object", "a list of the player's gameweeks"]),
    ("no history", "a history", edit(lambda s: s.pop("history")), ["the response has no 'history'"]),
    ("every history empty (KeyError: 'team_name')", "every history", edit(lambda s: s["history"].clear()),
     ["no player has a history row", "fixtures are finished"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("target", "damage", "named"),
    [pytest.param(target, damage, named, id=name) for name, target, damage, named in DAMAGED_RESPONSES],
)
def test_a_damaged_live_response_names_the_url_and_field_and_writes_nothing(
    warehouse, instance, responses, stored_season, target, damage, named
):
    shutil.copyfile(stored_season, warehouse.file)
    before = table_digests(warehouse.file)
    served, path = with_damage(responses, target, damage)
    selection = ["raw/player_gameweeks"] if "history" in target else ["raw/matches", "raw/fixtures"]
    with serve_json(served) as server:
        result = materialise(
            selection,
            live(warehouse, f"{server.url}/api", retries=0),
            instance,
            seasons=("2025-26", "2025-26"),
            raise_on_error=False,
        )
    assert not result.success
    error = "fpl_platform.lib.errors.DataValidationError: "
    message = next((line for line in failure_message(result).splitlines() if line.startswith(error)), "")
    assert message.startswith(f"{error}{server.url}/api/{path}: "), failure_message(result)
    for text in named:
        assert text in message, (text, message)
    assert table_digests(warehouse.file) == before


def test_a_damaged_live_response_is_one_line_from_the_demo_command(isolated_home, responses):
    from fpl_platform_tests.test_cli_errors import one_line, run

    served, _ = with_damage(responses, "bootstrap-static/", edit(lambda b: b["events"][3].pop("deadline_time")))
    with serve_json(served) as server:
        out = run("demo", "--quick", FPL_PLATFORM_SOURCE="live", FPL_PLATFORM_FPL_API=f"{server.url}/api")
    one_line(
        out,
        1,
        "fpl-platform demo: step raw__matches failed: DataValidationError: ",
        f"{server.url}/api/bootstrap-static/: events[3] (id 4) has no 'deadline_time' (expected an ISO timestamp)",
    )
    with duckdb.connect(str(isolated_home / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw'").fetchone()[0] == 0
