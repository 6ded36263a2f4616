"""Monitoring domain: alerts (more arrives with drift and performance monitoring)."""

import dagster as dg

from fpl_platform.defs.monitoring import assets, sensors

defs = dg.Definitions(assets=dg.load_assets_from_modules([assets]), sensors=[sensors.alert_on_run_failure])
