"""Monitoring domain: drift and performance monitoring, A/B test evaluation, alerts on failures and stale data."""

import dagster as dg

from fpl_platform.defs.monitoring import ab, assets, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets, ab]),
    sensors=[
        sensors.alert_on_run_failure,
        sensors.recover_dead_runs,
        sensors.stale_data_sensor,
    ],
)
