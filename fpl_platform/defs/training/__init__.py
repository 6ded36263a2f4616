"""Training domain: walk-forward backtests, their metrics, and the registered match outcome model."""

import dagster as dg

from fpl_platform.defs.training import assets

defs = dg.Definitions(assets=dg.load_assets_from_modules([assets]))
