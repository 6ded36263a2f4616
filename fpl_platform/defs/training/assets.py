"""Training: walk-forward backtests, backtest metrics with paired bootstrap comparisons, the match outcome model."""

from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.defs.memo import previous_metadata
from fpl_platform.defs.tables import played_features, player_features_frame, resolve_cutoff
from fpl_platform.defs.training.gating import (
    Challenger,
    GateConfig,
    gate_check_result,
    gate_check_spec,
    gate_metadata,
    train_and_gate,
)
from fpl_platform.lib import schemas
from fpl_platform.lib.models import MATCH_OUTCOME, PLAYER_POINTS
from fpl_platform.resources import MlflowTracking, Notifier, RunClock, Warehouse, warehouse_step

if TYPE_CHECKING:
    import pandas as pd

    from fpl_platform.lib import match_model

TRAINING = {"group_name": "training", "kinds": {"duckdb", "python"}, "pool": "duckdb"}


class MatchBacktestConfig(dg.Config):
    """Which seasons to backtest, which earlier seasons choose the model, how often to refit."""

    seasons: list[str] = ["2021-22", "2022-23", "2023-24", "2024-25", "2025-26"]
    validation_seasons: list[str] = ["2018-19", "2019-20", "2020-21"]
    refit_every_gameweeks: int | None = None  # unset: the settings' training.refit_every_gameweeks


class MatchModelConfig(GateConfig):
    """Seasons used to choose the candidate, the data cutoff (empty: the run's clock, i.e. its tag or FPL_PLATFORM_AS_OF, else the default), gate overrides."""

    validation_seasons: list[str] = []  # empty: the `validation_season_count` seasons before the cutoff's season
    validation_season_count: int = 2
    refit_every_gameweeks: int | None = None  # unset: the settings' training.refit_every_gameweeks
    candidate: str = ""  # empty: choose by validation RPS; a name of match_model.CANDIDATES forces that recipe
    as_of: str = ""


@dg.asset(key=["ml", "match_backtest"], deps=[["features", "match_features"]], **TRAINING)
def match_backtest(context: dg.AssetExecutionContext, config: MatchBacktestConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Walk-forward probabilities for every backtest match from our model, Dixon-Coles, climatology and the market."""
    import pandas as pd

    from fpl_platform.lib import match_model, paths
    from fpl_platform.lib.metrics import match_scores, outcome_index

    refit = refit_every(config)
    features = played_features(warehouse)
    features = features[features["home_goals"].notna()]
    fits = match_model.Fits(paths.fits_dir())  # shared with the model's selection and gate: each fold fitted once
    chosen, validation = match_model.select_candidate(features, config.validation_seasons, refit_every=refit, fitter=fits)
    context.log.info(f"validation RPS per candidate on {config.validation_seasons}: {validation}; selected {chosen}")
    ours = match_model.walk_forward(
        features,
        match_model.CANDIDATES[chosen],
        config.seasons,
        refit_every=refit,
        progress=context.log.info,
        fitter=fits,
    )
    ours["model"], ours["candidate"] = "ours", chosen
    targets = features[features["season"].isin(config.seasons)]
    dc = targets[["match_id", "dc_p_home", "dc_p_draw", "dc_p_away"]].set_axis(["match_id", "p_home", "p_draw", "p_away"], axis=1)
    dc["model"] = "dixon_coles"
    clim = match_model.climatology(features, config.seasons)
    clim["model"] = "climatology"
    parts = [ours, dc, clim]
    market = targets[targets["market_p_home"].notna()]
    if len(market):
        parts.append(
            market[["match_id", "market_p_home", "market_p_draw", "market_p_away"]]
            .set_axis(["match_id", "p_home", "p_draw", "p_away"], axis=1)
            .assign(model="market")
        )
    frame = pd.concat(parts, ignore_index=True).merge(
        targets[["match_id", "season", "gameweek", "kickoff", "home_team", "away_team", "home_goals", "away_goals"]],
        on="match_id",
    )
    warehouse.write(schemas.MATCH_BACKTEST, frame, source="ml.match_backtest")
    pooled = {
        model: match_scores(g[["p_home", "p_draw", "p_away"]].to_numpy(), outcome_index(g["home_goals"], g["away_goals"]))
        for model, g in frame.groupby("model")
    }
    table = pd.DataFrame(pooled).T[["n", "rps", "brier", "log_loss", "accuracy"]].sort_values("rps")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "selected_candidate": chosen,
            "fits": fits.counts,  # all reused when the features are unchanged
            "validation_rps": {k: round(v, 5) for k, v in validation.items()},
            "rps_ours": float(pooled["ours"]["rps"]),
            "rps_dixon_coles": float(pooled["dixon_coles"]["rps"]),
            "pooled": dg.MetadataValue.md(table.round(4).to_markdown()),
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["ml", "backtest_metrics"],
            deps=[["ml", "match_backtest"], ["ml", "player_backtest"]],
            description="Backtest scores per model, season and pooled.",
            group_name="training",
            kinds={"duckdb", "python"},
        ),
        dg.AssetSpec(
            ["ml", "backtest_comparisons"],
            deps=[["ml", "match_backtest"], ["ml", "player_backtest"]],
            description="Paired loss differences against the baselines with bootstrap CIs by gameweek.",
            group_name="training",
            kinds={"duckdb", "python"},
        ),
    ],
    pool="duckdb",
)
@warehouse_step
def backtest_metrics(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Per-season and pooled scores of every backtested model, and paired comparisons with the baselines."""
    import pandas as pd

    from fpl_platform.lib.evaluation import match_comparisons, match_metrics, player_comparisons, player_metrics

    metric_parts, comparison_parts = [], []
    if warehouse.exists("ml.match_backtest"):
        backtest = warehouse.read("SELECT * FROM ml.match_backtest")
        metric_parts.append(match_metrics(backtest))
        comparison_parts.append(match_comparisons(backtest, baseline="dixon_coles"))
    if warehouse.exists("ml.player_backtest"):
        players = warehouse.read("SELECT * FROM ml.player_backtest")
        metric_parts.append(player_metrics(players))
        comparison_parts.append(player_comparisons(players, baseline="baseline_last_5"))
    if not metric_parts:
        raise dg.Failure("neither ml.match_backtest nor ml.player_backtest exists: materialise a backtest first")
    metrics = pd.concat(metric_parts, ignore_index=True)
    comparisons = pd.concat(comparison_parts, ignore_index=True)
    warehouse.write(schemas.BACKTEST_METRICS, metrics, source="ml.backtest_metrics")
    warehouse.write(schemas.BACKTEST_COMPARISONS, comparisons, source="ml.backtest_comparisons")
    pooled = metrics[(metrics["season"] == "pooled") & (metrics["subset"] == "all")].set_index(["domain", "model"])
    yield dg.MaterializeResult(
        asset_key=["ml", "backtest_metrics"],
        metadata={
            "dagster/row_count": len(metrics),
            "pooled": dg.MetadataValue.md(pooled[["n", "rps", "accuracy", "mae", "rmse", "r2"]].round(4).to_markdown()),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["ml", "backtest_comparisons"],
        metadata={
            "dagster/row_count": len(comparisons),
            "comparisons": dg.MetadataValue.md(comparisons.round(5).to_markdown(index=False)),
        },
    )


def training_settings(config: dg.Config) -> dict:
    """The training section of the settings with this run's overrides (a bad value fails before any fit)."""
    from fpl_platform.lib import settings

    overrides = {name: getattr(config, name, None) for name in ("refit_every_gameweeks", "player_trees")}
    return settings.resolve("training", overrides)


def refit_every(config: dg.Config) -> int:
    """The run's walk-forward refit interval: its config's, else the settings'."""
    return training_settings(config)["refit_every_gameweeks"]


def gate_settings(config: GateConfig, model: str) -> dict:
    """The gate section of the settings with this run's overrides."""
    from fpl_platform.lib import settings

    return settings.resolve(
        "gate",
        {
            f"{model}_margin": config.gate_margin,
            "alpha": config.gate_alpha,
            "test": config.gate_test,
            f"{model}_gameweeks": config.gate_gameweeks,
        },
    )


def select_candidate_memo(
    context: dg.AssetExecutionContext,
    history: "pd.DataFrame",
    validation_seasons: list[str],
    refit_every: int,
    fits: "match_model.Fits",
    forced: str = "",
) -> dict:
    """`match_model.select_candidate`, reused from this asset's last run when its inputs are unchanged.

    The selection only sees rows up to the last validation season, the candidates and the refit interval,
    and is deterministic; so a weekly retrain within a season reuses last week's choice (recorded with
    the digest of those inputs in the materialisation metadata) instead of refitting every candidate.
    Returns {"key", "chosen", "scores" (validation RPS per candidate), "reused"}.
    """
    import hashlib
    import json

    from fpl_platform.lib import match_model
    from fpl_platform.lib.features import frame_digests

    if forced and forced not in match_model.CANDIDATES:
        raise dg.Failure(f"candidate {forced!r}: expected one of {sorted(match_model.CANDIDATES)}")
    candidates = {forced: match_model.CANDIDATES[forced]} if forced else match_model.CANDIDATES
    relevant = history[history["season"] <= max(validation_seasons)]
    key = hashlib.sha256(
        json.dumps([frame_digests(relevant), validation_seasons, refit_every, repr(candidates)]).encode()
    ).hexdigest()[:16]
    previous = previous_metadata(context, "candidate_selection") or {}
    if previous.get("key") == key:
        context.log.info(f"candidate selection reused: its inputs (rows up to {max(validation_seasons)}) are unchanged")
        return {**previous, "reused": True}
    chosen, scores = match_model.select_candidate(
        history, validation_seasons, refit_every=refit_every, candidates=candidates, fitter=fits
    )
    return {"key": key, "chosen": chosen, "scores": scores, "reused": False}


@dg.asset(
    key=["ml", "match_outcome_model"],
    deps=[["features", "match_features"]],
    check_specs=[gate_check_spec(["ml", "match_outcome_model"])],
    **TRAINING,
)
def match_outcome_model(
    context: dg.AssetExecutionContext,
    config: MatchModelConfig,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    notifier: Notifier,
    clock: RunClock,
) -> dg.MaterializeResult:
    """Choose the candidate by walk-forward RPS, fit it before the cutoff, register it as challenger and gate it against the champion."""
    import pandas as pd

    from fpl_platform.lib import gate, match_model, paths

    settings_ = gate_settings(config, "match")  # a bad override fails here, before minutes of fitting
    refit = refit_every(config)
    with warehouse.session():
        features = played_features(warehouse)
        spec, cutoff = resolve_cutoff(warehouse, features, config.as_of or clock.as_of)
    history = features[(features["kickoff"] < cutoff) & features["home_goals"].notna()]
    earlier = sorted(s for s in history["season"].unique() if s < spec.season)
    validation_seasons = config.validation_seasons or earlier[-config.validation_season_count :]
    fits = match_model.Fits(paths.fits_dir())
    selection = select_candidate_memo(context, history, validation_seasons, refit, fits, config.candidate)
    chosen, validation = selection["chosen"], selection["scores"]
    candidate = match_model.CANDIDATES[chosen]
    fit_challenger = fits.of(candidate)

    def compare(model, champion, settings_: dict):
        rounds = gate.window_rounds(history, settings_["match_gameweeks"])
        same_recipe = champion.candidate == candidate
        return gate.paired_losses(
            history,
            rounds,
            refit_every=settings_["refit_every_gameweeks"],
            fit_challenger=fit_challenger,
            fit_champion=None if same_recipe else fits.of(champion.candidate),
            champion_model=champion,
            champion_trained_until=pd.Timestamp(champion.trained_until),
            loss=gate.match_rps_loss,
            progress=context.log.info,
        )

    result = train_and_gate(
        context,
        warehouse,
        mlflow_tracking,
        notifier,
        Challenger(
            model_name=MATCH_OUTCOME.name,
            as_of=spec.label,
            cutoff=cutoff,
            history=history,
            fit=lambda: fit_challenger(history),
            candidate=chosen,
            params={
                "candidate": chosen,
                "features": ",".join(candidate.features),
                "dc_weight": candidate.dc_weight,
                "refit_every_gameweeks": refit,
                **{f"param_{k}": v for k, v in candidate.params.items()},
            },
            metrics={
                **{f"validation_rps_{name}": value for name, value in validation.items()},
                "validation_rps": validation[chosen],
            },
            validation_score=validation[chosen],
            validation_seasons=validation_seasons,
            metric="rps",
            compare=compare,
        ),
        settings_,
        clock.now(),
    )
    return dg.MaterializeResult(
        metadata={
            **gate_metadata(result, mlflow_tracking.uri),
            "candidate": chosen,
            "data_cutoff": str(cutoff),
            "training_rows": len(history),
            "validation_rps": float(validation[chosen]),
            "validation_rps_all": {k: round(v, 5) for k, v in validation.items()},
            "candidate_selection": dg.MetadataValue.json({k: selection[k] for k in ("key", "chosen", "scores")}),
            "candidate_selection_reused": selection["reused"],
        },
        check_results=[gate_check_result(result, settings_["match_margin"])],
    )


def player_fits(trees: int):
    """The player model's fit with `trees` trees, memoised on disk by the columns it reads: the backtest's
    folds and the training's validation and gate blocks fit each set of rows once."""
    import functools

    from fpl_platform.lib import gate, paths, player_model

    return gate.FitCache(
        functools.partial(player_model.fit, n_estimators=trees),
        recipe=f"n_estimators={trees}",
        directory=paths.fits_dir(),
        columns=player_model.FIT_COLUMNS,
    )


class PlayerBacktestConfig(dg.Config):
    """Seasons to backtest, how often to refit, how many earlier seasons each fit sees."""

    seasons: list[str] = ["2025-26"]
    refit_every_gameweeks: int | None = None  # unset: the settings' training.refit_every_gameweeks
    training_seasons: int = 3
    player_trees: int | None = None  # unset: the settings' training.player_trees


class PlayerModelConfig(GateConfig):
    """Validation gameweeks (the last N before the cutoff), training window, data cutoff, gate overrides."""

    validation_gameweeks: int = 8
    training_seasons: int = 3
    player_trees: int | None = None  # unset: the settings' training.player_trees
    as_of: str = ""


@dg.asset(key=["ml", "player_backtest"], deps=[["features", "player_features"]], **TRAINING)
def player_backtest(
    context: dg.AssetExecutionContext, config: PlayerBacktestConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Walk-forward predicted points for every player-fixture of the backtest seasons, with rolling-mean baselines."""
    from fpl_platform.lib import player_model
    from fpl_platform.lib.metrics import regression_scores

    features = player_features_frame(warehouse)
    features = features[features["points"].notna()]
    training = training_settings(config)  # read once: the settings file may change while the step runs
    fits = player_fits(training["player_trees"])
    predictions = player_model.walk_forward(
        features,
        config.seasons,
        refit_every=training["refit_every_gameweeks"],
        training_seasons=config.training_seasons,
        progress=context.log.info,
        fitter=fits,
    )
    targets = features[features["season"].isin(config.seasons)]
    frame = targets.join(player_model.baselines(targets)).merge(predictions, on=["player_id", "match_id"])
    frame = frame.rename(columns={"points": "actual_points"})
    warehouse.write(schemas.PLAYER_BACKTEST, frame, source="ml.player_backtest")
    ours = regression_scores(frame["predicted_points"], frame["actual_points"])
    last5 = regression_scores(frame["baseline_last_5"], frame["actual_points"])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "fits": fits.counts,  # all reused when the features are unchanged
            "rmse_ours": ours["rmse"],
            "mae_ours": ours["mae"],
            "rmse_last_5": last5["rmse"],
            "mae_last_5": last5["mae"],
        }
    )


@dg.asset(
    key=["ml", "player_points_model"],
    deps=[["features", "player_features"], ["features", "match_features"]],
    check_specs=[gate_check_spec(["ml", "player_points_model"])],
    **TRAINING,
)
def player_points_model(
    context: dg.AssetExecutionContext,
    config: PlayerModelConfig,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    notifier: Notifier,
    clock: RunClock,
) -> dg.MaterializeResult:
    """Fit the two-stage points model on player rows before the cutoff, register it as challenger and gate it against the champion."""
    import pandas as pd

    from fpl_platform.lib import gate, player_model
    from fpl_platform.lib.metrics import regression_scores

    settings_ = gate_settings(config, "player")  # a bad override fails here, before anything is fitted
    with warehouse.session():
        spec, cutoff = resolve_cutoff(warehouse, played_features(warehouse), config.as_of or clock.as_of)
        seasons = warehouse.read(
            "SELECT DISTINCT season FROM features.player_features WHERE kickoff < ? AND points IS NOT NULL ORDER BY season",
            [cutoff],
        )["season"].tolist()
        first_season = seasons[max(0, len(seasons) - 1 - config.training_seasons)]
        # what the fits, the validation and the gate read (names, teams and ids stay in DuckDB)
        features = player_features_frame(
            warehouse, since_season=first_season, columns=["season", "gameweek", "cutoff", *player_model.FIT_COLUMNS]
        )
    history = features[(features["kickoff"] < cutoff) & features["points"].notna()]
    # validation: the last N gameweeks, extended back to the start of the gate's fixed block holding the first
    # of them, so the validation fit is one of the gate's block fits (and last week's, until a block starts)
    last = gate.window_rounds(history, config.validation_gameweeks)
    validation_start = gate.block_starts(history, last, settings_["refit_every_gameweeks"]).min()
    fit_part, check_part = history[history["kickoff"] < validation_start], history[history["cutoff"] >= validation_start]
    trees = training_settings(config)["player_trees"]
    fit = player_fits(trees)
    context.log.info(f"validation fit on {len(fit_part):,} rows, scored on {len(check_part):,}")
    validation = regression_scores(fit(fit_part).predict(check_part), check_part["points"])

    def compare(model, champion, settings_: dict):
        return gate.paired_losses(
            history,
            gate.window_rounds(history, settings_["player_gameweeks"]),
            refit_every=settings_["refit_every_gameweeks"],
            fit_challenger=fit,
            fit_champion=None,  # one recipe; the champion differs by the data it was trained on
            champion_model=champion,
            champion_trained_until=pd.Timestamp(champion.trained_until),
            loss=gate.player_squared_error,
            progress=context.log.info,
        )

    result = train_and_gate(
        context,
        warehouse,
        mlflow_tracking,
        notifier,
        Challenger(
            model_name=PLAYER_POINTS.name,
            as_of=spec.label,
            cutoff=cutoff,
            history=history,
            fit=lambda: fit(history),
            candidate="xgboost_two_stage",
            params={
                "features": ",".join(player_model.FEATURES),
                "training_seasons": config.training_seasons,
                "trees": trees,
            },
            metrics={
                "validation_rmse": validation["rmse"],
                "validation_mae": validation["mae"],
                "validation_r2": validation["r2"],
            },
            validation_score=validation["rmse"],
            validation_seasons=[f"last {check_part[['season', 'gameweek']].drop_duplicates().shape[0]} gameweeks"],
            metric="rmse",
            compare=compare,
        ),
        settings_,
        clock.now(),
    )
    context.log.info(f"player model fits: {fit.misses} fitted, {fit.hits} reused from earlier trainings")
    return dg.MaterializeResult(
        metadata={
            **gate_metadata(result, mlflow_tracking.uri),
            "data_cutoff": str(cutoff),
            "training_rows": len(history),
            "validation_rmse": validation["rmse"],
            "validation_mae": validation["mae"],
        },
        check_results=[gate_check_result(result, settings_["player_margin"])],
    )
