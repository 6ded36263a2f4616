"""Data-quality rules of the raw tables, run twice: on the rows being written, before they are published
(write, audit, publish), and as Dagster asset checks on the published table.

A rule is the SQL of its failing rows. Ingestion writes a raw table in a transaction, runs the blocking rules
and the completeness rules on what the table would become, and commits only when all pass: a bad or
truncated source is refused and the stored table stays as it was. Completeness compares row counts with
those stored before: a completed season's results and fixtures never shrink, and a season's player rows
may drop by at most a small share (players the FPL removes mid-season) unless the run allows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fpl_platform.lib import teams
from fpl_platform.lib.seasons import GAMEWEEKS_PER_SEASON, MATCHES_PER_SEASON

# a season's player rows may drop by this share between loads without --allow-shrink (run config)
MAX_PLAYER_ROW_DROP = 0.02

if TYPE_CHECKING:  # the code location imports the rules; pandas loads in the steps that run them
    import pandas as pd

Reader = Callable[[str], "pd.DataFrame"]


class AuditError(ValueError):
    """Rows about to be published broke a blocking rule; nothing was written."""


@dataclass(frozen=True)
class Rule:
    table: str
    name: str
    description: str
    sql: str  # SELECT of the failing rows
    blocking: bool = True
    joins: tuple[str, ...] = ()  # other tables the rule reads; without them it has nothing to compare

    def can_run(self, read: Reader) -> bool:
        return all(stored(read, table) for table in self.joins)


def stored(read: Reader, table: str) -> bool:
    schema, name = table.split(".")
    found = read(f"SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = '{schema}' AND table_name = '{name}'")
    return bool(found["n"].iat[0])


def _canonical_teams() -> str:
    return ", ".join("'" + team.name.replace("'", "''") + "'" for team in teams.TEAMS)


RULES: tuple[Rule, ...] = (
    Rule(
        "raw.matches",
        "unique_match_per_season_home_away",
        "No two matches share (season, home team, away team).",
        "SELECT season, home_team, away_team, count(*) AS copies FROM raw.matches GROUP BY ALL HAVING count(*) > 1",
    ),
    Rule(
        "raw.matches",
        "complete_seasons_have_380_matches",
        "Every season but the newest has exactly 380 matches; the newest at most 380.",
        "WITH per AS (SELECT season, count(*) AS matches FROM raw.matches GROUP BY season), "
        "newest AS (SELECT max(season) AS season FROM per) "
        f"SELECT per.* FROM per, newest WHERE (per.season < newest.season AND matches <> {MATCHES_PER_SEASON}) "
        f"OR matches > {MATCHES_PER_SEASON}",
    ),
    Rule(
        "raw.matches",
        "goals_are_non_negative",
        "Goals are integers >= 0.",
        "SELECT match_id, home_goals, away_goals FROM raw.matches WHERE home_goals < 0 OR away_goals < 0",
    ),
    Rule(
        "raw.matches",
        "gameweek_between_1_and_38",
        "Gameweek is 1-38.",
        f"SELECT match_id, gameweek FROM raw.matches WHERE gameweek NOT BETWEEN 1 AND {GAMEWEEKS_PER_SEASON}",
    ),
    Rule(
        "raw.matches",
        "team_names_resolve",
        "Every home and away team is a canonical team in raw.teams' registry.",
        "SELECT team FROM (SELECT DISTINCT home_team AS team FROM raw.matches UNION SELECT DISTINCT away_team FROM raw.matches) "
        f"WHERE team NOT IN ({_canonical_teams()})",
    ),
    Rule(
        "raw.matches",
        "kickoff_inside_season",
        "Every kickoff lies between 1 July of the season's first year and 31 July of the next.",
        "SELECT match_id, kickoff FROM raw.matches WHERE kickoff < make_timestamptz(CAST(left(season, 4) AS INT), 7, 1, 0, 0, 0, 'UTC') "
        "OR kickoff >= make_timestamptz(CAST(left(season, 4) AS INT) + 1, 8, 1, 0, 0, 0, 'UTC')",
    ),
    Rule(
        "raw.player_gameweeks",
        "no_duplicate_player_per_fixture",
        "At most one row per (player_id, match_id).",
        "SELECT player_id, match_id, count(*) AS copies FROM raw.player_gameweeks GROUP BY ALL HAVING count(*) > 1",
    ),
    Rule(
        "raw.player_gameweeks",
        "every_row_has_its_match",
        "Every player row's match_id exists in raw.matches.",
        "SELECT p.player_id, p.match_id FROM raw.player_gameweeks p ANTI JOIN raw.matches m USING (match_id)",
        joins=("raw.matches",),
    ),
    Rule(
        "raw.player_gameweeks",
        "minutes_between_0_and_90_plus",
        "Minutes are 0-130 (90 plus stoppage).",
        "SELECT player_id, match_id, minutes FROM raw.player_gameweeks WHERE minutes NOT BETWEEN 0 AND 130",
        blocking=False,
    ),
    Rule(
        "raw.fixtures",
        "fixtures_agree_with_results",
        "A finished fixture's score equals the result stored in raw.matches.",
        "SELECT f.match_id, f.home_goals, f.away_goals, m.home_goals AS result_home, m.away_goals AS result_away "
        "FROM raw.fixtures f JOIN raw.matches m USING (match_id) "
        "WHERE f.finished AND (f.home_goals <> m.home_goals OR f.away_goals <> m.away_goals)",
        joins=("raw.matches",),
    ),
)


def rules(table: str) -> list[Rule]:
    return [rule for rule in RULES if rule.table == table]


def finished_fixtures_without_players(seasons: Sequence[str]) -> str:
    """SQL of the finished FPL fixtures of `seasons` that have no player rows (needs raw.fixtures)."""
    listed = ", ".join("'" + season.replace("'", "''") + "'" for season in seasons) or "NULL"
    return (
        "SELECT f.season, f.gameweek, f.match_id FROM raw.fixtures f "
        f"WHERE f.finished AND f.season IN ({listed}) "
        "AND NOT EXISTS (SELECT 1 FROM raw.player_gameweeks p WHERE p.match_id = f.match_id)"
    )


def rows_per_season(read: Reader, table: str) -> dict[str, int]:
    frame = read(f"SELECT season, count(*) AS n FROM {table} GROUP BY season")
    return {str(season): int(n) for season, n in zip(frame["season"], frame["n"], strict=True)}


def shrinkage(
    table: str,
    before: Mapping[str, int],
    after: Mapping[str, int],
    seasons: Sequence[str],
    *,
    complete_at: int | None,
    allow_shrink: bool,
    max_drop: float = 0.0,
) -> list[str]:
    """Completeness problems of `seasons` going from `before` to `after` rows.

    A season stored with `complete_at` rows (a finished season's 380 results or fixtures) never shrinks. Any
    other season may lose at most `max_drop` of its rows, unless `allow_shrink`.
    """
    problems = []
    for season in seasons:
        old, new = before.get(season, 0), after.get(season, 0)
        if new >= old:
            continue
        if complete_at is not None and old >= complete_at:
            problems.append(f"{season} had all {old} rows of a completed season and would keep {new}: it never shrinks")
        elif not allow_shrink and new < old * (1 - max_drop):
            allowed = f" (at most {max_drop:.0%} may go)" if max_drop else ""
            problems.append(f"{season} would drop from {old} to {new} rows{allowed}; pass --allow-shrink if that is right")
    return problems


def audit(read: Reader, table: str, *, extra: Sequence[str] = (), source: str = "") -> None:
    """Raise AuditError if a blocking rule of `table` finds failing rows, or `extra` names problems."""
    problems = list(extra)
    for rule in rules(table):
        if not rule.blocking or not rule.can_run(read):
            continue
        failing = read(rule.sql)
        if len(failing):
            first = ", ".join(f"{k}={v}" for k, v in failing.iloc[0].items())
            problems.append(f"{rule.name}: {len(failing)} failing row(s), e.g. {first}")
    if problems:
        raise AuditError(f"{table} refused{' from ' + source if source else ''}, nothing stored changed: " + "; ".join(problems))
