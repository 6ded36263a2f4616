"""Next gameweek: match H/D/A probabilities and player projections of the latest predicted round."""

import altair as alt
import pandas as pd
import streamlit as st

from fpl_platform.dashboard import common
from fpl_platform.lib import board

round_ = common.read(board.predicted_round)
matches = common.read(board.match_round)
if round_ is None and matches.empty:
    st.info("No predictions yet: run `make demo` (or materialise the `predictions` assets in the Dagster UI).")
    st.stop()

st.header("Next gameweek")
if not matches.empty:
    first = matches.iloc[0]
    st.subheader(f"Matches: {first['season']} gameweek {first['gameweek']}")
    st.caption(
        f"Predicted from data up to {first['as_of']} by {first['model_name']} version {first['model_version']} "
        f"at {common.when(pd.Timestamp(first['predicted_at']))}."
    )
    shown = matches.assign(match=matches["home_team"] + " v " + matches["away_team"])
    long = shown.melt(
        id_vars=["match", "kickoff"], value_vars=["p_home", "p_draw", "p_away"], var_name="outcome", value_name="probability"
    )
    long["outcome"] = long["outcome"].map({"p_home": "home", "p_draw": "draw", "p_away": "away"})
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("sum(probability):Q", stack="normalize", title="probability", axis=alt.Axis(format="%")),
            y=alt.Y("match:N", sort=list(shown["match"]), title=None),
            color=alt.Color("outcome:N", sort=["home", "draw", "away"], scale=alt.Scale(range=["#2b8a3e", "#adb5bd", "#c92a2a"])),
            order=alt.Order("outcome_order:Q"),
            tooltip=["match:N", "outcome:N", alt.Tooltip("probability:Q", format=".1%")],
        )
        .transform_calculate(outcome_order="indexof(['home', 'draw', 'away'], datum.outcome)")
        .properties(height=28 * len(shown) + 40)
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(
        shown[["kickoff", "home_team", "away_team", "p_home", "p_draw", "p_away", "model_version"]],
        hide_index=True,
        width="stretch",
        column_config={
            "kickoff": st.column_config.DatetimeColumn("kickoff (UTC)", format="ddd D MMM HH:mm", timezone="UTC"),
            "home_team": "home",
            "away_team": "away",
            **{c: st.column_config.NumberColumn(c.removeprefix("p_"), format="percent") for c in ("p_home", "p_draw", "p_away")},
            "model_version": "version",
        },
        key="matches",
    )

if round_ is not None:
    players = common.read(board.player_round, round_)
    st.subheader(f"Player projections: {round_.season} gameweek {round_.gameweek}")
    left, middle, right, last = st.columns([2, 3, 2, 2])
    positions = left.multiselect("Position", ["GK", "DEF", "MID", "FWD"], key="position")
    teams = middle.multiselect("Team", sorted(players["team"].unique()), key="team")
    prices = players["price"].dropna()
    price = (
        right.slider(
            "Price (£m)", float(prices.min()), float(prices.max()), (float(prices.min()), float(prices.max())), 0.1, key="price"
        )
        if len(prices) and prices.min() < prices.max()
        else None
    )
    min_p_play = last.slider("Lowest p(play)", 0.0, 1.0, 0.0, 0.05, key="min_p_play")
    shown = players[players["p_play"] >= min_p_play]
    if positions:
        shown = shown[shown["position"].isin(positions)]
    if teams:
        shown = shown[shown["team"].isin(teams)]
    if price is not None:
        shown = shown[shown["price"].between(*price) | shown["price"].isna()]
    st.caption(
        f"{len(shown)} of {len(players)} player-fixtures; click a column to sort. FPL's availability status (a, d, i, s, u, n) "
        "and chance of playing show where known (live mode); a flagged player's forecast is already adjusted."
    )
    st.dataframe(
        shown.drop(columns=["player_id"]),
        hide_index=True,
        width="stretch",
        height=560,
        column_config={
            "kickoff": st.column_config.DatetimeColumn("kickoff (UTC)", format="ddd D MMM HH:mm", timezone="UTC"),
            "price": st.column_config.NumberColumn("price (£m)", format="%.1f"),
            "p_play": st.column_config.ProgressColumn("p(play)", format="percent", min_value=0, max_value=1),
            "predicted_points": st.column_config.NumberColumn("expected points", format="%.2f"),
            "chance_of_playing": st.column_config.NumberColumn("chance (%)", format="%d"),
            "availability_flag": "flag applied",
            "model_version": "version",
        },
        key="players",
    )
