"""Serving under an A/B test: each item gets its arm's prediction, and both arms' predictions are recorded."""

from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.lib import schemas
from fpl_platform.lib.models import MODELS
from fpl_platform.resources import MlflowTracking, Warehouse

if TYPE_CHECKING:
    import pandas as pd

# per model: the prediction columns an arm replaces, and how the assignments table names them per arm


def running_test(warehouse: Warehouse, model_name: str):
    """The running A/B test of this model (a row of monitoring.ab_tests), or None."""
    if not warehouse.exists(schemas.AB_TESTS.name):
        return None
    tests = warehouse.read(
        "SELECT * FROM monitoring.ab_tests WHERE model_name = ? AND status = 'running' ORDER BY created_at", [model_name]
    )
    return None if tests.empty else tests.iloc[0]


def serve_with_ab_test(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    model_name: str,
    targets: "pd.DataFrame",
    frame: "pd.DataFrame",
    predict,
    first_kickoff,
) -> "pd.DataFrame":
    """The served frame (treatment items replaced by the treatment's predictions); the assignments, with both
    arms' predictions, are recorded in monitoring.ab_assignments (upserted: a re-run replaces the same items' rows).

    `frame` holds the champion's predictions for `targets` (same row order); `predict(model, targets)` gives
    a frame with the model's `arm_columns` (lib/models.py). Without a running test, `frame` is served unchanged.
    """
    import pandas as pd

    from fpl_platform.lib import ab

    test = running_test(warehouse, model_name)
    if test is None or frame.empty:
        return frame
    treatment, version = mlflow_tracking.load(model_name, version=str(test["treatment_version"]))
    if pd.Timestamp(treatment.trained_until) >= first_kickoff:
        raise dg.Failure(
            f"A/B test {test['test_name']}: treatment {model_name} version {version} was trained on data up to "
            f"{treatment.trained_until}, not before the predicted gameweek's first kickoff {first_kickoff}"
        )
    keys = ab.item_keys(frame).to_numpy()
    buckets, arms = ab.assign(str(test["test_name"]), keys, float(test["traffic_split"]))
    treated = predict(treatment, targets).reset_index(drop=True)
    served = frame.reset_index(drop=True).copy()
    control = served.copy()
    is_treatment = arms == "treatment"
    for column in MODELS[model_name].arm_columns:
        served.loc[is_treatment, column] = treated.loc[is_treatment, column].to_numpy()
    served.loc[is_treatment, "model_version"] = str(version)
    if "p_play" in treated.columns:
        served.loc[is_treatment, "p_play"] = treated.loc[is_treatment, "p_play"].to_numpy()
    assignments = pd.DataFrame(
        {
            "test_name": str(test["test_name"]),
            "item_key": keys,
            "model_name": model_name,
            "season": served["season"].to_numpy(),
            "gameweek": served["gameweek"].to_numpy(),
            "match_id": served["match_id"].to_numpy(),
            "player_id": served["player_id"].to_numpy() if "player_id" in served.columns else None,
            "bucket": buckets,
            "traffic_split": float(test["traffic_split"]),
            "arm": arms,
            "control_version": control["model_version"].astype(str).to_numpy(),
            "treatment_version": str(version),
            "as_of": served["as_of"].to_numpy(),
            "assigned_at": served["predicted_at"].to_numpy(),
        }
    )
    for arm_columns in (model.arm_columns for model in MODELS.values()):
        for column, stored in arm_columns.items():
            own = column in MODELS[model_name].arm_columns
            assignments[f"control_{stored}"] = control[column].to_numpy(dtype=float) if own else float("nan")
            assignments[f"treatment_{stored}"] = treated[column].to_numpy(dtype=float) if own else float("nan")
    context.log.info(
        f"A/B test {test['test_name']}: {int(is_treatment.sum())} of {len(served)} items served by treatment version "
        f"{version} (split {float(test['traffic_split']):.2f}), the rest by champion version {control['model_version'].iat[0]}"
    )
    warehouse.upsert((schemas.AB_ASSIGNMENTS, assignments), source="monitoring.ab_assignments")
    return served
