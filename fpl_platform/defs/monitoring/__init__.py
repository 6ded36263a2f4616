"""Monitoring domain: alerts (more arrives with drift and performance monitoring)."""

import dagster as dg

from fpl_platform.defs.monitoring import sensors

defs = dg.Definitions(sensors=[sensors.alert_on_run_failure])
