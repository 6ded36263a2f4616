"""The forecasts dashboard (`fpl-platform dashboard`, Streamlit on http://127.0.0.1:8501): app.py is its script."""
