"""Gates on the feature tables: the as-of invariant, complete probabilities."""

import dagster as dg

from fpl_platform.resources import Warehouse, warehouse_step

MATCH_FEATURES = dg.AssetKey(["features", "match_features"])
PLAYER_FEATURES = dg.AssetKey(["features", "player_features"])


def _failing(warehouse: Warehouse, sql: str, asset: dg.AssetKey, name: str) -> dg.AssetCheckResult:
    failures = warehouse.read(sql)
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=failures.empty,
        metadata={
            "failing_rows": len(failures),
            "sample": dg.MetadataValue.md(failures.head(5).to_markdown(index=False) if len(failures) else "_none_"),
        },
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            "features_precede_kickoff",
            asset=MATCH_FEATURES,
            blocking=True,
            description="Every row's cutoff (the gameweek's first kickoff) is at or before its own kickoff: no feature can include the match.",
        ),
        dg.AssetCheckSpec(
            "dixon_coles_probabilities_are_complete",
            asset=MATCH_FEATURES,
            blocking=True,
            description="Dixon-Coles probabilities exist, lie in (0, 1) and sum to 1 for every match.",
        ),
        dg.AssetCheckSpec(
            "player_features_precede_kickoff",
            asset=PLAYER_FEATURES,
            blocking=True,
            description="Every player row's cutoff is at or before its kickoff.",
        ),
    ],
    pool="duckdb",
    can_subset=True,
)
@warehouse_step
def feature_invariants(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    """The as-of invariant on both feature tables, and complete Dixon-Coles probabilities."""
    selected = {key.name for key in context.selected_asset_check_keys}
    if "features_precede_kickoff" in selected:
        yield _failing(
            warehouse,
            "SELECT match_id, cutoff, kickoff FROM features.match_features WHERE cutoff > kickoff",
            MATCH_FEATURES,
            "features_precede_kickoff",
        )
    if "dixon_coles_probabilities_are_complete" in selected:
        yield _failing(
            warehouse,
            "SELECT match_id, dc_p_home, dc_p_draw, dc_p_away FROM features.match_features"
            " WHERE dc_p_home IS NULL OR dc_p_draw IS NULL OR dc_p_away IS NULL"
            " OR least(dc_p_home, dc_p_draw, dc_p_away) <= 0 OR abs(dc_p_home + dc_p_draw + dc_p_away - 1) > 1e-6",
            MATCH_FEATURES,
            "dixon_coles_probabilities_are_complete",
        )
    if "player_features_precede_kickoff" in selected:
        yield _failing(
            warehouse,
            "SELECT player_id, match_id, cutoff, kickoff FROM features.player_features WHERE cutoff > kickoff",
            PLAYER_FEATURES,
            "player_features_precede_kickoff",
        )
