"""Model health: per-gameweek metrics against the control limits, CUSUM, the champion's history, the retraining
decisions and the alerts."""

import altair as alt
import pandas as pd
import streamlit as st

from fpl_platform.dashboard import common
from fpl_platform.lib import board

st.header("Model health")
model = common.model_choice("health_model")
metric = board.METRIC[model]
performance = common.read(board.performance, model)

st.subheader(f"{common.LABEL[model]}: gameweek {metric.upper()} against the control limits")
if performance.empty:
    st.info("Not monitored yet: run `make demo` (or materialise `monitoring/performance` in the Dagster UI).")
else:
    order = list(dict.fromkeys(performance["round"]))
    x = alt.X("round:N", sort=order, title=None, axis=alt.Axis(labelAngle=-60, labelOverlap=True))
    points = performance[["round", "source", metric, f"rolling_{metric}", "status", "n", "model_version"]].rename(
        columns={metric: "gameweek", f"rolling_{metric}": "rolling"}
    )
    series = points.melt(
        id_vars=["round", "source", "status", "n", "model_version"], value_vars=["gameweek", "rolling"], var_name="series"
    )
    limits = (
        performance.groupby("round", sort=False)[["centre", "warning_limit", "critical_limit", "emergency_limit"]]
        .last()
        .reset_index()
        .melt(id_vars="round", var_name="limit", value_name="value")
    )
    lines = (
        alt.Chart(series)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=metric.upper(), scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None),
            strokeDash=alt.StrokeDash("source:N"),
            tooltip=[
                "round:N",
                "source:N",
                "series:N",
                alt.Tooltip("value:Q", format=".4f"),
                "status:N",
                "n:Q",
                "model_version:N",
            ],
        )
    )
    rules = (
        alt.Chart(limits)
        .mark_line(strokeWidth=1.5, opacity=0.8)
        .encode(
            x=x,
            y="value:Q",
            color=alt.Color(
                "limit:N",
                scale=alt.Scale(
                    domain=["centre", "warning_limit", "critical_limit", "emergency_limit"],
                    range=["#868e96", "#f08c00", "#e03131", "#862e9c"],
                ),
            ),
            tooltip=["round:N", "limit:N", alt.Tooltip("value:Q", format=".4f")],
        )
    )
    st.altair_chart((rules + lines).resolve_scale(color="independent").properties(height=360), width="stretch")
    st.caption(
        "The limits apply to the rolling value; a gameweek above the warning limit raises an alert, above the critical "
        "limit it triggers a retrain."
    )
    cusum = (
        alt.Chart(performance)
        .mark_area(line=True, opacity=0.3)
        .encode(
            x=x,
            y=alt.Y("cusum:Q", title="CUSUM", stack=None),  # backtest and served rows of one gameweek overlap
            color=alt.Color("source:N"),
            tooltip=["round:N", "source:N", alt.Tooltip("cusum:Q", format=".4f"), "status:N"],
        )
        .properties(height=200)
    )
    st.altair_chart(cusum, width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Champion history")
    history = common.read(board.champion_history, model)
    if history.empty:
        st.info("No version registered yet: run `make demo` (or `fpl-platform retrain`).")
    else:
        st.dataframe(
            history,
            hide_index=True,
            width="stretch",
            column_config={
                "trained_at": st.column_config.DatetimeColumn("trained (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC"),
                "data_cutoff": st.column_config.DatetimeColumn("data up to", format="YYYY-MM-DD", timezone="UTC"),
                "validation_score": st.column_config.NumberColumn(format="%.4f"),
            },
            key="history",
        )
with right:
    st.subheader("Retraining decisions")
    events = common.read(board.retraining_events)
    events = events[events["model_name"] == model]
    if events.empty:
        st.info("No retraining decision yet: the weekly schedule, the sensors or `fpl-platform retrain` make them.")
    else:
        timeline = (
            alt.Chart(events)
            .mark_point(filled=True, size=120)
            .encode(
                x=alt.X("created_at:T", title="UTC", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%d %b %H:%M")),
                y=alt.Y("trigger:N", title=None),
                color=alt.Color("decision:N"),
                shape=alt.Shape("decision:N"),
                tooltip=[
                    alt.Tooltip("utcyearmonthdatehoursminutes(created_at):T", title="created (UTC)", format="%Y-%m-%d %H:%M"),
                    "trigger:N",
                    "evidence:N",
                    "decision:N",
                    "champion_before:N",
                    "champion_after:N",
                    "reason:N",
                ],
            )
            .properties(height=160)
        )
        st.altair_chart(timeline, width="stretch")
        st.dataframe(
            events.drop(columns=["model_name"]),
            hide_index=True,
            width="stretch",
            column_config={
                "created_at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC")
            },
            key="events",
        )

st.subheader("Alerts")
conditions = common.read(board.open_conditions)
if conditions:
    st.warning("Open now: " + "; ".join(conditions) + ".")
else:
    st.success("Nothing is past a limit now: every model's latest gameweek is ok and its latest drift report is clean.")
alerts = common.read(board.alerts)
if alerts.empty:
    st.info("No alerts sent yet: the performance and drift monitors raise them when a limit is crossed.")
else:
    week = alerts[alerts["created_at"] >= pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=7)]
    st.caption(f"{len(week)} sent in the last 7 days; the newest {len(alerts)} shown, with each channel's delivery.")
    st.dataframe(
        alerts,
        hide_index=True,
        width="stretch",
        column_config={"created_at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC")},
        key="alerts",
    )
