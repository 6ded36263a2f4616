"""The weekly retrain: Monday 23:00 Europe/London, after the weekend's and Monday's matches."""

import dagster as dg

from fpl_platform.defs.training.gating import EVIDENCE_TAG, TRIGGER_TAG
from fpl_platform.defs.training.jobs import weekly_retrain_job


@dg.schedule(
    job=weekly_retrain_job,
    cron_schedule="0 23 * * 1",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def weekly_retrain_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Retrain both models through their gates every Monday at 23:00 London time."""
    tick = context.scheduled_execution_time
    return dg.RunRequest(
        run_key=f"weekly-{tick:%Y-%m-%d}",
        tags={TRIGGER_TAG: "scheduled", EVIDENCE_TAG: f"weekly schedule tick {tick.isoformat()}"},
    )
