"""Schemas of every warehouse table: DDL, validation and the README's "Tables" section come from here."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """A column: DuckDB type, whether NULL is allowed, and what it means."""

    name: str
    type: str
    doc: str
    nullable: bool = False


@dataclass(frozen=True)
class TableSchema:
    """A warehouse table: qualified name, grain, columns and primary key."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    partition_column: str | None = None
    example_sql: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        parts = [f'"{c.name}" {c.type}{"" if c.nullable else " NOT NULL"}' for c in self.columns]
        if self.key:
            parts.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in self.key) + ")")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (" + ", ".join(parts) + ")"


def _c(name: str, type_: str, doc: str, nullable: bool = False) -> Column:
    return Column(name, type_, doc, nullable)


MATCHES = TableSchema(
    name="raw.matches",
    doc="One row per Premier League match with its result (season-partitioned).",
    key=("match_id",),
    partition_column="season",
    columns=(
        _c("match_id", "VARCHAR", "Stable match key: '<season>:<home code>-<away code>', e.g. '2025-26:LIV-BOU'."),
        _c("season", "VARCHAR", "Season, e.g. '2025-26' (the partition key)."),
        _c("gameweek", "SMALLINT", "FPL gameweek 1-38 in which the match was played."),
        _c("kickoff", "TIMESTAMPTZ", "Kickoff in UTC."),
        _c(
            "kickoff_has_time",
            "BOOLEAN",
            "False where the source gives the date only (2014-15, 2015-16): kickoff is midnight UTC.",
        ),
        _c("home_team", "VARCHAR", "Home team, canonical name (see raw.teams)."),
        _c("away_team", "VARCHAR", "Away team, canonical name."),
        _c("home_goals", "SMALLINT", "Full-time home goals."),
        _c("away_goals", "SMALLINT", "Full-time away goals."),
        _c("source", "VARCHAR", "Where the row came from: 'bundled:<file>' or 'fpl-api'."),
    ),
    example_sql="SELECT season, count(*) AS matches, avg(home_goals + away_goals) AS goals_per_match\n"
    "FROM raw.matches GROUP BY season ORDER BY season;",
)

PLAYER_GAMEWEEKS = TableSchema(
    name="raw.player_gameweeks",
    doc="One row per player per fixture with FPL points and statistics (season-partitioned).",
    key=("player_id", "match_id"),
    partition_column="season",
    columns=(
        _c("season", "VARCHAR", "Season, e.g. '2025-26' (the partition key)."),
        _c("gameweek", "SMALLINT", "FPL gameweek 1-38."),
        _c("match_id", "VARCHAR", "The match (raw.matches.match_id)."),
        _c("kickoff", "TIMESTAMPTZ", "Kickoff of the match in UTC."),
        _c(
            "player_id",
            "VARCHAR",
            "Stable player id: 'fpl:<FPL code>' when the FPL code is known (same across seasons), else 'name:<name>'.",
        ),
        _c(
            "player_code",
            "BIGINT",
            "FPL player code (stable across seasons); NULL where it cannot be recovered (some 2015-16/2016-17 players).",
            True,
        ),
        _c("player_name", "VARCHAR", "Player name as FPL spells it."),
        _c("position", "VARCHAR", "FPL position: GK, DEF, MID, FWD (AM = 2024-25 assistant manager).", True),
        _c("team", "VARCHAR", "The player's team in this match, canonical name."),
        _c("opponent", "VARCHAR", "Opponent, canonical name."),
        _c("was_home", "BOOLEAN", "True when the player's team was at home."),
        _c("minutes", "SMALLINT", "Minutes played."),
        _c("points", "SMALLINT", "FPL points scored."),
        _c("goals", "SMALLINT", "Goals scored."),
        _c("assists", "SMALLINT", "Assists."),
        _c("clean_sheets", "SMALLINT", "Clean sheet (FPL definition).", True),
        _c("goals_conceded", "SMALLINT", "Goals conceded while on the pitch."),
        _c("own_goals", "SMALLINT", "Own goals."),
        _c("penalties_saved", "SMALLINT", "Penalties saved.", True),
        _c("penalties_missed", "SMALLINT", "Penalties missed.", True),
        _c("yellow_cards", "SMALLINT", "Yellow cards.", True),
        _c("red_cards", "SMALLINT", "Red cards.", True),
        _c("saves", "SMALLINT", "Saves.", True),
        _c("bonus", "SMALLINT", "Bonus points (NULL in 2015-16, whose source holds only BPS).", True),
        _c("bps", "SMALLINT", "Bonus points system score.", True),
        _c("influence", "DOUBLE", "FPL influence (ICT).", True),
        _c("creativity", "DOUBLE", "FPL creativity (ICT).", True),
        _c("threat", "DOUBLE", "FPL threat (ICT).", True),
        _c("ict_index", "DOUBLE", "FPL ICT index.", True),
        _c("expected_goals", "DOUBLE", "Expected goals (from 2022-23).", True),
        _c("expected_assists", "DOUBLE", "Expected assists (from 2022-23).", True),
        _c("expected_goal_involvements", "DOUBLE", "Expected goal involvements (from 2022-23).", True),
        _c("expected_goals_conceded", "DOUBLE", "Expected goals conceded (from 2022-23).", True),
        _c("starts", "SMALLINT", "1 if the player started (2025-26 source only).", True),
        _c("price", "DOUBLE", "FPL price in millions at the deadline.", True),
        _c("selected", "BIGINT", "Number of FPL managers who selected the player.", True),
        _c("transfers_in", "BIGINT", "Transfers in during the gameweek.", True),
        _c("transfers_out", "BIGINT", "Transfers out during the gameweek.", True),
        _c("transfers_balance", "BIGINT", "Transfers in minus out.", True),
        _c("source", "VARCHAR", "'bundled:<file>' or 'fpl-api'."),
    ),
    example_sql="SELECT player_name, sum(points) AS points, sum(minutes) AS minutes\n"
    "FROM raw.player_gameweeks WHERE season = '2025-26'\n"
    "GROUP BY player_name ORDER BY points DESC LIMIT 10;",
)

TEAMS = TableSchema(
    name="raw.teams",
    doc="The canonical team table: one row per team and alias, with the seasons the team played.",
    key=("alias",),
    columns=(
        _c("team", "VARCHAR", "Canonical team name (used in every other table)."),
        _c("code", "VARCHAR", "Three-letter code (FPL short name)."),
        _c("alias", "VARCHAR", "A spelling used by some source, e.g. 'Man Utd', 'Man United', 'MUN'."),
        _c("alias_key", "VARCHAR", "Normalised alias (lower case, no accents or punctuation) used for matching."),
        _c("seen_in", "VARCHAR[]", "Sources where this exact spelling was seen (bundled results, FPL teams, football-data)."),
        _c("seasons", "VARCHAR[]", "Premier League seasons of the team in raw.matches and raw.fixtures."),
    ),
    example_sql="SELECT team, list(alias ORDER BY alias) AS aliases FROM raw.teams GROUP BY team ORDER BY team;",
)

FIXTURES = TableSchema(
    name="raw.fixtures",
    doc="FPL fixtures (played and scheduled) with FPL difficulty ratings.",
    key=("season", "fpl_fixture_id"),
    columns=(
        _c("season", "VARCHAR", "Season, e.g. '2025-26'."),
        _c("fpl_fixture_id", "INTEGER", "FPL fixture id within the season."),
        _c("match_id", "VARCHAR", "Match key as in raw.matches."),
        _c("gameweek", "SMALLINT", "FPL gameweek; NULL while a postponed fixture is unscheduled.", True),
        _c("kickoff", "TIMESTAMPTZ", "Scheduled kickoff in UTC; NULL while unscheduled.", True),
        _c("home_team", "VARCHAR", "Home team, canonical name."),
        _c("away_team", "VARCHAR", "Away team, canonical name."),
        _c("home_goals", "SMALLINT", "Home goals once played.", True),
        _c("away_goals", "SMALLINT", "Away goals once played.", True),
        _c("home_difficulty", "SMALLINT", "FPL fixture difficulty for the home team (1-5).", True),
        _c("away_difficulty", "SMALLINT", "FPL fixture difficulty for the away team (1-5).", True),
        _c("finished", "BOOLEAN", "True once the result is final."),
        _c("source", "VARCHAR", "'bundled:fixtures' or 'fpl-api'."),
    ),
    example_sql="-- the newest season's latest (or next, in live mode) fixtures\n"
    "SELECT gameweek, home_team, away_team, kickoff, finished, home_difficulty, away_difficulty\n"
    "FROM raw.fixtures WHERE season = (SELECT max(season) FROM raw.fixtures)\n"
    "ORDER BY finished, kickoff DESC LIMIT 10;",
)

MATCH_ODDS = TableSchema(
    name="raw.match_odds",
    doc="football-data.co.uk results, match statistics and 1X2 odds (season-partitioned, optional source).",
    key=("match_id",),
    partition_column="season",
    columns=(
        _c("match_id", "VARCHAR", "Match key as in raw.matches."),
        _c("season", "VARCHAR", "Season, e.g. '2024-25' (the partition key)."),
        _c("match_date", "DATE", "Match date (football-data's Date, dd/mm/yy or dd/mm/yyyy)."),
        _c("kickoff_time", "VARCHAR", "Local kickoff time 'HH:MM' where the file has a Time column (2019-20 on).", True),
        _c("home_team", "VARCHAR", "Home team, canonical name."),
        _c("away_team", "VARCHAR", "Away team, canonical name."),
        _c("home_goals", "SMALLINT", "FTHG."),
        _c("away_goals", "SMALLINT", "FTAG."),
        _c("result", "VARCHAR", "FTR: H, D or A."),
        _c("home_shots", "SMALLINT", "HS.", True),
        _c("away_shots", "SMALLINT", "AS.", True),
        _c("home_shots_on_target", "SMALLINT", "HST.", True),
        _c("away_shots_on_target", "SMALLINT", "AST.", True),
        _c(
            "odds",
            "MAP(VARCHAR, DOUBLE)",
            "Every 1X2 decimal price in the file keyed by its column (B365H, PSCH, AvgCA, BbAvD, ...).",
        ),
        _c("source", "VARCHAR", "The file or URL read."),
    ),
    example_sql="SELECT match_id, odds['PSCH'] AS pinnacle_close_home, odds['AvgCH'] AS avg_close_home\n"
    "FROM raw.match_odds WHERE season = '2024-25' LIMIT 5;",
    notes=(
        "Odds are stored as a MAP so seasons with different bookmakers share one schema: "
        "`odds['PSCH']` is NULL where a season lacks Pinnacle closing prices.",
    ),
)

ALL_TABLES: tuple[TableSchema, ...] = (MATCHES, PLAYER_GAMEWEEKS, TEAMS, FIXTURES, MATCH_ODDS)
SCHEMAS: tuple[str, ...] = ("raw", "features", "ml", "predictions", "monitoring")


def by_name(name: str) -> TableSchema:
    """Look a table schema up by its qualified name."""
    for table in ALL_TABLES:
        if table.name == name:
            return table
    raise KeyError(name)


def tables_markdown() -> str:
    """The README's table documentation, generated from the schemas."""
    out = []
    for table in ALL_TABLES:
        out.append(f"### `{table.name}`\n\n{table.doc}")
        if table.key:
            out.append(
                f"Key: `{', '.join(table.key)}`."
                + (f" Partitioned by `{table.partition_column}`." if table.partition_column else "")
            )
        out.append("| column | type | meaning |\n|---|---|---|")
        out[-1] += "".join(f"\n| `{c.name}` | {c.type}{'' if c.nullable else ' NOT NULL'} | {c.doc} |" for c in table.columns)
        out.extend(table.notes)
        if table.example_sql:
            out.append(f"```sql\n{table.example_sql}\n```")
    return "\n\n".join(out) + "\n"
