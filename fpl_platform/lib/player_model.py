"""FPL player points: features from earlier gameweeks only, a two-stage XGBoost model, walk-forward.

Every feature of a player-fixture row is taken from the player's rows that kicked off before the first
kickoff of the row's gameweek (merge-as-of on that cutoff), plus what is known at the deadline: price,
ownership, position, home/away, and both teams' Dixon-Coles strengths as of the same cutoff.
The model predicts P(plays) with a classifier and E[points | plays] with a regressor; the prediction is
their product, so a player who will not play is predicted close to 0.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fpl_platform.lib.features import utc
from fpl_platform.lib.schemas import PLAYER_ROLLING_STATS, PLAYER_WINDOWS

ROLLING_STATS = list(PLAYER_ROLLING_STATS)
WINDOWS = PLAYER_WINDOWS
POSITION_CODES = {"GK": 0, "DEF": 1, "MID": 2, "FWD": 3, "AM": 4}
CONTEXT = [
    "position_code",
    "was_home",
    "price",
    "log_selected",
    "transfers_balance_share",
    "team_attack",
    "team_defence",
    "opponent_attack",
    "opponent_defence",
    "team_expected_goals",
    "opponent_expected_goals",
    "appearances",
    "days_since_last",
]
FEATURES = [f"{stat}_last_{w}" for w in WINDOWS for stat in ROLLING_STATS] + CONTEXT
# every column `fit` reads (a FitCache keys on these alone)
FIT_COLUMNS = [*FEATURES, "minutes", "points", "kickoff"]


def player_history(players: pd.DataFrame, *, older_rows: pd.Series | None = None) -> pd.DataFrame:
    """Per player and row: rolling means over the last 3/5/10/38 rows up to and including it.

    Same as a grouped `rolling(w, min_periods=1).mean()` (NaNs skipped), computed from per-player
    cumulative sums so the whole history takes a fraction of a second. `older_rows` (player_id → count) are
    played rows of his that `players` leaves out (older than the 38 kept), counted in his appearances.
    """
    # only the columns the form is computed from: sorting and copying names and teams was most of the cost
    needed = ["player_id", "kickoff", *(c for c in ROLLING_STATS if c in players.columns)]
    frame = players[needed].assign(kickoff=utc(players["kickoff"])).sort_values(["player_id", "kickoff"]).reset_index(drop=True)
    dropped = pd.Series(0, index=pd.Index([], name="player_id")) if older_rows is None else older_rows
    dropped = frame["player_id"].map(dropped).fillna(0).astype(int).to_numpy()
    frame["played"] = (frame["minutes"] > 0).astype(float)
    frame["started"] = (frame["minutes"] >= 60).astype(float)
    values = frame[ROLLING_STATS].astype(float).to_numpy()
    present = ~np.isnan(values)
    # cumulative sums per player, so window sums are differences of two of his rows. Per player, not over the
    # whole frame: a row's value then depends only on his earlier rows, bit for bit, whatever other players'
    # rows come and go (the weekly retrain's fit cache relies on unchanged rows hashing the same)
    player = frame["player_id"].to_numpy()
    sums = pd.DataFrame(np.where(present, values, 0.0)).groupby(player).cumsum().to_numpy()
    counts = pd.DataFrame(present.astype(np.int64)).groupby(player).cumsum().to_numpy()
    position = frame.groupby("player_id").cumcount().to_numpy()  # rows of the same player before this one
    row = np.arange(len(frame))
    parts = [frame[["player_id", "kickoff"]]]
    for window in WINDOWS:
        # the window is his last `window` rows up to this one; `before` is the row just before it, and is his
        # own row (so its cumulative sums are subtracted) unless the window reaches back to his first row
        before = row - np.minimum(position + 1, window)
        his = (before >= row - position)[:, None]
        total = sums - np.where(his, sums[np.maximum(before, 0)], 0.0)
        count = counts - np.where(his, counts[np.maximum(before, 0)], 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        parts.append(pd.DataFrame(mean, columns=[f"{stat}_last_{window}" for stat in ROLLING_STATS]))
    history = pd.concat(parts, axis=1)
    history["appearances"] = position + 1 + dropped
    history["last_kickoff"] = history["kickoff"]
    return history


def build_player_features(
    players: pd.DataFrame,
    ratings: pd.DataFrame,
    rounds: Collection[tuple[str, int]] | None = None,
    older_rows: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per player-fixture with every feature as of its gameweek's first kickoff.

    `ratings` is features.team_ratings (match_id, cutoff, home/away attack and defence, DC expected goals).
    `rounds` ((season, gameweek) pairs) limits the rows built; form still comes from every played row in
    `players`. A row depends only on rows before its cutoff, and of those only on each player's last 38 played
    rows and how many he has: `players` may leave older rows out when `older_rows` (player_id → count) counts them.
    """
    played = players[players["minutes"].notna()]  # rows of unplayed fixtures carry no form
    history = player_history(played, older_rows=older_rows)
    if rounds is not None:
        players = players[pd.MultiIndex.from_frame(players[["season", "gameweek"]]).isin(list(rounds))]
    frame = players.merge(
        ratings[
            [
                "match_id",
                "cutoff",
                "home_team",
                "home_attack",
                "home_defence",
                "away_attack",
                "away_defence",
                "dc_home_xg",
                "dc_away_xg",
            ]
        ],
        on="match_id",
        how="inner",
    )
    frame["cutoff"] = utc(frame["cutoff"])
    home = frame["was_home"].astype(bool)
    frame["team_attack"] = np.where(home, frame["home_attack"], frame["away_attack"])
    frame["team_defence"] = np.where(home, frame["home_defence"], frame["away_defence"])
    frame["opponent_attack"] = np.where(home, frame["away_attack"], frame["home_attack"])
    frame["opponent_defence"] = np.where(home, frame["away_defence"], frame["home_defence"])
    frame["team_expected_goals"] = np.where(home, frame["dc_home_xg"], frame["dc_away_xg"])
    frame["opponent_expected_goals"] = np.where(home, frame["dc_away_xg"], frame["dc_home_xg"])
    frame["was_home"] = home.astype(float)
    frame["position_code"] = frame["position"].map(POSITION_CODES).astype(float)
    frame["log_selected"] = np.log1p(frame["selected"].astype(float))
    frame["transfers_balance_share"] = frame["transfers_balance"].astype(float) / frame["selected"].astype(float).clip(lower=1000)
    frame["_order"] = np.arange(len(frame))
    merged = pd.merge_asof(
        frame.sort_values("cutoff"),
        history.drop(columns=["kickoff"]).sort_values("last_kickoff"),
        left_on="cutoff",
        right_on="last_kickoff",
        by="player_id",
        allow_exact_matches=False,
        direction="backward",
    ).sort_values("_order")
    merged["days_since_last"] = ((merged["cutoff"] - merged["last_kickoff"]).dt.total_seconds() / 86400).clip(upper=400)
    return merged.drop(columns=["_order", "last_kickoff"]).reset_index(drop=True)


# FPL's statuses of a player who will not play: injured, suspended, unavailable, not in the squad (on loan)
UNAVAILABLE = ("i", "s", "u", "n")


def apply_availability(served: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """`served` (player_id, match_id, p_play, predicted_points) with FPL's availability flags applied.

    `flags` holds `status` and `chance_of_playing` (%) per player_id and match_id (raw.squad; none in bundled
    mode). An unavailable or suspended player, or one with a chance of 0, gets p_play 0 and 0 points; another
    flagged player's p_play is capped by his chance, and his points scaled with it (points = p_play × points if he
    plays). `availability_adjusted` says whether a row changed, `availability_flag` which flag was applied
    ('i 0%', 'd 25%'; NULL for a player FPL did not flag).
    """
    merged = served.merge(
        flags[["player_id", "match_id", "status", "chance_of_playing"]].drop_duplicates(["player_id", "match_id"]),
        on=["player_id", "match_id"],
        how="left",
        validate="many_to_one",
    )
    status = merged["status"].fillna("a").str.lower()
    chance = pd.to_numeric(merged["chance_of_playing"], errors="coerce")
    out = status.isin(UNAVAILABLE) | (chance == 0)
    cap = np.where(out, 0.0, np.where(chance.notna(), chance.clip(0, 100) / 100.0, 1.0))
    p_play = merged["p_play"].to_numpy(dtype=float)
    capped = np.minimum(p_play, cap)
    scale = np.divide(capped, p_play, out=np.zeros_like(p_play), where=p_play > 0)
    flagged = (status != "a") | chance.notna()
    label = status.where(chance.isna(), status + " " + chance.round().astype("Int64").astype(str) + "%")
    return served.assign(
        p_play=capped,
        predicted_points=served["predicted_points"].to_numpy(dtype=float) * scale,
        availability_adjusted=capped < p_play,
        availability_flag=label.where(flagged, None).to_numpy(),
    )


def baselines(features: pd.DataFrame) -> pd.DataFrame:
    """Rolling-mean baselines: mean points of the last 5 and last 38 rows before the cutoff (0 with no history)."""
    return pd.DataFrame(
        {
            "baseline_last_5": features["points_last_5"].fillna(0.0).to_numpy(),
            "baseline_last_38": features["points_last_38"].fillna(0.0).to_numpy(),
        },
        index=features.index,
    )


@dataclass
class PlayerPointsModel:
    """P(plays) × E[points | plays], both gradient-boosted trees on FEATURES."""

    play_classifier: object
    points_regressor: object
    trained_until: str
    training_rows: int
    features: tuple[str, ...] = tuple(FEATURES)

    def predict_parts(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = frame[list(self.features)].astype(float)
        p_play = self.play_classifier.predict_proba(x)[:, 1]
        points_if_played = self.points_regressor.predict(x)
        return p_play, points_if_played

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        p_play, points_if_played = self.predict_parts(frame)
        return p_play * points_if_played


def fit(training: pd.DataFrame, *, n_estimators: int = 200, max_depth: int = 4, learning_rate: float = 0.05) -> PlayerPointsModel:
    """Fit both stages on rows with a known result."""
    from xgboost import XGBClassifier, XGBRegressor

    x = training[FEATURES].astype(float)
    played = (training["minutes"] > 0).to_numpy()
    common = {
        "n_estimators": n_estimators,
        "max_depth": max_depth,
        "learning_rate": learning_rate,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "n_jobs": 2,
        "random_state": 0,
        "tree_method": "hist",
    }
    classifier = XGBClassifier(**common, min_child_weight=20)
    classifier.fit(x, played.astype(int))
    regressor = XGBRegressor(**common, min_child_weight=20, reg_lambda=5.0)
    regressor.fit(x[played], training.loc[played, "points"].astype(float))
    return PlayerPointsModel(classifier, regressor, str(training["kickoff"].max()), len(training))


def walk_forward(
    features: pd.DataFrame,
    seasons: list[str],
    *,
    refit_every: int = 4,
    training_seasons: int = 3,
    progress: Callable[[str], None] | None = None,
    fitter: Callable[[pd.DataFrame], PlayerPointsModel] | None = None,
    **params,
) -> pd.DataFrame:
    """Predictions for every row of `seasons`, each from a model fitted on rows before its gameweek's first kickoff
    (`progress` gets a line per fold; `fitter`, e.g. a lib.gate.FitCache of `fit`, replaces `fit(rows, **params)`)."""
    import functools

    from fpl_platform.lib.progress import Progress, rounds_text

    fitter = fitter or functools.partial(fit, **params)

    features = features.assign(kickoff=utc(features["kickoff"]))
    plan = (
        features[features["season"].isin(seasons)]
        .groupby(["season", "gameweek"], as_index=False)["cutoff"]
        .min()
        .sort_values("cutoff")
    )
    all_seasons = sorted(features["season"].unique())
    out = []
    folds = Progress(progress, "fold", -(-len(plan) // refit_every))
    for start in range(0, len(plan), refit_every):
        block = plan.iloc[start : start + refit_every]
        cutoff = block["cutoff"].min()
        first_season = all_seasons[max(0, all_seasons.index(block["season"].iat[0]) - training_seasons)]
        training = features[(features["kickoff"] < cutoff) & (features["season"] >= first_season)]
        model = fitter(training)
        folds.step(f"{rounds_text(block)}, fitted on {len(training):,} rows")
        keys = set(zip(block["season"], block["gameweek"], strict=True))
        targets = features[[k in keys for k in zip(features["season"], features["gameweek"], strict=True)]]
        p_play, points_if_played = model.predict_parts(targets)
        out.append(
            pd.DataFrame(
                {
                    "player_id": targets["player_id"].to_numpy(),
                    "match_id": targets["match_id"].to_numpy(),
                    "p_play": p_play,
                    "predicted_points": p_play * points_if_played,
                }
            )
        )
    return pd.concat(out, ignore_index=True)
