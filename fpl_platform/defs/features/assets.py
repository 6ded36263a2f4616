"""Features: team ratings (Dixon-Coles, Elo) and one feature row per match, all as of the gameweek's first kickoff."""

from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.defs.memo import previous_metadata
from fpl_platform.lib import schemas
from fpl_platform.resources import Warehouse, warehouse_step

if TYPE_CHECKING:
    import pandas as pd

FEATURES = {"group_name": "features", "kinds": {"duckdb", "python"}, "pool": "duckdb"}


def matches_and_fixtures(warehouse: Warehouse) -> "pd.DataFrame":
    """Played matches plus the newest season's scheduled fixtures (goals NULL) so they get features too."""
    sql = "SELECT match_id, season, gameweek, kickoff, home_team, away_team, home_goals, away_goals FROM raw.matches"
    if warehouse.exists("raw.fixtures"):
        sql += (
            " UNION ALL SELECT match_id, season, gameweek, kickoff, home_team, away_team, NULL, NULL FROM raw.fixtures f"
            " WHERE NOT finished AND gameweek IS NOT NULL AND kickoff IS NOT NULL"
            " AND season = (SELECT max(season) FROM raw.fixtures)"  # at a season's start raw.matches has none of it yet
            " AND match_id NOT IN (SELECT match_id FROM raw.matches)"
        )
    # a total order: the rolling form sums depend on row order in their last bits, and a parallel scan's order varies
    return warehouse.read_with_nullable_numbers(sql + " ORDER BY kickoff, match_id", ["home_goals", "away_goals"])


def _newest_rows(frame: "pd.DataFrame", columns: list[str], digits: int) -> dg.MetadataValue:
    """The five latest-kickoff rows' `columns`, rounded, as a markdown table for the asset's metadata."""
    return dg.MetadataValue.md(
        frame.sort_values("kickoff", ascending=False).head(5)[columns].round(digits).to_markdown(index=False)
    )


def _previous_digests(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The per-season input digests recorded by the last successful materialisation ({} if none)."""
    return dict(previous_metadata(context, "input_digests") or {})


def _describe(rounds: list[str]) -> str:
    """Round keys ("2025-26:07") as "2025-26 gameweeks 7-9, 12", a season at a time."""
    parts = []
    from fpl_platform.lib.features import round_key

    for season in sorted({round_key(key)[0] for key in rounds}):
        weeks = sorted(gameweek for s, gameweek in map(round_key, rounds) if s == season)
        runs = []
        for week in weeks:
            if runs and week == runs[-1][1] + 1:
                runs[-1][1] = week
            else:
                runs.append([week, week])
        text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
        parts.append(f"{season} gameweek{'s' if len(weeks) > 1 else ''} {text}")
    return "; ".join(parts)


@dg.asset(key=["features", "team_ratings"], deps=[["raw", "matches"], ["raw", "fixtures"]], **FEATURES)
@warehouse_step
def team_ratings(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Dixon-Coles strengths (refit before every gameweek) and Elo ratings as of each gameweek's first kickoff."""
    import pandas as pd

    from fpl_platform.lib.features import build_team_ratings, first_changed_season, season_digests

    matches = matches_and_fixtures(warehouse)
    digests = season_digests(matches)
    previous = _previous_digests(context) if warehouse.exists(schemas.TEAM_RATINGS.name) else {}
    start = first_changed_season(digests, previous) if previous else None
    seasons = sorted(digests)
    recompute = seasons if not previous else [s for s in seasons if start is not None and s >= start]
    ratings = build_team_ratings(matches, seasons=recompute) if recompute else None
    frame = matches.drop(columns=["home_goals", "away_goals"])
    frame = frame.merge(ratings, on="match_id") if ratings is not None else None
    if previous:
        # walk-forward: seasons before the first changed one keep their stored rows (all of them when nothing changed)
        kept = warehouse.read("SELECT * FROM features.team_ratings WHERE season < ?", [start or "9999"])
        frame = kept if frame is None else pd.concat([kept, frame[kept.columns]], ignore_index=True)
    context.log.info(
        f"team ratings recomputed for {recompute[0]} … {recompute[-1]}; earlier seasons kept"
        if recompute
        else "team ratings: no season's matches changed, every row kept"
    )
    warehouse.write(schemas.TEAM_RATINGS, frame, source="features.team_ratings")
    latest = frame[frame["cutoff"] == frame["cutoff"].max()]
    table = latest.assign(
        p_home=latest["dc_p_home"].round(3), p_draw=latest["dc_p_draw"].round(3), p_away=latest["dc_p_away"].round(3)
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "refits": int(frame["cutoff"].nunique()),
            "recomputed_seasons": ", ".join(recompute) or "none",
            "input_digests": dg.MetadataValue.json(digests),
            "seasons": f"{frame['season'].min()} … {frame['season'].max()}",
            "latest_gameweek": dg.MetadataValue.md(
                table[["home_team", "away_team", "p_home", "p_draw", "p_away", "elo_home", "elo_away"]].to_markdown(index=False)
            ),
        }
    )


@dg.asset(
    key=["features", "match_features"],
    deps=[["features", "team_ratings"], ["raw", "player_gameweeks"], ["raw", "match_odds"]],
    **FEATURES,
)
@warehouse_step
def match_features(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per match: ratings, Dixon-Coles probabilities, form, xG form, squad value, rest days, market."""
    from fpl_platform.lib.features import TEAM_STATS_SQL, build_match_features

    matches = matches_and_fixtures(warehouse)
    ratings = warehouse.read(
        "SELECT * EXCLUDE (season, gameweek, cutoff, kickoff, home_team, away_team) FROM features.team_ratings"
    )
    # the players' expected goals, threat and fielded XI summed per match and team in DuckDB
    stats = (
        warehouse.read(TEAM_STATS_SQL.format(table="raw.player_gameweeks")) if warehouse.exists("raw.player_gameweeks") else None
    )
    odds = (
        warehouse.read("SELECT match_id, map_entries(odds) AS odds FROM raw.match_odds")
        if warehouse.exists("raw.match_odds")
        else None
    )
    if odds is not None:
        odds["odds"] = odds["odds"].map(lambda entries: {e["key"]: e["value"] for e in entries})
    frame = build_match_features(matches, odds=odds, team_ratings=ratings, stats=stats)
    warehouse.write(schemas.MATCH_FEATURES, frame, source="features.match_features")
    with_market = int(frame["market_p_home"].notna().sum())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "scheduled_fixtures": int(frame["home_goals"].isna().sum()),
            "rows_with_market_probabilities": with_market,
            "rows_with_xg_form": int(frame["home_xg_for_5"].notna().sum()),
            "preview": _newest_rows(frame, ["match_id", "dc_p_home", "elo_diff", "home_points_5", "away_points_5"], 3),
        }
    )


@dg.asset(
    key=["features", "player_features"],
    deps=[["raw", "player_gameweeks"], ["raw", "squad"], ["features", "team_ratings"]],
    **FEATURES,
)
@warehouse_step
def player_features(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per player per fixture: rolling form from earlier gameweeks, deadline facts, both teams' strengths."""
    import pandas as pd

    from fpl_platform.lib.features import round_digests, round_key, rounds_to_rebuild
    from fpl_platform.lib.player_model import build_player_features
    from fpl_platform.lib.schemas import PLAYER_WINDOWS

    columns = (
        "season, gameweek, match_id, kickoff, player_id, player_name, position, team, opponent, was_home, {outcomes},"
        " {stats}, price, selected, transfers_balance"
    )
    stats = "goals, assists, bonus, bps, ict_index, expected_goals, expected_assists"
    sql = "SELECT " + columns.format(outcomes="minutes, points", stats=stats) + " FROM raw.player_gameweeks"
    if warehouse.exists("raw.squad"):
        # the upcoming gameweek (live mode): no outcome yet, so no minutes, points or match statistics
        unknown = ", ".join(f"NULL AS {c.strip()}" for c in stats.split(","))
        sql += (
            " UNION ALL BY NAME SELECT "
            + columns.format(outcomes="NULL AS minutes, NULL AS points", stats=unknown)
            + " FROM raw.squad WHERE match_id NOT IN (SELECT match_id FROM raw.player_gameweeks)"
        )
    ratings_sql = (
        "SELECT season, gameweek, match_id, cutoff, home_team, home_attack, home_defence, away_attack, away_defence,"
        " dc_home_xg, dc_away_xg FROM features.team_ratings"
    )
    # walk-forward: a row depends only on its own inputs and rows before its cutoff, so only the rounds from the
    # first changed one on are rebuilt (after a gameweek's results, that gameweek and the next). The digests
    # are computed in DuckDB, and only what the rebuilt rounds need comes into memory: their rows, every played
    # row since the first changed round, and, of the players in them, each one's last 38 played rows before it
    # (his form) with a count of the older.
    digests = round_digests(warehouse.read, sql, ratings_sql)
    previous = _previous_digests(context) if warehouse.exists(schemas.PLAYER_FEATURES.name) else {}
    rebuilt, gone, since = rounds_to_rebuild(digests, previous)
    full = bool(rebuilt) and since is None  # no usable previous digests
    rounds = [round_key(key) for key in rebuilt]
    frame = None
    if rebuilt:
        window = max(PLAYER_WINDOWS)
        since = pd.Timestamp("1900-01-01", tz="UTC") if full else since
        target = "SELECT unnest($seasons) AS season, unnest($gameweeks)::SMALLINT AS gameweek"
        # rows that are only history: the columns form is computed from (names and teams stay in DuckDB)
        others = (
            f"SELECT season, gameweek, match_id, kickoff, player_id, minutes, points, {stats} FROM source"
            f" ANTI JOIN ({target}) USING (season, gameweek) WHERE minutes IS NOT NULL"
            " AND player_id IN (SELECT player_id FROM built)"
        )
        players = warehouse.read_with_nullable_numbers(
            f"WITH source AS MATERIALIZED ({sql}), built AS MATERIALIZED (SELECT * FROM source SEMI JOIN ({target})"
            f" USING (season, gameweek)) SELECT *, true AS built FROM built"
            f" UNION ALL BY NAME SELECT *, false AS built FROM ({others}) WHERE kickoff >= $since"
            f" UNION ALL BY NAME SELECT * EXCLUDE (played), greatest(played - {window}, 0) AS older_rows, false AS built"
            f" FROM (SELECT *, count(*) OVER (PARTITION BY player_id) AS played FROM ({others}) WHERE kickoff < $since)"
            f" QUALIFY row_number() OVER (PARTITION BY player_id ORDER BY kickoff DESC) <= {window}",
            ["minutes", "points"],
            {"seasons": [s for s, _ in rounds], "gameweeks": [g for _, g in rounds], "since": since},
        )
        older = players.groupby("player_id")["older_rows"].max()
        ratings = warehouse.read(f"{ratings_sql} WHERE cutoff >= ?", [since])
        frame = build_player_features(
            players.drop(columns=["older_rows", "built"]), ratings, rounds=rounds, older_rows=older[older > 0]
        )
    if full:
        warehouse.write(schemas.PLAYER_FEATURES, frame, source="features.player_features")
    elif rebuilt or gone:
        warehouse.write(
            schemas.PLAYER_FEATURES,
            frame if frame is not None else pd.DataFrame(columns=schemas.PLAYER_FEATURES.column_names),
            partitions=rounds + [round_key(key) for key in gone],
            partition_by=("season", "gameweek"),
            source="features.player_features",
        )
    context.log.info(
        f"player features rebuilt for {_describe(rebuilt) or 'no round'}"
        + (f"; rows of {_describe(gone)} deleted" if gone else "")
    )
    counts = warehouse.read("SELECT count(*) AS n, count(DISTINCT player_id) AS players FROM features.player_features")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(counts["n"].iat[0]),
            "players": int(counts["players"].iat[0]),
            "rebuilt_seasons": ", ".join(sorted({round_key(key)[0] for key in rebuilt})) or "none",
            "rebuilt_rounds": _describe(rebuilt) or "none",
            "rebuilt_rows": 0 if frame is None else len(frame),
            "input_digests": dg.MetadataValue.json(digests),
            **(
                {}
                if frame is None
                else {
                    "rows_without_history": int(frame["appearances"].isna().sum()),
                    "preview": _newest_rows(frame, ["player_name", "team", "opponent", "points_last_5", "price"], 2),
                }
            ),
        }
    )
