"""Features domain: team ratings and match features as of each gameweek's first kickoff."""

import dagster as dg

from fpl_platform.defs.features import assets, checks

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
)
