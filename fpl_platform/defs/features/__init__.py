"""Features domain: team ratings and match features as of each gameweek's first kickoff."""

import dagster as dg

from fpl_platform.defs.features import assets

defs = dg.Definitions(assets=dg.load_assets_from_modules([assets]))
