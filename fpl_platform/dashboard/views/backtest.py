"""Backtest: walk-forward RPS per season for ours and the baselines (and the market when its odds are loaded),
player MAE/RMSE against the rolling means, and the paired comparisons with their intervals."""

import altair as alt
import streamlit as st

from fpl_platform.dashboard import common
from fpl_platform.lib import board

st.header("Backtest")
matches = common.read(board.backtest_metrics, "match")
players = common.read(board.backtest_metrics, "player")
if matches.empty and players.empty:
    st.info("No backtest yet: run `make demo` (or materialise `ml/match_backtest` and `ml/player_backtest`).")
    st.stop()


def per_season(frame, measure: str, title: str):
    """`measure` per season by model; the pooled figure (every season at once) is the table's, not a point in time."""
    seasons = frame[frame["season"] != "pooled"]
    low, high = seasons[measure].min(), seasons[measure].max()
    margin = max(high - low, abs(high) * 0.01) * 0.15
    return (
        alt.Chart(seasons)
        .mark_line(point=alt.OverlayMarkDef(size=70, filled=True))
        .encode(
            x=alt.X("season:N", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{measure}:Q", title=title, scale=alt.Scale(domain=[low - margin, high + margin], nice=False)),
            color=alt.Color("model:N"),
            tooltip=["season:N", "model:N", alt.Tooltip(f"{measure}:Q", format=".4f"), "n:Q"],
        )
        .properties(height=300)
    )


def comparisons(domain: str, title: str):
    paired = common.read(board.backtest_comparisons, domain)
    if paired.empty:
        return
    paired = paired.assign(pair=paired["model"] + " − " + paired["baseline"])
    base = alt.Chart(paired).encode(y=alt.Y("pair:N", title=None, axis=alt.Axis(labelLimit=320)))
    bars = base.mark_rule(strokeWidth=3).encode(x=alt.X("ci_low:Q", title=title), x2="ci_high:Q", color=alt.value("#1c7ed6"))
    dots = base.mark_point(filled=True, size=90, color="#1c7ed6").encode(
        x="mean_difference:Q",
        tooltip=[
            "pair:N",
            "metric:N",
            alt.Tooltip("mean_difference:Q", format="+.4f"),
            alt.Tooltip("ci_low:Q", format="+.4f"),
            alt.Tooltip("ci_high:Q", format="+.4f"),
            "n:Q",
            "groups:Q",
        ],
    )
    zero = alt.Chart().mark_rule(strokeDash=[4, 4], color="#868e96").encode(x=alt.datum(0))
    st.altair_chart(alt.layer(bars, dots, zero, data=paired).properties(height=45 * len(paired) + 70), width="stretch")
    st.dataframe(paired.drop(columns=["pair"]), hide_index=True, width="stretch", key=f"paired_{domain}")


if not matches.empty:
    st.subheader("Matches: ranked probability score per season (lower is better)")
    if "market" not in set(matches["model"]):
        st.caption(
            "The market's line appears once betting odds are loaded: `raw/match_odds` from football-data.co.uk files "
            "(`FPL_PLATFORM_FOOTBALL_DATA`, docs/operations.md)."
        )
    st.altair_chart(per_season(matches, "rps", "RPS"), width="stretch")
    st.dataframe(
        matches.pivot_table(index="season", columns="model", values="rps").reset_index(),
        hide_index=True,
        width="stretch",
        key="match_rps",
    )
    st.caption("Paired differences in RPS per match, with 95 % intervals (below 0: the first is better):")
    comparisons("match", "RPS difference")

if not players.empty:
    st.subheader("Players: error per season against the rolling means (all player-fixtures)")
    everyone = players[players["subset"] == "all"]
    left, right = st.columns(2)
    left.altair_chart(per_season(everyone, "mae", "MAE"), width="stretch")
    right.altair_chart(per_season(everyone, "rmse", "RMSE"), width="stretch")
    errors = everyone.pivot_table(index="season", columns="model", values=["mae", "rmse"]).round(4)
    errors.columns = [f"{measure} {model}" for measure, model in errors.columns]
    st.dataframe(errors.reset_index(), hide_index=True, width="stretch", key="player_errors")
    st.caption("Paired differences in squared error per player-fixture, with 95 % intervals:")
    comparisons("player", "difference")
