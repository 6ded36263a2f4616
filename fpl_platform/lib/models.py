"""The models the platform trains, serves and monitors: one record each, which every domain reads.

A model's name is its MLflow registered model, the `model_name` of every table and the `retrain_<name>_job`;
its asset keys match the DuckDB tables they write. Training, serving, monitoring, the A/B tests, the status
page and the command line all take what they need to know about a model from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fpl_platform.lib import schemas

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Model:
    """What the domains need to know about one model."""

    name: str
    model_asset: tuple[str, str]  # the gated model: trains a challenger, registers it, decides
    predictions_asset: tuple[str, str]  # the champion's forecasts for the next gameweek
    trainings: schemas.TableSchema  # one row per registered version (the model asset's table)
    metric: str  # the loss the gate and performance monitoring judge it by (lower is better)
    backtest_table: str  # its walk-forward backtest
    backtest_sql: str  # the backtest rows performance monitoring scores, in a fixed order (float sums follow it)
    outcomes_table: str  # the features table that holds each item's outcome once it is played
    item_key: tuple[str, ...]  # what one prediction is about, in both tables
    item_order: tuple[str, ...]  # the item key's columns in the order served rows are sorted by
    outcome_column: str  # NULL in `outcomes_table` until the item's outcome is known
    served_columns: str  # what performance monitoring reads of served predictions (`p`) and outcomes (`f`)
    arm_columns: dict[str, str]  # A/B tests: prediction column -> the suffix of its control_/treatment_ columns
    scorer: str  # lib.performance's function that scores served items against their outcomes
    # A/B tests: every assigned item of a test (parameter: its name) with its outcome once known, in a fixed order
    # (the analysis sums floats and resamples rows); the per-item loss it compares, and that loss of one arm's rows
    ab_outcomes_sql: str
    ab_loss: str
    arm_loss: Callable[[pd.DataFrame, str], object]
    # (fitted model, feature rows) -> one number per row whose drift monitoring compares
    output: Callable[[object, pd.DataFrame], object]

    def score(self, items: pd.DataFrame) -> dict[str, float]:
        """Served items' scores against their outcomes (performance monitoring, the season report)."""
        from fpl_platform.lib import performance

        return getattr(performance, self.scorer)(items)

    @property
    def predictions_table(self) -> str:
        return ".".join(self.predictions_asset)

    @property
    def assets(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """What a retrain of this model materialises: the gated model, then the predictions from its champion."""
        return self.model_asset, self.predictions_asset


def _rps_of(rows: pd.DataFrame, columns: list[str]):
    from fpl_platform.lib.metrics import outcome_index, rps

    return rps(rows[columns].to_numpy(float), outcome_index(rows["home_goals"], rows["away_goals"]))


MATCH_OUTCOME = Model(
    name="match_outcome",
    model_asset=("ml", "match_outcome_model"),
    predictions_asset=("predictions", "match_outcomes"),
    trainings=schemas.MODEL_TRAININGS,
    metric="rps",
    backtest_table="ml.match_backtest",
    backtest_sql="SELECT season, gameweek, match_id, p_home, p_draw, p_away, home_goals, away_goals "
    "FROM ml.match_backtest WHERE model = 'ours' ORDER BY season, gameweek, match_id",
    outcomes_table="features.match_features",
    item_key=("match_id",),
    item_order=("match_id",),
    outcome_column="home_goals",
    served_columns="p.season, p.gameweek, p.match_id, p.p_home, p.p_draw, p.p_away, f.home_goals, f.away_goals, p.model_version",
    arm_columns={"p_home": "p_home", "p_draw": "p_draw", "p_away": "p_away"},
    scorer="match_score",
    ab_outcomes_sql="SELECT a.*, f.home_goals, f.away_goals FROM monitoring.ab_assignments a JOIN features.match_features f "
    "USING (match_id) WHERE a.test_name = ? AND f.home_goals IS NOT NULL ORDER BY a.season, a.gameweek, a.item_key",
    ab_loss="rps",
    arm_loss=lambda rows, arm: _rps_of(rows, [f"{arm}_p_home", f"{arm}_p_draw", f"{arm}_p_away"]),
    output=lambda model, rows: model.predict_proba(rows)[:, 0],  # P(home win)
)
PLAYER_POINTS = Model(
    name="player_points",
    model_asset=("ml", "player_points_model"),
    predictions_asset=("predictions", "player_points"),
    trainings=schemas.PLAYER_TRAININGS,
    metric="rmse",
    backtest_table="ml.player_backtest",
    backtest_sql="SELECT season, gameweek, player_id, match_id, predicted_points, actual_points FROM ml.player_backtest "
    "ORDER BY season, gameweek, match_id, player_id",
    outcomes_table="features.player_features",
    item_key=("player_id", "match_id"),
    item_order=("match_id", "player_id"),
    outcome_column="points",
    served_columns="p.season, p.gameweek, p.player_id, p.match_id, p.predicted_points, f.points AS actual_points, "
    "p.model_version",
    arm_columns={"predicted_points": "points"},
    scorer="player_score",
    ab_outcomes_sql="SELECT a.*, f.points FROM monitoring.ab_assignments a JOIN features.player_features f "
    "USING (player_id, match_id) WHERE a.test_name = ? AND f.points IS NOT NULL ORDER BY a.season, a.gameweek, a.item_key",
    ab_loss="squared_error",
    arm_loss=lambda rows, arm: (rows[f"{arm}_points"].to_numpy(float) - rows["points"].to_numpy(float)) ** 2,
    output=lambda model, rows: model.predict(rows),  # expected points
)
MODELS: dict[str, Model] = {model.name: model for model in (MATCH_OUTCOME, PLAYER_POINTS)}


def get(name: str) -> Model:
    """The model called `name`; a KeyError names the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; expected one of {sorted(MODELS)}") from None


def served_sql(model: str, columns: str | None = None, *, one_season: bool = False) -> str:
    """Per item, the latest prediction (`p`) joined with its outcome (`f`), for items whose outcome is known.

    `columns` (default: the model's `served_columns`) are selected from `p` and `f`; `one_season` adds a `?`
    parameter for `p.season`. The rows come in a fixed order (season, gameweek, item): DuckDB's join output
    otherwise follows the storage order, and float sums over the rows would differ in the last bits between
    two runs on the same data.
    """
    spec = get(model)
    key = spec.item_key
    return (
        f"SELECT {columns or spec.served_columns} FROM {spec.predictions_table} p JOIN {spec.outcomes_table} f "
        f"USING ({', '.join(key)}) WHERE f.{spec.outcome_column} IS NOT NULL{' AND p.season = ?' if one_season else ''} "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(f'p.{c}' for c in key)} ORDER BY p.predicted_at DESC) = 1 "
        f"ORDER BY p.season, p.gameweek, {', '.join(f'p.{c}' for c in spec.item_order)}"
    )
