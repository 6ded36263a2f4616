"""Retraining and rollback jobs, and what the automation needs to know about past retrains."""

from datetime import datetime

import dagster as dg

from fpl_platform.lib.models import MODELS
from fpl_platform.lib.run_tags import RETRAIN_MODEL_TAG, SIMULATED_AT_TAG
from fpl_platform.resources import MlflowTracking, Notifier, RunClock, Warehouse


def _with_feature_checks(keys) -> dg.AssetSelection:
    """The assets, and the checks of the feature tables they read: Dagster's blocking stops the run before training
    when one of those fails on the data as it stands."""
    assets = dg.AssetSelection.assets(*keys)
    features = assets.upstream() & dg.AssetSelection.key_prefixes("features")
    return assets | (features - features.without_checks())


def _retrain_job(model: str):
    return dg.define_asset_job(
        f"retrain_{model}_job",
        selection=_with_feature_checks(MODELS[model].assets),
        description=f"Retrain {model} (challenger + blocking gate) and refresh its predictions from the champion.",
        tags={RETRAIN_MODEL_TAG: model},
    )


retrain_match_outcome_job = _retrain_job("match_outcome")
retrain_player_points_job = _retrain_job("player_points")
RETRAIN_JOBS = {"match_outcome": retrain_match_outcome_job, "player_points": retrain_player_points_job}

weekly_retrain_job = dg.define_asset_job(
    "weekly_retrain_job",
    selection=_with_feature_checks([key for model in MODELS.values() for key in model.assets]),
    description="Retrain both models through their gates and refresh both predictions.",
    tags={RETRAIN_MODEL_TAG: "all"},
)

refresh_predictions_job = dg.define_asset_job(
    "refresh_predictions_job",
    selection=dg.AssetSelection.assets(*(model.predictions_asset for model in MODELS.values())),
    description="Re-predict the next gameweek from the current champions (after a rollback).",
)


class RollbackConfig(dg.Config):
    """Which registered model to roll back."""

    model_name: str


@dg.op(pool="duckdb")
def rollback_champion(
    context: dg.OpExecutionContext,
    config: RollbackConfig,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    notifier: Notifier,
    clock: RunClock,
) -> None:
    """Move `champion` back to the `previous` version, record it, alert."""
    from fpl_platform.lib import promotion
    from fpl_platform.lib.notify import Alert

    if config.model_name not in MODELS:
        raise dg.Failure(f"unknown model {config.model_name!r}; expected one of {sorted(MODELS)}")
    from fpl_platform.defs.training.gating import live_runs

    # a promotion or rollback killed part-way is settled first: `previous` must be what really served before
    with warehouse.session():
        state = promotion.reconcile(
            warehouse, mlflow_tracking, config.model_name, is_alive=live_runs(context.instance, context.run_id)
        )
    for repair in state.repairs:
        context.log.warning(f"{config.model_name}: {repair}")
    try:
        removed, restored = promotion.rollback(
            warehouse,
            mlflow_tracking,
            config.model_name,
            evidence=context.run.tags.get("fpl_platform/evidence") or f"rollback run {context.run_id}",
            now=clock.now(),
            run_id=context.run_id,
        )
    except promotion.RollbackError as error:
        raise dg.Failure(str(error)) from error
    notifier.notify(
        Alert(
            key=f"rollback:{config.model_name}",
            title=f"{config.model_name} rolled back: version {restored} serves again (was {removed})",
            severity="HIGH",
            message=f"champion {removed} was rolled back to {restored} by Dagster run {context.run_id}",
            details={"removed": removed, "restored": restored},
        ),
        warehouse,
        clock.now(),
    )
    context.log.info(f"{config.model_name}: champion {removed} → {restored}")


@dg.job(tags={"fpl_platform/kind": "rollback"})
def rollback_job():
    """Restore the previous champion of one model (predictions are refreshed by refresh_predictions_after_rollback)."""
    rollback_champion()


def last_retrain_time(instance: dg.DagsterInstance, model: str) -> datetime | None:
    """When the most recent retrain run covering `model` (its own job or the weekly one) was created.

    A replay's runs carry their simulated creation time in a tag; that is the time the cooldown compares.
    """
    latest = None
    for tag in (model, "all"):
        runs = instance.get_runs(filters=dg.RunsFilter(tags={RETRAIN_MODEL_TAG: tag}), limit=1)
        for run in runs:
            if SIMULATED_AT_TAG in run.tags:
                created = datetime.fromisoformat(run.tags[SIMULATED_AT_TAG])
            else:
                record = instance.get_run_record_by_id(run.run_id)
                created = record.create_timestamp if record else None
            if created is not None and (latest is None or created > latest):
                latest = created
    return latest
