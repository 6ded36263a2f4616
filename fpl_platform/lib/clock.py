"""What a run knows of time: "now", the data cutoff, and how much of a replayed season its source reveals.

A run's tags carry these (`fpl_platform/simulated_at`, `fpl_platform/as_of`, `fpl_platform/reveal`), so a
replay of 2025-26 stamps every row and applies every time rule (retrain and alert cooldowns, stale data) as
it would have then, and two replays write the same tables. A run without them lives in real UTC time at the
deployment's cutoff. The `clock` resource (resources.RunClock) builds a `Clock` from the run's tags; sensors
get one from the same resource, or the replay's own when it ticks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fpl_platform.lib.run_tags import AS_OF_TAG, REVEAL_TAG, SIMULATED_AT_TAG

if TYPE_CHECKING:  # pandas loads when a clock is read, not when the code location imports the resource
    import pandas as pd


def instant(text: str) -> pd.Timestamp:
    """An ISO 8601 instant as a UTC timestamp (naive means UTC)."""
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except ValueError as error:
        raise ValueError(f"{SIMULATED_AT_TAG} is {text!r}; expected an ISO 8601 instant such as 2025-09-01T12:00:00Z") from error
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class Clock:
    """`simulated_at`: the frozen "now" (None: real time); `as_of`: '<season>:<gameweek>' or '' (the default
    cutoff, lib.asof.resolve); `reveal`: '<season>:<gameweek>' up to which a replay's source shows results."""

    simulated_at: pd.Timestamp | None = None
    as_of: str = ""
    reveal: str = ""

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], *, as_of: str = "") -> Clock:
        """The clock a run's tags describe; `as_of` is the deployment's cutoff when the tags name none."""
        at = tags.get(SIMULATED_AT_TAG)
        return cls(instant(at) if at else None, tags.get(AS_OF_TAG) or as_of, tags.get(REVEAL_TAG, ""))

    def now(self) -> pd.Timestamp:
        import pandas as pd

        return self.simulated_at if self.simulated_at is not None else pd.Timestamp.now(tz="UTC")

    def at(self, simulated_at: pd.Timestamp) -> Clock:
        """The same run state at another simulated instant (a schedule tick between two gameweeks)."""
        return Clock(simulated_at, self.as_of, self.reveal)

    def tags(self) -> dict[str, str]:
        """The run tags that carry this clock into a run."""
        out = {SIMULATED_AT_TAG: self.simulated_at.isoformat()} if self.simulated_at is not None else {}
        return out | ({AS_OF_TAG: self.as_of} if self.as_of else {}) | ({REVEAL_TAG: self.reveal} if self.reveal else {})


REAL_TIME = Clock()
