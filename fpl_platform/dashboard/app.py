"""The forecasts dashboard: `fpl-platform dashboard` runs this script with Streamlit (http://127.0.0.1:8501)."""

import streamlit as st

from fpl_platform.dashboard import common

st.set_page_config(page_title="fpl_platform forecasts", page_icon=":material/sports_soccer:", layout="wide")
pages = st.navigation(
    [
        st.Page("views/next_gameweek.py", title="Next gameweek", icon=":material/event:", default=True),
        st.Page("views/model_health.py", title="Model health", icon=":material/monitor_heart:"),
        st.Page("views/drift.py", title="Drift", icon=":material/waves:"),
        st.Page("views/ab_tests.py", title="A/B tests", icon=":material/balance:"),
        st.Page("views/backtest.py", title="Backtest", icon=":material/insights:"),
    ]
)
common.metric_cards()
st.divider()
pages.run()
