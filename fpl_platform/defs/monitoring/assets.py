"""Monitoring: drift of the champions' recent inputs and outputs against their training data, and the served
predictions' performance against results, with control limits from the backtest."""

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.lib import drift as drift_lib
from fpl_platform.lib import schemas
from fpl_platform.lib.models import MATCH_OUTCOME, MODELS, PLAYER_POINTS, served_sql
from fpl_platform.resources import MlflowTracking, Notifier, RunClock, Warehouse, warehouse_step

if TYPE_CHECKING:  # pandas loads inside the assets: every step and sensor tick imports this module
    import pandas as pd


class DriftConfig(dg.Config):
    """Drift overrides for one run (unset: the `drift` section of the settings file: windows, thresholds, when to draw
    Evidently's report, the rows compared)."""

    current_gameweeks: int | None = None
    reference_gameweeks: int | None = None
    psi_warning: float | None = None
    psi_critical: float | None = None
    ks_p_value: float | None = None
    ks_statistic: float | None = None
    warning_share: float | None = None
    critical_share: float | None = None
    evidently: str | None = None
    evidently_max_age_days: float | None = None
    max_rows: int | None = None


def _window_rounds(rounds, cutoff, options: dict, now):
    """Of the (season, gameweek, cutoff) rounds: the reference (the champion's last `reference_gameweeks` of
    training data) and the current window (the most recent `current_gameweeks` up to the next round, the one
    predicted `now`). Rounds after the next are scheduled fixtures whose features are provisional (form and
    ratings as they stand weeks ahead): they are served nothing yet and are no evidence of drift."""
    rounds = rounds[["season", "gameweek", "cutoff"]].drop_duplicates().sort_values("cutoff")
    ahead = rounds.loc[rounds["cutoff"] > now, "cutoff"]
    if len(ahead):
        rounds = rounds[rounds["cutoff"] <= ahead.iat[0]]
    current_rounds = rounds.tail(options["current_gameweeks"])
    trained = rounds[(rounds["cutoff"] < cutoff) & (rounds["cutoff"] < current_rounds["cutoff"].min())]
    return trained.tail(options["reference_gameweeks"]), current_rounds


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


def _stored_report(warehouse: Warehouse, report_id: str):
    """The stored report row (a dict) and its per-feature rows, or None when `report_id` is not stored."""
    if not warehouse.exists(schemas.DRIFT_REPORTS.name):
        return None
    report = warehouse.read(f"SELECT * FROM {schemas.DRIFT_REPORTS.name} WHERE report_id = ?", [report_id])
    if report.empty:
        return None
    features = warehouse.read(f"SELECT * FROM {schemas.DRIFT.name} WHERE report_id = ? ORDER BY feature", [report_id])
    return report.iloc[0].to_dict(), features


def _rounds_label(rounds) -> list:
    """A window's rounds as [first, last, count] ("<season>:<gameweek>")."""
    if rounds.empty:
        return [None, None, 0]
    labels = (rounds["season"] + ":" + rounds["gameweek"].astype(str)).tolist()
    return [labels[0], labels[-1], len(labels)]


def _short(name: str, width: int = 22) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _top_drift_markdown(features, rows: int = 10) -> str:
    """The most drifted features of one report (drifted first, then by PSI) as a markdown table narrow enough for
    Dagster's metadata column (about 430 px on a 1600 px screen; KS p-values are in monitoring.drift)."""
    from fpl_platform.lib.drift import SEVERITIES

    table = features.assign(rank=features["severity"].map(SEVERITIES.index)).sort_values(
        ["rank", "psi"], ascending=False, kind="stable"
    )
    lines = ["| feature | PSI | KS D | severity |", "|:--|--:|--:|:--|"]
    for row in table.head(rows).itertuples():
        lines.append(f"| {_short(row.feature)} | {row.psi:.3f} | {row.ks_statistic:.2f} | {row.severity} |")
    return "\n".join(lines)


def drift_metadata(name: str, report: dict, features, psi_critical: float) -> dict:
    """One model's drift metadata, read from its stored rows (a report row and its monitoring.drift rows): numbers
    under stable keys (`<model>/drift_share`, ...) that Dagster plots across materialisations, then the
    severity, the Evidently report's link and the most drifted features."""
    from fpl_platform.lib import plots
    from fpl_platform.lib.drift import SEVERITIES

    inputs = features[features["feature"] != "prediction"]
    metadata = {
        f"{name}/drift_share": float(report["drift_share"]),
        f"{name}/drifted_features": int(report["drifted_features"]),
        f"{name}/critical_features": int((inputs["severity"] == "critical").sum()),
        f"{name}/features": int(report["features"]),
        f"{name}/max_psi": float(inputs["psi"].max()) if len(inputs) else 0.0,
        f"{name}/prediction_psi": float(report["prediction_psi"]),
        f"{name}/severity_level": SEVERITIES.index(report["severity"]),
        f"{name}/severity": str(report["severity"]),
        f"{name}/report_id": str(report["report_id"]),
    }
    if isinstance(report.get("html_report"), str):  # NULL (Evidently not run) reads back as None or NaN
        metadata[f"{name}/evidently_report"] = dg.MetadataValue.url(report["html_report"])
    metadata[f"{name}/top_drift"] = dg.MetadataValue.md(_top_drift_markdown(features))
    worst = features.nlargest(12, "psi")
    metadata[f"{name}/psi_chart"] = dg.MetadataValue.md(
        plots.png_markdown(
            plots.bar_png(
                [_short(f, 28) for f in worst["feature"]],
                worst["psi"].tolist(),
                f"{name}: PSI, recent vs training (dashed: critical {psi_critical:g})",
                threshold=psi_critical,
            ),
            f"{name} drift",
        )
    )
    return metadata


DRIFT_EXPERIMENT = "drift_reports"  # the MLflow experiment holding the Evidently reports


@dataclass(frozen=True)
class DriftSubject:
    """One model as drift compares it: the serving champion, the two windows' rows, the report's id."""

    name: str
    version: str
    features: list[str]
    reference: "pd.DataFrame"
    current: "pd.DataFrame"
    report_id: str


@dataclass(frozen=True)
class DriftMeasure:
    """What the statistics found: per feature (the prediction's row last), the skipped features, the verdict."""

    per_feature: "pd.DataFrame"
    skipped: list[str]
    severity: str
    share: float
    drifted: int
    prediction_psi: float


@dg.asset(
    key=["monitoring", "drift"],
    deps=[
        ["ml", "match_outcome_model"],
        ["ml", "player_points_model"],
        ["features", "match_features"],
        ["features", "player_features"],
    ],
    group_name="monitoring",
    kinds={"duckdb", "evidently", "mlflow"},
    pool="duckdb",
)
@warehouse_step
def drift(
    context: dg.AssetExecutionContext,
    config: DriftConfig,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    notifier: Notifier,
    clock: RunClock,
) -> dg.MaterializeResult:
    """Per-feature drift (PSI, KS, Evidently's DataDriftPreset on the same rule) and prediction drift of both champions."""
    import pandas as pd

    from fpl_platform.lib import settings

    now = clock.now()
    options = settings.resolve("drift", config.model_dump())
    new_reports, new_features, metadata = [], [], {}
    for subject in drift_subjects(context, warehouse, mlflow_tracking, options, now):
        stored = _stored_report(warehouse, subject.report_id)
        if stored is not None:
            # the same model, windows, rows and settings: the same report, already stored and alerted on
            context.log.info(f"{subject.name}: drift report {subject.report_id} is stored already (same inputs)")
            metadata.update(drift_metadata(subject.name, *stored, options["psi_critical"]))
            continue
        windows = len(subject.reference), len(subject.current)
        subject = replace(
            subject,
            reference=drift_lib.capped(subject.reference, options["max_rows"]),
            current=drift_lib.capped(subject.current, options["max_rows"]),
        )
        measure = measure_drift(warehouse, mlflow_tracking, subject, options, now)
        url = publish_html_report(context, mlflow_tracking, subject, measure)
        report = report_row(subject, measure, windows, url, now)
        new_reports.append(report)
        new_features.append(measure.per_feature)
        metadata.update(drift_metadata(subject.name, report, measure.per_feature, options["psi_critical"]))
        context.log.info(
            f"{subject.name}: drift {measure.severity}, share {measure.share:.2f}, prediction PSI {measure.prediction_psi:.3f}"
        )
        if measure.skipped:
            context.log.info(f"{subject.name}: {len(measure.skipped)} feature(s) too sparse to compare (see metadata)")
            metadata[f"{subject.name}/skipped_features"] = ", ".join(measure.skipped)
        if measure.severity == "critical":
            notifier.notify(critical_drift_alert(subject, measure, options, url), warehouse, now)
    if not metadata:
        raise dg.Failure("no champion model to monitor: materialise ml/match_outcome_model and ml/player_points_model first")
    if new_reports:
        warehouse.append(
            (schemas.DRIFT, pd.concat(new_features, ignore_index=True)),
            (schemas.DRIFT_REPORTS, pd.DataFrame(new_reports)),
            source="monitoring.drift",
        )
    total = int(warehouse.read(f"SELECT count(*) AS n FROM {schemas.DRIFT.name}")["n"].iat[0])
    # short lines (markdown hard breaks): Dagster's metadata column shows about 45 characters of one
    rule = drift_lib.rule_lines(
        **_thresholds(options), warning_share=options["warning_share"], critical_share=options["critical_share"]
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "new_reports": len(new_reports),
            **metadata,
            "severity_rule": dg.MetadataValue.md("  \n".join(rule)),
        }
    )


def _thresholds(options: dict) -> dict:
    return {key: options[key] for key in ("psi_warning", "psi_critical", "ks_p_value", "ks_statistic")}


def drift_subjects(context, warehouse: Warehouse, mlflow_tracking: MlflowTracking, options: dict, now) -> list[DriftSubject]:
    """Each model with a serving champion, with the rows of its reference and current windows (see `_window_rounds`)."""
    import pandas as pd

    from fpl_platform.defs.tables import played_features, player_features_frame
    from fpl_platform.lib.features import MODEL_FEATURES, frame_digests
    from fpl_platform.lib.player_model import FEATURES as PLAYER_FEATURES

    # what a report's verdicts depend on besides the model and the rows (Evidently's policy only says whether
    # its HTML is drawn)
    windows_ = ("warning_share", "critical_share", "current_gameweeks", "reference_gameweeks", "max_rows")
    report_settings = {**_thresholds(options), **{key: options[key] for key in windows_}}
    matches = played_features(warehouse)
    # the player rows are many: only the windows' rounds are read (the rounds first, in DuckDB)
    player_rounds = warehouse.read("SELECT DISTINCT season, gameweek, cutoff FROM features.player_features")
    subjects = []
    for name, table, rounds, rows, features in (
        (MATCH_OUTCOME.name, MATCH_OUTCOME.trainings, matches, lambda _: matches, MODEL_FEATURES),
        (
            PLAYER_POINTS.name,
            PLAYER_POINTS.trainings,
            player_rounds,
            # what the windows, the statistics and the champion's predictions read: names and ids are most of the bytes
            lambda since: player_features_frame(
                warehouse, since_cutoff=since, columns=["season", "gameweek", "kickoff", *PLAYER_FEATURES]
            ),
            list(PLAYER_FEATURES),
        ),
    ):
        if not warehouse.exists(table.name):
            context.log.warning(f"no {name} champion yet ({table.name} is missing): no drift report")
            continue
        champion = warehouse.read(f"SELECT version, data_cutoff FROM {table.name} WHERE alias = 'champion'")
        version = mlflow_tracking.aliases(name).get("champion")
        if champion.empty or version is None:
            continue
        windows = _window_rounds(rounds, pd.Timestamp(champion["data_cutoff"].iat[0]), options, now)
        earliest = min((window["cutoff"].min() for window in windows if len(window)), default=None)
        reference, current = _windows(rows(earliest), windows)
        compared = ["season", "gameweek", "kickoff", *features]
        report_id = drift_lib.report_id(
            name,
            version,
            {"reference": _rounds_label(windows[0]), "current": _rounds_label(windows[1])},
            report_settings,
            {"reference": frame_digests(reference[compared]), "current": frame_digests(current[compared])},
        )
        subjects.append(DriftSubject(name, str(version), list(features), reference, current, report_id))
    return subjects


def _html_path(subject: DriftSubject):
    from fpl_platform.lib import paths

    return paths.reports_dir() / f"drift_{subject.name}_{subject.report_id}.html"


def measure_drift(
    warehouse: Warehouse, mlflow_tracking: MlflowTracking, subject: DriftSubject, options: dict, now
) -> DriftMeasure:
    """PSI and KS per feature and of the champion's predictions, the report's severity, and Evidently's HTML when
    its policy says so."""
    import pandas as pd

    name, thresholds = subject.name, _thresholds(options)
    model, _ = mlflow_tracking.load(name, version=subject.version)
    predict = MODELS[name].output
    html = _html_path(subject)
    html.unlink(missing_ok=True)  # a file left by an earlier attempt whose report was not stored
    reference, current = subject.reference, subject.current
    prediction = drift_lib.feature_drift("prediction", predict(model, reference), predict(model, current), **thresholds)
    inputs, skipped, severity = drift_lib.drift_table(
        reference,
        current,
        subject.features,
        html_path=str(html),
        evidently=options["evidently"],
        prediction_psi=prediction.psi,
        last_evidently=_last_evidently_report(warehouse, name, subject.version, now),
        warning_share=options["warning_share"],
        critical_share=options["critical_share"],
        max_age_days=options["evidently_max_age_days"],
        evidently_max_rows=options["max_rows"],
        **thresholds,
    )
    fields = ("psi", "ks_statistic", "ks_p_value", "severity", "drifted")
    prediction_row = pd.DataFrame([{"feature": "prediction", **{field: getattr(prediction, field) for field in fields}}])
    per_feature = pd.concat([inputs, prediction_row], ignore_index=True).assign(report_id=subject.report_id, model_name=name)
    share = float(inputs["drifted"].mean()) if len(inputs) else 0.0
    return DriftMeasure(per_feature, skipped, severity, share, int(inputs["drifted"].sum()), prediction.psi)


def publish_html_report(context, mlflow_tracking: MlflowTracking, subject: DriftSubject, measure: DriftMeasure) -> str | None:
    """Evidently's HTML, when drawn, as an MLflow artifact; the link to it in MLflow's UI."""
    from fpl_platform.lib import tracking

    html = _html_path(subject)
    if not html.exists():
        return None
    inputs = measure.per_feature[measure.per_feature["feature"] != "prediction"]
    experiment, run_id, artifact = tracking.log_html_report(
        mlflow_tracking.uri,
        DRIFT_EXPERIMENT,
        mlflow_tracking.artifacts,
        str(html),
        run_name=f"{subject.name} {subject.version} drift {subject.report_id}",
        tags={
            "model_name": subject.name,
            "model_version": subject.version,
            "report_id": subject.report_id,
            "severity": measure.severity,
            "dagster_run_id": context.run_id,
        },
        metrics={
            "drift_share": measure.share,
            "drifted_features": measure.drifted,
            "max_psi": float(inputs["psi"].max()) if len(inputs) else 0.0,
            "prediction_psi": measure.prediction_psi,
        },
    )
    return tracking.ui_url(experiment, run_id, artifact)


def report_row(subject: DriftSubject, measure: DriftMeasure, windows: tuple[int, int], url: str | None, now) -> dict:
    """The report's row of monitoring.drift_reports (`windows`: the rows of each window before sampling)."""
    reference, current = subject.reference, subject.current
    return {
        "report_id": subject.report_id,
        "created_at": now,
        "model_name": subject.name,
        "model_version": subject.version,
        "reference_start": reference["kickoff"].min(),
        "reference_end": reference["kickoff"].max(),
        "current_start": current["kickoff"].min(),
        "current_end": current["kickoff"].max(),
        "reference_rows": windows[0],
        "current_rows": windows[1],
        "features": len(measure.per_feature) - 1,  # the prediction's row is not an input
        "drifted_features": measure.drifted,
        "drift_share": measure.share,
        "prediction_psi": measure.prediction_psi,
        "severity": measure.severity,
        "html_report": url,
    }


def critical_drift_alert(subject: DriftSubject, measure: DriftMeasure, options: dict, url: str | None):
    from fpl_platform.lib.notify import Alert

    return Alert(
        key=f"drift:{subject.name}",
        title=f"Critical drift in the {subject.name} model's inputs or predictions",
        severity="CRITICAL",
        message=f"{measure.drifted} of {len(measure.per_feature) - 1} features drifted over the last "
        f"{options['current_gameweeks']} gameweeks, prediction PSI {measure.prediction_psi:.3f}",
        metric="drift_share",
        value=measure.share,
        threshold=options["critical_share"],
        details={"report_id": subject.report_id, "report": url or "(no Evidently report)"},
    )


class PerformanceConfig(dg.Config):
    """SPC overrides for one run (unset: the `performance` section of the settings file), and optionally the last
    gameweek to score."""

    rolling_gameweeks: int | None = None
    warning_sigma: float | None = None
    critical_sigma: float | None = None
    emergency_sigma: float | None = None
    cusum_k: float | None = None
    cusum_h: float | None = None
    backtest_seasons: int | None = None
    # "<season>:<gameweek>": score served gameweeks up to this one only; empty: every served gameweek whose
    # results are in the features (scoring is evaluation only: nothing trains on monitoring.performance)
    as_of: str = ""


STATUS_SEVERITY = {"warning": "MEDIUM", "critical": "HIGH", "emergency": "CRITICAL"}


def performance_metadata(name: str, frame, metric: str) -> dict:
    """One model's headline numbers under stable keys (`<model>/rolling_rps`, ...), which Dagster plots across
    materialisations: the latest served gameweek's scores, CUSUM and status, and the backtest's control limits."""
    from fpl_platform.lib.performance import STATUSES

    last = frame.iloc[-1]  # the limits the latest gameweek was held to (its window may still be filling)
    metadata = {
        f"{name}/centre": float(last["centre"]),
        f"{name}/warning_limit": float(last["warning_limit"]),
        f"{name}/critical_limit": float(last["critical_limit"]),
        f"{name}/served_gameweeks": int((frame["source"] == "served").sum()),
    }
    served = frame[frame["source"] == "served"]
    if len(served):
        latest = served.iloc[-1]
        metadata.update(
            {
                f"{name}/gameweek": f"{latest['season']}:{int(latest['gameweek'])}",
                f"{name}/{metric}": float(latest[metric]),
                f"{name}/rolling_{metric}": float(latest[f"rolling_{metric}"]),
                f"{name}/cusum": float(latest["cusum"]),
                f"{name}/status_level": STATUSES.index(latest["status"]),
                f"{name}/status": str(latest["status"]),
            }
        )
    else:
        metadata[f"{name}/status"] = "no served gameweek with results yet"
    return metadata


def _alerted(warehouse: Warehouse, key: str, title: str) -> bool:
    """Whether monitoring.alerts holds this alert (key and title: the model, gameweek and status) other than as
    a failed delivery: a re-run with the same evidence raises nothing new; a failed one is tried again."""
    if not warehouse.exists(schemas.ALERTS.name):
        return False
    found = warehouse.read(
        f"SELECT count(*) AS n FROM {schemas.ALERTS.name} WHERE alert_key = ? AND title = ? AND status <> 'failed'",
        [key, title],
    )
    return bool(found["n"].iat[0])


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
    context: dg.AssetExecutionContext,
    config: PerformanceConfig,
    warehouse: Warehouse,
    notifier: Notifier,
    clock: RunClock,
) -> dg.MaterializeResult:
    """Per served gameweek with results: the champions' scores, rolling scores, SPC limits from the backtest, CUSUM, status."""
    import pandas as pd

    from fpl_platform.lib import asof, plots, settings
    from fpl_platform.lib import performance as spc
    from fpl_platform.lib.notify import Alert

    options = settings.resolve("performance", config.model_dump(exclude={"as_of"}))
    last = asof.parse(config.as_of) if config.as_of else None
    now = clock.now()
    parts, metadata, latest_rows = [], {}, []
    for name, model in MODELS.items():
        metric = model.metric
        scorer = model.score
        if not warehouse.exists(model.backtest_table):
            context.log.warning(f"{model.backtest_table} is missing: no control limits for {name}")
            continue
        # walk-forward rows, and served rows (predictions joined with results); both in a fixed row order
        backtest = warehouse.read(model.backtest_sql)
        seasons = sorted(backtest["season"].unique())[-options["backtest_seasons"] :]
        backtest = backtest[backtest["season"].isin(seasons)]
        window = options["rolling_gameweeks"]
        backtest_series = spc.gameweek_series(backtest, scorer, window)
        limits = spc.control_limits(backtest, scorer, metric, window)
        frames = [spc.classify(backtest_series, metric, limits, options).assign(source="backtest", model_version="walk-forward")]
        # every served gameweek whose results are known (served_sql keeps only items with an outcome)
        served = warehouse.read(served_sql(name)) if warehouse.exists(model.predictions_table) else pd.DataFrame()
        if len(served) and last is not None:
            known = [(s, g) <= (last.season, last.gameweek) for s, g in zip(served["season"], served["gameweek"], strict=True)]
            served = served[known]
        if len(served):
            versions = served.groupby(["season", "gameweek"])["model_version"].agg(lambda v: ",".join(sorted(set(map(str, v)))))
            served_series = spc.classify(spc.gameweek_series(served, scorer, window), metric, limits, options)
            served_series["model_version"] = [
                versions[(s, g)] for s, g in zip(served_series["season"], served_series["gameweek"], strict=True)
            ]
            frames.append(served_series.assign(source="served"))
        frame = pd.concat(frames, ignore_index=True).assign(model_name=name, metric=metric)
        parts.append(frame)
        metadata.update(performance_metadata(name, frame, metric))
        metadata[f"trend_{name}"] = dg.MetadataValue.md(
            plots.png_markdown(
                plots.trend_png(frame, metric, f"{name}: {metric} per gameweek, rolling {window}, control limits"),
                f"{name} {metric} trend",
            )
        )
        latest = frame[frame["source"] == "served"].tail(1)
        if not len(latest):
            context.log.info(f"{name}: no served gameweek with results yet")
            continue
        row = latest.iloc[0]
        status, where = row["status"], f"{row['season']} gameweek {int(row['gameweek'])}"
        latest_rows.append(row)
        context.log.info(f"{name}: {where} {status}, rolling {metric} {row[f'rolling_{metric}']:.4f}")
        if status in STATUS_SEVERITY:
            limit = row[
                "emergency_limit" if status == "emergency" else f"{'critical' if status == 'critical' else 'warning'}_limit"
            ]
            alert = Alert(
                key=f"performance:{name}:{status}",
                title=f"{name} performance {status} after {where}",
                severity=STATUS_SEVERITY[status],
                message=spc.status_reason(row, metric),
                metric=f"rolling_{metric}",
                value=float(row[f"rolling_{metric}"]),
                threshold=float(limit),
                details={"model_version": row["model_version"], "cusum": f"{row['cusum']:.2f}"},
            )
            if _alerted(warehouse, alert.key, alert.title):
                context.log.info(f"{name}: the {status} alert for {where} is recorded already")
            else:
                notifier.notify(alert, warehouse, now)
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
    latest_table = "_no served gameweek has results yet_"
    if latest_rows:
        # narrow enough for Dagster's metadata column; the numbers themselves are the `<model>/...` keys
        lines = ["| model | gameweek | rolling | status |", "|:--|:--|--:|:--|"]
        for row in latest_rows:
            metric = row["metric"]
            rolling = f"{metric} {row['rolling_' + metric]:.4f}"
            lines.append(f"| {row['model_name']} | {row['season'][2:]}:{int(row['gameweek'])} | {rolling} | {row['status']} |")
        latest_table = "\n".join(lines)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            **({"scored_through": last.label} if last is not None else {}),
            "latest_served": dg.MetadataValue.md(latest_table),
            **metadata,
        }
    )
