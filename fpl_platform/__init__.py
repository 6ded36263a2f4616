"""fpl_platform: a Dagster asset-graph platform for Premier League and FPL forecasting."""

import os

# The platform reports no usage to third parties (Dagster's telemetry is off in dagster.yaml). MLflow's is on
# by default: every process that trains or loads a model would fetch its config from, and send usage events
# to, MLflow's servers. Set before anything here imports mlflow; an explicit MLFLOW_DISABLE_TELEMETRY wins.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# MLflow draws a download progress bar each time a model is loaded: noise in every step's log
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# XGBoost's OpenMP threads spin while they wait for work. Two processes fitting at once on a 2-core machine
# (two runs of the daemon, or the test suite's two workers) then spin against each other: a 30,000-row fit
# took 44 s instead of 0.6 s (benchmarks/bench_threads.py). Waiting threads that sleep cost nothing when the
# machine is quiet. Set before anything here loads XGBoost; an explicit OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
