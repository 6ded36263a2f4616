"""The ticks of a cron schedule between two instants, as Dagster's daemon would fire them (the season replay
fires the schedules it finds in the code location this way; Dagster has no public tick iterator).

Standard five fields (minute hour day-of-month month day-of-week) with `*`, lists, ranges and steps; day of week
0-7 (0 and 7 are Sunday). As in cron, when both day fields are restricted a day matching either one fires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


def _values(text: str, name: str, low: int, high: int) -> set[int]:
    values = set()
    for part in text.split(","):
        body, _, step = part.partition("/")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            first, last = (int(v) for v in body.split("-", 1))
        else:
            first = last = int(body)
            if step:  # "5/15": from 5 to the end, every 15
                last = high
        if not low <= first <= last <= high or (step and int(step) < 1):
            raise ValueError(f"cron {name} field {text!r}: expected values from {low} to {high}")
        values.update(range(first, last + 1, int(step) if step else 1))
    return values


def ticks(cron: str, timezone: str, start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """Every instant strictly between `start` and `end` at which `cron` fires in `timezone` (tz-aware, in it)."""
    import pandas as pd

    parts = cron.split()
    if len(parts) != len(FIELDS):
        raise ValueError(f"cron schedule {cron!r}: expected five fields (minute hour day-of-month month day-of-week)")
    minutes, hours, days, months, weekdays = (_values(p, *field) for p, field in zip(parts, FIELDS, strict=True))
    weekdays = {day % 7 for day in weekdays}  # cron's Sunday is 0 or 7; pandas' is 6
    any_day, any_weekday = parts[2] == "*", parts[4] == "*"
    out = []
    first, last = (moment.tz_convert(timezone).tz_localize(None).normalize() for moment in (start, end))
    for day in pd.date_range(first, last, freq="D"):  # local dates: a tick's wall-clock time holds across DST
        by_date, by_weekday = day.day in days, (day.dayofweek + 1) % 7 in weekdays
        fires = (by_date and by_weekday) if any_day or any_weekday else (by_date or by_weekday)
        if day.month not in months or not fires:
            continue
        for hour in sorted(hours):
            for minute in sorted(minutes):
                local = day + pd.Timedelta(hours=hour, minutes=minute)
                tick = local.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
                if start < tick < end:
                    out.append(tick)
    return out
