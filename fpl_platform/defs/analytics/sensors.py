"""Publish the analyst copy after every successful run that materialised something."""

import dagster as dg

from fpl_platform.defs.analytics.jobs import publish_analytics_job


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    request_job=publish_analytics_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    # runs without a code-location origin too (`dagster asset materialize`): this instance serves the one location
    monitor_all_code_locations=True,
)
def publish_analytics_after_success(context: dg.RunStatusSensorContext):
    """After a successful run that wrote assets, publish analytics.duckdb (one publish per run)."""
    run = context.dagster_run
    if run.job_name == publish_analytics_job.name:
        return dg.SkipReason("the finished run was itself a publish")
    materialised = context.instance.get_records_for_run(
        run_id=run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1
    ).records
    if not materialised:
        return dg.SkipReason(f"run {run.run_id} materialised no assets; nothing to publish")
    return dg.RunRequest(run_key=f"publish-after-{run.run_id}", tags={"fpl_platform/after_run": run.run_id})
