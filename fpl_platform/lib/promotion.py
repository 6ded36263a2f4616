"""Registry moves and their record: promotion, rollback, and monitoring.retraining_events.

MLflow aliases are the source of truth for what serves: `champion` serves, `previous` is what a
rollback restores, `challenger` marks the latest gated version, `rolled_back` the version a rollback
removed. The trainings tables (ml.match_outcome_model, ml.player_points_model) mirror the aliases for
analysts. `tracking` is anything with set_alias/delete_alias/aliases/tag_version (the MlflowTracking
resource; `reconcile` also needs versions/unfinished_runs/end_run_failed); `warehouse` anything with
read/write/append/exists (the Warehouse resource).

Moving an alias and recording it are writes to two stores, so a process killed between them used to leave
MLflow serving a champion that no table knew of. Every decision is therefore written on the registered
version (its intent) before an alias moves, and `reconcile` finishes or records whatever a killed process
left half done: it runs before every training and in `fpl-platform status`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from fpl_platform.lib import models, schemas

TRIGGERS = ("scheduled", "drift", "performance", "emergency", "manual", "new_data", "rollback")
DECISIONS = ("promoted", "rejected", "failed", "skipped", "rolled_back")

# on a gated version, before any alias moves: the gate's decision and everything its two records need (JSON)
INTENT_TAG = "fpl_platform/decision"
# on the champion a rollback removes, before the aliases move: from, to, earlier, evidence, run (JSON)
ROLLBACK_TAG = "fpl_platform/rollback"
# the version's outcome: promoted, rejected, failed (its promotion was interrupted and the champion has moved
# on since) or abandoned (registered by a run that died before the gate decided)
DECISION_TAG = "gate_decision"
ABANDONED = "abandoned"
RECONCILED = "recorded by reconciliation after an interrupted run"
GATED = ("promoted", "rejected", "failed")


class RollbackError(RuntimeError):
    """There is nothing to roll back to."""


def record_event(warehouse, *, model_name: str, trigger: str, decision: str, reason: str, created_at, **fields) -> dict:
    """Append one row to monitoring.retraining_events, made at `created_at` (the run's clock); returns it."""
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger {trigger!r} is not one of {TRIGGERS}")
    if decision not in DECISIONS:
        raise ValueError(f"decision {decision!r} is not one of {DECISIONS}")
    row = {column: None for column in schemas.RETRAINING_EVENTS.column_names}
    row.update(fields)
    row.update(
        event_id=uuid.uuid4().hex,
        created_at=pd.Timestamp(created_at),
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


def sync_trainings(
    warehouse, tracking, model_name: str, *, new_rows: pd.DataFrame | None = None, aliases: dict | None = None
) -> None:
    """Mirror the MLflow aliases (champion, previous; `aliases` when the caller has just read them) into the model's
    trainings table, appending `new_rows`, in one write."""
    table = models.get(model_name).trainings
    parts = [warehouse.read(f"SELECT * FROM {table.name}")] if warehouse.exists(table.name) else []
    if new_rows is not None:
        parts.append(new_rows)
    if not parts:
        return
    frame = pd.concat(parts, ignore_index=True)
    aliases = tracking.aliases(model_name) if aliases is None else aliases
    by_version = {version: alias for alias, version in aliases.items() if alias in ("champion", "previous")}
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


def rollback(
    warehouse, tracking, model_name: str, *, evidence: str, now: pd.Timestamp, run_id: str | None = None
) -> tuple[str, str]:
    """Restore the `previous` champion; the removed one is tagged `rolled_back`. Returns (from, to).

    The intent (from, to, the earlier champion that becomes `previous`, evidence, run) is tagged on the removed
    version before any alias moves, so that `reconcile` can finish a rollback whose process was killed."""
    current = tracking.aliases(model_name)
    champion, previous = current.get("champion"), current.get("previous")
    if champion is None:
        raise RollbackError(f"{model_name} has no champion: nothing to roll back")
    if previous is None:
        raise RollbackError(f"{model_name} champion version {champion} has no previous champion to restore")
    earlier = previous_of(warehouse, model_name, previous)
    intent = {
        "from": champion,
        "to": previous,
        "earlier": earlier if earlier != champion else None,
        "evidence": evidence,
        "dagster_run_id": run_id,
        "decided_at": _stamp(now),
    }
    tracking.tag_version(model_name, champion, ROLLBACK_TAG, _dumps(intent))
    _move_rollback_aliases(tracking, model_name, intent, current)
    _record_rollback(warehouse, model_name, intent)
    sync_trainings(warehouse, tracking, model_name, aliases=current)
    return champion, previous


def _stamp(now: pd.Timestamp) -> str:
    # microseconds, as DuckDB stores them: an event dated by an intent compares equal to it
    return pd.Timestamp(now).floor("us").isoformat()


def _jsonable(value):
    if hasattr(value, "isoformat"):  # timestamps
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _dumps(intent: dict) -> str:
    return json.dumps(intent, default=_jsonable, sort_keys=True)


def _loads(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _move_rollback_aliases(tracking, model_name: str, intent: dict, aliases: dict) -> None:
    """Move the aliases as the rollback `intent` says, skipping those already there; `aliases` is updated."""
    wanted = {"champion": intent["to"], "rolled_back": intent["from"], "previous": intent.get("earlier")}
    for alias, version in wanted.items():
        if version is None and alias in aliases:
            tracking.delete_alias(model_name, alias)
            del aliases[alias]
        elif version is not None and aliases.get(alias) != version:
            tracking.set_alias(model_name, alias, version)
            aliases[alias] = version


def _record_rollback(warehouse, model_name: str, intent: dict, *, reconciled: bool = False) -> dict:
    removed, restored, earlier = intent["from"], intent["to"], intent.get("earlier")
    reason = f"champion {removed} rolled back to {restored}" + (
        f"; {earlier} is now previous" if earlier else "; no earlier champion remains"
    )
    return record_event(
        warehouse,
        model_name=model_name,
        trigger="rollback",
        decision="rolled_back",
        reason=reason + (f" ({RECONCILED})" if reconciled else ""),
        evidence=intent.get("evidence"),
        champion_before=removed,
        champion_after=restored,
        dagster_run_id=intent.get("dagster_run_id"),
        created_at=intent["decided_at"],
    )


def record_intent(tracking, model_name: str, version: str, intent: dict, *, now: pd.Timestamp) -> dict:
    """Write the gate's decision on the registered version, before any alias moves; returns it as written
    (stamped with `decided_at`), for `record_decision`.

    `intent` holds everything the decision's two records need: decision (promoted or rejected), reason, trigger,
    evidence, champion_before, dagster_run_id, mlflow_run_id, the gate's metric, challenger_score,
    champion_score, improvement, p_value, test and n_compared, and the trainings row's candidate, data_cutoff,
    training_rows, validation_score and validation_seasons."""
    written = _dumps({"decided_at": _stamp(now), **intent})
    tracking.tag_version(model_name, version, INTENT_TAG, written)
    tracking.tag_version(model_name, version, DECISION_TAG, intent["decision"])
    # the normal path records from what a reconciliation would read back, so both write the same rows
    return json.loads(written)


def trainings_row(model_name: str, version: str, intent: dict, gate_decision: str) -> pd.DataFrame:
    """The version's row of its trainings table, from its intent (`alias` is filled by `sync_trainings`)."""
    return pd.DataFrame(
        [
            {
                "trained_at": pd.Timestamp(intent["decided_at"]),
                "model_name": model_name,
                "version": version,
                "mlflow_run_id": intent["mlflow_run_id"],
                "dagster_run_id": intent["dagster_run_id"],
                "candidate": intent["candidate"],
                "data_cutoff": pd.Timestamp(intent["data_cutoff"]),
                "training_rows": int(intent["training_rows"]),
                "validation_score": float(intent["validation_score"]),
                "validation_seasons": intent["validation_seasons"],
                "alias": None,
                "gate_decision": gate_decision,
            }
        ]
    )


def decision_event(warehouse, model_name: str, version: str, intent: dict, *, decision: str, reason: str, champion_after) -> dict:
    """The gate decision's row of monitoring.retraining_events, from its intent (dated when it was decided)."""
    return record_event(
        warehouse,
        model_name=model_name,
        trigger=intent["trigger"],
        decision=decision,
        reason=reason,
        created_at=intent["decided_at"],
        evidence=intent.get("evidence"),
        champion_before=intent.get("champion_before"),
        champion_after=champion_after,
        challenger_version=version,
        **{
            key: intent.get(key)
            for key in ("metric", "challenger_score", "champion_score", "improvement", "p_value", "test", "n_compared")
        },
        dagster_run_id=intent.get("dagster_run_id"),
        mlflow_run_id=intent.get("mlflow_run_id"),
    )


def record_decision(warehouse, tracking, model_name: str, version: str, intent: dict) -> dict:
    """Record a gate decision whose aliases have moved: the trainings row (aliases re-synced), then the event."""
    decision = intent["decision"]
    sync_trainings(warehouse, tracking, model_name, new_rows=trainings_row(model_name, version, intent, decision))
    champion_after = version if decision == "promoted" else intent.get("champion_before")
    return decision_event(
        warehouse, model_name, version, intent, decision=decision, reason=intent["reason"], champion_after=champion_after
    )


@dataclass
class Reconciled:
    """What `reconcile` leaves: the model's aliases, every version with its tags, one line per repair made."""

    aliases: dict[str, str]
    versions: list = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    @property
    def latest(self):
        """The newest registered version as (version, tags, MLflow run id), or None."""
        return self.versions[-1] if self.versions else None


def _read(warehouse, table: str, sql: str, params=None) -> pd.DataFrame | None:
    return warehouse.read(sql, params) if warehouse.exists(table) else None


def reconcile(warehouse, tracking, model_name: str, *, is_alive: Callable[[str], bool]) -> Reconciled:
    """Make MLflow's aliases, the model's trainings table and monitoring.retraining_events agree again after a
    process was killed part-way through training, promotion or rollback.

    - an MLflow run of the model's experiment still RUNNING whose Dagster run is not alive is ended FAILED;
    - a registered version with no decision (its run died between register and intent) is tagged
      `gate_decision=abandoned` and loses the `challenger` alias;
    - a decision without its trainings row or event gets them, the event saying it was recorded by
      reconciliation; a promotion whose aliases never moved is completed if the champion is still the one its
      gate faced, else recorded as failed;
    - a rollback intent without its event is completed (if the champion is still the removed or the restored
      version) and recorded;
    - the trainings table's alias column is re-synced.

    `is_alive(dagster_run_id)` says whether that Dagster run may still be working (the caller's own run
    included): whatever such a run is doing is left to it. Writes only what disagrees, so a second call changes
    nothing. MLflow calls: one search of the RUNNING runs, one of the versions, the aliases, then only repairs.
    """
    repairs: list[str] = []
    seen: dict[str, bool] = {}

    def alive(run_id) -> bool:
        if not run_id:
            return False
        if run_id not in seen:
            seen[run_id] = bool(is_alive(run_id))
        return seen[run_id]

    working = set()
    for run_id, tags in tracking.unfinished_runs(model_name):
        owner = tags.get("dagster_run_id", "")
        if alive(owner):
            working.add(run_id)
            continue
        tracking.end_run_failed(
            run_id, f"ended FAILED by reconciliation: its process died (Dagster run {owner or 'unknown'} is finished or gone)"
        )
        repairs.append(f"MLflow run {run_id} was left RUNNING by a dead process (Dagster run {owner or 'unknown'}): ended FAILED")

    versions = list(tracking.versions(model_name))
    aliases = dict(tracking.aliases(model_name)) if versions else {}
    table = models.get(model_name).trainings
    trained = _read(warehouse, table.name, f"SELECT version, alias FROM {table.name}")
    events = _read(
        warehouse,
        schemas.RETRAINING_EVENTS.name,
        "SELECT challenger_version, decision, trigger, champion_before, dagster_run_id, created_at "
        "FROM monitoring.retraining_events WHERE model_name = ? ORDER BY created_at",
        [model_name],
    )
    rows = set() if trained is None else set(trained["version"].astype(str))
    gated = {}  # version → the decision its latest event records
    if events is not None:
        for event in events[events["decision"].isin(GATED) & events["challenger_version"].notna()].itertuples():
            gated[str(event.challenger_version)] = event.decision

    def add_row(version: str, intent: dict, decision: str) -> None:
        sync_trainings(
            warehouse, tracking, model_name, new_rows=trainings_row(model_name, version, intent, decision), aliases=aliases
        )
        rows.add(version)

    for version, tags, run_id in versions:
        intent = _loads(tags.get(INTENT_TAG))
        if intent is None:
            if tags.get(DECISION_TAG) or run_id in working or version in (aliases.get("champion"), aliases.get("previous")):
                continue  # decided before intents were recorded, still training, or serving
            tracking.tag_version(model_name, version, DECISION_TAG, ABANDONED)
            tags[DECISION_TAG] = ABANDONED
            repairs.append(f"version {version} was registered by a run that died before its gate decided: tagged {ABANDONED}")
            continue
        if (version not in gated or version not in rows) and alive(intent.get("dagster_run_id")):
            continue  # its own run is still recording it
        if version not in gated:
            decision, champion_after, reason = _settle(tracking, model_name, version, tags, intent, aliases, version in rows)
            if version not in rows:
                add_row(version, intent, decision)
            decision_event(
                warehouse, model_name, version, intent, decision=decision, reason=f"{reason} ({RECONCILED})",
                champion_after=champion_after,
            )  # fmt: skip
            gated[version] = decision
            repairs.append(f"version {version}: {decision} ({reason}); its trainings row and event recorded")
        elif version not in rows:
            add_row(version, intent, gated[version])
            repairs.append(f"version {version}: its trainings row recorded")
        if tags.get(DECISION_TAG) != gated[version]:
            tracking.tag_version(model_name, version, DECISION_TAG, gated[version])
            tags[DECISION_TAG] = gated[version]

    for _, tags, _ in versions:
        intent = _loads(tags.get(ROLLBACK_TAG))
        if intent is None or _rollback_recorded(events, intent) or alive(intent.get("dagster_run_id")):
            continue
        removed, restored, champion = intent["from"], intent["to"], aliases.get("champion")
        if champion == restored or (champion == removed and aliases.get("previous") == restored):
            _move_rollback_aliases(tracking, model_name, intent, aliases)
            _record_rollback(warehouse, model_name, intent, reconciled=True)
            repairs.append(f"the rollback of champion {removed} to {restored} was completed and recorded")
        else:
            record_event(
                warehouse, model_name=model_name, trigger="rollback", decision="failed",
                reason=f"the rollback of champion {removed} to {restored} was interrupted and the champion is now "
                f"{champion or 'none'}: not completed ({RECONCILED})",
                evidence=intent.get("evidence"), champion_before=removed, champion_after=champion,
                dagster_run_id=intent.get("dagster_run_id"), created_at=intent["decided_at"],
            )  # fmt: skip
            repairs.append(
                f"the rollback of champion {removed} to {restored} was interrupted too late to complete: recorded as failed"
            )

    challenger = aliases.get("challenger")
    if challenger is not None and any(v == challenger and t.get(DECISION_TAG) == ABANDONED for v, t, _ in versions):
        tracking.delete_alias(model_name, "challenger")
        del aliases["challenger"]
        repairs.append(f"the challenger alias left on abandoned version {challenger} was removed")

    if repairs and warehouse.exists(table.name):
        trained = warehouse.read(f"SELECT version, alias FROM {table.name}")
    if trained is not None:
        wanted = {version: alias for alias, version in aliases.items() if alias in ("champion", "previous")}
        stale = sorted(
            {
                str(v)
                for v, a in zip(trained["version"], trained["alias"], strict=True)
                if wanted.get(str(v)) != (None if pd.isna(a) else a)
            }
        )
        if stale:
            sync_trainings(warehouse, tracking, model_name, aliases=aliases)
            repairs.append(f"{table.name}: the alias column re-synced with MLflow for versions {', '.join(stale)}")
    return Reconciled(aliases=aliases, versions=versions, repairs=repairs)


def _settle(tracking, model_name: str, version: str, tags: dict, intent: dict, aliases: dict, has_row: bool):
    """(decision, champion after, reason) of a gated version whose event is missing; completes an interrupted
    promotion when the champion is still the one its gate faced (`aliases` is updated)."""
    before = intent.get("champion_before") or None
    if intent["decision"] != "promoted":
        return intent["decision"], before, intent["reason"]
    # the trainings row is written after the aliases move, and only a former champion can be previous or rolled back
    served = has_row or ROLLBACK_TAG in tags or version in (aliases.get(a) for a in ("champion", "previous", "rolled_back"))
    if served:
        return "promoted", version, intent["reason"]
    champion = aliases.get("champion")
    if champion == before:
        promote(tracking, model_name, version)
        if before is not None:
            aliases["previous"] = before
        aliases["champion"] = version
        return "promoted", version, intent["reason"] + "; the aliases were moved by reconciliation"
    reason = (
        f"the gate promoted version {version} over {before or 'no champion'}, but its run was killed before the "
        f"aliases moved and the champion is now {champion or 'none'}: {version} does not serve"
    )
    return "failed", champion, reason


def _rollback_recorded(events: pd.DataFrame | None, intent: dict) -> bool:
    """Whether the rollback `intent` has its event (rolled back, or failed when reconciliation could not finish it)."""
    if events is None or events.empty:
        return False
    mine = events[
        (events["trigger"] == "rollback")
        & events["decision"].isin(["rolled_back", "failed"])
        & (events["champion_before"] == intent["from"])
    ]
    if intent.get("dagster_run_id"):
        return bool((mine["dagster_run_id"] == intent["dagster_run_id"]).any())
    return bool((mine["created_at"] >= pd.Timestamp(intent["decided_at"])).any())
