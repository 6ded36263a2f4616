"""Training domain: walk-forward backtests, their metrics, and the registered match outcome model."""

import dagster as dg

from fpl_platform.defs.training import assets, checks

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
)
