"""Training domain: backtests, their metrics, the gated models, retrain and rollback jobs, the weekly schedule, the
sensors that retrain on drift or performance evidence."""

import dagster as dg

from fpl_platform.defs.training import assets, checks, jobs, schedules, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
    jobs=[
        jobs.retrain_match_outcome_job,
        jobs.retrain_player_points_job,
        jobs.weekly_retrain_job,
        jobs.refresh_predictions_job,
        jobs.rollback_job,
    ],
    schedules=[schedules.weekly_retrain_schedule],
    sensors=[sensors.refresh_predictions_after_rollback, sensors.drift_retrain_sensor, sensors.performance_retrain_sensor],
)
