"""The champion/challenger gate: both models' losses on the same recent matches, honestly out of sample.

The window is the last N finished gameweeks before the training cutoff. Inside it, blocks of
`refit_every` gameweeks are predicted walk-forward:
- the challenger's recipe is refit on everything before each block's first kickoff;
- the champion is the frozen serving model for blocks that start after its own data cutoff (it has
  never seen them), and its recipe refit the same way for earlier blocks (where the frozen model
  would be scoring its own training data).
So neither side ever scores a match it was trained on, and a challenger that only adds fresher data
is credited exactly for what fresher data buys on the recent gameweeks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def memoised(fit: Callable[[pd.DataFrame], object]) -> Callable[[pd.DataFrame], object]:
    """`fit` that returns the same model for the same training rows (subsets of one frame, by index).

    The validation fit and a gate block often train on exactly the same rows; fits are deterministic,
    so one fit serves both.
    """
    fitted: dict[tuple[int, int], object] = {}

    def cached(rows: pd.DataFrame) -> object:
        key = (len(rows), int(np.sum(pd.util.hash_array(rows.index.to_numpy()), dtype=np.uint64)))
        if key not in fitted:
            fitted[key] = fit(rows)
        return fitted[key]

    return cached


def window_rounds(history: pd.DataFrame, gameweeks: int) -> pd.DataFrame:
    """The last `gameweeks` (season, gameweek) rounds of `history`, with each round's first kickoff as `cutoff`."""
    rounds = history.groupby(["season", "gameweek"], as_index=False)["cutoff"].min().sort_values("cutoff")
    return rounds.tail(gameweeks).reset_index(drop=True)


def paired_losses(
    history: pd.DataFrame,
    rounds: pd.DataFrame,
    *,
    refit_every: int,
    fit_challenger: Callable[[pd.DataFrame], object],
    fit_champion: Callable[[pd.DataFrame], object] | None,
    champion_model: object,
    champion_trained_until: pd.Timestamp,
    loss: Callable[[object, pd.DataFrame], np.ndarray],
    training_rows: Callable[[pd.DataFrame, pd.Timestamp], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Per window row: season, gameweek, challenger_loss, champion_loss, champion_source ('frozen' or 'refit').

    `fit_champion` None means the champion's recipe is the challenger's (one fit serves both).
    `training_rows(history, block_cutoff)` picks the training rows (default: everything before the cutoff).
    """
    select = training_rows or (lambda frame, cutoff: frame[frame["kickoff"] < cutoff])
    parts = []
    for start in range(0, len(rounds), refit_every):
        block = rounds.iloc[start : start + refit_every]
        block_cutoff = block["cutoff"].min()
        training = select(history, block_cutoff)
        challenger = fit_challenger(training)
        if block_cutoff > champion_trained_until:
            champion, source = champion_model, "frozen"
        else:
            champion, source = (challenger if fit_champion is None else fit_champion(training)), "refit"
        keys = set(zip(block["season"], block["gameweek"], strict=True))
        targets = history[[k in keys for k in zip(history["season"], history["gameweek"], strict=True)]]
        parts.append(
            pd.DataFrame(
                {
                    "season": targets["season"].to_numpy(),
                    "gameweek": targets["gameweek"].to_numpy(),
                    "challenger_loss": loss(challenger, targets),
                    "champion_loss": loss(champion, targets),
                    "champion_source": source,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def match_rps_loss(model, frame: pd.DataFrame) -> np.ndarray:
    """Per-match RPS of a match outcome model."""
    from fpl_platform.lib.metrics import outcome_index, rps

    return rps(model.predict_proba(frame), outcome_index(frame["home_goals"], frame["away_goals"]))


def player_squared_error(model, frame: pd.DataFrame) -> np.ndarray:
    """Per player-fixture squared error of a points model."""
    return (model.predict(frame) - frame["points"].to_numpy(dtype=float)) ** 2
