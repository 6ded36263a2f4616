"""Retrain-storm protection for the sensors: a cooldown between retrains and a cap on attempts per trigger.

A sensor keeps, in its JSON cursor, how many retrains each persisting trigger (e.g. "drift:match_outcome")
has already requested. The state resets when the trigger's condition clears. Emergencies skip the
cooldown but not the cap: a model that keeps failing after N retrains needs a person, not a loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Verdict:
    """Whether to request a retrain now, why, and the trigger's attempt count afterwards."""

    request: bool
    reason: str
    attempts: int
    cap_reached_now: bool = False


def decide_retrain(
    *,
    attempts: int,
    last_retrain: datetime | None,
    now: datetime,
    cooldown: timedelta,
    max_attempts: int,
    emergency: bool = False,
) -> Verdict:
    """Request a retrain unless the trigger is capped or (non-emergency) a retrain ran within the cooldown."""
    if attempts >= max_attempts:
        return Verdict(
            False, f"{attempts} retrains already requested for this trigger (cap {max_attempts}): needs a person", attempts
        )
    if not emergency and last_retrain is not None and now - last_retrain < cooldown:
        wait = cooldown - (now - last_retrain)
        return Verdict(
            False,
            f"last retrain at {last_retrain:%Y-%m-%d %H:%M} UTC is within the {cooldown.total_seconds() / 3600:g} h cooldown "
            f"({wait.total_seconds() / 3600:.1f} h left)",
            attempts,
        )
    reason = "emergency: cooldown skipped" if emergency else "no retrain within the cooldown"
    return Verdict(True, f"{reason}; attempt {attempts + 1} of {max_attempts}", attempts + 1, attempts + 1 == max_attempts)


def load_cursor(text: str | None, default: dict) -> dict:
    """A JSON cursor, or `default` when there is none (a malformed cursor is an error, not a silent reset)."""
    if not text:
        return json.loads(json.dumps(default))
    state = json.loads(text)
    if not isinstance(state, dict):
        raise ValueError(f"sensor cursor must be a JSON object, got {text[:80]!r}")
    return {**json.loads(json.dumps(default)), **state}


def dump_cursor(state: dict) -> str:
    return json.dumps(state, sort_keys=True, default=str)
