"""Ingestion: raw matches, player gameweeks, fixtures, teams and (optional) football-data odds."""

from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from fpl_platform.defs.ingestion.partitions import season_partitions
from fpl_platform.lib import schemas, teams
from fpl_platform.lib.quality import MAX_PLAYER_ROW_DROP
from fpl_platform.lib.seasons import MATCHES_PER_SEASON
from fpl_platform.resources import FootballData, FplSource, RunClock, Warehouse, warehouse_step

if TYPE_CHECKING:  # pandas loads inside the assets: every step and sensor tick imports this module
    import pandas as pd

INGESTION = {"group_name": "ingestion", "kinds": {"duckdb"}, "pool": "duckdb"}
# An asset that fetches from the network opens its warehouse session only after the fetch: a session holds the
# file's lock, and a slow live source would otherwise block `publish` and every other writer while it waits.
SEASONAL = {"partitions_def": season_partitions, "backfill_policy": dg.BackfillPolicy.single_run()}


class RawLoadConfig(dg.Config):
    """How much a load may shrink what is stored (write, audit, publish: lib/quality.py)."""

    allow_shrink: bool = Field(
        default=False,
        description="Accept a season that loses rows (not a completed season's results or fixtures, which never shrink).",
    )
    max_player_row_drop: float = Field(
        default=MAX_PLAYER_ROW_DROP,
        ge=0.0,
        lt=1.0,
        description="Share of a season's player rows a load may drop without allow_shrink (players the FPL removes).",
    )


def _audited(
    warehouse: Warehouse, table: str, seasons: "list[str]", config: RawLoadConfig, *, complete_at=None, max_drop=0.0, source=""
):
    """The audit `warehouse.write` runs on the table as it would be published, before the commit."""
    from fpl_platform.lib import quality

    before = quality.rows_per_season(warehouse.read, table) if warehouse.exists(table) else {}

    def audit(connection) -> None:
        def read(sql: str):
            return connection.execute(sql).df()

        after = quality.rows_per_season(read, table)
        problems = quality.shrinkage(
            table, before, after, seasons, complete_at=complete_at, allow_shrink=config.allow_shrink, max_drop=max_drop
        )
        if table == "raw.player_gameweeks" and quality.stored(read, "raw.fixtures"):
            missing = read(quality.finished_fixtures_without_players(seasons))
            if len(missing):
                first = missing.iloc[0]
                problems.append(
                    f"{len(missing)} finished fixture(s) have no player rows, e.g. {first['season']} gameweek "
                    f"{first['gameweek']} match {first['match_id']}"
                )
        quality.audit(read, table, extra=problems, source=source)

    return audit


def _origin(source) -> str:
    """Where a source's rows come from, for refusals: the live API's URL or the bundled data directory."""
    client = getattr(source, "client", None)
    return str(getattr(client, "base_url", None) or source.data_dir)


def _preview(frame: "pd.DataFrame", columns: list[str], rows: int = 5) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame[columns].head(rows).to_markdown(index=False) if len(frame) else "_no rows_")


def _per_season(frame: "pd.DataFrame") -> dict[str, int]:
    return frame.groupby("season").size().to_dict() if len(frame) else {}


@dg.asset(key=["raw", "matches"], **INGESTION, **SEASONAL)
def raw_matches(
    context: dg.AssetExecutionContext,
    config: RawLoadConfig,
    warehouse: Warehouse,
    fpl_source: FplSource,
    clock: RunClock,
) -> dg.MaterializeResult:
    """One row per Premier League match with its result, for the selected seasons (audited before it is stored)."""
    import pandas as pd

    seasons = context.partition_keys
    source = fpl_source.source(clock)
    frame = pd.concat([source.matches(season) for season in seasons], ignore_index=True)
    with warehouse.session():
        audit = _audited(warehouse, "raw.matches", seasons, config, complete_at=MATCHES_PER_SEASON, source=_origin(source))
        warehouse.write(schemas.MATCHES, frame, partitions=seasons, source="raw.matches", audit=audit)
    context.log.info(f"raw.matches: {len(frame)} rows for {len(seasons)} season(s)")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "rows_per_season": _per_season(frame),
            "goals_per_match": float((frame["home_goals"] + frame["away_goals"]).mean()) if len(frame) else 0.0,
            "source": ", ".join(sorted(frame["source"].unique())) if len(frame) else "none",
            "preview": _preview(frame, ["match_id", "gameweek", "kickoff", "home_team", "away_team", "home_goals", "away_goals"]),
        }
    )


@dg.asset(key=["raw", "player_gameweeks"], deps=[["raw", "matches"]], **INGESTION, **SEASONAL)
def raw_player_gameweeks(
    context: dg.AssetExecutionContext,
    config: RawLoadConfig,
    warehouse: Warehouse,
    fpl_source: FplSource,
    clock: RunClock,
) -> dg.MaterializeResult:
    """One row per player per fixture: FPL points, minutes and statistics, typed, with stable player ids (audited)."""
    import pandas as pd

    seasons = context.partition_keys
    source = fpl_source.source(clock)
    frames = [source.player_gameweeks(season) for season in seasons]
    frames = [f for f in frames if len(f)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=schemas.PLAYER_GAMEWEEKS.column_names)
    with warehouse.session():
        audit = _audited(
            warehouse, "raw.player_gameweeks", seasons, config, max_drop=config.max_player_row_drop, source=_origin(source)
        )
        warehouse.write(schemas.PLAYER_GAMEWEEKS, frame, partitions=seasons, source="raw.player_gameweeks", audit=audit)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "rows_per_season": _per_season(frame),
            "players": int(frame["player_id"].nunique()) if len(frame) else 0,
            "share_with_fpl_code": float(frame["player_code"].notna().mean()) if len(frame) else 0.0,
            "preview": _preview(frame, ["player_name", "season", "gameweek", "team", "opponent", "minutes", "points"]),
        }
    )


@dg.asset(key=["raw", "fixtures"], **INGESTION)
def raw_fixtures(
    context: dg.AssetExecutionContext,
    config: RawLoadConfig,
    warehouse: Warehouse,
    fpl_source: FplSource,
    clock: RunClock,
) -> dg.MaterializeResult:
    """FPL fixtures, played and scheduled, with FPL difficulty ratings (audited before they are stored)."""
    source = fpl_source.source(clock)
    frame = source.fixtures()
    with warehouse.session():
        stored = (
            sorted(warehouse.read("SELECT DISTINCT season FROM raw.fixtures")["season"])
            if warehouse.exists("raw.fixtures")
            else []
        )
        seasons = sorted(set(stored) | set(frame["season"]))
        audit = _audited(warehouse, "raw.fixtures", seasons, config, complete_at=MATCHES_PER_SEASON, source=_origin(source))
        warehouse.write(schemas.FIXTURES, frame, source="raw.fixtures", audit=audit)
    upcoming = frame[~frame["finished"]]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "rows_per_season": _per_season(frame),
            "unplayed_fixtures": len(upcoming),
            "preview": _preview(frame.sort_values("kickoff", ascending=False), ["match_id", "gameweek", "kickoff", "finished"]),
        }
    )


@dg.asset(key=["raw", "teams"], deps=[["raw", "matches"], ["raw", "fixtures"]], **INGESTION)
@warehouse_step
def raw_teams(warehouse: Warehouse, fpl_source: FplSource, clock: RunClock) -> dg.MaterializeResult:
    """The canonical team table: every team with every alias seen in any source."""
    import pandas as pd

    seen = _aliases_seen(fpl_source.source(clock).data_dir)
    seasons = warehouse.read(
        "SELECT team, list(DISTINCT season ORDER BY season) AS seasons FROM ("
        " SELECT home_team AS team, season FROM raw.matches UNION ALL SELECT away_team, season FROM raw.matches"
        + (" UNION ALL SELECT home_team, season FROM raw.fixtures" if warehouse.exists("raw.fixtures") else "")
        + ") GROUP BY team"
    )
    season_map = dict(zip(seasons["team"], seasons["seasons"], strict=True))
    frame = pd.DataFrame(teams.team_table())
    frame["seen_in"] = [sorted(s for s, names in seen.items() if alias in names) for alias in frame["alias"]]
    frame["seasons"] = [list(season_map.get(team, [])) for team in frame["team"]]
    warehouse.write(schemas.TEAMS, frame, source="raw.teams")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "teams": int(frame["team"].nunique()),
            "teams_with_matches": int(sum(1 for s in season_map.values() if len(s))),
            "preview": _preview(frame.groupby("team", as_index=False)["alias"].agg(", ".join), ["team", "alias"], rows=8),
        }
    )


def _aliases_seen(data_dir) -> dict[str, set[str]]:
    """Team spellings per bundled source file, for raw.teams.seen_in."""
    from fpl_platform.lib import bundled

    matches = bundled.read(data_dir, "matches")
    fpl_teams = bundled.read(data_dir, "fpl_teams")
    return {
        "bundled results": set(matches["home_team"]) | set(matches["away_team"]),
        "FPL teams": set(fpl_teams["full_name"]) | set(fpl_teams["code"]),
    }


@dg.asset(key=["raw", "match_odds"], output_required=False, **INGESTION, **SEASONAL)
def raw_match_odds(context: dg.AssetExecutionContext, warehouse: Warehouse, football_data_source: FootballData):
    """football-data.co.uk results, shots and 1X2 odds per season (optional: FPL_PLATFORM_FOOTBALL_DATA)."""
    import pandas as pd

    from fpl_platform.lib import football_data

    base = football_data_source.base
    if not base:
        context.log.warning(
            "raw/match_odds skipped: FPL_PLATFORM_FOOTBALL_DATA is not set. Point it at a football-data.co.uk base URL "
            "(e.g. https://www.football-data.co.uk/mmz4281) or a directory laid out as <yyzz>/E0.csv to load odds."
        )
        return
    frames, missing, sources = [], [], []
    for season in context.partition_keys:
        fetched = football_data.fetch_season(
            base, season, retries=football_data_source.retries, backoff_seconds=football_data_source.backoff_seconds
        )
        if fetched is None:
            missing.append(season)
            continue
        content, location = fetched
        frames.append(football_data.parse_season(content, season, location))
        sources.append(location)
    if not frames:
        context.log.warning(f"raw/match_odds skipped: {base} has no E0.csv for {missing}")
        return
    frame = pd.concat(frames, ignore_index=True)
    loaded = sorted(frame["season"].unique())
    with warehouse.session():
        warehouse.write(schemas.MATCH_ODDS, frame, partitions=loaded, source="raw.match_odds")
    if missing:
        context.log.warning(f"raw/match_odds: no file for {missing} under {base}; those partitions keep their previous rows")
    keys = sorted({entry["key"] for entries in frame["odds"] for entry in entries})
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "rows_per_season": _per_season(frame),
            "files": "\n".join(sources),
            "odds_columns": ", ".join(keys),
            "preview": _preview(frame, ["match_id", "match_date", "home_goals", "away_goals", "result"]),
        }
    )


@dg.asset(key=["raw", "squad"], deps=[["raw", "fixtures"]], **INGESTION)
def raw_squad(
    context: dg.AssetExecutionContext, warehouse: Warehouse, fpl_source: FplSource, clock: RunClock
) -> dg.MaterializeResult:
    """The next gameweek's squad list from the live FPL API (every player × his team's fixtures), for player predictions."""
    import pandas as pd

    squad = fpl_source.source(clock).squad()
    if squad is None:
        # always materialise (an empty table) so the player branch downstream runs in bundled mode too
        context.log.info(
            "raw.squad is empty: the bundled source has no upcoming gameweek (its squads are in raw.player_gameweeks); "
            "in live mode (FPL_PLATFORM_SOURCE=live) it holds the next gameweek's players"
        )
        squad = pd.DataFrame({column: pd.Series(dtype=object) for column in schemas.SQUAD.column_names})
    with warehouse.session():
        warehouse.write(schemas.SQUAD, squad, source="raw.squad")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(squad),
            "gameweek": int(squad["gameweek"].iat[0]) if len(squad) else 0,
            "players": int(squad["player_id"].nunique()),
        }
    )
