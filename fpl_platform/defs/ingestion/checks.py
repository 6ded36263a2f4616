"""Data-quality gates on the raw tables; the blocking ones stop everything downstream of a bad load.

The rules live in lib/quality.py: ingestion runs the blocking ones on the rows it is about to publish and
refuses a bad load before it is stored; these checks run the same rules on the published tables, so the
UI's Checks tab shows each rule's latest result and a failed one blocks the assets downstream.
"""

import dagster as dg

from fpl_platform.lib import quality
from fpl_platform.resources import Warehouse, warehouse_step


def _asset(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def _result(rule: quality.Rule, failures, total_label: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=_asset(rule.table),
        check_name=rule.name,
        passed=len(failures) == 0,
        severity=dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN,
        metadata={
            "failing_rows": len(failures),
            "checked": total_label,
            "sample": dg.MetadataValue.md(failures.head(5).to_markdown(index=False) if len(failures) else "_none_"),
        },
    )


def _unchecked(rule: quality.Rule, reason: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=_asset(rule.table),
        check_name=rule.name,
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"checked": f"nothing: {reason}"},
    )


def _checks(table: str, name: str, rows: str):
    @dg.multi_asset_check(
        name=name,
        specs=[
            dg.AssetCheckSpec(name=rule.name, asset=_asset(table), description=rule.description, blocking=rule.blocking)
            for rule in quality.rules(table)
        ],
        pool="duckdb",
    )
    @warehouse_step
    def _check(warehouse: Warehouse):
        total = int(warehouse.read(f"SELECT count(*) AS n FROM {table}")["n"].iat[0])
        for rule in quality.rules(table):
            if rule.can_run(warehouse.read):
                yield _result(rule, warehouse.read(rule.sql), f"{total} {rows}")
            else:
                yield _unchecked(rule, f"{' and '.join(rule.joins)} not stored yet")

    _check.__doc__ = f"The rules of {table} (lib/quality.py) on the published table."
    return _check


raw_matches_quality = _checks("raw.matches", "raw_matches_quality", "matches")
raw_player_gameweeks_quality = _checks("raw.player_gameweeks", "raw_player_gameweeks_quality", "player rows")
raw_fixtures_quality = _checks("raw.fixtures", "raw_fixtures_quality", "fixtures")
