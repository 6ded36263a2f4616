"""Ingestion domain: raw.* tables from the bundled snapshot, the FPL API and football-data.co.uk."""

import dagster as dg

from fpl_platform.defs.ingestion import assets, checks, jobs, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
    jobs=[jobs.ingest_season_job, jobs.refresh_job],
    sensors=[sensors.new_data_sensor, sensors.refresh_after_ingestion],
)
