"""Data-quality gates on the raw tables; the blocking ones stop everything downstream of a bad load."""

import dagster as dg

from fpl_platform.lib.seasons import GAMEWEEKS_PER_SEASON, MATCHES_PER_SEASON
from fpl_platform.resources import Warehouse, warehouse_step

MATCHES = dg.AssetKey(["raw", "matches"])
PLAYERS = dg.AssetKey(["raw", "player_gameweeks"])
FIXTURES = dg.AssetKey(["raw", "fixtures"])


def _spec(asset: dg.AssetKey, name: str, description: str, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name=name, asset=asset, description=description, blocking=blocking)


def _result(asset: dg.AssetKey, name: str, failures, total_label: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=len(failures) == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "failing_rows": len(failures),
            "checked": total_label,
            "sample": dg.MetadataValue.md(failures.head(5).to_markdown(index=False) if len(failures) else "_none_"),
        },
    )


@dg.multi_asset_check(
    specs=[
        _spec(MATCHES, "unique_match_per_season_home_away", "No two matches share (season, home team, away team)."),
        _spec(
            MATCHES,
            "complete_seasons_have_380_matches",
            "Every season but the newest has exactly 380 matches; the newest at most 380.",
        ),
        _spec(MATCHES, "goals_are_non_negative", "Goals are integers >= 0."),
        _spec(MATCHES, "gameweek_between_1_and_38", "Gameweek is 1-38."),
        _spec(MATCHES, "team_names_resolve", "Every home and away team is a canonical team in raw.teams' registry."),
        _spec(
            MATCHES,
            "kickoff_inside_season",
            "Every kickoff lies between 1 July of the season's first year and 31 July of the next.",
        ),
    ],
    pool="duckdb",
)
@warehouse_step
def raw_matches_quality(warehouse: Warehouse):
    """Match table invariants: unique matches, full seasons, sane goals, gameweeks, teams and kickoffs."""
    from fpl_platform.lib import teams

    total = int(warehouse.read("SELECT count(*) AS n FROM raw.matches")["n"].iat[0])
    label = f"{total} matches"
    yield _result(
        MATCHES,
        "unique_match_per_season_home_away",
        warehouse.read(
            "SELECT season, home_team, away_team, count(*) AS copies FROM raw.matches GROUP BY ALL HAVING count(*) > 1"
        ),
        label,
    )
    yield _result(
        MATCHES,
        "complete_seasons_have_380_matches",
        warehouse.read(
            "WITH per AS (SELECT season, count(*) AS matches FROM raw.matches GROUP BY season), "
            "newest AS (SELECT max(season) AS season FROM per) "
            f"SELECT per.* FROM per, newest WHERE (per.season < newest.season AND matches <> {MATCHES_PER_SEASON}) "
            f"OR matches > {MATCHES_PER_SEASON}"
        ),
        label,
    )
    yield _result(
        MATCHES,
        "goals_are_non_negative",
        warehouse.read("SELECT match_id, home_goals, away_goals FROM raw.matches WHERE home_goals < 0 OR away_goals < 0"),
        label,
    )
    yield _result(
        MATCHES,
        "gameweek_between_1_and_38",
        warehouse.read(f"SELECT match_id, gameweek FROM raw.matches WHERE gameweek NOT BETWEEN 1 AND {GAMEWEEKS_PER_SEASON}"),
        label,
    )
    names = warehouse.read("SELECT DISTINCT home_team AS team FROM raw.matches UNION SELECT DISTINCT away_team FROM raw.matches")
    canonical = {t.name for t in teams.TEAMS}
    yield _result(MATCHES, "team_names_resolve", names[~names["team"].isin(canonical)], label)
    yield _result(
        MATCHES,
        "kickoff_inside_season",
        warehouse.read(
            "SELECT match_id, kickoff FROM raw.matches WHERE kickoff < make_timestamptz(CAST(left(season, 4) AS INT), 7, 1, 0, 0, 0, 'UTC') "
            "OR kickoff >= make_timestamptz(CAST(left(season, 4) AS INT) + 1, 8, 1, 0, 0, 0, 'UTC')"
        ),
        label,
    )


@dg.multi_asset_check(
    specs=[
        _spec(PLAYERS, "no_duplicate_player_per_fixture", "At most one row per (player_id, match_id)."),
        _spec(PLAYERS, "every_row_has_its_match", "Every player row's match_id exists in raw.matches."),
        _spec(PLAYERS, "minutes_between_0_and_90_plus", "Minutes are 0-130 (90 plus stoppage).", blocking=False),
    ],
    pool="duckdb",
)
@warehouse_step
def raw_player_gameweeks_quality(warehouse: Warehouse):
    """Player table invariants: one row per player per fixture, linked to a known match."""
    total = int(warehouse.read("SELECT count(*) AS n FROM raw.player_gameweeks")["n"].iat[0])
    label = f"{total} player rows"
    yield _result(
        PLAYERS,
        "no_duplicate_player_per_fixture",
        warehouse.read(
            "SELECT player_id, match_id, count(*) AS copies FROM raw.player_gameweeks GROUP BY ALL HAVING count(*) > 1"
        ),
        label,
    )
    yield _result(
        PLAYERS,
        "every_row_has_its_match",
        warehouse.read("SELECT p.player_id, p.match_id FROM raw.player_gameweeks p ANTI JOIN raw.matches m USING (match_id)"),
        label,
    )
    yield _result(
        PLAYERS,
        "minutes_between_0_and_90_plus",
        warehouse.read("SELECT player_id, match_id, minutes FROM raw.player_gameweeks WHERE minutes NOT BETWEEN 0 AND 130"),
        label,
    )


@dg.asset_check(asset=FIXTURES, blocking=True, pool="duckdb")
@warehouse_step
def fixtures_agree_with_results(warehouse: Warehouse) -> dg.AssetCheckResult:
    """A finished fixture's score equals the result stored in raw.matches."""
    failures = warehouse.read(
        "SELECT f.match_id, f.home_goals, f.away_goals, m.home_goals AS result_home, m.away_goals AS result_away "
        "FROM raw.fixtures f JOIN raw.matches m USING (match_id) "
        "WHERE f.finished AND (f.home_goals <> m.home_goals OR f.away_goals <> m.away_goals)"
    )
    return _result(FIXTURES, "fixtures_agree_with_results", failures, "finished fixtures")
