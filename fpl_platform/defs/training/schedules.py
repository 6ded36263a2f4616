"""The weekly retrain: Monday 23:00 Europe/London, after the weekend's and Monday's matches."""

import dagster as dg

from fpl_platform.defs.training.jobs import weekly_retrain_job
from fpl_platform.lib.run_tags import EVIDENCE_TAG, TRIGGER_TAG

# what the weekly retrain's models are trained on
TRAINING_INPUTS = (dg.AssetKey(["features", "match_features"]), dg.AssetKey(["features", "player_features"]))


def unchanged_since_last_retrain(instance: dg.DagsterInstance) -> str | None:
    """Why this tick would retrain on the data the last successful weekly retrain already saw, or None.

    None (retrain) unless a weekly retrain succeeded and no training input has been materialised since that
    run started: the same rows would fit the same models again (the second Monday of an international
    break). A failed retrain, or any new materialisation of an input, means the tick retrains.
    """
    [last] = instance.get_run_records(
        dg.RunsFilter(job_name=weekly_retrain_job.name, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
    ) or [None]
    if last is None or last.start_time is None:
        return None
    latest = [instance.get_latest_materialization_event(key) for key in TRAINING_INPUTS]
    if any(event is None or event.timestamp >= last.start_time for event in latest):
        return None
    return (
        f"no training input ({', '.join(key.to_user_string() for key in TRAINING_INPUTS)}) was materialised since the "
        f"last weekly retrain (run {last.dagster_run.run_id}): retraining on the same data would fit the same models"
    )


@dg.schedule(
    job=weekly_retrain_job,
    cron_schedule="0 23 * * 1",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def weekly_retrain_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Retrain both models through their gates every Monday at 23:00 London time, when there is new data."""
    tick = context.scheduled_execution_time
    unchanged = unchanged_since_last_retrain(context.instance)
    if unchanged is not None:
        return dg.SkipReason(unchanged)
    return dg.RunRequest(
        run_key=f"weekly-{tick:%Y-%m-%d}",
        tags={TRIGGER_TAG: "scheduled", EVIDENCE_TAG: f"weekly schedule tick {tick.isoformat()}"},
    )
