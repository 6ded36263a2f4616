"""Training as champion/challenger: register a challenger, gate it against the champion, record the decision.

Used by ml/match_outcome_model and ml/player_points_model. The gate is blocking: only a challenger
that beats the champion on the same recent rows by the margin, with a paired test behind it, moves
the `champion` alias; otherwise the champion keeps serving and the rejection is recorded.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.lib.run_tags import EVIDENCE_TAG, TRIGGER_TAG
from fpl_platform.resources import MlflowTracking, Notifier, Warehouse

if TYPE_CHECKING:
    import pandas as pd

    from fpl_platform.lib.significance import Decision

# on each registered version: its training_key and the champion its gate faced ("" for none), so that an
# identical re-training is recognised
TRAINING_KEY_TAG, GATE_CHAMPION_TAG = "training_key", "gate_champion"
# tags set by the CLI and by `dagster asset materialize` map to a manual trigger
MANUAL_TRIGGERS = {"", "cli", "manual", "replay"}


class GateConfig(dg.Config):
    """Gate overrides for one run (unset: the `gate` section of the settings file, see docs/configuration.md)."""

    gate_margin: float | None = None
    gate_alpha: float | None = None
    gate_test: str | None = None
    gate_gameweeks: int | None = None


def trigger_of(context: dg.AssetExecutionContext) -> tuple[str, str]:
    """(trigger, evidence) from the run's tags; untagged runs are manual."""
    tags = context.run.tags
    trigger = tags.get(TRIGGER_TAG, "")
    trigger = "manual" if trigger in MANUAL_TRIGGERS else trigger
    evidence = tags.get(EVIDENCE_TAG) or (f"run {context.run_id}" if trigger == "manual" else "")
    return trigger, evidence


@dataclass
class Challenger:
    """What the training asset hands to the gate."""

    model_name: str
    as_of: str
    cutoff: object
    history: "pd.DataFrame"
    fit: Callable[[], object]
    candidate: str
    params: dict
    metrics: dict
    validation_score: float
    validation_seasons: list[str]
    metric: str  # "rps" or "rmse"
    # (challenger model, champion model) → paired losses frame from lib.gate.paired_losses
    compare: Callable[[object, object, dict], "pd.DataFrame"]


def train_and_gate(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    notifier: Notifier,
    challenger: Challenger,
    gate_settings: dict,
    now: "pd.Timestamp",
) -> dict:
    """One MLflow run: fit and register the challenger, decide the gate, then move aliases and record everything.

    The decision is tagged on the registered version before an alias moves (at `now`, the run's clock), and every
    training starts by reconciling what a killed run left half done (`promotion.reconcile`), so the aliases, the
    trainings table and monitoring.retraining_events always end up agreeing. The run's blocking data-quality
    checks ran before this step (the retrain jobs select them): a failed one stops the run before it.
    """
    import mlflow

    from fpl_platform.lib import promotion

    trigger, evidence = trigger_of(context)
    name = challenger.model_name
    # before anything reads the registry: the gate must face the champion that really serves, and an earlier
    # run killed part-way must not leave its decision unrecorded or its MLflow run RUNNING
    with warehouse.session():
        state = promotion.reconcile(warehouse, mlflow_tracking, name, is_alive=live_runs(context.instance, context.run_id))
    for repair in state.repairs:
        context.log.warning(f"{name}: {repair}")
    champion_before = state.aliases.get("champion")
    key = training_key(challenger, gate_settings)
    latest = state.latest
    # the same rows and settings give the same model; it faced this champion already, or is the champion itself
    # (a version whose gate never decided, or whose promotion was interrupted, is trained again)
    if (
        latest is not None
        and latest[1].get(promotion.DECISION_TAG) in ("promoted", "rejected")
        and latest[1].get(TRAINING_KEY_TAG) == key
        and (champion_before or "") in (latest[0], latest[1].get(GATE_CHAMPION_TAG))
    ):
        return unchanged(context, warehouse, challenger, latest, champion_before, trigger, evidence, now)
    tags = {"dagster_run_id": context.run_id, "dagster_asset": context.asset_key.to_user_string()}
    with mlflow_tracking.training_run(
        name, f"{challenger.candidate} as of {challenger.as_of}", {**tags, "as_of": challenger.as_of, "trigger": trigger}
    ) as run_id:
        model, version = fit_and_register(context, mlflow_tracking, challenger, run_id, key, champion_before)
        decision, reason = decide(context, mlflow_tracking, challenger, model, version, champion_before, gate_settings)
        intent = decision_intent(challenger, decision, reason, trigger, evidence, champion_before, context.run_id, run_id)
        mlflow.set_tags({"gate_decision": intent["decision"], "gate_reason": reason})
        # last in the run: a FINISHED run has its decision on its version
        intent = promotion.record_intent(mlflow_tracking, name, version, intent, now=now)
    event = record_outcome(warehouse, mlflow_tracking, notifier, challenger, version, intent, decision, gate_settings, now)
    context.log.info(f"{name} version {version}: {event['decision']}")
    return {
        "mlflow_run_url": run_url(run_id),
        "version": version,
        "mlflow_run_id": run_id,
        "decision": event["decision"],
        "reason": reason,
        "trigger": trigger,
        "champion_before": champion_before or "(none)",
        "champion_after": version if intent["decision"] == "promoted" else champion_before,
        "gate": decision,
    }


def fit_and_register(
    context: dg.AssetExecutionContext,
    mlflow_tracking: MlflowTracking,
    challenger: Challenger,
    run_id: str,
    key: str,
    champion_before: str | None,
) -> tuple[object, str]:
    """Fit the challenger in the open MLflow run, log what it was fitted on, register it as `challenger`."""
    import mlflow

    name = challenger.model_name
    context.log.info(f"{name}: fitting the challenger on {len(challenger.history):,} rows")
    model = challenger.fit()
    mlflow.log_params(
        {
            **challenger.params,
            "data_cutoff": str(challenger.cutoff),
            "first_kickoff": str(challenger.history["kickoff"].min()),
            "training_rows": len(challenger.history),
            "validation_seasons": ",".join(challenger.validation_seasons),
        }
    )
    mlflow.log_metrics(challenger.metrics)
    version = mlflow_tracking.register(model, name, run_id)
    mlflow_tracking.tag_version(name, version, TRAINING_KEY_TAG, key)
    mlflow_tracking.tag_version(name, version, GATE_CHAMPION_TAG, champion_before or "")
    mlflow_tracking.set_alias(name, "challenger", version)
    return model, version


def decide(
    context: dg.AssetExecutionContext,
    mlflow_tracking: MlflowTracking,
    challenger: Challenger,
    model: object,
    version: str,
    champion_before: str | None,
    gate_settings: dict,
) -> tuple["Decision | None", str]:
    """The gate: the challenger against the champion on the same recent rows (None when there is no champion)."""
    import mlflow

    from fpl_platform.lib.significance import promotion_decision

    if champion_before is None:
        return None, "no champion yet: the first version becomes champion without a gate"
    name = challenger.model_name
    champion_model, _ = mlflow_tracking.load(name, version=champion_before)
    context.log.info(f"{name}: gating version {version} against champion {champion_before}")
    losses = challenger.compare(model, champion_model, gate_settings)
    decision = promotion_decision(
        losses["challenger_loss"],
        losses["champion_loss"],
        margin=gate_margin(challenger, gate_settings),
        alpha=gate_settings["alpha"],
        test=gate_settings["test"],
        aggregate="mean" if challenger.metric == "rps" else "rmse",
    )
    gameweeks = losses[["season", "gameweek"]].drop_duplicates().shape[0]
    mlflow.log_metrics(
        {
            f"gate_{challenger.metric}_challenger": decision.score_challenger,
            f"gate_{challenger.metric}_champion": decision.score_champion,
            "gate_improvement": decision.improvement,
            "gate_p_value": decision.p_value if decision.p_value == decision.p_value else 1.0,
            "gate_rows": decision.n,
        }
    )
    return decision, decision.reason + f" (on {decision.n} rows of the last {gameweeks} gameweeks)"


def gate_margin(challenger: Challenger, gate_settings: dict) -> float:
    return gate_settings["match_margin" if challenger.metric == "rps" else "player_margin"]


def decision_intent(
    challenger: Challenger,
    decision: "Decision | None",
    reason: str,
    trigger: str,
    evidence: str,
    champion_before: str | None,
    dagster_run_id: str,
    mlflow_run_id: str,
) -> dict:
    """What `promotion.record_intent` writes on the version: the decision and everything its records need."""
    scores = ("score_challenger", "score_champion", "improvement", "p_value", "test", "n")
    names = ("challenger_score", "champion_score", "improvement", "p_value", "test", "n_compared")
    return {
        "decision": "promoted" if decision is None or decision.promote else "rejected",
        "reason": reason,
        "trigger": trigger,
        "evidence": evidence,
        "champion_before": champion_before,
        "dagster_run_id": dagster_run_id,
        "mlflow_run_id": mlflow_run_id,
        "metric": challenger.metric,
        **{column: None if decision is None else getattr(decision, field) for field, column in zip(scores, names, strict=True)},
        "candidate": challenger.candidate,
        "data_cutoff": challenger.cutoff,
        "training_rows": len(challenger.history),
        "validation_score": challenger.validation_score,
        "validation_seasons": ",".join(challenger.validation_seasons),
    }


def record_outcome(
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    notifier: Notifier,
    challenger: Challenger,
    version: str,
    intent: dict,
    decision: "Decision | None",
    gate_settings: dict,
    now: "pd.Timestamp",
) -> dict:
    """Move the aliases the decision calls for, record the trainings row and the event, alert on a gated retrain."""
    from fpl_platform.lib import promotion
    from fpl_platform.lib.notify import Alert

    name, champion_before = challenger.model_name, intent["champion_before"]
    promoted = intent["decision"] == "promoted"
    with warehouse.session():  # the records below, in one open of the warehouse
        if promoted:
            promotion.promote(mlflow_tracking, name, version)
        event = promotion.record_decision(warehouse, mlflow_tracking, name, version, intent)
        if champion_before is not None:
            notifier.notify(
                Alert(
                    key=f"retrain:{name}:{event['decision']}",
                    title=f"Retrain of {name} {event['decision']}: version {version}"
                    + (f" replaces {champion_before}" if promoted else f"; {champion_before} keeps serving"),
                    severity="MEDIUM" if promoted else "LOW",
                    message=f"trigger {intent['trigger']} ({intent['evidence']}); {intent['reason']}",
                    metric=f"gate_{challenger.metric}_improvement",
                    value=decision.improvement,
                    threshold=gate_margin(challenger, gate_settings),
                    details={"challenger": version, "champion_before": champion_before, "mlflow_run_id": intent["mlflow_run_id"]},
                ),
                warehouse,
                now,
            )
    return event


def live_runs(instance: dg.DagsterInstance, current_run_id: str | None = None) -> Callable[[str], bool]:
    """`is_alive` for `promotion.reconcile`: whether a Dagster run may still be working. The current run is; a
    finished run or one this instance does not know is not; an unfinished one is while its process exists."""
    from fpl_platform import recovery

    def is_alive(run_id: str) -> bool:
        if run_id == current_run_id:
            return True
        record = instance.get_run_record_by_id(run_id)
        if record is None or record.dagster_run.is_finished:
            return False
        return recovery.run_is_alive(instance, record)

    return is_alive


def run_url(run_id: str) -> str:
    """The MLflow UI page of a run (FPL_PLATFORM_MLFLOW_UI, default the `fpl-platform ui` one)."""
    import mlflow

    from fpl_platform.lib import tracking

    return tracking.ui_url(mlflow.get_run(run_id).info.experiment_id, run_id)


def training_key(challenger: Challenger, gate_settings: dict) -> str:
    """A digest of everything a training's model and gate depend on but the champion: the rows, the recipe and
    its validation, the cutoff, the gate's settings. The fits are deterministic: an equal key means the same
    model again."""
    import hashlib
    import json

    from fpl_platform.lib.features import frame_digests

    parts = [
        challenger.model_name,
        challenger.candidate,
        challenger.as_of,
        str(challenger.cutoff),
        frame_digests(challenger.history),
        {k: str(v) for k, v in challenger.params.items()},
        {k: repr(float(v)) for k, v in challenger.metrics.items()},
        challenger.validation_seasons,
        {k: str(v) for k, v in gate_settings.items()},
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def unchanged(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    challenger: Challenger,
    latest: tuple[str, dict, str],
    champion_before: str | None,
    trigger: str,
    evidence: str,
    now: "pd.Timestamp",
) -> dict:
    """The newest version was trained on exactly these inputs against this champion: nothing to train or record
    (a re-run leaves the registry and every table as they are). An automated trigger's skip is recorded."""
    from fpl_platform.lib import promotion

    version, _, run_id = latest
    reason = f"version {version} was trained on the same rows and settings and gated against this champion"
    if trigger != "manual":
        promotion.record_event(
            warehouse,
            model_name=challenger.model_name,
            trigger=trigger,
            decision="skipped",
            reason=reason,
            evidence=evidence,
            champion_before=champion_before,
            champion_after=champion_before,
            challenger_version=version,
            dagster_run_id=context.run_id,
            mlflow_run_id=run_id,
            created_at=now,
        )
    context.log.info(f"{challenger.model_name}: unchanged since version {version}, nothing retrained")
    return {
        "mlflow_run_url": run_url(run_id),
        "version": version,
        "mlflow_run_id": run_id,
        "decision": "unchanged",
        "reason": reason,
        "trigger": trigger,
        "champion_before": champion_before or "(none)",
        "champion_after": champion_before or "(none)",
        "gate": None,
    }


GATE_CHECK = "challenger_beats_champion"


def gate_check_spec(model_key: list[str]) -> dg.AssetCheckSpec:
    """The gate as the model asset's check: on the Checks tab with its verdict, margin, p-value and rows compared."""
    return dg.AssetCheckSpec(
        GATE_CHECK,
        asset=model_key,
        blocking=True,
        description="The challenger trained by this run beats the serving champion by the margin, with a one-sided "
        "paired test behind it (or is the first version). A rejection is a warning: the champion keeps serving, and "
        "nothing serves an unpromoted version.",
    )


def gate_check_result(result: dict, margin: float) -> dg.AssetCheckResult:
    """The gate's decision (from train_and_gate) as the result of the model asset's `challenger_beats_champion`."""
    decision = result["gate"]
    # an unchanged re-run reports the standing verdict: passed while its version is the champion
    promoted = result["decision"] == "promoted" or (
        result["decision"] == "unchanged" and str(result["version"]) == str(result["champion_after"])
    )
    metadata = {
        "verdict": result["decision"],
        "reason": result["reason"],
        "challenger": str(result["version"]),
        "champion_before": str(result["champion_before"]),
        "champion_after": str(result["champion_after"]),
        "margin": float(margin),
    }
    if decision is not None:
        metadata.update(
            {
                "improvement": float(decision.improvement),
                "p_value": float(decision.p_value),
                "test": decision.test,
                "rows_compared": int(decision.n),
            }
        )
    return dg.AssetCheckResult(
        check_name=GATE_CHECK,
        passed=promoted,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=result["reason"],
    )


def gate_metadata(result: dict, mlflow_uri: str) -> dict:
    """Asset metadata describing the gate's verdict."""
    decision = result["gate"]
    metadata = {
        "version": result["version"],
        "mlflow_run_id": result["mlflow_run_id"],
        "mlflow_tracking_uri": mlflow_uri,
        "mlflow_run": dg.MetadataValue.url(result["mlflow_run_url"]),
        "gate_decision": result["decision"],
        "gate_reason": result["reason"],
        "trigger": result["trigger"],
        "champion_before": result["champion_before"],
        "champion_after": result["champion_after"],
    }
    if decision is not None:
        metadata.update(
            {
                "gate_challenger_score": decision.score_challenger,
                "gate_champion_score": decision.score_champion,
                "gate_p_value": decision.p_value,
                "gate_rows": decision.n,
            }
        )
    return metadata
