"""fpl_platform: a Dagster asset-graph platform for Premier League and FPL forecasting."""
