"""Retrain a model when monitoring's evidence calls for it (critical drift, a performance breach), and re-predict
from the restored champion after a rollback."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.defs.training.jobs import RETRAIN_JOBS, last_retrain_time, refresh_predictions_job, rollback_job
from fpl_platform.lib.run_tags import EVIDENCE_TAG, TRIGGER_TAG
from fpl_platform.resources import Notifier, RunClock, Warehouse, warehouse_step

if TYPE_CHECKING:
    import pandas as pd

REFRESHED_TAG = "fpl_platform/predictions_refreshed_by"


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[rollback_job],
    request_job=refresh_predictions_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def refresh_predictions_after_rollback(context: dg.RunStatusSensorContext):
    """Request fresh predictions after a successful rollback (unless the CLI already refreshed them)."""
    run = context.dagster_run
    if run.job_name != rollback_job.name:  # the daemon filters by monitored_jobs; a replay evaluates every run
        return dg.SkipReason(f"run {run.run_id} of {run.job_name} is not a rollback")
    if run.tags.get(REFRESHED_TAG):
        return dg.SkipReason(f"rollback run {run.run_id} already refreshed predictions ({run.tags[REFRESHED_TAG]})")
    return dg.RunRequest(
        run_key=f"refresh-after-rollback-{run.run_id}",
        tags={"fpl_platform/trigger": "rollback", "fpl_platform/after_run": run.run_id},
    )


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
    context: dg.SensorEvaluationContext,
    warehouse: Warehouse,
    notifier: Notifier,
    now: "pd.Timestamp",
    state: dict,
    triggers: list[Trigger],
) -> list[dg.RunRequest]:
    """Run requests for the active triggers that pass the cooldown and the attempt cap at `now` (the sensor's
    clock); skips are recorded."""
    import pandas as pd

    from fpl_platform.lib import automation, promotion, settings
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
            now=now,
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
            created_at=now,
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
                now,
            )
    return requests


def _result(requests: list[dg.RunRequest], state: dict, idle: str) -> dg.SensorResult:
    from fpl_platform.lib.automation import dump_cursor

    return dg.SensorResult(
        run_requests=requests, cursor=dump_cursor(state), skip_reason=None if requests else dg.SkipReason(idle)
    )


# the retrain sensors: they request the retrain jobs, run from the start, and look every minute
retrain_sensor = dg.sensor(
    jobs=list(RETRAIN_JOBS.values()), default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60
)


@retrain_sensor
@warehouse_step
def drift_retrain_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier, clock: RunClock
) -> dg.SensorResult:
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
    requests = retrain_requests(context, warehouse, notifier, clock.now(), state, triggers)
    return _result(requests, state, f"{len(reports)} new drift report(s), none calls for a retrain now")


@retrain_sensor
@warehouse_step
def performance_retrain_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier, clock: RunClock
) -> dg.SensorResult:
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
    requests = retrain_requests(context, warehouse, notifier, clock.now(), state, triggers)
    return _result(requests, state, f"performance of {[t.model for t in triggers]} within limits or retrain skipped")
