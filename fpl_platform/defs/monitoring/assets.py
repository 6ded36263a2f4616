"""Drift monitoring: the champions' recent inputs and outputs against their training data."""

import dagster as dg

from fpl_platform.lib import drift as drift_lib
from fpl_platform.lib import schemas
from fpl_platform.lib.served import served_sql
from fpl_platform.resources import MlflowTracking, Notifier, Warehouse, warehouse_step


class DriftConfig(dg.Config):
    """Windows and thresholds of the drift report."""

    current_gameweeks: int = 6
    reference_gameweeks: int = 76
    psi_warning: float = drift_lib.PSI_WARNING
    psi_critical: float = drift_lib.PSI_CRITICAL
    ks_p_value: float = drift_lib.KS_P_VALUE
    ks_statistic: float = drift_lib.KS_STATISTIC
    warning_share: float = drift_lib.WARNING_SHARE
    critical_share: float = drift_lib.CRITICAL_SHARE
    # when to run Evidently's report (~10 s a model; see lib.drift.evidently_due): "always", "on_drift" (the
    # report is at least a warning, or the champion has no Evidently report yet), "on_change" (no report yet,
    # the severity rose above the last report's, or drift persists and that report is evidently_max_age_days
    # old) or "never"; PSI and KS run every time regardless
    evidently: str = "always"
    evidently_max_age_days: float = drift_lib.EVIDENTLY_MAX_AGE_DAYS
    # a window with more rows is compared through a seeded sample of this many (PSI, KS, Evidently and the
    # prediction drift alike): the player model's reference window holds 50,000-100,000 player-fixtures
    max_rows: int = drift_lib.MAX_ROWS


def _window_rounds(rounds, cutoff, config: DriftConfig, now):
    """Of the (season, gameweek, cutoff) rounds: the reference (the champion's last `reference_gameweeks` of
    training data) and the current window (the most recent `current_gameweeks` up to the next round, the one
    predicted `now`). Rounds after the next are scheduled fixtures whose features are provisional (form and
    ratings as they stand weeks ahead): they are served nothing yet and are no evidence of drift."""
    rounds = rounds[["season", "gameweek", "cutoff"]].drop_duplicates().sort_values("cutoff")
    ahead = rounds.loc[rounds["cutoff"] > now, "cutoff"]
    if len(ahead):
        rounds = rounds[rounds["cutoff"] <= ahead.iat[0]]
    current_rounds = rounds.tail(config.current_gameweeks)
    trained = rounds[(rounds["cutoff"] < cutoff) & (rounds["cutoff"] < current_rounds["cutoff"].min())]
    return trained.tail(config.reference_gameweeks), current_rounds


def _windows(frame, rounds: tuple):
    """The rows of `frame` in the reference and the current rounds (`_window_rounds`)."""
    key = frame["season"] + ":" + frame["gameweek"].astype(str)
    pick = lambda rounds_: frame[key.isin(set(rounds_["season"] + ":" + rounds_["gameweek"].astype(str)))]  # noqa: E731
    return tuple(pick(window) for window in rounds)


def _last_evidently_report(warehouse: Warehouse, name: str, version: str, now) -> tuple[str, float] | None:
    """The severity and age (days) of the model version's latest report with Evidently's HTML, or None."""
    if not warehouse.exists(schemas.DRIFT_REPORTS.name):
        return None
    found = warehouse.read(
        f"SELECT severity, created_at FROM {schemas.DRIFT_REPORTS.name} WHERE model_name = ? AND model_version = ?"
        " AND html_report IS NOT NULL ORDER BY created_at DESC LIMIT 1",
        [name, str(version)],
    )
    if found.empty:
        return None
    return str(found["severity"].iat[0]), (now - found["created_at"].iat[0]).total_seconds() / 86400


@dg.asset(
    key=["monitoring", "drift"],
    deps=[
        ["ml", "match_outcome_model"],
        ["ml", "player_points_model"],
        ["features", "match_features"],
        ["features", "player_features"],
    ],
    group_name="monitoring",
    kinds={"duckdb", "evidently"},
    pool="duckdb",
)
@warehouse_step
def drift(
    context: dg.AssetExecutionContext,
    config: DriftConfig,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    notifier: Notifier,
) -> dg.MaterializeResult:
    """Per-feature drift (Evidently's DataDriftPreset, PSI, KS) and prediction drift of both champions; HTML reports."""
    import hashlib

    import pandas as pd

    from fpl_platform.defs.training.assets import MATCH_MODEL_NAME, PLAYER_MODEL_NAME, played_features, player_features_frame
    from fpl_platform.lib import clock, paths, plots
    from fpl_platform.lib.features import MODEL_FEATURES
    from fpl_platform.lib.notify import Alert
    from fpl_platform.lib.player_model import FEATURES as PLAYER_FEATURES

    reports_dir = paths.reports_dir()
    now = clock.now()
    thresholds = {
        "psi_warning": config.psi_warning,
        "psi_critical": config.psi_critical,
        "ks_p_value": config.ks_p_value,
        "ks_statistic": config.ks_statistic,
    }
    report_rows, feature_rows, summaries = [], [], {}
    matches = played_features(warehouse)
    # the player rows are many: only the windows' rounds are read (the rounds first, in DuckDB)
    player_rounds = warehouse.read("SELECT DISTINCT season, gameweek, cutoff FROM features.player_features")
    for name, table, rounds, rows, features in (
        (MATCH_MODEL_NAME, schemas.MODEL_TRAININGS, matches, lambda _: matches, MODEL_FEATURES),
        (
            PLAYER_MODEL_NAME,
            schemas.PLAYER_TRAININGS,
            player_rounds,
            # what the windows, the statistics and the champion's predictions read: names and ids are most of the bytes
            lambda since: player_features_frame(
                warehouse, since_cutoff=since, columns=["season", "gameweek", "kickoff", *PLAYER_FEATURES]
            ),
            list(PLAYER_FEATURES),
        ),
    ):
        if not warehouse.exists(table.name):
            context.log.warning(f"no {name} champion yet ({table.name} is missing): skipping its drift report")
            continue
        champion = warehouse.read(f"SELECT version, data_cutoff FROM {table.name} WHERE alias = 'champion'")
        if champion.empty:
            continue
        cutoff = pd.Timestamp(champion["data_cutoff"].iat[0])
        windows = _window_rounds(rounds, cutoff, config, now)
        earliest = min((window["cutoff"].min() for window in windows if len(window)), default=None)
        reference, current = _windows(rows(earliest), windows)
        window_rows = len(reference), len(current)
        reference, current = drift_lib.capped(reference, config.max_rows), drift_lib.capped(current, config.max_rows)
        model, version = mlflow_tracking.load(name, "champion")
        predict = (lambda m, f: m.predict_proba(f)[:, 0]) if name == MATCH_MODEL_NAME else (lambda m, f: m.predict(f))
        # deterministic: a replay re-run gives the same ids (simulated time, same windows, same version)
        report_id = hashlib.sha256(f"{name}|{version}|{now.isoformat()}|{current['kickoff'].max()}".encode()).hexdigest()[:12]
        html = reports_dir / f"drift_{name}_{now:%Y%m%dT%H%M%S}_{report_id}.html"
        prediction = drift_lib.feature_drift("prediction", predict(model, reference), predict(model, current), **thresholds)
        per_feature, skipped, severity = drift_lib.drift_table(
            reference,
            current,
            features,
            html_path=str(html),
            evidently=config.evidently,
            prediction_psi=prediction.psi,
            last_evidently=_last_evidently_report(warehouse, name, version, now),
            warning_share=config.warning_share,
            critical_share=config.critical_share,
            max_age_days=config.evidently_max_age_days,
            evidently_max_rows=config.max_rows,
            **thresholds,
        )
        html = html if html.exists() else None
        per_feature = pd.concat(
            [
                per_feature,
                pd.DataFrame(
                    [
                        {
                            "feature": "prediction",
                            "psi": prediction.psi,
                            "ks_statistic": prediction.ks_statistic,
                            "ks_p_value": prediction.ks_p_value,
                            "severity": prediction.severity,
                            "drifted": prediction.drifted,
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
        inputs = per_feature[per_feature["feature"] != "prediction"]
        share = float(inputs["drifted"].mean()) if len(inputs) else 0.0
        feature_rows.append(per_feature.assign(report_id=report_id, model_name=name))
        report_rows.append(
            {
                "report_id": report_id,
                "created_at": now,
                "model_name": name,
                "model_version": version,
                "reference_start": reference["kickoff"].min(),
                "reference_end": reference["kickoff"].max(),
                "current_start": current["kickoff"].min(),
                "current_end": current["kickoff"].max(),
                "reference_rows": window_rows[0],
                "current_rows": window_rows[1],
                "features": len(inputs),
                "drifted_features": int(inputs["drifted"].sum()),
                "drift_share": share,
                "prediction_psi": prediction.psi,
                "severity": severity,
                "html_report": str(html) if html else None,
            }
        )
        summaries[name] = {
            "severity": severity,
            "drift_share": round(share, 3),
            "prediction_psi": round(prediction.psi, 4),
            "html": str(html) if html else None,
            "skipped": skipped,
        }
        if severity == "critical":
            notifier.notify(
                Alert(
                    key=f"drift:{name}",
                    title=f"Critical drift in the {name} model's inputs",
                    severity="CRITICAL",
                    message=f"{int(inputs['drifted'].sum())} of {len(inputs)} features drifted over the last {config.current_gameweeks} gameweeks",
                    metric="drift_share",
                    value=share,
                    threshold=config.critical_share,
                    details={"report_id": report_id, "prediction_psi": f"{prediction.psi:.4f}"},
                ),
                warehouse,
            )
    if not report_rows:
        raise dg.Failure("no champion model to monitor: materialise ml/match_outcome_model and ml/player_points_model first")
    features_frame = pd.concat(feature_rows, ignore_index=True)
    reports = pd.DataFrame(report_rows)
    warehouse.append((schemas.DRIFT, features_frame), (schemas.DRIFT_REPORTS, reports), source="monitoring.drift")
    top = features_frame.sort_values("psi", ascending=False).head(8)[["model_name", "feature", "psi", "ks_p_value", "severity"]]
    metadata = {
        "dagster/row_count": len(features_frame),
        "reports": summaries,
        "top_drift": dg.MetadataValue.md(top.round(4).to_markdown(index=False)),
    }
    for name, summary in summaries.items():
        if summary["html"]:
            metadata[f"evidently_report_{name}"] = dg.MetadataValue.path(summary["html"])
        metadata[f"drift_share_{name}"] = summary["drift_share"]
        worst = features_frame[features_frame["model_name"] == name].nlargest(12, "psi")
        metadata[f"psi_{name}"] = dg.MetadataValue.md(
            plots.png_markdown(
                plots.bar_png(
                    worst["feature"].tolist(),
                    worst["psi"].tolist(),
                    f"{name}: PSI, recent vs training (critical {config.psi_critical})",
                    threshold=config.psi_critical,
                ),
                f"{name} drift",
            )
        )
    return dg.MaterializeResult(metadata=metadata)


class PerformanceConfig(dg.Config):
    """SPC overrides for one run (unset: the `performance` section of the settings file) and the data cutoff."""

    rolling_gameweeks: int | None = None
    warning_sigma: float | None = None
    critical_sigma: float | None = None
    emergency_sigma: float | None = None
    cusum_k: float | None = None
    cusum_h: float | None = None
    backtest_seasons: int | None = None
    as_of: str = ""


# per model: backtest rows (walk-forward), served rows (predictions joined with results), metric, scorer name.
# Every query fixes its row order (see lib.served.served_sql): pooled float sums follow it
PERFORMANCE_SOURCES = {
    "match_outcome": {
        "backtest_table": "ml.match_backtest",
        "backtest": "SELECT season, gameweek, match_id, p_home, p_draw, p_away, home_goals, away_goals "
        "FROM ml.match_backtest WHERE model = 'ours' ORDER BY season, gameweek, match_id",
        "predictions_table": "predictions.match_outcomes",
        "served": served_sql(
            "match_outcome",
            "p.season, p.gameweek, p.match_id, p.p_home, p.p_draw, p.p_away, f.home_goals, f.away_goals, p.model_version",
        ),
        "metric": "rps",
    },
    "player_points": {
        "backtest_table": "ml.player_backtest",
        "backtest": "SELECT season, gameweek, player_id, match_id, predicted_points, actual_points FROM ml.player_backtest "
        "ORDER BY season, gameweek, match_id, player_id",
        "predictions_table": "predictions.player_points",
        "served": served_sql(
            "player_points",
            "p.season, p.gameweek, p.player_id, p.match_id, p.predicted_points, f.points AS actual_points, p.model_version",
        ),
        "metric": "rmse",
    },
}
STATUS_SEVERITY = {"warning": "MEDIUM", "critical": "HIGH", "emergency": "CRITICAL"}


@dg.asset(
    key=["monitoring", "performance"],
    deps=[
        ["predictions", "match_outcomes"],
        ["predictions", "player_points"],
        ["ml", "match_backtest"],
        ["ml", "player_backtest"],
        # the results it scores the served predictions against (a run without predictions still waits for them)
        ["features", "match_features"],
        ["features", "player_features"],
    ],
    group_name="monitoring",
    kinds={"duckdb", "python"},
    pool="duckdb",
)
@warehouse_step
def performance(
    context: dg.AssetExecutionContext, config: PerformanceConfig, warehouse: Warehouse, notifier: Notifier
) -> dg.MaterializeResult:
    """Per finished gameweek: the served champions' scores, rolling scores, SPC limits from the backtest, CUSUM, status."""
    import pandas as pd

    from fpl_platform.defs.training.assets import played_features
    from fpl_platform.lib import asof, clock, plots, settings
    from fpl_platform.lib import performance as spc
    from fpl_platform.lib.notify import Alert

    options = settings.resolve("performance", config.model_dump(exclude={"as_of"}))
    fixtures = warehouse.read("SELECT season, gameweek, finished FROM raw.fixtures") if warehouse.exists("raw.fixtures") else None
    played = played_features(warehouse)
    spec = asof.resolve(played[played["home_goals"].notna()], fixtures, config.as_of or None)
    now = clock.now()
    parts, metadata, summaries = [], {}, {}
    for name, source in PERFORMANCE_SOURCES.items():
        metric = source["metric"]
        scorer = spc.match_score if name == "match_outcome" else spc.player_score
        if not warehouse.exists(source["backtest_table"]):
            context.log.warning(f"{source['backtest_table']} is missing: no control limits for {name}, skipped")
            continue
        backtest = warehouse.read(source["backtest"])
        seasons = sorted(backtest["season"].unique())[-options["backtest_seasons"] :]
        backtest = backtest[backtest["season"].isin(seasons)]
        window = options["rolling_gameweeks"]
        backtest_series = spc.gameweek_series(backtest, scorer, window)
        limits = spc.control_limits(backtest_series, metric)
        frames = [spc.classify(backtest_series, metric, limits, options).assign(source="backtest", model_version="walk-forward")]
        served = warehouse.read(source["served"]) if warehouse.exists(source["predictions_table"]) else pd.DataFrame()
        if len(served):
            known = [(s, g) <= (spec.season, spec.gameweek) for s, g in zip(served["season"], served["gameweek"], strict=True)]
            served = served[known]
        if len(served):
            versions = served.groupby(["season", "gameweek"])["model_version"].agg(lambda v: ",".join(sorted(set(map(str, v)))))
            served_series = spc.classify(spc.gameweek_series(served, scorer, window), metric, limits, options)
            served_series["model_version"] = [
                versions[(s, g)] for s, g in zip(served_series["season"], served_series["gameweek"], strict=True)
            ]
            frames.append(served_series.assign(source="served"))
        frame = pd.concat(frames, ignore_index=True).assign(model_name=name, metric=metric, rolling_gameweeks=window)
        parts.append(frame)
        latest = frame[frame["source"] == "served"].tail(1)
        status = latest["status"].iat[0] if len(latest) else "no served gameweeks yet"
        summaries[name] = {
            "status": status,
            "centre": round(limits.centre, 5),
            "critical_limit": round(frame["critical_limit"].iat[0], 5),
            "served_gameweeks": int((frame["source"] == "served").sum()),
        }
        metadata[f"trend_{name}"] = dg.MetadataValue.md(
            plots.png_markdown(
                plots.trend_png(frame, metric, f"{name}: {metric} per gameweek, rolling {window} and control limits"),
                f"{name} {metric} trend",
            )
        )
        if len(latest) and status in STATUS_SEVERITY:
            row = latest.iloc[0]
            limit = row[
                "emergency_limit" if status == "emergency" else f"{'critical' if status == 'critical' else 'warning'}_limit"
            ]
            notifier.notify(
                Alert(
                    key=f"performance:{name}:{status}",
                    title=f"{name} performance {status} after {row['season']} gameweek {int(row['gameweek'])}",
                    severity=STATUS_SEVERITY[status],
                    message=spc.status_reason(row, metric),
                    metric=f"rolling_{metric}",
                    value=float(row[f"rolling_{metric}"]),
                    threshold=float(limit),
                    details={"model_version": row["model_version"], "cusum": f"{row['cusum']:.2f}"},
                ),
                warehouse,
            )
    if not parts:
        raise dg.Failure("no backtest to set control limits: materialise ml/match_backtest and ml/player_backtest first")
    table = pd.concat(parts, ignore_index=True).assign(computed_at=now)
    for column in schemas.PERFORMANCE.column_names:
        if column not in table.columns:
            table[column] = float("nan")
    warehouse.write(
        schemas.PERFORMANCE,
        table[schemas.PERFORMANCE.column_names],
        source="monitoring.performance",
        unless_same_except=["computed_at"],
    )
    served = table[table["source"] == "served"]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "as_of": spec.label,
            "models": summaries,
            "latest_served": dg.MetadataValue.md(
                served.groupby("model_name")
                .tail(3)[["model_name", "season", "gameweek", "model_version", "metric", "status", "cusum"]]
                .to_markdown(index=False)
                if len(served)
                else "_no served gameweek has results yet_"
            ),
            **metadata,
        }
    )
