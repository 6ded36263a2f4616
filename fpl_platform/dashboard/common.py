"""What every page shares: the analyst copy, the metric cards, empty states and charts' common parts.

The dashboard reads only the analyst copy, read-only, through lib.analyst's AnalystCopy: one connection per
published file, reopened on the first read after a publish, so a pipeline run neither waits for the dashboard
nor breaks it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import streamlit as st

from fpl_platform.lib import analyst, board, paths
from fpl_platform.lib.models import MODELS

LABEL = {"match_outcome": "Match outcome", "player_points": "Player points"}
SHORT = {"match_outcome": "Match", "player_points": "Player"}


@st.cache_resource
def _copy(path: str) -> analyst.AnalystCopy:
    return analyst.AnalystCopy(Path(path))


def read(function, *args, **kwargs):
    """`function(cursor, ...)` on the newest published copy. Without a copy the page says what to run and stops;
    a copy that cannot answer (an older release's) says so instead of a traceback."""
    copy = _copy(str(paths.analytics_path()))
    try:
        with copy.cursor() as (cursor, _):
            return function(cursor, *args, **kwargs)
    except FileNotFoundError:
        st.info(f"No analyst copy yet at `{copy.path}`: run `make demo` (or `fpl-platform publish` after a run).")
        st.stop()
    except duckdb.Error as error:
        st.warning(f"The analyst copy cannot answer this page: {str(error).splitlines()[0]}. Re-run `make demo` to rebuild it.")
        st.stop()


def published_at() -> dt.datetime | None:
    try:
        return _copy(str(paths.analytics_path())).published_at()
    except FileNotFoundError:
        return None


def when(value) -> str:
    """A timestamp as a person reads it: UTC, to the minute."""
    if value is None:
        return "never"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(value, now: dt.datetime) -> str:
    seconds = (now - value).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"


def metric_cards() -> None:
    """The cards across the top of every page: freshness, the champions, the last retrain and the alerts, then
    each model's latest monitored gameweek against its control limits."""
    now = dt.datetime.now(dt.UTC)
    cards = read(board.cards, now)
    published = published_at()
    newest = cards["newest_result"]
    first = st.columns(3 + len(MODELS))
    first[0].metric(
        "Data freshness",
        newest.astimezone(dt.UTC).strftime("%d %b %Y") if newest is not None else "no results",
        help=f"Newest result in raw.matches. The copy was published {when(published)}.",
    )
    first[0].caption(f"copy published {ago(published, now)}")
    for column, name in zip(first[1:], MODELS, strict=False):
        champion = cards["champions"][name]
        column.metric(
            f"{SHORT[name]} champion",
            f"v{champion['version']}" if champion else "none yet",
            help=f"Trained {when(champion['trained_at'])}." if champion else "No version has passed the gate yet.",
        )
        column.caption(f"trained {champion['age_days']} days ago" if champion else "run `make demo`")
    retrain = cards["last_retrain"]
    first[-2].metric(
        "Last retrain",
        retrain["created_at"].astimezone(dt.UTC).strftime("%d %b %Y") if retrain else "none yet",
        help="The latest retraining decision in monitoring.retraining_events (skipped ones aside: nothing had changed).",
    )
    if retrain:
        first[-2].caption(f"{SHORT[retrain['model_name']]}: {retrain['trigger']} → {retrain['decision']}")
    first[-1].metric(
        "Open alerts",
        len(cards["open"]),
        help="Conditions past a limit now (an alert is open while its condition holds): "
        + ("; ".join(cards["open"]) if cards["open"] else "none")
        + ". Model health lists them and the alerts sent.",
    )
    first[-1].caption(f"{cards['alerts_7_days']} sent in 7 days, {cards['serious_alerts_7_days']} high or critical")
    second = st.columns(len(MODELS) + 2)
    for column, name in zip(second, MODELS, strict=False):
        latest = cards["latest"][name]
        if latest is None:
            column.metric(f"{SHORT[name]} {board.METRIC[name].upper()}", "not monitored yet")
            continue
        column.metric(
            f"{SHORT[name]} {latest['metric'].upper()}, {latest['season']} gw {latest['gameweek']}",
            f"{latest['value']:.4f}",
            delta=f"{latest['value'] - latest['centre']:+.4f} vs centre",
            delta_color="inverse",
            help=f"The gameweek's {latest['metric']} ({latest['source']} rows); lower is better. The limits apply to "
            f"the rolling value, {latest['rolling']:.4f}: centre {latest['centre']:.4f}, warning {latest['warning']:.4f}, "
            f"critical {latest['critical']:.4f}, emergency {latest['emergency']:.4f}.",
        )
        column.caption(f"rolling {latest['rolling']:.4f}: **{latest['status']}** (warning at {latest['warning']:.4f})")


def model_choice(key: str) -> str:
    return st.segmented_control("Model", list(MODELS), default=next(iter(MODELS)), format_func=LABEL.get, key=key) or next(
        iter(MODELS)
    )
