"""`fpl-platform status`: what serves, what changed, what is wrong, how fresh the data is — in one screen."""

from __future__ import annotations

import pandas as pd

from fpl_platform.lib import paths, tracking
from fpl_platform.lib import warehouse as duck
from fpl_platform.lib.models import MODELS

OPEN_ALERT_DAYS = 7


def _query(sql: str, params=None) -> pd.DataFrame | None:
    """A query against the warehouse, or None when the table it needs does not exist yet."""
    path = paths.warehouse_path()
    if not path.exists():
        return None
    try:
        return duck.read_sql(path, sql, params, timeout_seconds=30)
    except Exception as error:  # a missing table is normal on a fresh home
        if "does not exist" in str(error):
            return None
        raise


def _table(frame: pd.DataFrame | None, empty: str) -> str:
    if frame is None or frame.empty:
        return f"  {empty}"
    return "\n".join("  " + line for line in frame.to_string(index=False).splitlines())


def reconcile(warehouse, tracking, is_alive) -> list[str]:
    """Settle, for every model, what a killed training or rollback left half done (`promotion.reconcile`), so
    that the aliases and the tables the report shows agree. Returns one line per repair ([] when all agreed)."""
    from fpl_platform.lib import promotion

    repairs = []
    for model in MODELS:
        state = promotion.reconcile(warehouse, tracking, model, is_alive=is_alive)
        repairs.extend(f"{model}: {line}" for line in state.repairs)
    return repairs


def report(now: pd.Timestamp | None = None, repairs: list[str] | tuple = ()) -> str:
    """The status text (`repairs`: what `reconcile` just settled, shown first)."""
    now = now if now is not None else pd.Timestamp.now(tz="UTC")  # a person asks in real time
    out = [f"fpl_platform status at {now:%Y-%m-%d %H:%M} UTC (home {paths.platform_home()})", ""]
    if not paths.warehouse_path().exists():
        return "\n".join([*out, f"no warehouse at {paths.warehouse_path()}: run `make demo` first"])
    if repairs:
        out.append("Repaired after interrupted runs (the registry and the tables agree again)")
        out.extend(f"  {line}" for line in repairs)
        out.append("")

    out.append("Champions (MLflow aliases)")
    rows = []
    uri = paths.mlflow_uri() if (paths.mlflow_dir() / "mlflow.db").exists() else None
    for model in MODELS:
        aliases = tracking.aliases(uri, model) if uri else {}
        rows.append({"model": model, **{a: aliases.get(a, "-") for a in ("champion", "previous", "challenger", "rolled_back")}})
    out.append(_table(pd.DataFrame(rows), "no registered models"))
    for model, table in (("match_outcome", "ml.match_outcome_model"), ("player_points", "ml.player_points_model")):
        served = _query(f"SELECT version, candidate, data_cutoff, trained_at FROM {table} WHERE alias = 'champion'")
        if served is not None and len(served):
            row = served.iloc[0]
            out.append(
                f"  {model} champion {row['version']}: {row['candidate']}, trained {row['trained_at']:%Y-%m-%d %H:%M} on data before {row['data_cutoff']}"
            )
    out.append("")

    out.append("Last retraining decision per model")
    events = _query(
        "SELECT model_name, created_at, trigger, decision, champion_before, champion_after, reason FROM monitoring.retraining_events "
        "QUALIFY row_number() OVER (PARTITION BY model_name ORDER BY created_at DESC) = 1 ORDER BY model_name"
    )
    if events is not None:
        events["created_at"] = events["created_at"].dt.strftime("%Y-%m-%d %H:%M")
        events["reason"] = events["reason"].str.slice(0, 70)
    out.append(_table(events, "no retraining decision recorded yet"))
    out.append("")

    out.append("Last drift report per model (severity rule: docs/tables.md, monitoring.drift_reports)")
    drift = _query(
        "SELECT model_name, created_at, model_version, report_id, round(drift_share, 2) AS drift_share, "
        "concat(drifted_features, '/', features) AS drifted, round(prediction_psi, 3) AS prediction_psi, severity, html_report "
        "FROM monitoring.drift_reports "
        "QUALIFY row_number() OVER (PARTITION BY model_name ORDER BY created_at DESC) = 1 ORDER BY model_name"
    )
    links = []
    if drift is not None:
        drift["created_at"] = drift["created_at"].dt.strftime("%Y-%m-%d %H:%M")
        links = [f"  {r.model_name} Evidently report: {r.html_report}" for r in drift.itertuples() if r.html_report]
        drift = drift.drop(columns=["html_report"])
    out.append(_table(drift, "no drift report yet"))
    out.extend(links)
    out.append("")

    out.append("Performance (latest served gameweek with results)")
    performance = _query(
        "SELECT model_name, season, gameweek, model_version, metric, round(CASE metric WHEN 'rps' THEN rolling_rps ELSE rolling_rmse END, 4) AS rolling, "
        "round(critical_limit, 4) AS critical_limit, round(cusum, 2) AS cusum, status FROM monitoring.performance WHERE source = 'served' "
        "QUALIFY row_number() OVER (PARTITION BY model_name ORDER BY season DESC, gameweek DESC) = 1 ORDER BY model_name"
    )
    out.append(_table(performance, "no served gameweek has results yet (a gameweek is scored once its results are in)"))
    out.append("")

    out.append("A/B tests (latest analysis of each)")
    tests = _query(
        "SELECT t.test_name, t.model_name, t.treatment_version, t.traffic_split, t.status, r.as_of, r.n_items, "
        "round(r.mean_difference, 5) AS difference, round(r.dm_p_better, 4) AS p_better, r.recommendation "
        "FROM monitoring.ab_tests t LEFT JOIN (SELECT * FROM monitoring.ab_results "
        "QUALIFY row_number() OVER (PARTITION BY test_name ORDER BY evaluated_at DESC) = 1) r USING (test_name) ORDER BY t.test_name"
    )
    if tests is None:  # defined, never analysed yet
        tests = _query("SELECT test_name, model_name, treatment_version, traffic_split, status FROM monitoring.ab_tests")
    out.append(_table(tests, "none (fpl-platform ab-test create)"))
    out.append("")

    out.append(f"Open alerts (MEDIUM and above, last {OPEN_ALERT_DAYS} days)")
    alerts = _query(
        "SELECT any_value(created_at) AS created_at, any_value(severity) AS severity, any_value(title) AS title, "
        "string_agg(channel || ':' || status, ', ') AS delivery FROM monitoring.alerts "
        "WHERE created_at > ? AND severity IN ('MEDIUM', 'HIGH', 'CRITICAL') GROUP BY alert_id ORDER BY created_at DESC LIMIT 10",
        [now - pd.Timedelta(days=OPEN_ALERT_DAYS)],
    )
    if alerts is not None:
        alerts["created_at"] = alerts["created_at"].dt.strftime("%Y-%m-%d %H:%M")
        alerts["title"] = alerts["title"].str.slice(0, 70)
    out.append(_table(alerts, "none"))
    out.append("")

    out.append("Data freshness")
    newest = _query(
        "SELECT season, max(kickoff) AS newest, count(*) AS results FROM raw.matches GROUP BY season ORDER BY season DESC LIMIT 1"
    )
    if newest is None or newest.empty:
        out.append("  raw.matches is empty")
    else:
        row = newest.iloc[0]
        age = (now - pd.Timestamp(row["newest"])).total_seconds() / 86400
        out.append(
            f"  newest result: {row['newest']:%Y-%m-%d %H:%M} ({row['season']}, {row['results']} results), {age:.0f} days ago"
        )
    pending = _query("SELECT count(*) AS n, min(kickoff) AS next FROM raw.fixtures WHERE NOT finished")
    if pending is not None and pending["n"].iat[0]:
        out.append(f"  fixtures still to play: {pending['n'].iat[0]}, next kickoff {pending['next'].iat[0]}")
    elif pending is not None:
        out.append("  no fixture left to play in the stored seasons (season over, or bundled data)")
    predicted = _query(
        "SELECT as_of, min(season) AS season, min(gameweek) AS gameweek, max(predicted_at) AS predicted_at FROM predictions.match_outcomes "
        "GROUP BY as_of ORDER BY max(predicted_at) DESC LIMIT 1"
    )
    if predicted is not None and len(predicted):
        row = predicted.iloc[0]
        out.append(
            f"  latest predictions: {row['season']} gameweek {row['gameweek']} (as-of {row['as_of']}, made {row['predicted_at']:%Y-%m-%d %H:%M})"
        )
    return "\n".join(out)
