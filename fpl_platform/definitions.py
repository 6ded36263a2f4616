"""The code location: every domain's definitions plus the shared resources and the executor."""

import dagster as dg

from fpl_platform.defs import analytics, features, ingestion, monitoring, serving, training
from fpl_platform.defs.console import compact_console
from fpl_platform.resources import FootballData, FplSource, MlflowTracking, Notifier, Warehouse

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
            "fpl_source": FplSource(),
            "football_data_source": FootballData(),
            "mlflow_tracking": MlflowTracking(),
            "notifier": Notifier(),
        },
        # DuckDB steps are serialised by the "duckdb" pool anyway; one process per run saves the
        # 2-4 s each extra step process costs (import + pool-slot polling) on a 2-core machine
        executor=dg.in_process_executor,
        loggers={"console": compact_console},
    ),
)
