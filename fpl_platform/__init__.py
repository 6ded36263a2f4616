"""fpl_platform: a Dagster asset-graph platform for Premier League and FPL forecasting."""

import os

# The platform reports no usage to third parties (Dagster's telemetry is off in dagster.yaml). MLflow's is on
# by default: every process that trains or loads a model would fetch its config from, and send usage events
# to, MLflow's servers. Set before anything here imports mlflow; an explicit MLFLOW_DISABLE_TELEMETRY wins.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# MLflow draws a download progress bar each time a model is loaded: noise in every step's log
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
