"""What was served and what happened: the SQL that pairs each item's latest prediction with its outcome.

Performance monitoring and the season report both score it. No pandas here: the code location imports it.
"""

from __future__ import annotations

# per model: its predictions table, the features table holding each item's outcome, the item key, a column
# that is NULL until the outcome is known, and the order of the item key's columns in the rows read
_SERVED = {
    "match_outcome": ("predictions.match_outcomes", "features.match_features", ("match_id",), "home_goals", ("match_id",)),
    "player_points": (
        "predictions.player_points",
        "features.player_features",
        ("player_id", "match_id"),
        "points",
        ("match_id", "player_id"),
    ),
}


def served_sql(model: str, columns: str, *, one_season: bool = False) -> str:
    """Per item, the latest prediction (`p`) joined with its outcome (`f`), for items whose outcome is known.

    `columns` are selected from `p` and `f`; `one_season` adds a `?` parameter for `p.season`. The rows come
    in a fixed order (season, gameweek, item): DuckDB's join output otherwise follows the storage order, and
    float sums over the rows would differ in the last bits between two runs on the same data.
    """
    predictions, features, key, outcome, order = _SERVED[model]
    return (
        f"SELECT {columns} FROM {predictions} p JOIN {features} f USING ({', '.join(key)}) "
        f"WHERE f.{outcome} IS NOT NULL{' AND p.season = ?' if one_season else ''} "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(f'p.{c}' for c in key)} ORDER BY p.predicted_at DESC) = 1 "
        f"ORDER BY p.season, p.gameweek, {', '.join(f'p.{c}' for c in order)}"
    )
