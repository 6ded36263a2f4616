"""Training: walk-forward backtests, backtest metrics with paired bootstrap comparisons, the match outcome model."""

from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.lib import schemas
from fpl_platform.resources import MlflowTracking, Warehouse

if TYPE_CHECKING:
    import pandas as pd

TRAINING = {"group_name": "training", "kinds": {"duckdb", "python"}, "pool": "duckdb"}
MATCH_MODEL_NAME = "match_outcome"


class MatchBacktestConfig(dg.Config):
    """Which seasons to backtest, which earlier seasons choose the model, how often to refit."""

    seasons: list[str] = ["2021-22", "2022-23", "2023-24", "2024-25", "2025-26"]
    validation_seasons: list[str] = ["2018-19", "2019-20", "2020-21"]
    refit_every_gameweeks: int = 4


class MatchModelConfig(dg.Config):
    """Seasons used to choose the candidate, and the data cutoff (empty: FPL_PLATFORM_AS_OF or the default)."""

    validation_seasons: list[str] = ["2023-24", "2024-25"]
    refit_every_gameweeks: int = 4
    as_of: str = ""


def played_features(warehouse: Warehouse) -> "pd.DataFrame":
    frame = warehouse.read("SELECT * FROM features.match_features ORDER BY kickoff")
    for column in ("home_goals", "away_goals"):
        frame[column] = frame[column].astype("Float64").astype(float)
    return frame


@dg.asset(key=["ml", "match_backtest"], deps=[["features", "match_features"]], **TRAINING)
def match_backtest(context: dg.AssetExecutionContext, config: MatchBacktestConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Walk-forward probabilities for every backtest match from our model, Dixon-Coles, climatology and the market."""
    import pandas as pd

    from fpl_platform.lib import match_model
    from fpl_platform.lib.metrics import match_scores, outcome_index

    features = played_features(warehouse)
    features = features[features["home_goals"].notna()]
    chosen, validation = match_model.select_candidate(
        features, config.validation_seasons, refit_every=config.refit_every_gameweeks
    )
    context.log.info(f"validation RPS per candidate on {config.validation_seasons}: {validation}; selected {chosen}")
    ours = match_model.walk_forward(
        features, match_model.CANDIDATES[chosen], config.seasons, refit_every=config.refit_every_gameweeks
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
            deps=[["ml", "match_backtest"]],
            description="Backtest scores per model, season and pooled.",
            group_name="training",
            kinds={"duckdb", "python"},
        ),
        dg.AssetSpec(
            ["ml", "backtest_comparisons"],
            deps=[["ml", "match_backtest"]],
            description="Paired loss differences against the baselines with bootstrap CIs by gameweek.",
            group_name="training",
            kinds={"duckdb", "python"},
        ),
    ],
    pool="duckdb",
)
def backtest_metrics(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Per-season and pooled scores of every backtested model, and paired comparisons with Dixon-Coles."""
    from fpl_platform.lib.evaluation import match_comparisons, match_metrics

    backtest = warehouse.read("SELECT * FROM ml.match_backtest")
    metrics = match_metrics(backtest)
    comparisons = match_comparisons(backtest, baseline="dixon_coles")
    warehouse.write(schemas.BACKTEST_METRICS, metrics, source="ml.backtest_metrics")
    warehouse.write(schemas.BACKTEST_COMPARISONS, comparisons, source="ml.backtest_comparisons")
    pooled = metrics[metrics["season"] == "pooled"].set_index("model")
    yield dg.MaterializeResult(
        asset_key=["ml", "backtest_metrics"],
        metadata={
            "dagster/row_count": len(metrics),
            "pooled": dg.MetadataValue.md(pooled[["n", "rps", "brier", "log_loss", "accuracy"]].round(4).to_markdown()),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["ml", "backtest_comparisons"],
        metadata={
            "dagster/row_count": len(comparisons),
            "comparisons": dg.MetadataValue.md(comparisons.round(5).to_markdown(index=False)),
        },
    )


@dg.asset(key=["ml", "match_outcome_model"], deps=[["features", "match_features"]], **TRAINING)
def match_outcome_model(
    context: dg.AssetExecutionContext, config: MatchModelConfig, warehouse: Warehouse, mlflow_tracking: MlflowTracking
) -> dg.MaterializeResult:
    """Choose the candidate by walk-forward RPS, fit it on all matches before the cutoff, register it in MLflow as champion."""
    import pandas as pd

    from fpl_platform.lib import asof, match_model

    features = played_features(warehouse)
    fixtures = warehouse.read("SELECT season, gameweek, finished FROM raw.fixtures") if warehouse.exists("raw.fixtures") else None
    cutoff_spec = asof.resolve(features[features["home_goals"].notna()], fixtures, config.as_of or None)
    predicted = features[(features["season"] == cutoff_spec.season) & (features["gameweek"] == cutoff_spec.next_gameweek)]
    if predicted.empty:
        raise dg.Failure(
            f"no matches in gameweek {cutoff_spec.next_gameweek} of {cutoff_spec.season} (as-of {cutoff_spec.label})"
        )
    cutoff = predicted["cutoff"].min()
    history = features[(features["kickoff"] < cutoff) & features["home_goals"].notna()]
    chosen, validation = match_model.select_candidate(
        history, config.validation_seasons, refit_every=config.refit_every_gameweeks
    )
    candidate = match_model.CANDIDATES[chosen]
    tags = {"dagster_run_id": context.run_id, "dagster_asset": "ml/match_outcome_model", "as_of": cutoff_spec.label}
    with mlflow_tracking.training_run(MATCH_MODEL_NAME, f"{chosen} as of {cutoff_spec.label}", tags) as run_id:
        import mlflow

        model = match_model.fit(candidate, history)
        mlflow.log_params(
            {
                "candidate": chosen,
                "features": ",".join(candidate.features),
                "dc_weight": candidate.dc_weight,
                "data_cutoff": str(cutoff),
                "training_rows": len(history),
                "first_kickoff": str(history["kickoff"].min()),
                "validation_seasons": ",".join(config.validation_seasons),
                "refit_every_gameweeks": config.refit_every_gameweeks,
                **{f"param_{k}": v for k, v in candidate.params.items()},
            }
        )
        mlflow.log_metrics({f"validation_rps_{name}": value for name, value in validation.items()})
        mlflow.log_metric("validation_rps", validation[chosen])
        version = mlflow_tracking.register(model, MATCH_MODEL_NAME, run_id)
    mlflow_tracking.set_alias(MATCH_MODEL_NAME, "champion", version)
    row = pd.DataFrame(
        [
            {
                "trained_at": pd.Timestamp.now(tz="UTC"),
                "model_name": MATCH_MODEL_NAME,
                "version": version,
                "mlflow_run_id": run_id,
                "dagster_run_id": context.run_id,
                "candidate": chosen,
                "data_cutoff": cutoff,
                "training_rows": len(history),
                "validation_rps": validation[chosen],
                "validation_seasons": ",".join(config.validation_seasons),
                "alias": "champion",
            }
        ]
    )
    previous = (
        warehouse.read(f"SELECT * FROM {schemas.MODEL_TRAININGS.name}")
        if warehouse.exists(schemas.MODEL_TRAININGS.name)
        else None
    )
    if previous is not None and len(previous):
        previous["alias"] = None
        row = pd.concat([previous, row], ignore_index=True)
    warehouse.write(schemas.MODEL_TRAININGS, row, source=schemas.MODEL_TRAININGS.name)
    return dg.MaterializeResult(
        metadata={
            "candidate": chosen,
            "version": version,
            "mlflow_run_id": run_id,
            "mlflow_tracking_uri": mlflow_tracking.uri,
            "data_cutoff": str(cutoff),
            "training_rows": len(history),
            "validation_rps": float(validation[chosen]),
            "validation_rps_all": {k: round(v, 5) for k, v in validation.items()},
        }
    )
