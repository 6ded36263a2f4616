"""Reads of the tables that training, serving and monitoring share.

Domains talk through asset keys and tables; these are the one way each shared table is read, so that a fit, a
prediction and a drift report see the same rows in the same order.
"""

from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.resources import Warehouse

if TYPE_CHECKING:
    import pandas as pd


def played_features(warehouse: Warehouse) -> "pd.DataFrame":
    """features.match_features in kickoff order (scheduled fixtures have NaN goals)."""
    return warehouse.read_with_nullable_numbers(
        "SELECT * FROM features.match_features ORDER BY kickoff, match_id", ["home_goals", "away_goals"]
    )


def player_features_frame(
    warehouse: Warehouse,
    since_season: str = "",
    *,
    gameweek: int | None = None,
    since_cutoff: "pd.Timestamp | None" = None,
    columns: list[str] | None = None,
) -> "pd.DataFrame":
    """features.player_features from `since_season` on (only its `gameweek`, or only rounds from `since_cutoff`, when
    given; only `columns` when given), in a total order (fits repeat bit for bit); rows of unplayed fixtures have
    NaN minutes and points."""
    where, params = ["season >= $season"], {"season": since_season}
    if gameweek is not None:
        where, params = ["season = $season", "gameweek = $gameweek"], {**params, "gameweek": gameweek}
    if since_cutoff is not None:
        where, params = [*where, "cutoff >= $cutoff"], {**params, "cutoff": since_cutoff}
    selected = "*" if columns is None else ", ".join(f'"{column}"' for column in columns)
    return warehouse.read_with_nullable_numbers(
        f"SELECT {selected} FROM features.player_features WHERE {' AND '.join(where)} ORDER BY kickoff, match_id, player_id",
        [c for c in ("minutes", "points") if columns is None or c in columns],
        params,
    )


def resolve_cutoff(warehouse: Warehouse, features: "pd.DataFrame", as_of_text: str):
    """The as-of spec (`as_of_text`, or lib.asof's default when empty) and the first kickoff of the gameweek to
    predict (the training cutoff)."""
    from fpl_platform.lib import asof

    fixtures = warehouse.read("SELECT season, gameweek, finished FROM raw.fixtures") if warehouse.exists("raw.fixtures") else None
    spec = asof.resolve(features[features["home_goals"].notna()], fixtures, as_of_text)
    predicted = features[(features["season"] == spec.season) & (features["gameweek"] == spec.next_gameweek)]
    if predicted.empty:
        raise dg.Failure(f"no matches in gameweek {spec.next_gameweek} of {spec.season} (as-of {spec.label})")
    return spec, predicted["cutoff"].min()
