"""Registry moves and their record: promotion, rollback, and monitoring.retraining_events.

MLflow aliases are the source of truth for what serves: `champion` serves, `previous` is what a
rollback restores, `challenger` marks the latest gated version, `rolled_back` the version a rollback
removed. The trainings tables (ml.match_outcome_model, ml.player_points_model) mirror the aliases for
analysts. `tracking` is anything with set_alias/delete_alias/aliases (the MlflowTracking resource);
`warehouse` anything with read/write/append/exists (the Warehouse resource).
"""

from __future__ import annotations

import uuid

import pandas as pd

from fpl_platform.lib import clock, schemas

TRIGGERS = ("scheduled", "drift", "performance", "emergency", "manual", "new_data", "rollback")
DECISIONS = ("promoted", "rejected", "failed", "skipped", "rolled_back")
TRAININGS = {"match_outcome": schemas.MODEL_TRAININGS, "player_points": schemas.PLAYER_TRAININGS}


class RollbackError(RuntimeError):
    """There is nothing to roll back to."""


def record_event(warehouse, *, model_name: str, trigger: str, decision: str, reason: str, **fields) -> dict:
    """Append one row to monitoring.retraining_events; returns it."""
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger {trigger!r} is not one of {TRIGGERS}")
    if decision not in DECISIONS:
        raise ValueError(f"decision {decision!r} is not one of {DECISIONS}")
    row = {column: None for column in schemas.RETRAINING_EVENTS.column_names}
    row.update(fields)
    row.update(
        event_id=uuid.uuid4().hex,
        created_at=clock.now(),
        model_name=model_name,
        trigger=trigger,
        decision=decision,
        reason=reason,
    )
    frame = pd.DataFrame([row])
    for column in ("challenger_score", "champion_score", "improvement", "p_value"):
        frame[column] = frame[column].astype(float)
    frame["n_compared"] = frame["n_compared"].astype("Int64")
    warehouse.append((schemas.RETRAINING_EVENTS, frame), source=schemas.RETRAINING_EVENTS.name)
    return row


def sync_trainings(warehouse, tracking, model_name: str, *, new_rows: pd.DataFrame | None = None) -> None:
    """Mirror the MLflow aliases (champion, previous) into the model's trainings table, appending `new_rows`, in one write."""
    table = TRAININGS[model_name]
    parts = [warehouse.read(f"SELECT * FROM {table.name}")] if warehouse.exists(table.name) else []
    if new_rows is not None:
        parts.append(new_rows)
    if not parts:
        return
    frame = pd.concat(parts, ignore_index=True)
    by_version = {version: alias for alias, version in tracking.aliases(model_name).items() if alias in ("champion", "previous")}
    frame["alias"] = frame["version"].map(by_version).astype(object).where(frame["version"].isin(by_version.keys()), None)
    warehouse.write(table, frame, source=table.name)


def promote(tracking, model_name: str, version: str) -> str | None:
    """Make `version` the champion; the champion it replaces becomes `previous`. Returns that one."""
    before = tracking.aliases(model_name).get("champion")
    if before is not None and before != version:
        tracking.set_alias(model_name, "previous", before)
    tracking.set_alias(model_name, "champion", version)
    return before


def previous_of(warehouse, model_name: str, version: str) -> str | None:
    """The champion that `version` replaced when it was last promoted (None if it was the first)."""
    if not warehouse.exists(schemas.RETRAINING_EVENTS.name):
        return None
    found = warehouse.read(
        "SELECT champion_before FROM monitoring.retraining_events WHERE model_name = ? AND decision = 'promoted' "
        "AND champion_after = ? ORDER BY created_at DESC LIMIT 1",
        [model_name, version],
    )
    return None if found.empty or pd.isna(found["champion_before"].iat[0]) else str(found["champion_before"].iat[0])


def rollback(warehouse, tracking, model_name: str, *, evidence: str, run_id: str | None = None) -> tuple[str, str]:
    """Restore the `previous` champion; the removed one is tagged `rolled_back`. Returns (from, to)."""
    current = tracking.aliases(model_name)
    champion, previous = current.get("champion"), current.get("previous")
    if champion is None:
        raise RollbackError(f"{model_name} has no champion: nothing to roll back")
    if previous is None:
        raise RollbackError(f"{model_name} champion version {champion} has no previous champion to restore")
    tracking.set_alias(model_name, "champion", previous)
    tracking.set_alias(model_name, "rolled_back", champion)
    earlier = previous_of(warehouse, model_name, previous)
    if earlier is not None and earlier != champion:
        tracking.set_alias(model_name, "previous", earlier)
    else:
        tracking.delete_alias(model_name, "previous")
    record_event(
        warehouse,
        model_name=model_name,
        trigger="rollback",
        decision="rolled_back",
        reason=f"champion {champion} rolled back to {previous}"
        + (f"; {earlier} is now previous" if earlier and earlier != champion else "; no earlier champion remains"),
        evidence=evidence,
        champion_before=champion,
        champion_after=previous,
        dagster_run_id=run_id,
    )
    sync_trainings(warehouse, tracking, model_name)
    return champion, previous
