"""Ingestion domain: raw.* tables from the bundled snapshot, the FPL API and football-data.co.uk."""

import dagster as dg

from fpl_platform.defs.ingestion import assets, checks

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
)
