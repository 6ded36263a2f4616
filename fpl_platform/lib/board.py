"""What the dashboard shows, as DataFrames queried from the analyst copy (`analytics.duckdb`).

Each function takes a cursor of a `lib.analyst.connect_read_only` connection; values from a person's choices
are bound parameters. No Streamlit here: the pages (fpl_platform/dashboard) draw what these return, and the
tests compare the two.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from fpl_platform.lib import forecasts
from fpl_platform.lib.models import MODELS

# what each model is judged by per gameweek in monitoring.performance (lower is better)
METRIC = {"match_outcome": "rps", "player_points": "rmse"}


def frame(cursor, sql: str, params=()) -> pd.DataFrame:
    return cursor.execute(sql, list(params)).df()


def cards(cursor, now: dt.datetime) -> dict:
    """The metric cards: freshness, each champion and its age, the last retrain, recent alerts, and each model's
    latest monitored gameweek against its control limits."""
    newest = forecasts.freshness(cursor)["newest_result"]
    champions = {}
    for name, champion in forecasts.champions(cursor).items():
        if champion is not None:
            trained = dt.datetime.fromisoformat(champion["trained_at"])
            champion = {**champion, "trained_at": trained, "age_days": (now - trained).days}
        champions[name] = champion
    retrain = cursor.execute(
        "SELECT created_at, model_name, trigger, decision FROM monitoring.retraining_events WHERE decision <> 'skipped' "
        "ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    # one alert is a row per channel it went to: count alerts, not deliveries
    alerts = cursor.execute(
        "SELECT count(DISTINCT alert_id), count(DISTINCT alert_id) FILTER (severity IN ('HIGH', 'CRITICAL')) "
        "FROM monitoring.alerts WHERE created_at >= ?",
        [now - dt.timedelta(days=7)],
    ).fetchone()
    return {
        "newest_result": None if newest is None else dt.datetime.fromisoformat(newest),
        "champions": champions,
        "last_retrain": None
        if retrain is None
        else dict(zip(("created_at", "model_name", "trigger", "decision"), retrain, strict=True)),
        "alerts_7_days": int(alerts[0]),
        "serious_alerts_7_days": int(alerts[1]),
        "latest": {name: latest_gameweek(cursor, name) for name in MODELS},
        "open": open_conditions(cursor),
    }


def open_conditions(cursor) -> list[str]:
    """What is past a limit now, which the alerts were about: a model whose latest monitored gameweek is not
    'ok', a model whose latest drift report is not severity 'none'. An alert is open while its condition holds
    (monitoring.alerts records deliveries, not resolutions)."""
    found = []
    for name in MODELS:
        latest = latest_gameweek(cursor, name)
        if latest is not None and latest["status"] != "ok":
            found.append(f"{name}: {latest['metric']} {latest['status']} at {latest['season']} gameweek {latest['gameweek']}")
        drift = cursor.execute(
            "SELECT severity, drift_share FROM monitoring.drift_reports WHERE model_name = ? ORDER BY created_at DESC LIMIT 1",
            [name],
        ).fetchone()
        if drift is not None and drift[0] != "none":
            found.append(f"{name}: {drift[0]} drift ({drift[1]:.0%} of features)")
    return found


def latest_gameweek(cursor, model: str) -> dict | None:
    """The newest monitored gameweek of `model` (served rows before backtest ones): its metric, the rolling
    value the limits apply to, the limits and the status."""
    metric = METRIC[model]
    row = cursor.execute(
        f"SELECT season, gameweek, source, {metric}, rolling_{metric}, centre, warning_limit, critical_limit, "
        "emergency_limit, status FROM monitoring.performance WHERE model_name = ? "
        "ORDER BY season DESC, gameweek DESC, source = 'served' DESC LIMIT 1",
        [model],
    ).fetchone()
    keys = ("season", "gameweek", "source", "value", "rolling", "centre", "warning", "critical", "emergency", "status")
    return None if row is None else {"metric": metric, **dict(zip(keys, row, strict=True))}


def predicted_round(cursor) -> forecasts.Round | None:
    try:
        return forecasts.predicted_round(cursor, "predictions.player_points", None, None)
    except forecasts.NotFound:
        return None


def match_round(cursor) -> pd.DataFrame:
    """The latest predicted gameweek's matches with H/D/A probabilities and the serving version."""
    try:
        answer = forecasts.match_predictions(cursor)
    except forecasts.NotFound:
        return pd.DataFrame()
    out = pd.DataFrame(answer["matches"]).assign(season=answer["season"], gameweek=answer["gameweek"])
    out["kickoff"] = pd.to_datetime(out["kickoff"], utc=True)
    return out


def player_round(cursor, round_: forecasts.Round) -> pd.DataFrame:
    """Every player-fixture of a predicted round with its price (FPL's when live, else the one the forecast used)
    and FPL's availability status where known."""
    return frame(
        cursor,
        "SELECT p.player_name AS player, p.position, p.team, p.opponent, p.kickoff, coalesce(s.price, f.price) AS price, "
        "p.p_play, p.predicted_points, s.status, s.chance_of_playing, p.availability_flag, p.model_version, p.player_id "
        "FROM predictions.player_points p "
        "LEFT JOIN raw.squad s ON s.player_id = p.player_id AND s.match_id = p.match_id "
        "LEFT JOIN features.player_features f ON f.player_id = p.player_id AND f.match_id = p.match_id "
        "WHERE p.as_of = ? AND p.season = ? AND p.gameweek = ? ORDER BY p.predicted_points DESC, p.player_id",
        [round_.as_of, round_.season, round_.gameweek],
    )


def performance(cursor, model: str) -> pd.DataFrame:
    """Per-gameweek monitoring of `model` in time order, with a label for the x axis."""
    out = frame(
        cursor,
        "SELECT * FROM monitoring.performance WHERE model_name = ? ORDER BY season, gameweek, source",
        [model],
    )
    out["round"] = out["season"] + " gw " + out["gameweek"].astype(str).str.zfill(2)
    return out


def champion_history(cursor, model: str) -> pd.DataFrame:
    return frame(
        cursor,
        "SELECT version, trained_at, coalesce(alias, '') AS alias, coalesce(gate_decision, '') AS gate_decision, candidate, "
        f"data_cutoff, training_rows, validation_score FROM {MODELS[model].trainings.name} ORDER BY trained_at DESC",
    )


def retraining_events(cursor) -> pd.DataFrame:
    return frame(
        cursor,
        "SELECT created_at, model_name, trigger, evidence, decision, champion_before, champion_after, challenger_version, "
        "metric, challenger_score, champion_score, p_value, reason FROM monitoring.retraining_events ORDER BY created_at DESC",
    )


def alerts(cursor, limit: int = 200) -> pd.DataFrame:
    """The newest alerts, one row each, with every channel it went to and how that delivery ended."""
    return frame(
        cursor,
        "SELECT min(created_at) AS created_at, any_value(severity) AS severity, any_value(title) AS title, "
        "any_value(metric) AS metric, any_value(value) AS value, any_value(threshold) AS threshold, "
        "string_agg(channel || ': ' || status, ', ' ORDER BY channel) AS deliveries "
        "FROM monitoring.alerts GROUP BY alert_id ORDER BY created_at DESC LIMIT ?",
        [limit],
    )


def drift_reports(cursor) -> pd.DataFrame:
    return frame(
        cursor,
        "SELECT report_id, created_at, model_name, model_version, current_start, current_end, features, drifted_features, "
        "drift_share, prediction_psi, severity, html_report FROM monitoring.drift_reports ORDER BY created_at",
    )


def drift_features(cursor) -> pd.DataFrame:
    """PSI and KS per feature per report, with the report's time (the prediction row excluded: it is not an input)."""
    return frame(
        cursor,
        "SELECT r.created_at, r.model_name, d.feature, d.psi, d.ks_statistic, d.ks_p_value, d.severity, d.drifted "
        "FROM monitoring.drift d JOIN monitoring.drift_reports r USING (report_id) "
        "WHERE d.feature <> 'prediction' ORDER BY r.created_at, d.feature",
    )


def ab_tests(cursor) -> pd.DataFrame:
    return frame(cursor, "SELECT * FROM monitoring.ab_tests ORDER BY created_at DESC")


def ab_traffic(cursor, test_name: str) -> pd.DataFrame:
    """Items served per gameweek by each arm, and the treatment's share."""
    return frame(
        cursor,
        "SELECT season, gameweek, season || ' gw ' || lpad(gameweek::VARCHAR, 2, '0') AS round, arm, count(*) AS items, "
        "count(*) / sum(count(*)) OVER (PARTITION BY season, gameweek) AS share "
        "FROM monitoring.ab_assignments WHERE test_name = ? GROUP BY season, gameweek, arm ORDER BY season, gameweek, arm",
        [test_name],
    )


def ab_results(cursor, test_name: str) -> pd.DataFrame:
    return frame(cursor, "SELECT * FROM monitoring.ab_results WHERE test_name = ? ORDER BY evaluated_at", [test_name])


def without_domain(columns) -> str:
    """The API's backtest columns for one domain's page: the domain is the page."""
    return ", ".join(c for c in columns if c != "domain")


def backtest_metrics(cursor, domain: str) -> pd.DataFrame:
    return frame(
        cursor,
        f"SELECT {without_domain(forecasts.BACKTEST_METRIC_COLUMNS)} FROM ml.backtest_metrics "
        "WHERE domain = ? ORDER BY season, model, subset",
        [domain],
    )


def backtest_comparisons(cursor, domain: str) -> pd.DataFrame:
    return frame(
        cursor,
        f"SELECT {without_domain(forecasts.COMPARISON_COLUMNS)} FROM ml.backtest_comparisons "
        "WHERE domain = ? ORDER BY model, baseline",
        [domain],
    )
