"""Schemas of every warehouse table: DDL, validation and docs/tables.md (`make docs`) come from here."""

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

SQUAD = TableSchema(
    name="raw.squad",
    doc="The next gameweek's squad list (live mode): every listed player × every fixture of his team, before kickoff.",
    key=("player_id", "match_id"),
    columns=(
        _c("season", "VARCHAR", "Season."),
        _c("gameweek", "SMALLINT", "The upcoming gameweek."),
        _c("match_id", "VARCHAR", "Match key (raw.fixtures.match_id)."),
        _c("kickoff", "TIMESTAMPTZ", "Scheduled kickoff.", True),
        _c("player_id", "VARCHAR", "Stable player id ('fpl:<code>')."),
        _c("player_code", "BIGINT", "FPL player code (NULL in a replay of an old season whose bundled rows lack it).", True),
        _c("player_name", "VARCHAR", "Player name."),
        _c("position", "VARCHAR", "FPL position.", True),
        _c("team", "VARCHAR", "The player's team."),
        _c("opponent", "VARCHAR", "Opponent."),
        _c("was_home", "BOOLEAN", "True when the player's team is at home."),
        _c("price", "DOUBLE", "Current price (£m).", True),
        _c("selected", "BIGINT", "Managers selecting the player (selected_by_percent × total players).", True),
        _c("transfers_balance", "BIGINT", "Net transfers this gameweek so far.", True),
        _c("chance_of_playing", "DOUBLE", "FPL's chance of playing next round (%), NULL when not flagged.", True),
        _c(
            "status", "VARCHAR", "FPL availability status (a available, d doubtful, i injured, s suspended, u unavailable).", True
        ),
        _c("source", "VARCHAR", "'fpl-api'."),
    ),
    example_sql="SELECT player_name, team, opponent, price, status FROM raw.squad ORDER BY price DESC LIMIT 10;",
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

_MATCH_KEYS = (
    _c("match_id", "VARCHAR", "Match key as in raw.matches."),
    _c("season", "VARCHAR", "Season."),
    _c("gameweek", "SMALLINT", "FPL gameweek."),
    _c("cutoff", "TIMESTAMPTZ", "First kickoff of the gameweek: every value in the row uses only matches before it."),
    _c("kickoff", "TIMESTAMPTZ", "Kickoff in UTC.", True),
    _c("home_team", "VARCHAR", "Home team."),
    _c("away_team", "VARCHAR", "Away team."),
)
_RATINGS = (
    _c("home_attack", "DOUBLE", "Dixon-Coles log attack strength of the home team (0 = league average)."),
    _c("home_defence", "DOUBLE", "Dixon-Coles log defence weakness of the home team (higher concedes more)."),
    _c("away_attack", "DOUBLE", "Dixon-Coles log attack strength of the away team."),
    _c("away_defence", "DOUBLE", "Dixon-Coles log defence weakness of the away team."),
    _c("home_advantage", "DOUBLE", "Dixon-Coles log home advantage."),
    _c("rho", "DOUBLE", "Dixon-Coles low-score dependence."),
    _c("dc_home_xg", "DOUBLE", "Dixon-Coles expected home goals (λ)."),
    _c("dc_away_xg", "DOUBLE", "Dixon-Coles expected away goals (μ)."),
    _c("dc_p_home", "DOUBLE", "Dixon-Coles P(home win)."),
    _c("dc_p_draw", "DOUBLE", "Dixon-Coles P(draw)."),
    _c("dc_p_away", "DOUBLE", "Dixon-Coles P(away win)."),
    _c("dc_fit_matches", "INTEGER", "Matches in the Dixon-Coles fit (3-season window, ξ = 0.0018/day)."),
    _c("elo_home", "DOUBLE", "Home team Elo rating."),
    _c("elo_away", "DOUBLE", "Away team Elo rating."),
    _c("elo_expected_home", "DOUBLE", "Elo expected score of the home team (home advantage included)."),
)
TEAM_RATINGS = TableSchema(
    name="features.team_ratings",
    doc="Team strengths as of every gameweek's first kickoff: Dixon-Coles (refit before each gameweek) and Elo.",
    key=("match_id",),
    columns=(*_MATCH_KEYS, *_RATINGS),
    example_sql="SELECT home_team, away_team, round(dc_p_home, 3) AS p_home, round(elo_home - elo_away) AS elo_gap\n"
    "FROM features.team_ratings WHERE season = '2025-26' AND gameweek = 38;",
)
_FORM_STATS = (
    ("points", "league points"),
    ("goals_for", "goals scored"),
    ("goals_against", "goals conceded"),
    ("xg_for", "expected goals (sum of its players' FPL xG; from 2022-23)"),
    ("xg_against", "expected goals conceded (from 2022-23)"),
    ("lineup_value", "FPL price (£m) of the 11 players with most minutes"),
)
_FORM = tuple(
    column
    for side in ("home", "away")
    for column in (
        *(
            _c(
                f"{side}_{stat}_5",
                "DOUBLE",
                f"{side.title()} team: mean {label} over its last 5 matches before the cutoff.",
                True,
            )
            for stat, label in _FORM_STATS
        ),
        *(
            _c(
                f"{side}_threat_{direction}_ewm",
                "DOUBLE",
                f"{side.title()} team: FPL threat {label} per match (sum over players), exponentially weighted over its "
                "matches before the cutoff (span 20, across seasons; NULL before 3 matches with threat, from 2016-17).",
                True,
            )
            for direction, label in (("for", "created"), ("against", "conceded"))
        ),
    )
)

MATCH_FEATURES = TableSchema(
    name="features.match_features",
    doc="One row per match (played or scheduled): ratings, Dixon-Coles probabilities, form, rest and optional market probabilities.",
    key=("match_id",),
    columns=(
        *_MATCH_KEYS,
        _c("home_goals", "SMALLINT", "Home goals (NULL until played; never used as a feature).", True),
        _c("away_goals", "SMALLINT", "Away goals (NULL until played).", True),
        *_RATINGS,
        _c("elo_diff", "DOUBLE", "elo_home − elo_away."),
        _c("dc_log_home_away", "DOUBLE", "ln(dc_p_home / dc_p_away)."),
        _c("dc_log_draw", "DOUBLE", "logit(dc_p_draw)."),
        *_FORM,
        *(_c(f"diff_{stat}_5", "DOUBLE", f"home_{stat}_5 − away_{stat}_5.", True) for stat, _ in _FORM_STATS),
        _c(
            "diff_threat_ewm",
            "DOUBLE",
            "(home_threat_for_ewm − home_threat_against_ewm) − (away_threat_for_ewm − away_threat_against_ewm).",
            True,
        ),
        _c("home_rest_days", "DOUBLE", "Days since the home team's previous match (capped at 21).", True),
        _c("away_rest_days", "DOUBLE", "Days since the away team's previous match (capped at 21).", True),
        _c(
            "market_p_home",
            "DOUBLE",
            "De-margined market P(home) when raw.match_odds holds the season (Pinnacle closing, else average closing, else average).",
            True,
        ),
        _c("market_p_draw", "DOUBLE", "De-margined market P(draw).", True),
        _c("market_p_away", "DOUBLE", "De-margined market P(away).", True),
        _c("market_source", "VARCHAR", "Which odds columns gave the market probabilities (PSC, AvgC, Avg, BbAv, ...).", True),
    ),
    example_sql="SELECT match_id, round(dc_p_home, 3) AS dc_home, home_points_5, away_points_5, home_rest_days\n"
    "FROM features.match_features WHERE season = '2025-26' ORDER BY kickoff DESC LIMIT 5;",
)
MATCH_BACKTEST = TableSchema(
    name="ml.match_backtest",
    doc="Walk-forward match probabilities per model: each predicted from data before its gameweek's first kickoff.",
    key=("match_id", "model"),
    columns=(
        _c("season", "VARCHAR", "Season."),
        _c("gameweek", "SMALLINT", "Gameweek."),
        _c("kickoff", "TIMESTAMPTZ", "Kickoff."),
        _c("match_id", "VARCHAR", "Match key."),
        _c("home_team", "VARCHAR", "Home team."),
        _c("away_team", "VARCHAR", "Away team."),
        _c(
            "model", "VARCHAR", "'ours' (the selected candidate), 'dixon_coles', 'climatology', or 'market' when odds are loaded."
        ),
        _c("candidate", "VARCHAR", "For 'ours': which candidate was selected on the validation seasons.", True),
        _c("p_home", "DOUBLE", "P(home win)."),
        _c("p_draw", "DOUBLE", "P(draw)."),
        _c("p_away", "DOUBLE", "P(away win)."),
        _c("home_goals", "SMALLINT", "Actual home goals."),
        _c("away_goals", "SMALLINT", "Actual away goals."),
    ),
    example_sql="SELECT model, count(*) AS matches,\n"
    "  avg(0.5 * (power(p_home - (home_goals > away_goals)::INT, 2)\n"
    "     + power(p_home + p_draw - (home_goals >= away_goals)::INT, 2))) AS rps\n"
    "FROM ml.match_backtest GROUP BY model ORDER BY rps;",
)
BACKTEST_METRICS = TableSchema(
    name="ml.backtest_metrics",
    doc="Backtest scores per model, per season and pooled (matches: RPS, Brier, log loss, accuracy; players: MAE, RMSE, R²).",
    key=("domain", "season", "model", "subset"),
    columns=(
        _c("domain", "VARCHAR", "'match' or 'player'."),
        _c("season", "VARCHAR", "A season, or 'pooled'."),
        _c("model", "VARCHAR", "Model name as in the backtest table."),
        _c("subset", "VARCHAR", "'all', or for players 'minutes>0' and actual-points buckets '0', '1-2', '3-4', '>=5'."),
        _c("n", "INTEGER", "Rows scored."),
        _c("rps", "DOUBLE", "Mean ranked probability score (matches).", True),
        _c("brier", "DOUBLE", "Mean 3-class Brier score (matches).", True),
        _c("log_loss", "DOUBLE", "Mean log loss (matches).", True),
        _c("accuracy", "DOUBLE", "Argmax hit rate (matches).", True),
        _c("mae", "DOUBLE", "Mean absolute error (players).", True),
        _c("rmse", "DOUBLE", "Root mean squared error (players).", True),
        _c("r2", "DOUBLE", "R² (players).", True),
    ),
    example_sql="SELECT model, n, round(rps, 4) AS rps, round(accuracy, 3) AS accuracy\n"
    "FROM ml.backtest_metrics WHERE domain = 'match' AND season = 'pooled' ORDER BY rps;",
)
BACKTEST_COMPARISONS = TableSchema(
    name="ml.backtest_comparisons",
    doc="Paired comparisons with a baseline on the same rows: mean loss difference and a 95% bootstrap CI resampled by gameweek.",
    key=("domain", "model", "baseline", "metric"),
    columns=(
        _c("domain", "VARCHAR", "'match' or 'player'."),
        _c("model", "VARCHAR", "The model compared."),
        _c("baseline", "VARCHAR", "The baseline (e.g. 'dixon_coles')."),
        _c("metric", "VARCHAR", "Per-row loss compared ('rps', 'squared_error')."),
        _c("n", "INTEGER", "Paired rows."),
        _c("groups", "INTEGER", "Gameweeks resampled."),
        _c("mean_difference", "DOUBLE", "mean(model loss − baseline loss): negative means the model is better."),
        _c("ci_low", "DOUBLE", "2.5% bootstrap quantile."),
        _c("ci_high", "DOUBLE", "97.5% bootstrap quantile."),
    ),
    example_sql="SELECT model, baseline, round(mean_difference, 5) AS diff, round(ci_low, 5) AS lo, round(ci_high, 5) AS hi\n"
    "FROM ml.backtest_comparisons;",
)


def _trainings(name: str, doc: str, score: str) -> TableSchema:
    return TableSchema(
        name=name,
        doc=doc,
        key=("mlflow_run_id",),
        columns=(
            _c("trained_at", "TIMESTAMPTZ", "When the training ran."),
            _c("model_name", "VARCHAR", "Registered model name."),
            _c("version", "VARCHAR", "Registered model version."),
            _c("mlflow_run_id", "VARCHAR", "MLflow run id."),
            _c("dagster_run_id", "VARCHAR", "Dagster run that trained it."),
            _c("candidate", "VARCHAR", "Model family / selected candidate."),
            _c("data_cutoff", "TIMESTAMPTZ", "Trained on rows that kicked off before this instant."),
            _c("training_rows", "INTEGER", "Rows trained on."),
            _c("validation_score", "DOUBLE", score),
            _c("validation_seasons", "VARCHAR", "Validation seasons, comma-separated."),
            _c(
                "alias",
                "VARCHAR",
                "'champion' on the version serving now, 'previous' on the one a rollback restores, NULL otherwise.",
                True,
            ),
            _c(
                "gate_decision",
                "VARCHAR",
                "The gate's verdict on this version: promoted, rejected, failed (its promotion could not complete), or "
                "abandoned (its run died before the gate decided); details in monitoring.retraining_events.",
                True,
            ),
        ),
        example_sql=f"SELECT version, candidate, round(validation_score, 4) AS score, data_cutoff FROM {name} ORDER BY trained_at DESC;",
    )


MODEL_TRAININGS = _trainings(
    "ml.match_outcome_model",
    "One row per training of the match outcome model: MLflow run, registered version, data window, validation RPS.",
    "Walk-forward RPS of the selected candidate on the validation seasons.",
)
PLAYER_TRAININGS = _trainings(
    "ml.player_points_model",
    "One row per training of the player points model: MLflow run, registered version, data window, validation RMSE.",
    "Walk-forward RMSE (all rows) on the validation gameweeks.",
)
MATCH_PREDICTIONS = TableSchema(
    name="predictions.match_outcomes",
    doc="Home/draw/away probabilities for the gameweek after each data cutoff, from the champion serving then: one "
    "set per as-of (re-predicting an as-of replaces its rows), so served predictions stay for performance monitoring.",
    key=("as_of", "match_id"),
    partition_column="as_of",
    columns=(
        _c("season", "VARCHAR", "Season."),
        _c("gameweek", "SMALLINT", "Predicted gameweek."),
        _c("match_id", "VARCHAR", "Match key."),
        _c("kickoff", "TIMESTAMPTZ", "Kickoff.", True),
        _c("home_team", "VARCHAR", "Home team."),
        _c("away_team", "VARCHAR", "Away team."),
        _c("p_home", "DOUBLE", "P(home win)."),
        _c("p_draw", "DOUBLE", "P(draw)."),
        _c("p_away", "DOUBLE", "P(away win)."),
        _c("dc_p_home", "DOUBLE", "The Dixon-Coles baseline's P(home win), for reference."),
        _c("model_name", "VARCHAR", "Registered model name."),
        _c("model_version", "VARCHAR", "Registered version that produced the row (the champion at prediction time)."),
        _c("as_of", "VARCHAR", "Data cutoff '<season>:<gameweek>' (results up to and including this gameweek)."),
        _c("predicted_at", "TIMESTAMPTZ", "When the prediction was made."),
    ),
    example_sql="SELECT home_team, away_team, round(p_home, 3) AS home, round(p_draw, 3) AS draw, round(p_away, 3) AS away, model_version\n"
    "FROM predictions.match_outcomes WHERE as_of = (SELECT max_by(as_of, predicted_at) FROM predictions.match_outcomes) ORDER BY kickoff;",
)

# rolling player statistics and their windows (rows before the cutoff), shared with lib/player_model.py
PLAYER_ROLLING_STATS = (
    "points", "minutes", "played", "started", "goals", "assists", "bonus", "bps", "ict_index", "expected_goals", "expected_assists",
)  # fmt: skip
PLAYER_WINDOWS = (3, 5, 10, 38)
_PLAYER_KEYS = (
    _c("season", "VARCHAR", "Season."),
    _c("gameweek", "SMALLINT", "FPL gameweek."),
    _c("match_id", "VARCHAR", "Match key."),
    _c("player_id", "VARCHAR", "Stable player id (raw.player_gameweeks)."),
    _c("player_name", "VARCHAR", "Player name."),
    _c("position", "VARCHAR", "FPL position.", True),
    _c("team", "VARCHAR", "The player's team."),
    _c("opponent", "VARCHAR", "Opponent."),
)
PLAYER_FEATURES = TableSchema(
    name="features.player_features",
    doc="One row per player per fixture: rolling form from earlier gameweeks only, deadline facts and both teams' strengths.",
    key=("player_id", "match_id"),
    partition_column="season",
    columns=(
        *_PLAYER_KEYS,
        _c("kickoff", "TIMESTAMPTZ", "Kickoff."),
        _c("cutoff", "TIMESTAMPTZ", "First kickoff of the gameweek: rolling features use only rows before it."),
        _c("minutes", "SMALLINT", "Minutes played (the outcome; never a feature).", True),
        _c("points", "SMALLINT", "FPL points scored (the target; never a feature).", True),
        *(
            _c(
                f"{stat}_last_{window}",
                "DOUBLE",
                f"Mean {stat.replace('_', ' ')} over the player's last {window} rows before the cutoff.",
                True,
            )
            for window in PLAYER_WINDOWS
            for stat in PLAYER_ROLLING_STATS
        ),
        _c("position_code", "DOUBLE", "GK 0, DEF 1, MID 2, FWD 3, AM 4.", True),
        _c("was_home", "DOUBLE", "1 at home, 0 away."),
        _c("price", "DOUBLE", "Price at the deadline (£m).", True),
        _c("log_selected", "DOUBLE", "ln(1 + managers selecting the player at the deadline).", True),
        _c("transfers_balance_share", "DOUBLE", "Net transfers for the gameweek / selections.", True),
        _c("team_attack", "DOUBLE", "Own team's Dixon-Coles attack as of the cutoff."),
        _c("team_defence", "DOUBLE", "Own team's Dixon-Coles defence weakness."),
        _c("opponent_attack", "DOUBLE", "Opponent's Dixon-Coles attack."),
        _c("opponent_defence", "DOUBLE", "Opponent's Dixon-Coles defence weakness."),
        _c("team_expected_goals", "DOUBLE", "Dixon-Coles expected goals for the player's team in this fixture."),
        _c("opponent_expected_goals", "DOUBLE", "Dixon-Coles expected goals against the player's team."),
        _c("appearances", "DOUBLE", "Rows the player had in the data before the cutoff.", True),
        _c("days_since_last", "DOUBLE", "Days since the player's previous row (capped at 400).", True),
    ),
    example_sql="SELECT player_name, round(points_last_5, 2) AS form, price, round(team_expected_goals, 2) AS team_xg\n"
    "FROM features.player_features WHERE season = '2025-26' AND gameweek = 38 ORDER BY points_last_5 DESC NULLS LAST LIMIT 10;",
)
PLAYER_BACKTEST = TableSchema(
    name="ml.player_backtest",
    doc="Walk-forward predicted FPL points per player-fixture, with the rolling-mean baselines.",
    key=("player_id", "match_id"),
    columns=(
        *_PLAYER_KEYS,
        _c("minutes", "SMALLINT", "Minutes actually played."),
        _c("actual_points", "SMALLINT", "Points actually scored."),
        _c("predicted_points", "DOUBLE", "Our prediction: P(plays) × E[points | plays]."),
        _c("p_play", "DOUBLE", "Predicted probability of playing."),
        _c("baseline_last_5", "DOUBLE", "Mean points of the player's last 5 rows before the cutoff (0 with no history)."),
        _c("baseline_last_38", "DOUBLE", "Mean points of the last 38 rows before the cutoff."),
    ),
    example_sql="SELECT sqrt(avg(power(predicted_points - actual_points, 2))) AS rmse_ours,\n"
    "  sqrt(avg(power(baseline_last_5 - actual_points, 2))) AS rmse_last_5 FROM ml.player_backtest;",
)
PLAYER_PREDICTIONS = TableSchema(
    name="predictions.player_points",
    doc="Predicted FPL points for every player-fixture of the gameweek after each data cutoff, from the champion "
    "serving then (one set per as-of, like predictions.match_outcomes).",
    key=("as_of", "player_id", "match_id"),
    partition_column="as_of",
    columns=(
        *_PLAYER_KEYS,
        _c("kickoff", "TIMESTAMPTZ", "Kickoff.", True),
        _c("predicted_points", "DOUBLE", "P(plays) × E[points | plays]."),
        _c("p_play", "DOUBLE", "Probability of playing (capped by FPL's chance of playing when the player is flagged)."),
        _c("availability_adjusted", "BOOLEAN", "True when FPL's flag lowered the model's p_play (and the points with it)."),
        _c(
            "availability_flag",
            "VARCHAR",
            "FPL's flag applied: status and chance of playing, e.g. 'i 0%' or 'd 25%' (live mode); NULL when not flagged.",
            True,
        ),
        _c("model_name", "VARCHAR", "Registered model name ('player_points')."),
        _c("model_version", "VARCHAR", "Registered version (the champion at prediction time)."),
        _c("as_of", "VARCHAR", "Data cutoff '<season>:<gameweek>'."),
        _c("predicted_at", "TIMESTAMPTZ", "When the prediction was made."),
    ),
    example_sql="SELECT player_name, team, opponent, round(predicted_points, 2) AS expected, round(p_play, 2) AS p_play\n"
    "FROM predictions.player_points WHERE as_of = (SELECT max_by(as_of, predicted_at) FROM predictions.player_points)\n"
    "ORDER BY predicted_points DESC LIMIT 10;",
)

ALERTS = TableSchema(
    name="monitoring.alerts",
    doc="Every alert and what happened to it on each channel: sent, suppressed by the cooldown, failed, or no channel configured.",
    key=("alert_id", "channel"),
    columns=(
        _c("alert_id", "VARCHAR", "Id shared by the rows of one alert."),
        _c("created_at", "TIMESTAMPTZ", "When the alert was raised."),
        _c("alert_key", "VARCHAR", "Cooldown key, e.g. 'run_failure:<job>' or 'drift:match_outcome'."),
        _c("severity", "VARCHAR", "LOW, MEDIUM, HIGH or CRITICAL."),
        _c("title", "VARCHAR", "One-line summary."),
        _c("message", "VARCHAR", "The full text sent (never contains secrets)."),
        _c("metric", "VARCHAR", "The metric that triggered it, if any.", True),
        _c("value", "DOUBLE", "Its value.", True),
        _c("threshold", "DOUBLE", "The threshold it crossed.", True),
        _c("channel", "VARCHAR", "email, slack, discord, webhook, or 'none'."),
        _c("status", "VARCHAR", "sent, suppressed, failed or no_channel."),
        _c("attempts", "INTEGER", "Delivery attempts made."),
        _c("error", "VARCHAR", "Why delivery failed (channel and error type only).", True),
    ),
    example_sql="SELECT created_at, severity, title, channel, status FROM monitoring.alerts ORDER BY created_at DESC LIMIT 20;",
)

DRIFT = TableSchema(
    name="monitoring.drift",
    doc="Per report and feature (and the model's prediction): PSI, two-sample KS and the severity by the one drift rule "
    "(fpl_platform/lib/drift.py, and monitoring.drift_reports below), with Evidently's verdict on the same rule.",
    key=("report_id", "feature"),
    columns=(
        _c("report_id", "VARCHAR", "The report (monitoring.drift_reports)."),
        _c("model_name", "VARCHAR", "Model whose inputs are compared ('match_outcome', 'player_points')."),
        _c("feature", "VARCHAR", "Feature, or 'prediction' for the model's output."),
        _c(
            "evidently_method",
            "VARCHAR",
            "The stat test Evidently's DataDriftPreset ran: our rule registered with Evidently "
            "('fpl_platform_psi_ks_<thresholds>'). NULL when Evidently was not run.",
            True,
        ),
        _c("evidently_value", "DOUBLE", "Its score: the feature's PSI.", True),
        _c("evidently_threshold", "DOUBLE", "Its threshold: the warning PSI (KS can flag a feature below it).", True),
        _c(
            "evidently_drifted",
            "BOOLEAN",
            "Evidently's verdict; equals `drifted` (it applies the same rule to the same rows).",
            True,
        ),
        _c(
            "psi",
            "DOUBLE",
            "Population stability index (reference-quantile bins, one per 25 rows of the smaller window, 2 to 10).",
        ),
        _c("ks_statistic", "DOUBLE", "Two-sample Kolmogorov-Smirnov statistic."),
        _c("ks_p_value", "DOUBLE", "Its p-value."),
        _c(
            "severity",
            "VARCHAR",
            "'critical' (drifted and PSI ≥ 0.25), 'warning' (drifted: PSI ≥ 0.1, or KS p < 0.01 with D ≥ 0.1) or 'none'; "
            "thresholds from the asset config.",
        ),
        _c("drifted", "BOOLEAN", "severity is 'warning' or 'critical'."),
    ),
    example_sql="SELECT r.created_at, d.model_name, d.feature, round(d.psi, 3) AS psi, d.severity\n"
    "FROM monitoring.drift d JOIN monitoring.drift_reports r USING (report_id) WHERE d.drifted ORDER BY d.psi DESC LIMIT 10;",
)
DRIFT_REPORTS = TableSchema(
    name="monitoring.drift_reports",
    doc="One row per drift report: windows compared, share of drifted features, prediction drift, severity, and the link "
    "to Evidently's HTML report. The severity rule (thresholds from the asset config): a report is 'critical' when "
    "drift_share ≥ 0.4 or prediction_psi ≥ 0.25, 'warning' when drift_share ≥ 0.2 or prediction_psi ≥ 0.1, else "
    "'none'; drift_share counts the inputs whose monitoring.drift row has drifted = true (the prediction is not an "
    "input), so features rated 'critical' alone do not make a critical report. The report id is a digest of what "
    "is compared (model version, windows, their rows, thresholds): a re-run with unchanged inputs stores nothing new.",
    key=("report_id",),
    columns=(
        _c("report_id", "VARCHAR", "Report id: a digest of the model version, windows, their rows and the thresholds."),
        _c("created_at", "TIMESTAMPTZ", "When the report first ran."),
        _c("model_name", "VARCHAR", "Model whose inputs are compared."),
        _c("model_version", "VARCHAR", "The champion version at report time."),
        _c("reference_start", "TIMESTAMPTZ", "First kickoff of the reference window (the champion's training data)."),
        _c("reference_end", "TIMESTAMPTZ", "Last kickoff of the reference window."),
        _c(
            "current_start",
            "TIMESTAMPTZ",
            "First kickoff of the current window (the most recent gameweeks, up to the one predicted).",
        ),
        _c("current_end", "TIMESTAMPTZ", "Last kickoff of the current window."),
        _c("reference_rows", "INTEGER", "Rows in the reference window."),
        _c("current_rows", "INTEGER", "Rows in the current window."),
        _c("features", "INTEGER", "Features compared."),
        _c("drifted_features", "INTEGER", "Features with drifted = true in monitoring.drift."),
        _c("drift_share", "DOUBLE", "drifted_features / features."),
        _c("prediction_psi", "DOUBLE", "PSI of the champion's predictions (P(home) or points) between the windows."),
        _c("severity", "VARCHAR", "'critical', 'warning' or 'none' by the rule above."),
        _c(
            "html_report",
            "VARCHAR",
            "URL of Evidently's HTML report in the MLflow UI (an artifact of a run in the MLflow experiment "
            "'drift_reports' tagged with the report_id; base URL FPL_PLATFORM_MLFLOW_UI). NULL when Evidently was not run.",
            True,
        ),
    ),
    example_sql="SELECT created_at, model_name, round(drift_share, 2) AS share, round(prediction_psi, 3) AS prediction_psi, severity\n"
    "FROM monitoring.drift_reports ORDER BY created_at DESC;",
)

PERFORMANCE = TableSchema(
    name="monitoring.performance",
    doc="Per model and finished gameweek: the scores of the predictions actually served (source 'served': every served "
    "gameweek whose results are in the features) and of the walk-forward backtest (source 'backtest', which sets the "
    "control limits), on that gameweek and on a rolling window, with statistical process control: limits, CUSUM and a "
    "status the sensors act on. Evaluation only: nothing is trained on this table.",
    key=("model_name", "source", "season", "gameweek"),
    columns=(
        _c("model_name", "VARCHAR", "match_outcome or player_points."),
        _c("source", "VARCHAR", "'served' (predictions.* joined with results) or 'backtest' (ml.*_backtest)."),
        _c("season", "VARCHAR", "Season."),
        _c("gameweek", "SMALLINT", "Gameweek."),
        _c("model_version", "VARCHAR", "Version(s) that served the gameweek ('walk-forward' for backtest rows)."),
        _c("n", "INTEGER", "Predictions scored in the gameweek."),
        *(
            _c(m, "DOUBLE", f"{doc} of the gameweek (matches).", True)
            for m, doc in (("rps", "RPS"), ("brier", "Brier"), ("log_loss", "Log loss"), ("accuracy", "Accuracy"))
        ),
        *(
            _c(m, "DOUBLE", f"{doc} of the gameweek (players).", True)
            for m, doc in (("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²"))
        ),
        *(
            _c(f"rolling_{m}", "DOUBLE", f"{m} pooled over the rolling window ending here.", True)
            for m in ("rps", "brier", "log_loss", "accuracy", "mae", "rmse", "r2")
        ),
        _c(
            "rolling_gameweeks",
            "SMALLINT",
            "Gameweeks pooled in the rolling metric: performance.rolling_gameweeks, fewer while the window fills.",
        ),
        _c("metric", "VARCHAR", "The monitored metric: rps (matches) or rmse (players); lower is better."),
        _c("centre", "DOUBLE", "Centre line: mean per-gameweek metric over the last backtest seasons."),
        _c("sigma_gameweek", "DOUBLE", "σ of one gameweek's metric in the backtest."),
        _c("sigma_rolling", "DOUBLE", "σ of the rolling metric over windows of rolling_gameweeks gameweeks in the backtest."),
        _c("ucl_gameweek", "DOUBLE", "Upper control limit of one gameweek: centre + 3σ."),
        _c("warning_limit", "DOUBLE", "Rolling metric above this → warning."),
        _c("critical_limit", "DOUBLE", "Rolling metric above this → critical (retrain within the cooldown)."),
        _c("emergency_limit", "DOUBLE", "Rolling metric above this → emergency (retrain skipping the cooldown)."),
        _c("cusum", "DOUBLE", "One-sided CUSUM of the standardised metric (per source); above cusum_h → critical."),
        _c("status", "VARCHAR", "ok, warning, critical or emergency."),
        _c("computed_at", "TIMESTAMPTZ", "When the table was computed."),
    ),
    example_sql="SELECT model_name, source, season, gameweek, model_version, metric, round(coalesce(rolling_rps, rolling_rmse), 4) AS rolling,\n"
    "  round(critical_limit, 4) AS critical_limit, round(cusum, 2) AS cusum, status\n"
    "FROM monitoring.performance ORDER BY model_name, source DESC, season DESC, gameweek DESC LIMIT 20;",
)

RETRAINING_EVENTS = TableSchema(
    name="monitoring.retraining_events",
    doc="Every retraining decision: trainings gated (promoted, rejected), failed retrains, triggers skipped by the "
    "cooldown or the attempt cap, and rollbacks, with the evidence and the models before and after.",
    key=("event_id",),
    columns=(
        _c("event_id", "VARCHAR", "Event id."),
        _c("created_at", "TIMESTAMPTZ", "When the decision was made."),
        _c("model_name", "VARCHAR", "match_outcome or player_points."),
        _c("trigger", "VARCHAR", "scheduled, drift, performance, emergency, manual, new_data or rollback."),
        _c("evidence", "VARCHAR", "What fired the trigger (drift report id, gameweek and metric, schedule tick, command).", True),
        _c("champion_before", "VARCHAR", "Champion version before the decision.", True),
        _c("champion_after", "VARCHAR", "Champion version after the decision.", True),
        _c("challenger_version", "VARCHAR", "The version trained and gated.", True),
        _c("metric", "VARCHAR", "Gate metric: rps (matches) or rmse (players).", True),
        _c("challenger_score", "DOUBLE", "Challenger's score on the gate window.", True),
        _c("champion_score", "DOUBLE", "Champion's score on the same rows.", True),
        _c("improvement", "DOUBLE", "champion_score − challenger_score.", True),
        _c("p_value", "DOUBLE", "One-sided paired test p-value.", True),
        _c("test", "VARCHAR", "diebold_mariano or wilcoxon.", True),
        _c("n_compared", "INTEGER", "Rows in the paired comparison.", True),
        _c("decision", "VARCHAR", "promoted, rejected, failed, skipped or rolled_back."),
        _c("reason", "VARCHAR", "Why, with the numbers."),
        _c("dagster_run_id", "VARCHAR", "The Dagster run (or sensor tick) that decided.", True),
        _c("mlflow_run_id", "VARCHAR", "The challenger's MLflow run.", True),
    ),
    example_sql="SELECT created_at, model_name, trigger, decision, champion_before, champion_after, round(improvement, 5) AS improvement,\n"
    "  round(p_value, 4) AS p, reason FROM monitoring.retraining_events ORDER BY created_at DESC;",
)

AB_TESTS = TableSchema(
    name="monitoring.ab_tests",
    doc="A/B tests of a treatment model version against the champion: traffic split, rollout steps, stopping rule and status.",
    key=("test_name",),
    columns=(
        _c("test_name", "VARCHAR", "The test's name (also the seed of its assignment hash)."),
        _c("model_name", "VARCHAR", "match_outcome or player_points."),
        _c("treatment_version", "VARCHAR", "The registered version served to the treatment arm (control: the champion)."),
        _c("traffic_split", "DOUBLE", "The treatment's current share of items (0 once rolled back)."),
        _c(
            "rollout_steps",
            "VARCHAR",
            "Shares the split is raised through while the treatment is not worse, e.g. '0.1,0.25,0.5'.",
            True,
        ),
        _c("min_gameweeks_per_step", "INTEGER", "Evaluated gameweeks at a share before it is raised."),
        _c("target_size", "INTEGER", "Evaluated items after which the test completes.", True),
        _c("end_as_of", "VARCHAR", "The as-of ('season:gameweek') at which the test completes.", True),
        _c("alpha", "DOUBLE", "Significance level of the analysis."),
        _c("status", "VARCHAR", "created, running, stopped, completed or rolled_back."),
        _c("created_at", "TIMESTAMPTZ", "When the test was created."),
        _c("started_at", "TIMESTAMPTZ", "When it was started.", True),
        _c("start_as_of", "VARCHAR", "The first as-of whose predictions it assigned.", True),
        _c("ended_at", "TIMESTAMPTZ", "When it was stopped, completed or rolled back.", True),
        _c("note", "VARCHAR", "The last change and why.", True),
    ),
    example_sql="SELECT test_name, model_name, treatment_version, traffic_split, status, note FROM monitoring.ab_tests;",
)

AB_ASSIGNMENTS = TableSchema(
    name="monitoring.ab_assignments",
    doc="Every item an A/B test assigned (a fixture, or a player-fixture), its arm, and both models' predictions for it.",
    key=("test_name", "item_key"),
    columns=(
        _c("test_name", "VARCHAR", "The test."),
        _c("item_key", "VARCHAR", "match_id, or player_id:match_id."),
        _c("model_name", "VARCHAR", "match_outcome or player_points."),
        _c("season", "VARCHAR", "Season."),
        _c("gameweek", "SMALLINT", "Gameweek."),
        _c("match_id", "VARCHAR", "Fixture."),
        _c("player_id", "INTEGER", "Player (points model).", True),
        _c("bucket", "DOUBLE", "Hash bucket in [0, 1) of test_name:item_key; treatment when below the split."),
        _c("traffic_split", "DOUBLE", "The split when the item was assigned."),
        _c("arm", "VARCHAR", "control or treatment: whose prediction was served."),
        _c("control_version", "VARCHAR", "The champion version that predicted it."),
        _c("treatment_version", "VARCHAR", "The treatment version that predicted it."),
        _c("control_p_home", "DOUBLE", "Control's P(home win) (match model).", True),
        _c("control_p_draw", "DOUBLE", "Control's P(draw).", True),
        _c("control_p_away", "DOUBLE", "Control's P(away win).", True),
        _c("treatment_p_home", "DOUBLE", "Treatment's P(home win).", True),
        _c("treatment_p_draw", "DOUBLE", "Treatment's P(draw).", True),
        _c("treatment_p_away", "DOUBLE", "Treatment's P(away win).", True),
        _c("control_points", "DOUBLE", "Control's predicted points (points model).", True),
        _c("treatment_points", "DOUBLE", "Treatment's predicted points.", True),
        _c("as_of", "VARCHAR", "The as-of of the predictions."),
        _c("assigned_at", "TIMESTAMPTZ", "When it was assigned (the prediction time)."),
    ),
    example_sql="SELECT test_name, arm, count(*) AS items, round(avg(bucket), 3) AS mean_bucket\n"
    "FROM monitoring.ab_assignments GROUP BY ALL ORDER BY ALL;",
)

AB_LOSSES = TableSchema(
    name="monitoring.ab_losses",
    doc="Per evaluated item of an A/B test: both models' losses (RPS or squared error) and the served one.",
    key=("test_name", "item_key"),
    columns=(
        _c("test_name", "VARCHAR", "The test."),
        _c("item_key", "VARCHAR", "match_id, or player_id:match_id."),
        _c("season", "VARCHAR", "Season."),
        _c("gameweek", "SMALLINT", "Gameweek."),
        _c("arm", "VARCHAR", "The arm that was served."),
        _c("control_loss", "DOUBLE", "The control model's loss on the item."),
        _c("treatment_loss", "DOUBLE", "The treatment model's loss on the item."),
        _c("served_loss", "DOUBLE", "The loss of the prediction actually served."),
    ),
    example_sql="SELECT test_name, arm, count(*) AS items, round(avg(served_loss), 5) AS served,\n"
    "  round(avg(treatment_loss - control_loss), 5) AS paired_difference FROM monitoring.ab_losses GROUP BY ALL;",
)

AB_RESULTS = TableSchema(
    name="monitoring.ab_results",
    doc="One analysis per A/B test and as-of: paired tests, arm tests, effect sizes, a gameweek-bootstrap CI, "
    "power, the sample still needed, the recommendation and what the rollout did.",
    key=("test_name", "as_of"),
    columns=(
        _c("test_name", "VARCHAR", "The test."),
        _c("as_of", "VARCHAR", "Data as of ('season:gameweek')."),
        _c("evaluated_at", "TIMESTAMPTZ", "When the analysis ran."),
        _c("model_name", "VARCHAR", "match_outcome or player_points."),
        _c("metric", "VARCHAR", "rps (matches) or squared_error (players); lower is better."),
        _c("treatment_version", "VARCHAR", "The treatment version."),
        _c("traffic_split", "DOUBLE", "The treatment's share during the analysed items' latest gameweek."),
        _c("n_items", "INTEGER", "Evaluated items (both models predicted each)."),
        _c("n_control", "INTEGER", "Items served by the control."),
        _c("n_treatment", "INTEGER", "Items served by the treatment."),
        _c("gameweeks", "INTEGER", "Evaluated gameweeks."),
        _c("mean_loss_control", "DOUBLE", "Control's mean loss on every item."),
        _c("mean_loss_treatment", "DOUBLE", "Treatment's mean loss on every item."),
        _c("mean_difference", "DOUBLE", "Treatment − control (negative: the treatment is better)."),
        _c("ci_low", "DOUBLE", "95 % bootstrap CI of the mean difference, resampling gameweeks: low.", True),
        _c("ci_high", "DOUBLE", "… high.", True),
        _c("paired_t", "DOUBLE", "Paired t statistic.", True),
        _c("paired_t_p", "DOUBLE", "Its two-sided p-value.", True),
        _c("wilcoxon_statistic", "DOUBLE", "Wilcoxon signed-rank statistic.", True),
        _c("wilcoxon_p", "DOUBLE", "Its two-sided p-value.", True),
        _c("dm_statistic", "DOUBLE", "Diebold-Mariano statistic.", True),
        _c("dm_p_better", "DOUBLE", "One-sided p: the treatment's expected loss is lower."),
        _c("dm_p_worse", "DOUBLE", "One-sided p: it is higher."),
        _c("served_loss_control", "DOUBLE", "Mean loss served to the control arm.", True),
        _c("served_loss_treatment", "DOUBLE", "Mean loss served to the treatment arm.", True),
        _c("mann_whitney_u", "DOUBLE", "Mann-Whitney U of the arms' served losses.", True),
        _c("mann_whitney_p", "DOUBLE", "Its two-sided p-value.", True),
        _c("welch_t", "DOUBLE", "Welch t of the arms' served losses.", True),
        _c("welch_p", "DOUBLE", "Its two-sided p-value.", True),
        _c("cohens_d_paired", "DOUBLE", "Cohen's d_z of the paired differences."),
        _c("cohens_d_arms", "DOUBLE", "Cohen's d between the arms (pooled SD).", True),
        _c("power", "DOUBLE", "Achieved power of the paired t-test at the observed d_z.", True),
        _c("n_needed", "DOUBLE", "Items needed for 80 % power at the observed d_z (Infinity: no effect).", True),
        _c("gameweeks_needed", "DOUBLE", "Further gameweeks needed at the current rate.", True),
        _c("recommendation", "VARCHAR", "promote, keep_champion or continue."),
        _c("reason", "VARCHAR", "Why, with the numbers."),
        _c("action", "VARCHAR", "What the rollout did: none, raised_split, rolled_back or completed."),
    ),
    example_sql="SELECT test_name, as_of, n_items, round(mean_difference, 5) AS diff, round(ci_low, 5) AS lo, round(ci_high, 5) AS hi,\n"
    "  round(dm_p_better, 4) AS p, round(power, 2) AS power, recommendation, action FROM monitoring.ab_results ORDER BY as_of;",
)

ALL_TABLES: tuple[TableSchema, ...] = (
    MATCHES,
    PLAYER_GAMEWEEKS,
    SQUAD,
    TEAMS,
    FIXTURES,
    MATCH_ODDS,
    TEAM_RATINGS,
    MATCH_FEATURES,
    MATCH_BACKTEST,
    BACKTEST_METRICS,
    BACKTEST_COMPARISONS,
    MODEL_TRAININGS,
    MATCH_PREDICTIONS,
    PLAYER_FEATURES,
    PLAYER_BACKTEST,
    PLAYER_TRAININGS,
    PLAYER_PREDICTIONS,
    ALERTS,
    DRIFT,
    DRIFT_REPORTS,
    PERFORMANCE,
    RETRAINING_EVENTS,
    AB_TESTS,
    AB_ASSIGNMENTS,
    AB_LOSSES,
    AB_RESULTS,
)
SCHEMAS: tuple[str, ...] = ("raw", "features", "ml", "predictions", "monitoring")


def by_name(name: str) -> TableSchema:
    """Look a table schema up by its qualified name."""
    for table in ALL_TABLES:
        if table.name == name:
            return table
    raise KeyError(name)


def tables_markdown() -> str:
    """The table documentation of docs/tables.md, generated from the schemas."""
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


if __name__ == "__main__":  # `make docs`: python -m fpl_platform.lib.schemas > docs/tables.md
    print("# Tables\n\nGenerated from `fpl_platform/lib/schemas.py` by `make docs` (a test keeps it current).\n")
    print(tables_markdown(), end="")
