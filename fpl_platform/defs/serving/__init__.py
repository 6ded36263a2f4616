"""Serving domain: predictions for the next gameweek from the champion models."""

import dagster as dg

from fpl_platform.defs.serving import assets

defs = dg.Definitions(assets=dg.load_assets_from_modules([assets]))
