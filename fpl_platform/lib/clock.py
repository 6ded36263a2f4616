"""The platform's clock: real UTC time, or the simulated instant a season replay sets.

`FPL_PLATFORM_NOW` (ISO 8601) freezes "now" for every timestamp the platform writes and every time
rule it applies (retrain cooldowns, alert cooldowns, stale data), so a replay of 2025-26 behaves as it
would have then, and two replays write the same tables.
"""

from __future__ import annotations

import os

import pandas as pd

SIMULATED_AT_TAG = "fpl_platform/simulated_at"


def now() -> pd.Timestamp:
    """FPL_PLATFORM_NOW if set, else the current UTC time."""
    text = os.environ.get("FPL_PLATFORM_NOW")
    if not text:
        return pd.Timestamp.now(tz="UTC")
    try:
        stamp = pd.Timestamp(text)
    except ValueError as error:
        raise ValueError(f"FPL_PLATFORM_NOW is {text!r}; expected an ISO 8601 instant such as 2025-09-01T12:00:00Z") from error
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def is_simulated() -> bool:
    return bool(os.environ.get("FPL_PLATFORM_NOW"))
