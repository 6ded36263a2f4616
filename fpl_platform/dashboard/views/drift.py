"""Drift: the drift share of each report, PSI and KS per feature over time, and Evidently's HTML reports."""

import altair as alt
import streamlit as st
import streamlit.components.v1 as components

from fpl_platform.dashboard import common
from fpl_platform.lib import board, paths

st.header("Drift")
reports = common.read(board.drift_reports)
if reports.empty:
    st.info("No drift report yet: run `make demo` (or materialise `monitoring/drift` in the Dagster UI).")
    st.stop()
model = common.model_choice("drift_model")
reports = reports[reports["model_name"] == model]
features = common.read(board.drift_features)
features = features[features["model_name"] == model]
if reports.empty:
    st.info(f"No drift report for {common.LABEL[model]} yet.")
    st.stop()

st.subheader("Share of features drifted")
share = (
    alt.Chart(reports)
    .mark_line(point=alt.OverlayMarkDef(size=80, filled=True))
    .encode(
        x=alt.X("created_at:T", title="UTC", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%d %b %H:%M")),
        y=alt.Y("drift_share:Q", title="drifted share", axis=alt.Axis(format="%")),
        color=alt.Color(
            "severity:N", scale=alt.Scale(domain=["none", "warning", "critical"], range=["#2b8a3e", "#f08c00", "#e03131"])
        ),
        tooltip=[
            alt.Tooltip("utcyearmonthdatehoursminutes(created_at):T", title="created (UTC)", format="%Y-%m-%d %H:%M"),
            "report_id:N",
            "model_version:N",
            alt.Tooltip("drift_share:Q", format=".1%"),
            "drifted_features:Q",
            "features:Q",
            alt.Tooltip("prediction_psi:Q", format=".3f"),
            "severity:N",
        ],
    )
    .properties(height=220)
)
st.altair_chart(share, width="stretch")
st.dataframe(
    reports[
        [
            "created_at",
            "model_version",
            "current_start",
            "current_end",
            "features",
            "drifted_features",
            "drift_share",
            "prediction_psi",
            "severity",
        ]
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "created_at": st.column_config.DatetimeColumn("created (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC"),
        "current_start": st.column_config.DatetimeColumn("window from", format="YYYY-MM-DD", timezone="UTC"),
        "current_end": st.column_config.DatetimeColumn("window to", format="YYYY-MM-DD", timezone="UTC"),
        "drift_share": st.column_config.NumberColumn("drifted share", format="percent"),
        "prediction_psi": st.column_config.NumberColumn("prediction PSI", format="%.3f"),
    },
)

st.subheader("PSI and KS per feature")
worst = features.groupby("feature")["psi"].max().sort_values(ascending=False)
chosen = st.multiselect("Features", list(worst.index), default=list(worst.index[:6]), key="drift_features")
shown = features[features["feature"].isin(chosen)]
left, right = st.columns(2)
for column, measure, title in ((left, "psi", "PSI"), (right, "ks_statistic", "KS statistic")):
    chart = (
        alt.Chart(shown)
        .mark_line(point=True)
        .encode(
            x=alt.X("created_at:T", title="UTC", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%d %b %H:%M")),
            y=alt.Y(f"{measure}:Q", title=title),
            color=alt.Color("feature:N"),
            tooltip=[
                alt.Tooltip("utcyearmonthdatehoursminutes(created_at):T", title="created (UTC)", format="%Y-%m-%d %H:%M"),
                "feature:N",
                alt.Tooltip(f"{measure}:Q", format=".4f"),
                "severity:N",
            ],
        )
        .properties(height=300)
    )
    column.altair_chart(chart, width="stretch")
latest = features[features["created_at"] == features["created_at"].max()].sort_values("psi", ascending=False)
st.caption("The latest report, feature by feature:")
st.dataframe(latest.drop(columns=["model_name"]), hide_index=True, width="stretch", key="latest_drift")

st.subheader("Evidently reports")
drawn = [(row, paths.reports_dir() / f"drift_{model}_{row.report_id}.html") for row in reports.itertuples()]
drawn = [(row, path) for row, path in drawn if path.exists()]
if not drawn:
    st.info(
        "No Evidently report for this model: Evidently draws one when the `drift` settings' `evidently` policy says so "
        "(`always` by default; `--quick` runs skip it). Run `make demo` to draw one."
    )
else:
    labels = {f"{common.when(row.created_at)} · {row.report_id} · {row.severity}": path for row, path in reversed(drawn)}
    label = st.selectbox("Report", list(labels), key="evidently_report")
    html = labels[label].read_text(encoding="utf-8")
    st.download_button("Download the report (HTML)", html, file_name=labels[label].name, mime="text/html")
    if st.toggle("Show the report here", key="show_report"):
        components.html(html, height=900, scrolling=True)
