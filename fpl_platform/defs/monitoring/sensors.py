"""Sensors that act on monitoring: retrain on critical drift or performance, alert on failures and stale data."""

from dataclasses import dataclass

import dagster as dg

from fpl_platform.defs.training.gating import EVIDENCE_TAG, RETRAIN_MODEL_TAG, TRIGGER_TAG
from fpl_platform.defs.training.jobs import MODEL_ASSETS, RETRAIN_JOBS, last_retrain_time
from fpl_platform.resources import Notifier, Warehouse, warehouse_step


@dataclass(frozen=True)
class Trigger:
    """One model's retrain trigger as a sensor sees it on this tick."""

    model: str
    kind: str  # drift, performance or emergency
    active: bool
    evidence: str
    run_key: str

    @property
    def key(self) -> str:
        # emergencies share the performance trigger's attempt count: the same condition, only worse
        return f"{'performance' if self.kind == 'emergency' else self.kind}:{self.model}"


def retrain_requests(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier, state: dict, triggers: list[Trigger]
) -> list[dg.RunRequest]:
    """Run requests for the active triggers that pass the cooldown and the attempt cap; skips are recorded."""
    import pandas as pd

    from fpl_platform.lib import automation, clock, promotion, settings
    from fpl_platform.lib.notify import Alert

    options = settings.load("automation")
    cooldown = pd.Timedelta(hours=options["retrain_cooldown_hours"])
    requests = []
    attempts = state.setdefault("attempts", {})
    for trigger in triggers:
        if not trigger.active:
            attempts[trigger.key] = 0
            continue
        last = last_retrain_time(context.instance, trigger.model)
        verdict = automation.decide_retrain(
            attempts=attempts.get(trigger.key, 0),
            last_retrain=None if last is None else pd.Timestamp(last),
            now=clock.now(),
            cooldown=cooldown,
            max_attempts=options["max_attempts_per_trigger"],
            emergency=trigger.kind == "emergency",
        )
        attempts[trigger.key] = verdict.attempts
        if verdict.request:
            context.log.info(f"requesting retrain of {trigger.model} ({trigger.kind}): {verdict.reason}; {trigger.evidence}")
            requests.append(
                dg.RunRequest(
                    run_key=trigger.run_key,
                    job_name=RETRAIN_JOBS[trigger.model].name,
                    tags={TRIGGER_TAG: trigger.kind, EVIDENCE_TAG: trigger.evidence[:500]},
                )
            )
            continue
        context.log.info(f"skipped retrain of {trigger.model} ({trigger.kind}): {verdict.reason}; {trigger.evidence}")
        promotion.record_event(
            warehouse,
            model_name=trigger.model,
            trigger=trigger.kind,
            decision="skipped",
            reason=verdict.reason,
            evidence=trigger.evidence,
            champion_before=None,
            champion_after=None,
            dagster_run_id=f"sensor {context.sensor_name}",
        )
        if "needs a person" in verdict.reason:
            notifier.notify(
                Alert(
                    key=f"retrain_cap:{trigger.key}",
                    title=f"{trigger.model}: {trigger.kind} persists after {verdict.attempts} retrains",
                    severity="HIGH",
                    message=f"{verdict.reason}. Evidence: {trigger.evidence}",
                    metric="retrain_attempts",
                    value=float(verdict.attempts),
                    threshold=float(options["max_attempts_per_trigger"]),
                ),
                warehouse,
            )
    return requests


def _result(requests: list[dg.RunRequest], state: dict, idle: str) -> dg.SensorResult:
    from fpl_platform.lib.automation import dump_cursor

    return dg.SensorResult(
        run_requests=requests, cursor=dump_cursor(state), skip_reason=None if requests else dg.SkipReason(idle)
    )


@dg.sensor(
    jobs=list(RETRAIN_JOBS.values()),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)
@warehouse_step
def drift_retrain_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier) -> dg.SensorResult:
    """A critical drift report on a model's inputs or predictions requests that model's retrain."""
    from fpl_platform.lib.automation import load_cursor

    state = load_cursor(context.cursor, {"last_created_at": "", "attempts": {}})
    if not warehouse.exists("monitoring.drift_reports"):
        return _result([], state, "monitoring.drift_reports does not exist yet: no drift report to act on")
    reports = warehouse.read(
        "SELECT report_id, created_at, model_name, drift_share, drifted_features, features, prediction_psi, severity "
        "FROM monitoring.drift_reports WHERE created_at > coalesce(try_cast(? AS TIMESTAMPTZ), '-infinity'::TIMESTAMPTZ) "
        "ORDER BY created_at",
        [state["last_created_at"] or None],
    )
    if reports.empty:
        return _result([], state, f"no drift report since {state['last_created_at'] or 'the start'}")
    state["last_created_at"] = reports["created_at"].max().isoformat()
    triggers = []
    for model, rows in reports.groupby("model_name"):
        latest = rows.iloc[-1]
        triggers.append(
            Trigger(
                model=model,
                kind="drift",
                active=latest["severity"] == "critical",
                evidence=f"drift report {latest['report_id']}: {int(latest['drifted_features'])}/{int(latest['features'])} "
                f"features drifted (share {latest['drift_share']:.2f}), prediction PSI {latest['prediction_psi']:.3f}",
                run_key=f"drift-{model}-{latest['report_id']}",
            )
        )
    requests = retrain_requests(context, warehouse, notifier, state, triggers)
    return _result(requests, state, f"{len(reports)} new drift report(s), none calls for a retrain now")


@dg.sensor(
    jobs=list(RETRAIN_JOBS.values()),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)
@warehouse_step
def performance_retrain_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier) -> dg.SensorResult:
    """A critical rolling-performance breach requests a retrain; an emergency one skips the cooldown."""
    from fpl_platform.lib import performance as spc
    from fpl_platform.lib.automation import load_cursor

    state = load_cursor(context.cursor, {"seen": {}, "attempts": {}})
    if not warehouse.exists("monitoring.performance"):
        return _result([], state, "monitoring.performance does not exist yet")
    rows = warehouse.read("SELECT * FROM monitoring.performance WHERE source = 'served' ORDER BY season, gameweek")
    triggers = []
    for model, served in rows.groupby("model_name"):
        latest = served.iloc[-1]
        seen = f"{latest['season']}:{int(latest['gameweek'])}"
        if state["seen"].get(model) == seen:
            continue
        state["seen"][model] = seen
        status = latest["status"]
        triggers.append(
            Trigger(
                model=model,
                kind="emergency" if status == "emergency" else "performance",
                active=status in ("critical", "emergency"),
                evidence=f"{status}: {spc.status_reason(latest, latest['metric'])}",
                run_key=f"performance-{model}-{seen.replace(':', '-gw')}-{status}",
            )
        )
    if not triggers:
        return _result([], state, "no newly served gameweek with results")
    requests = retrain_requests(context, warehouse, notifier, state, triggers)
    return _result(requests, state, f"performance of {[t.model for t in triggers]} within limits or retrain skipped")


@dg.sensor(default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=3600)
@warehouse_step
def stale_data_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier) -> dg.SkipReason:
    """During a season (fixtures still to play), alert when the newest result is older than the configured days."""
    import pandas as pd

    from fpl_platform.lib import clock, settings
    from fpl_platform.lib.notify import Alert

    if not (warehouse.exists("raw.fixtures") and warehouse.exists("raw.matches")):
        return dg.SkipReason("raw.fixtures or raw.matches does not exist yet")
    season = warehouse.read("SELECT max(season) AS season FROM raw.fixtures")["season"].iat[0]
    pending = warehouse.read("SELECT count(*) AS n FROM raw.fixtures WHERE season = ? AND NOT finished", [season])["n"].iat[0]
    if not pending:
        return dg.SkipReason(f"no season in progress ({season} has no fixture left to play)")
    newest = warehouse.read("SELECT max(kickoff) AS newest FROM raw.matches WHERE season = ?", [season])["newest"].iat[0]
    days = settings.load("automation")["stale_data_days"]
    now = clock.now()
    age = None if pd.isna(newest) else (now - pd.Timestamp(newest)).total_seconds() / 86400
    if age is not None and age <= days:
        return dg.SkipReason(f"newest {season} result is {age:.1f} days old (limit {days:g})")
    notifier.notify(
        Alert(
            key=f"stale_data:{season}",
            title=f"No new {season} result for {'ever' if age is None else f'{age:.0f} days'}",
            severity="MEDIUM",
            message=f"{pending} fixtures of {season} are still to play but the newest result in raw.matches is "
            f"{'missing' if age is None else pd.Timestamp(newest).isoformat()}: is the source being ingested?",
            metric="days_since_last_result",
            value=float("nan") if age is None else age,
            threshold=days,
        ),
        warehouse,
    )
    return dg.SkipReason(f"stale data alert raised for {season}")


def run_failure_marker(run_id: str) -> str:
    """How a run-failure alert's message starts: it names the run, so the alert is recorded once per run."""
    return f"Dagster run {run_id} failed"


def run_failure_alerted(warehouse: Warehouse, run_id: str) -> bool:
    """Whether monitoring.alerts already holds the run-failure alert of `run_id` (whatever its delivery status)."""
    from fpl_platform.lib import schemas

    if not warehouse.exists(schemas.ALERTS.name):
        return False
    found = warehouse.read(
        "SELECT count(*) AS n FROM monitoring.alerts WHERE alert_key LIKE 'run_failure:%' AND message LIKE ?",
        [f"%{run_failure_marker(run_id)}:%"],
    )
    return bool(found["n"].iat[0])


def alert_for_failed_run(instance: dg.DagsterInstance, run_id: str) -> None:
    """Evaluate `alert_on_run_failure` for a failed run now, as the daemon would on its next tick.

    For runs the CLI executes in process (`fpl-platform demo`, `rollback`): the failure is recorded even when
    the daemon is off; when it is on, its sensor finds the alert already recorded and adds none.
    """
    from fpl_platform.definitions import defs

    run = instance.get_run_by_id(run_id)
    failure = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    context = dg.build_run_status_sensor_context(
        sensor_name=alert_on_run_failure.name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure.dagster_event,
        resources=defs.resources,
    ).for_run_failure()
    alert_on_run_failure(context)


# every run on the instance, so that runs without a code-location origin (`dagster asset materialize`,
# `dagster job execute`) are alerted too: this instance serves the one location
@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=True)
def alert_on_run_failure(context: dg.RunFailureSensorContext, notifier: Notifier, warehouse: Warehouse) -> None:
    """Send a HIGH alert naming the failed job, run and step error; a failed retrain is also recorded as a decision."""
    from fpl_platform.lib import promotion
    from fpl_platform.lib.notify import Alert

    run = context.dagster_run
    if run_failure_alerted(warehouse, run.run_id):
        # the CLI records the failure of a run it executed itself (alert_for_failed_run); the daemon finds it here
        context.log.info(f"run-failure alert for {run.run_id} already recorded")
        return
    failed_steps = [event.step_key for event in context.get_step_failure_events()]
    error = context.failure_event.message or "run failed"
    selection = {key.to_user_string() for key in (run.asset_selection or [])}
    models = [m for m, (model_key, _) in MODEL_ASSETS.items() if "/".join(model_key) in selection]
    model_failed = [m for m in models if any("__".join(MODEL_ASSETS[m][0]) in (step or "") for step in failed_steps)]
    if model_failed:
        title = f"Retrain of {', '.join(model_failed)} failed"
    elif run.job_name.startswith("__"):  # Dagster's hidden asset job: the CLI's and the UI's ad-hoc materialisations
        title = f"Asset run failed at step {', '.join(failed_steps)}" if failed_steps else "Asset run failed"
    else:
        title = f"Run of {run.job_name} failed"
    alert = Alert(
        key=f"run_failure:{run.job_name}",
        title=title,
        severity="HIGH",
        message=f"{run_failure_marker(run.run_id)}: {error}",
        details={"run_id": run.run_id, "failed_steps": ", ".join(failed_steps) or "(none recorded)"},
    )
    deliveries = notifier.notify(alert, warehouse)
    trigger = run.tags.get(TRIGGER_TAG, "")
    for model in model_failed:
        promotion.record_event(
            warehouse,
            model_name=model,
            trigger=trigger if trigger in promotion.TRIGGERS else "manual",
            decision="failed",
            reason=error[:1000],
            evidence=run.tags.get(EVIDENCE_TAG) or f"run {run.run_id} ({run.tags.get(RETRAIN_MODEL_TAG, run.job_name)})",
            dagster_run_id=run.run_id,
        )
    sent = ", ".join(f"{d.channel}: {d.status}" for d in deliveries) or "no delivery"
    context.log.info(f"run-failure alert for run {run.run_id[:8]} recorded ({sent})")


@dg.sensor(default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60)
def recover_dead_runs(context: dg.SensorEvaluationContext):
    """Mark failed the runs whose process died (kill -9, out of memory) and free their pool slots.

    The run-failure sensor then alerts on each, as on any failed run (fpl_platform/recovery.py).
    """
    from fpl_platform import recovery

    failed = recovery.recover(context.instance, log=context.log.info)
    return dg.SkipReason(f"recovered {len(failed)} run(s) whose process was gone" if failed else "no dead run")
