"""What people and programs read of the forecasts, as queries on the analyst copy (`analytics.duckdb`).

The prediction API and the dashboard both ask these questions; every value from a caller is a bound parameter.
Each function takes a connection from `lib.analyst.connect_read_only` (or a cursor of one) and returns plain
Python values, so a caller serialises them as it likes. No Dagster, no HTTP here.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import duckdb

from fpl_platform.lib.models import MODELS

POSITIONS = ("GK", "DEF", "MID", "FWD")

# What each answer's rows hold, in order; the API's response schema is built from these and lib.schemas
MATCH_COLUMNS = (
    "match_id", "kickoff", "home_team", "away_team", "p_home", "p_draw", "p_away", "dc_p_home",
    "model_name", "model_version", "as_of", "predicted_at",
)  # fmt: skip
PLAYER_COLUMNS = (
    "player_id", "player_name", "position", "team", "opponent", "match_id", "kickoff", "predicted_points", "p_play",
    "availability_adjusted", "availability_flag", "model_name", "model_version", "as_of", "predicted_at",
)  # fmt: skip
# a copy published before the availability flags were served has no such columns, and that is no error
LATER_PLAYER_COLUMNS = ("availability_adjusted", "availability_flag")
TRAINING_COLUMNS = (
    "model_name", "version", "alias", "gate_decision", "candidate", "data_cutoff", "training_rows", "validation_score",
    "trained_at", "mlflow_run_id",
)  # fmt: skip
PERFORMANCE_COLUMNS = (
    "model_name", "source", "season", "gameweek", "model_version", "n", "metric", "rps", "brier", "log_loss", "accuracy",
    "mae", "rmse", "r2", "rolling_rps", "rolling_rmse", "rolling_mae", "centre", "warning_limit", "critical_limit",
    "emergency_limit", "cusum", "status", "computed_at",
)  # fmt: skip
BACKTEST_METRIC_COLUMNS = (
    "domain", "season", "model", "subset", "n", "rps", "brier", "log_loss", "accuracy", "mae", "rmse", "r2",
)  # fmt: skip
COMPARISON_COLUMNS = ("domain", "model", "baseline", "metric", "n", "groups", "mean_difference", "ci_low", "ci_high")


def _select(columns) -> str:
    return ", ".join(columns)


class NotFound(LookupError):
    """The analyst copy has no rows for what was asked; the message says what it does have."""


class BadFilter(ValueError):
    """A filter that matches nothing there is (a team without players in the round); the message lists what would."""


@dataclass(frozen=True)
class Round:
    """A predicted gameweek: its season, gameweek, and the data cutoff it was predicted from."""

    season: str
    gameweek: int
    as_of: str


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    """The rows of the last query as dicts of JSON-ready values (NaN, ±inf -> None; timestamps -> ISO 8601)."""
    names = [column[0] for column in cursor.description]
    out = []
    for row in cursor.fetchall():
        record = {}
        for name, value in zip(names, row, strict=True):
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            elif isinstance(value, dt.datetime | dt.date):
                value = value.isoformat()
            record[name] = value
        out.append(record)
    return out


def predicted_round(connection, table: str, season: str | None, gameweek: int | None) -> Round:
    """The round of `table` (predictions.match_outcomes or predictions.player_points) asked for: the latest one
    predicted when neither is given, the season's latest with only a season, the latest season's with only a
    gameweek. NotFound names the rounds there are."""
    rounds = connection.execute(
        f"SELECT season, gameweek, as_of, max(predicted_at) AS latest FROM {table} GROUP BY ALL ORDER BY latest DESC"
    ).fetchall()
    if not rounds:
        raise NotFound(f"no predictions yet in {table}: run `fpl-platform demo` (or the predictions assets)")
    if season is None and gameweek is None:
        season_, gameweek_, as_of, _ = rounds[0]
        return Round(season_, int(gameweek_), as_of)
    season = season or rounds[0][0]
    matching = [r for r in rounds if r[0] == season and (gameweek is None or int(r[1]) == gameweek)]
    if not matching:
        there = ", ".join(f"{s} gameweek {g}" for s, g, _, _ in sorted(rounds, key=lambda r: (r[0], r[1]))[-10:])
        asked = f"{season} gameweek {gameweek}" if gameweek is not None else f"season {season}"
        raise NotFound(f"no predictions for {asked} in {table}; predicted: {there}")
    season_, gameweek_, as_of, _ = matching[0]
    return Round(season_, int(gameweek_), as_of)


def match_predictions(connection, season: str | None = None, gameweek: int | None = None, *, memo: dict | None = None) -> dict:
    """H/D/A probabilities of every match of a predicted gameweek, each with its model version and time."""
    table = "predictions.match_outcomes"
    round_ = remembered(memo, ("round", table, season, gameweek), lambda: predicted_round(connection, table, season, gameweek))
    cursor = connection.execute(
        f"SELECT {_select(MATCH_COLUMNS)} FROM predictions.match_outcomes WHERE as_of = ? AND season = ? AND gameweek = ? "
        "ORDER BY kickoff, match_id",
        [round_.as_of, round_.season, round_.gameweek],
    )
    return {"season": round_.season, "gameweek": round_.gameweek, "as_of": round_.as_of, "matches": _records(cursor)}


def round_players(connection, round_: Round) -> list[dict]:
    """Every player-fixture of a predicted round as JSON-ready rows, best expected points first."""

    def rows(columns):
        return connection.execute(
            f"SELECT {_select(columns)} FROM predictions.player_points WHERE as_of = ? AND season = ? AND gameweek = ? "
            "ORDER BY predicted_points DESC, player_id, match_id",
            [round_.as_of, round_.season, round_.gameweek],
        )

    try:
        cursor = rows(PLAYER_COLUMNS)
    except duckdb.BinderException:  # a copy published before the availability flags were served
        cursor = rows([c for c in PLAYER_COLUMNS if c not in LATER_PLAYER_COLUMNS])
    return _records(cursor)


def remembered(memo: dict | None, key: tuple, compute):
    """`compute()`, kept in `memo` under `key`: a caller that holds one memo per published copy (which never
    changes) asks each question of the copy once. Without a memo, computed every time."""
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def player_predictions(
    connection,
    season: str | None = None,
    gameweek: int | None = None,
    *,
    position: str | None = None,
    team: str | None = None,
    min_p_play: float = 0.0,
    limit: int = 100,
    offset: int = 0,
    memo: dict | None = None,
) -> dict:
    """A predicted gameweek's player-fixtures, best expected points first, filtered and paged; `total` counts the
    filtered rows. A team without players in the round is a BadFilter naming the teams there are. A round is a
    few hundred rows: it is read once (per `memo`) and filtered here."""
    table = "predictions.player_points"
    round_ = remembered(memo, ("round", table, season, gameweek), lambda: predicted_round(connection, table, season, gameweek))
    players = remembered(memo, ("players", round_), lambda: round_players(connection, round_))
    if team is not None and team not in (playing := sorted({p["team"] for p in players})):
        raise BadFilter(
            f"team: no team {team!r} in {round_.season} gameweek {round_.gameweek}; expected one of {', '.join(playing)}"
        )
    chosen = [
        p
        for p in players
        if p["p_play"] is not None
        and p["p_play"] >= min_p_play
        and (position is None or p["position"] == position)
        and (team is None or p["team"] == team)
    ]
    return {
        "season": round_.season,
        "gameweek": round_.gameweek,
        "as_of": round_.as_of,
        "total": len(chosen),
        "limit": limit,
        "offset": offset,
        "players": chosen[offset : offset + limit],
    }


def models(connection) -> list[dict]:
    """Every registered version of each model: its alias, gate verdict, candidate, data cutoff and validation score."""
    out = []
    for model in MODELS.values():
        cursor = connection.execute(
            f"SELECT {_select(TRAINING_COLUMNS)} FROM {model.trainings.name} ORDER BY trained_at",
        )
        out.extend(_records(cursor))
    return out


def champions(connection) -> dict[str, dict | None]:
    """Each model's serving version (alias `champion`), when it was trained and on data up to when."""
    out: dict[str, dict | None] = {}
    for name, model in MODELS.items():
        cursor = connection.execute(
            f"SELECT version, trained_at, data_cutoff FROM {model.trainings.name} WHERE alias = 'champion' ORDER BY trained_at DESC LIMIT 1"
        )
        found = _records(cursor)
        out[name] = found[0] if found else None
    return out


def freshness(connection) -> dict:
    """The newest result in the copy, and the newest predictions' time."""
    newest = connection.execute("SELECT max(kickoff) FROM raw.matches").fetchone()[0]
    predicted = connection.execute(
        "SELECT max(predicted_at) FROM (SELECT predicted_at FROM predictions.match_outcomes "
        "UNION ALL SELECT predicted_at FROM predictions.player_points)"
    ).fetchone()[0]
    return {
        "newest_result": newest.isoformat() if newest is not None else None,
        "last_predicted_at": predicted.isoformat() if predicted is not None else None,
    }


def performance(connection, model: str | None = None) -> list[dict]:
    """Per-gameweek monitoring of the models (backtest and served rows), with the control limits and CUSUM."""
    cursor = connection.execute(
        f"SELECT {_select(PERFORMANCE_COLUMNS)} FROM monitoring.performance WHERE ? IS NULL OR model_name = ? "
        "ORDER BY model_name, source, season, gameweek",
        [model, model],
    )
    return _records(cursor)


def backtest(connection) -> dict:
    """Walk-forward metrics per season and model, and the paired comparisons with their confidence intervals."""
    metrics = connection.execute(
        f"SELECT {_select(BACKTEST_METRIC_COLUMNS)} FROM ml.backtest_metrics ORDER BY domain, season, model, subset"
    )
    metric_rows = _records(metrics)
    comparisons = connection.execute(
        f"SELECT {_select(COMPARISON_COLUMNS)} FROM ml.backtest_comparisons ORDER BY domain, model, baseline"
    )
    return {"metrics": metric_rows, "comparisons": _records(comparisons)}
