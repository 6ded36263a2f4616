"""Analytics domain: the analyst copy of the warehouse."""

import dagster as dg

from fpl_platform.defs.analytics import jobs, sensors

defs = dg.Definitions(jobs=[jobs.publish_analytics_job], sensors=[sensors.publish_analytics_after_success])
