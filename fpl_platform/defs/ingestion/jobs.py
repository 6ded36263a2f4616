"""Ingestion jobs the new-data sensor requests: a season's raw tables, then everything downstream but training."""

import dagster as dg

from fpl_platform.defs.ingestion.partitions import season_partitions

ingest_season_job = dg.define_asset_job(
    "ingest_season_job",
    selection=dg.AssetSelection.assets(["raw", "matches"], ["raw", "player_gameweeks"], ["raw", "match_odds"]),
    partitions_def=season_partitions,
    description="Re-ingest one season's results, player gameweeks and odds (with their data-quality checks).",
)

refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=dg.AssetSelection.assets(
        ["raw", "fixtures"],
        ["raw", "teams"],
        ["raw", "squad"],
        ["features", "team_ratings"],
        ["features", "match_features"],
        ["features", "player_features"],
        ["predictions", "match_outcomes"],
        ["predictions", "player_points"],
        ["monitoring", "performance"],
        ["monitoring", "drift"],
        ["monitoring", "ab_results"],
    ),
    description="After new results: fixtures, features, next-gameweek predictions from the champions, performance and drift.",
)
