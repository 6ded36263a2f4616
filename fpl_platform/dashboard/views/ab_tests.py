"""A/B tests: arms, traffic share over time, the paired and arm statistics with the interval, and the
recommendation."""

import altair as alt
import streamlit as st

from fpl_platform.dashboard import common
from fpl_platform.lib import board

st.header("A/B tests")
tests = common.read(board.ab_tests)
if tests.empty:
    st.info(
        "No A/B test yet: `fpl-platform ab-test create NAME --model match_outcome --treatment challenger` then "
        "`fpl-platform ab-test start NAME` (docs/operations.md explains the rollout)."
    )
    st.stop()
name = st.selectbox("Test", list(tests["test_name"]), key="ab_test")
test = tests[tests["test_name"] == name].iloc[0]
st.caption(
    f"{common.LABEL.get(test['model_name'], test['model_name'])}: champion (control) against version "
    f"{test['treatment_version']} (treatment), status **{test['status']}**, traffic split {test['traffic_split']:.0%}, "
    f"rollout {test['rollout_steps']}, α = {test['alpha']}."
)
traffic = common.read(board.ab_traffic, name)
results = common.read(board.ab_results, name)
if traffic.empty:
    st.info(f"Test {name} has served nothing yet: it assigns items when predictions are served after `ab-test start`.")
else:
    st.subheader("Traffic share by gameweek")
    chart = (
        alt.Chart(traffic)
        .mark_bar()
        .encode(
            x=alt.X("round:N", title=None, sort=list(dict.fromkeys(traffic["round"]))),
            y=alt.Y("items:Q", stack="normalize", title="share", axis=alt.Axis(format="%")),
            color=alt.Color("arm:N", scale=alt.Scale(domain=["control", "treatment"], range=["#1c7ed6", "#f08c00"])),
            tooltip=["round:N", "arm:N", "items:Q", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=240)
    )
    st.altair_chart(chart, width="stretch")
if results.empty:
    st.info(f"No evaluation of {name} yet: it is evaluated once its served items have results.")
else:
    latest = results.iloc[-1]
    cards = st.columns(5)
    cards[0].metric("Recommendation", latest["recommendation"], help=latest["reason"])
    cards[1].metric("Mean loss, control", f"{latest['mean_loss_control']:.4f}")
    cards[2].metric("Mean loss, treatment", f"{latest['mean_loss_treatment']:.4f}")
    cards[3].metric(
        "Difference (treatment − control)",
        f"{latest['mean_difference']:+.4f}",
        help=f"95 % interval {latest['ci_low']:+.4f} to {latest['ci_high']:+.4f}; below 0 means the treatment is better.",
    )
    cards[4].metric("Items compared", int(latest["n_items"]), help=f"{latest['gameweeks']} gameweeks")
    st.caption(f"{latest['as_of']}: {latest['reason']} (action: {latest['action']})")
    st.subheader("Paired difference and its 95 % interval over time")
    band = alt.Chart(results).encode(x=alt.X("as_of:N", title=None, sort=list(results["as_of"])))
    interval = band.mark_area(opacity=0.25).encode(y=alt.Y("ci_low:Q", title="treatment − control loss"), y2="ci_high:Q")
    line = band.mark_line(point=True).encode(
        y="mean_difference:Q",
        tooltip=[
            "as_of:N",
            alt.Tooltip("mean_difference:Q", format="+.4f"),
            alt.Tooltip("ci_low:Q", format="+.4f"),
            alt.Tooltip("ci_high:Q", format="+.4f"),
            alt.Tooltip("paired_t_p:Q", format=".3g"),
            "recommendation:N",
        ],
    )
    zero = alt.Chart().mark_rule(strokeDash=[4, 4], color="#868e96").encode(y=alt.datum(0))
    st.altair_chart(alt.layer(interval, line, zero, data=results).properties(height=260), width="stretch")
    st.subheader("Statistics")
    statistics = [
        "as_of", "n_items", "n_control", "n_treatment", "gameweeks", "mean_difference", "ci_low", "ci_high", "paired_t",
        "paired_t_p", "wilcoxon_p", "dm_statistic", "dm_p_better", "served_loss_control", "served_loss_treatment",
        "mann_whitney_p", "welch_p", "cohens_d_paired", "cohens_d_arms", "power", "n_needed", "recommendation", "action",
    ]  # fmt: skip
    st.dataframe(results[statistics], hide_index=True, width="stretch", key="ab_statistics")
