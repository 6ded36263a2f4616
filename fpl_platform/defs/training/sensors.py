"""After a rollback, re-predict from the restored champion."""

import dagster as dg

from fpl_platform.defs.training.jobs import refresh_predictions_job, rollback_job

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
    if run.tags.get(REFRESHED_TAG):
        return dg.SkipReason(f"rollback run {run.run_id} already refreshed predictions ({run.tags[REFRESHED_TAG]})")
    return dg.RunRequest(
        run_key=f"refresh-after-rollback-{run.run_id}",
        tags={"fpl_platform/trigger": "rollback", "fpl_platform/after_run": run.run_id},
    )
