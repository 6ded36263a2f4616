"""Sensors that watch the platform: alerts on failed runs and stale data, recovery of runs whose process died.

The retrains that drift and performance call for are requested by the training domain's sensors, which read
monitoring.drift_reports and monitoring.performance.
"""

import dagster as dg

from fpl_platform.lib.clock import Clock
from fpl_platform.lib.models import MODELS
from fpl_platform.lib.run_tags import EVIDENCE_TAG, RETRAIN_MODEL_TAG, TRIGGER_TAG
from fpl_platform.resources import Notifier, RunClock, Warehouse, warehouse_step


@dg.sensor(default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=3600)
@warehouse_step
def stale_data_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier, clock: RunClock
) -> dg.SkipReason:
    """During a season (fixtures still to play), alert when the newest result is older than the configured days."""
    import pandas as pd

    from fpl_platform.lib import settings
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
        now,
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
    models = [name for name, model in MODELS.items() if "/".join(model.model_asset) in selection]
    model_failed = [m for m in models if any("__".join(MODELS[m].model_asset) in (step or "") for step in failed_steps)]
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
    now = Clock.from_tags(run.tags).now()  # a replayed run failed at its simulated time
    deliveries = notifier.notify(alert, warehouse, now)
    trigger = run.tags.get(TRIGGER_TAG, "")
    for model in model_failed:
        promotion.record_event(
            warehouse,
            model_name=model,
            trigger=trigger if trigger in promotion.TRIGGERS else "manual",
            decision="failed",
            reason=error[:1000],
            created_at=now,
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
