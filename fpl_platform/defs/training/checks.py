"""Gates on the backtests: a model that looks too good is a leakage alarm, not a celebration."""

import dagster as dg

from fpl_platform.resources import Warehouse

BACKTEST_METRICS = dg.AssetKey(["ml", "backtest_metrics"])
# the best pre-match forecaster known (closing odds) scores accuracy ~0.55 and RPS ~0.194 on these seasons
LEAKAGE_ACCURACY = 0.58
LEAKAGE_RPS = 0.185


@dg.asset_check(asset=BACKTEST_METRICS, blocking=True, pool="duckdb")
def no_leakage_alarm(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Fails when a non-market match model beats what pre-match information allows (accuracy > 0.58 or RPS < 0.185)."""
    suspicious = warehouse.read(
        "SELECT season, model, n, rps, accuracy FROM ml.backtest_metrics"
        f" WHERE domain = 'match' AND model <> 'market' AND n >= 100 AND (accuracy > {LEAKAGE_ACCURACY} OR rps < {LEAKAGE_RPS})"
    )
    pooled = warehouse.read(
        "SELECT model, rps, accuracy FROM ml.backtest_metrics WHERE domain = 'match' AND season = 'pooled' ORDER BY rps"
    )
    return dg.AssetCheckResult(
        passed=suspicious.empty,
        metadata={
            "suspicious_rows": len(suspicious),
            "thresholds": f"accuracy > {LEAKAGE_ACCURACY} or RPS < {LEAKAGE_RPS} (per season, ≥ 100 matches)",
            "pooled": dg.MetadataValue.md(pooled.round(4).to_markdown(index=False) if len(pooled) else "_none_"),
            "suspicious": dg.MetadataValue.md(suspicious.round(4).to_markdown(index=False) if len(suspicious) else "_none_"),
        },
    )
