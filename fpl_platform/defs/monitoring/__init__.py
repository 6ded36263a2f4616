"""Monitoring domain: drift and performance monitoring, and the sensors that act on them."""

import dagster as dg

from fpl_platform.defs.monitoring import ab, assets, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets, ab]),
    sensors=[
        sensors.alert_on_run_failure,
        sensors.recover_dead_runs,
        sensors.drift_retrain_sensor,
        sensors.performance_retrain_sensor,
        sensors.stale_data_sensor,
    ],
)
