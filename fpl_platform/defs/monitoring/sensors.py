"""Alert on every failed run."""

import dagster as dg

from fpl_platform.resources import Notifier, Warehouse


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=False)
def alert_on_run_failure(context: dg.RunFailureSensorContext, notifier: Notifier, warehouse: Warehouse) -> None:
    """Send a HIGH alert naming the failed job, run and step error (cooldown per job)."""
    from fpl_platform.lib.notify import Alert

    run = context.dagster_run
    failed_steps = [event.step_key for event in context.get_step_failure_events()]
    error = context.failure_event.message or "run failed"
    alert = Alert(
        key=f"run_failure:{run.job_name}",
        title=f"Run of {run.job_name} failed",
        severity="HIGH",
        message=f"Dagster run {run.run_id} failed: {error}",
        details={"run_id": run.run_id, "failed_steps": ", ".join(failed_steps) or "(none recorded)"},
    )
    deliveries = notifier.notify(alert, warehouse)
    context.log.info(f"run-failure alert for {run.run_id}: {[(d.channel, d.status) for d in deliveries]}")
