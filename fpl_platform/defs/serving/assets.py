"""Predictions for the next gameweek after the data cutoff, from the MLflow `champion` versions."""

from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.defs.serving.ab import serve_with_ab_test
from fpl_platform.defs.tables import played_features, player_features_frame, resolve_cutoff
from fpl_platform.lib import schemas
from fpl_platform.lib.models import MATCH_OUTCOME, PLAYER_POINTS
from fpl_platform.resources import MlflowTracking, RunClock, Warehouse, warehouse_step

if TYPE_CHECKING:
    import pandas as pd

SERVING = {"group_name": "serving", "kinds": {"duckdb", "mlflow"}, "pool": "duckdb"}


class PredictionConfig(dg.Config):
    """The data cutoff '<season>:<gameweek>' (empty: the run's clock, i.e. its tag or FPL_PLATFORM_AS_OF, else the default)."""

    as_of: str = ""


def champion_trained_before(mlflow_tracking: MlflowTracking, name: str, first_kickoff, spec):
    """The champion model and its version, refused if it was trained on anything from the predicted gameweek on."""
    import pandas as pd

    model, version = mlflow_tracking.load(name, "champion")
    trained_until = pd.Timestamp(model.trained_until)
    if trained_until >= first_kickoff:
        raise dg.Failure(
            f"{name} champion version {version} was trained on data up to {trained_until}, not before gameweek "
            f"{spec.next_gameweek}'s first kickoff {first_kickoff}: retrain it for as-of {spec.label}"
        )
    return model, version


def _match_arm(model, targets: "pd.DataFrame") -> "pd.DataFrame":
    import pandas as pd

    return pd.DataFrame(model.predict_proba(targets), columns=["p_home", "p_draw", "p_away"])


def _player_arm(model, targets: "pd.DataFrame") -> "pd.DataFrame":
    import pandas as pd

    p_play, points_if_played = model.predict_parts(targets)
    return pd.DataFrame({"predicted_points": p_play * points_if_played, "p_play": p_play})


@dg.asset(
    key=["predictions", "match_outcomes"],
    deps=[["ml", "match_outcome_model"], ["features", "match_features"], ["monitoring", "ab_results"]],
    **SERVING,
)
@warehouse_step
def match_outcome_predictions(
    context: dg.AssetExecutionContext,
    config: PredictionConfig,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    clock: RunClock,
) -> dg.MaterializeResult:
    """Home/draw/away probabilities for every match of the next gameweek, with the champion's version on each row."""
    import pandas as pd

    features = played_features(warehouse)
    cutoff, first_kickoff = resolve_cutoff(warehouse, features, config.as_of or clock.as_of)
    targets = features[(features["season"] == cutoff.season) & (features["gameweek"] == cutoff.next_gameweek)]
    model, version = champion_trained_before(mlflow_tracking, MATCH_OUTCOME.name, first_kickoff, cutoff)
    probabilities = model.predict_proba(targets)
    frame = pd.DataFrame(
        {
            "season": targets["season"].to_numpy(),
            "gameweek": targets["gameweek"].to_numpy(),
            "match_id": targets["match_id"].to_numpy(),
            "kickoff": targets["kickoff"].to_numpy(),
            "home_team": targets["home_team"].to_numpy(),
            "away_team": targets["away_team"].to_numpy(),
            "p_home": probabilities[:, 0],
            "p_draw": probabilities[:, 1],
            "p_away": probabilities[:, 2],
            "dc_p_home": targets["dc_p_home"].to_numpy(),
            "model_name": MATCH_OUTCOME.name,
            "model_version": version,
            "as_of": cutoff.label,
            "predicted_at": clock.now(),
        }
    )
    frame = serve_with_ab_test(context, warehouse, mlflow_tracking, MATCH_OUTCOME.name, targets, frame, _match_arm, first_kickoff)
    warehouse.write(
        schemas.MATCH_PREDICTIONS,
        frame,
        partitions=[cutoff.label],
        source="predictions.match_outcomes",
        unless_same_except=["predicted_at"],
    )
    preview = frame[["home_team", "away_team", "p_home", "p_draw", "p_away"]].round(3)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "as_of": cutoff.label,
            "predicted_gameweek": f"{cutoff.season} gameweek {cutoff.next_gameweek}",
            "model_version": version,
            "predictions": dg.MetadataValue.md(preview.to_markdown(index=False)),
        }
    )


@dg.asset(
    key=["predictions", "player_points"],
    deps=[["ml", "player_points_model"], ["features", "player_features"], ["monitoring", "ab_results"], ["raw", "squad"]],
    **SERVING,
)
@warehouse_step
def player_points_predictions(
    context: dg.AssetExecutionContext,
    config: PredictionConfig,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    clock: RunClock,
) -> dg.MaterializeResult:
    """Predicted FPL points for every player-fixture of the next gameweek, with the champion's version on each row;
    FPL's availability flags (raw.squad, live mode) applied on top of the model's prediction."""
    from fpl_platform.lib.player_model import apply_availability

    spec, cutoff = resolve_cutoff(warehouse, played_features(warehouse), config.as_of or clock.as_of)
    targets = player_features_frame(warehouse, since_season=spec.season, gameweek=spec.next_gameweek)
    if targets.empty:
        raise dg.Failure(
            f"no player rows for gameweek {spec.next_gameweek} of {spec.season}: the squad list for it is not in raw.player_gameweeks"
        )
    model, version = champion_trained_before(mlflow_tracking, PLAYER_POINTS.name, cutoff, spec)
    p_play, points_if_played = model.predict_parts(targets)
    frame = targets[
        ["season", "gameweek", "match_id", "player_id", "player_name", "position", "team", "opponent", "kickoff"]
    ].assign(
        predicted_points=p_play * points_if_played,
        p_play=p_play,
        model_name=PLAYER_POINTS.name,
        model_version=version,
        as_of=spec.label,
        predicted_at=clock.now(),
    )
    frame = serve_with_ab_test(context, warehouse, mlflow_tracking, PLAYER_POINTS.name, targets, frame, _player_arm, cutoff)
    # the flags of the predicted gameweek only: a squad list of another gameweek says nothing about this one
    warehouse.ensure(schemas.SQUAD)  # a warehouse whose raw/squad never ran has no flags, not an error
    flags = warehouse.read(
        "SELECT player_id, match_id, status, chance_of_playing FROM raw.squad WHERE season = ? AND gameweek = ?",
        [spec.season, spec.next_gameweek],
    )
    frame = apply_availability(frame, flags)
    warehouse.write(
        schemas.PLAYER_PREDICTIONS,
        frame,
        partitions=[spec.label],
        source="predictions.player_points",
        unless_same_except=["predicted_at"],
    )
    top = frame.sort_values("predicted_points", ascending=False).head(10)[
        ["player_name", "team", "opponent", "predicted_points", "p_play"]
    ]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "as_of": spec.label,
            "model_version": version,
            "availability_adjusted": int(frame["availability_adjusted"].sum()),
            "availability_flagged": int(frame["availability_flag"].notna().sum()),
            "top_10": dg.MetadataValue.md(top.round(2).to_markdown(index=False)),
        }
    )
