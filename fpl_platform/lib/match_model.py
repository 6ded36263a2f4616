"""Match outcome models: candidates, walk-forward evaluation, selection by RPS, the served model.

Walk-forward: the model that predicts gameweek g is fitted only on matches that kicked off before
g's first kickoff (refitted every `refit_every` gameweeks). Candidates are compared on validation
seasons that precede the backtest seasons, so choosing a model never looks at the test matches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fpl_platform.lib.features import MODEL_FEATURES
from fpl_platform.lib.gate import FitCache
from fpl_platform.lib.metrics import match_scores, outcome_index

DC_COLUMNS = ["dc_p_home", "dc_p_draw", "dc_p_away"]
LOGISTIC_FEATURES = ["dc_log_home_away", "dc_log_draw", "elo_diff"]


@dataclass
class Candidate:
    """A model family: how to build an estimator, on which features, blended with Dixon-Coles by `dc_weight`."""

    name: str
    features: list[str]
    dc_weight: float = 0.0
    params: dict = field(default_factory=dict)

    @property
    def fit_columns(self) -> list[str]:
        """Every column `fit` reads (a FitCache keys on these alone)."""
        return [*self.features, "home_goals", "away_goals", "kickoff"]

    @property
    def estimator_recipe(self) -> str:
        """What the fitted estimator depends on: its family, features and parameters. Not the name, nor the
        Dixon-Coles blend applied to its probabilities, so `xgboost` and `xgboost_dc_blend` share their fits."""
        family = "xgboost" if self.name.startswith("xgboost") else "logistic"
        return repr((family, list(self.features), sorted(self.params.items())))

    def estimator(self):
        if self.name.startswith("xgboost"):
            from xgboost import XGBClassifier

            defaults = {
                "n_estimators": 150,
                "max_depth": 2,
                "learning_rate": 0.03,
                "subsample": 0.8,
                "colsample_bytree": 0.8,
                "min_child_weight": 20,
                "reg_lambda": 5.0,
                "n_jobs": 2,
                "objective": "multi:softprob",
                "random_state": 0,
            }
            return XGBClassifier(**{**defaults, **self.params})
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(C=self.params.get("C", 0.1), max_iter=2000))


CANDIDATES = {
    "logistic_dc_elo": Candidate("logistic_dc_elo", LOGISTIC_FEATURES),
    "logistic_dc_elo_threat": Candidate("logistic_dc_elo_threat", [*LOGISTIC_FEATURES, "diff_threat_ewm"]),
    "xgboost": Candidate("xgboost", MODEL_FEATURES),
    "xgboost_dc_blend": Candidate("xgboost_dc_blend", MODEL_FEATURES, dc_weight=0.5),
}


class MatchOutcomeModel:
    """The served model: a fitted estimator on named features, optionally blended with Dixon-Coles."""

    def __init__(self, candidate: Candidate, estimator, trained_until: str, training_rows: int):
        self.candidate = candidate
        self.estimator = estimator
        self.trained_until = trained_until
        self.training_rows = training_rows

    @property
    def features(self) -> list[str]:
        return self.candidate.features

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        probabilities = self.estimator.predict_proba(frame[self.features])
        if self.candidate.dc_weight:
            probabilities = (1 - self.candidate.dc_weight) * probabilities + self.candidate.dc_weight * frame[
                DC_COLUMNS
            ].to_numpy()
        return probabilities / probabilities.sum(axis=1, keepdims=True)


def fit_estimator(candidate: Candidate, played: pd.DataFrame):
    """A candidate's estimator fitted on played matches (reads only `candidate.estimator_recipe`'s parts)."""
    estimator = candidate.estimator()
    estimator.fit(played[candidate.features], outcome_index(played["home_goals"], played["away_goals"]))
    return estimator


def fit(candidate: Candidate, training: pd.DataFrame, *, estimate=fit_estimator) -> MatchOutcomeModel:
    """Fit a candidate on played matches (`estimate(candidate, played)` fits its estimator)."""
    training = training[training["home_goals"].notna()]
    return MatchOutcomeModel(candidate, estimate(candidate, training), str(training["kickoff"].max()), len(training))


class Fits:
    """`fit(candidate, training)`, its estimator memoised on the training rows' content (lib.gate.FitCache) in
    memory and, given a directory, on disk. One cache per estimator recipe, so candidates that differ only by
    their blend share fits. The backtest's folds, the candidate selection and the gate's blocks then fit each
    set of rows once, and a re-run with unchanged features fits nothing."""

    def __init__(self, directory: Path | None = None, *, keep: int = 256):
        self.directory, self.keep = directory, keep
        self.caches: dict[str, FitCache] = {}

    def _estimate(self, candidate: Candidate, played: pd.DataFrame):
        recipe = candidate.estimator_recipe
        if recipe not in self.caches:
            self.caches[recipe] = FitCache(
                functools.partial(fit_estimator, candidate),
                recipe=recipe,
                directory=self.directory,
                keep=self.keep,
                columns=candidate.fit_columns,
            )
        return self.caches[recipe](played)

    def __call__(self, candidate: Candidate, training: pd.DataFrame) -> MatchOutcomeModel:
        return fit(candidate, training, estimate=self._estimate)

    def of(self, candidate: Candidate) -> Callable[[pd.DataFrame], MatchOutcomeModel]:
        return functools.partial(self, candidate)

    @property
    def counts(self) -> dict[str, int]:
        """How many estimators were fitted, and how many came from the cache."""
        return {kind: sum(cache.counts[kind] for cache in self.caches.values()) for kind in ("fitted", "reused")}


def walk_forward(
    features: pd.DataFrame,
    candidate: Candidate,
    seasons: list[str],
    *,
    refit_every: int = 4,
    progress: Callable[[str], None] | None = None,
    fitter: Callable[[Candidate, pd.DataFrame], MatchOutcomeModel] = fit,
) -> pd.DataFrame:
    """Probabilities for every match of `seasons`, each from a model fitted before its gameweek's first kickoff
    (`progress` gets a line per fold; `fitter` may be a `Fits`)."""
    from fpl_platform.lib.progress import Progress, rounds_text

    features = features.sort_values(["kickoff", "match_id"]).reset_index(drop=True)
    played = features[features["home_goals"].notna()]
    plan = (
        features[features["season"].isin(seasons)]
        .groupby(["season", "gameweek"], as_index=False)["cutoff"]
        .min()
        .sort_values("cutoff")
        .reset_index(drop=True)
    )
    out = []
    folds = Progress(progress, "fold", -(-len(plan) // refit_every))
    for start in range(0, len(plan), refit_every):
        block = plan.iloc[start : start + refit_every]
        cutoff = block["cutoff"].min()
        model = fitter(candidate, played[played["kickoff"] < cutoff])
        folds.step(rounds_text(block))
        keys = set(zip(block["season"], block["gameweek"], strict=True))
        targets = features[[k in keys for k in zip(features["season"], features["gameweek"], strict=True)]]
        p = model.predict_proba(targets)
        out.append(
            pd.DataFrame({"match_id": targets["match_id"].to_numpy(), "p_home": p[:, 0], "p_draw": p[:, 1], "p_away": p[:, 2]})
        )
    return pd.concat(out, ignore_index=True)


def climatology(features: pd.DataFrame, seasons: list[str]) -> pd.DataFrame:
    """Base rates of H/D/A from all earlier seasons, per predicted season."""
    played = features[features["home_goals"].notna()]
    out = []
    for season in seasons:
        earlier = played[played["season"] < season]
        outcome = outcome_index(earlier["home_goals"], earlier["away_goals"])
        rates = np.bincount(outcome, minlength=3) / len(outcome)
        targets = features[features["season"] == season]
        out.append(
            pd.DataFrame({"match_id": targets["match_id"].to_numpy(), "p_home": rates[0], "p_draw": rates[1], "p_away": rates[2]})
        )
    return pd.concat(out, ignore_index=True)


def select_candidate(
    features: pd.DataFrame,
    validation_seasons: list[str],
    *,
    refit_every: int = 4,
    candidates: dict[str, Candidate] | None = None,
    fitter: Callable[[Candidate, pd.DataFrame], MatchOutcomeModel] = fit,
) -> tuple[str, dict[str, float]]:
    """The candidate with the lowest walk-forward RPS on the validation seasons, and every candidate's RPS."""
    played = features[features["home_goals"].notna()]
    scores = {}
    for name, candidate in (candidates or CANDIDATES).items():
        predictions = walk_forward(played, candidate, validation_seasons, refit_every=refit_every, fitter=fitter).merge(
            played[["match_id", "home_goals", "away_goals"]], on="match_id"
        )
        scores[name] = match_scores(
            predictions[["p_home", "p_draw", "p_away"]].to_numpy(),
            outcome_index(predictions["home_goals"], predictions["away_goals"]),
        )["rps"]
    return min(scores, key=scores.get), scores
