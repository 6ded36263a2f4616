"""The code location: every domain's definitions plus the shared resources."""

import dagster as dg

from fpl_platform.defs import analytics, ingestion
from fpl_platform.resources import FootballData, FplSource, Warehouse

defs = dg.Definitions.merge(
    ingestion.defs,
    analytics.defs,
    dg.Definitions(resources={"warehouse": Warehouse(), "fpl_source": FplSource(), "football_data_source": FootballData()}),
)
