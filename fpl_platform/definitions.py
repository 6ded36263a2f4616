"""The code location: every domain's definitions plus the shared resources and the executor.

The resources are configured here from the deployment's environment (lib.paths.setting); nothing else reads it
while a run executes.
"""

import dagster as dg

from fpl_platform.defs import analytics, features, ingestion, monitoring, serving, training
from fpl_platform.defs.console import compact_console
from fpl_platform.lib.paths import setting
from fpl_platform.resources import FootballData, FplSource, MlflowTracking, Notifier, RunClock, Warehouse

defs = dg.Definitions.merge(
    ingestion.defs,
    features.defs,
    training.defs,
    serving.defs,
    monitoring.defs,
    analytics.defs,
    dg.Definitions(
        resources={
            "warehouse": Warehouse(),
            "fpl_source": FplSource(mode=setting("FPL_PLATFORM_SOURCE") or "bundled", api_base=setting("FPL_PLATFORM_FPL_API")),
            "football_data_source": FootballData(location=setting("FPL_PLATFORM_FOOTBALL_DATA")),
            "clock": RunClock(as_of=setting("FPL_PLATFORM_AS_OF")),
            "mlflow_tracking": MlflowTracking(),
            "notifier": Notifier(),
        },
        # DuckDB steps are serialised by the "duckdb" pool anyway; one process per run saves the
        # 2-4 s each extra step process costs (import + pool-slot polling) on a 2-core machine
        executor=dg.in_process_executor,
        loggers={"console": compact_console},
    ),
)
