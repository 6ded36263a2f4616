"""The season report a replay writes: markdown summary and an HTML page with plots.

Per gameweek: RPS of the served match model against Dixon-Coles and (when odds are loaded) the market
on the same matches, player-points RMSE, drift; every retrain, promotion and rollback with its trigger;
the season's pooled metrics. Reads the warehouse only.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from fpl_platform.lib import plots
from fpl_platform.lib.metrics import outcome_index, regression_scores, rps
from fpl_platform.lib.models import served_sql

MATCH_SQL = served_sql(
    "match_outcome",
    "p.season, p.gameweek, p.match_id, p.model_version, p.p_home, p.p_draw, p.p_away, f.dc_p_home, f.dc_p_draw,"
    " f.dc_p_away, f.market_p_home, f.market_p_draw, f.market_p_away, f.home_goals, f.away_goals",
    one_season=True,
)
PLAYER_SQL = served_sql("player_points", "p.season, p.gameweek, p.predicted_points, f.points AS actual_points", one_season=True)


def match_table(read, season: str) -> pd.DataFrame:
    """Per served match: RPS of ours, Dixon-Coles and the market (NaN without odds)."""
    frame = read(MATCH_SQL, [season])
    if frame.empty:
        return frame
    outcome = outcome_index(frame["home_goals"], frame["away_goals"])
    for name, columns in (("ours", ["p_home", "p_draw", "p_away"]), ("dixon_coles", ["dc_p_home", "dc_p_draw", "dc_p_away"])):
        frame[f"rps_{name}"] = rps(frame[columns].to_numpy(dtype=float), outcome)
    market = frame[["market_p_home", "market_p_draw", "market_p_away"]].to_numpy(dtype=float)
    frame["rps_market"] = np.where(np.isnan(market).any(axis=1), np.nan, rps(np.nan_to_num(market), outcome))
    return frame


def per_gameweek(matches: pd.DataFrame, players: pd.DataFrame) -> pd.DataFrame:
    rows = []
    gameweeks = sorted(set(matches.get("gameweek", pd.Series(dtype=int))) | set(players.get("gameweek", pd.Series(dtype=int))))
    for gameweek in gameweeks:
        m = matches[matches["gameweek"] == gameweek] if len(matches) else matches
        p = players[players["gameweek"] == gameweek] if len(players) else players
        rows.append(
            {
                "gameweek": int(gameweek),
                "matches": len(m),
                "model_version": ",".join(sorted(set(map(str, m["model_version"])))) if len(m) else "",
                "rps_ours": m["rps_ours"].mean() if len(m) else np.nan,
                "rps_dixon_coles": m["rps_dixon_coles"].mean() if len(m) else np.nan,
                "rps_market": m["rps_market"].mean() if len(m) else np.nan,
                "player_rmse": regression_scores(p["predicted_points"], p["actual_points"])["rmse"] if len(p) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _line_png(frame: pd.DataFrame, columns: list[str], title: str) -> bytes:
    figure, axis = plots.new_figure(2.6)
    for column in columns:
        if column in frame and frame[column].notna().any():
            axis.plot(frame["x"], frame[column], marker="o", markersize=2.5, linewidth=1, label=column)
    axis.set_title(title, fontsize=9)
    axis.tick_params(labelsize=7)
    axis.legend(fontsize=6)
    return plots.to_png(figure)


def write(read, season: str, directory: Path) -> tuple[Path, Path]:
    """Write season_<season>.md and .html under `directory`; `read(sql, params)` queries the warehouse."""
    matches = match_table(read, season)
    players = read(PLAYER_SQL, [season])
    weeks = per_gameweek(matches, players)
    events = read(
        "SELECT created_at, model_name, trigger, decision, champion_before, champion_after, challenger_version, "
        "round(improvement, 5) AS improvement, round(p_value, 4) AS p_value, reason FROM monitoring.retraining_events ORDER BY created_at",
        None,
    )
    drift = read(
        "SELECT created_at, model_name, model_version, round(drift_share, 3) AS drift_share, round(prediction_psi, 4) AS prediction_psi, "
        "severity FROM monitoring.drift_reports ORDER BY created_at",
        None,
    )
    has_ab = read(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'monitoring' AND table_name = 'ab_results'",
        None,
    )["n"].iat[0]
    ab_results = (
        read(
            "SELECT test_name, as_of, n_items, traffic_split, round(mean_difference, 5) AS mean_difference, "
            "round(ci_low, 5) AS ci_low, round(ci_high, 5) AS ci_high, round(dm_p_better, 4) AS dm_p_better, "
            "round(power, 2) AS power, recommendation, action FROM monitoring.ab_results ORDER BY test_name, evaluated_at",
            None,
        )
        if has_ab
        else pd.DataFrame()
    )
    pooled = []
    if len(matches):
        pooled += [
            {
                "metric": "match RPS",
                "model": name,
                "value": matches[f"rps_{name}"].mean(),
                "n": int(matches[f"rps_{name}"].notna().sum()),
            }
            for name in ("ours", "dixon_coles", "market")
            if matches[f"rps_{name}"].notna().any()
        ]
    if len(players):
        scores = regression_scores(players["predicted_points"], players["actual_points"])
        pooled += [
            {"metric": f"player {k.upper()}", "model": "ours", "value": scores[k], "n": scores["n"]} for k in ("rmse", "mae")
        ]
    pooled = pd.DataFrame(pooled)
    decisions = events[events["decision"] != "skipped"] if len(events) else events
    directory.mkdir(parents=True, exist_ok=True)

    def md(frame: pd.DataFrame, empty: str) -> str:
        return frame.to_markdown(index=False, floatfmt=".4f") if len(frame) else f"_{empty}_"

    summary = [
        f"# Season replay {season}",
        "",
        f"Gameweeks with served predictions and results: {len(weeks)}.",
        "",
        "## Pooled",
        md(pooled, "nothing served yet"),
        "",
        "## Per gameweek (served model against Dixon-Coles and the market on the same matches)",
        md(weeks.round(4), "nothing served yet"),
        "",
        f"## Retraining decisions ({len(decisions)}; {len(events) - len(decisions)} skipped triggers)",
        md(decisions, "none"),
        "",
        "## Drift reports",
        md(drift, "none"),
        "",
        "## A/B test analyses (treatment − control loss; negative favours the treatment)",
        md(ab_results, "no A/B test"),
        "",
    ]
    markdown_path = directory / f"season_{season}.md"
    markdown_path.write_text("\n".join(summary))

    figures = []
    if len(weeks):
        weeks = weeks.assign(x=weeks["gameweek"])
        figures.append(_line_png(weeks, ["rps_ours", "rps_dixon_coles", "rps_market"], "RPS per gameweek"))
        figures.append(_line_png(weeks, ["player_rmse"], "Player points RMSE per gameweek"))
    if len(drift):
        series = drift.pivot_table(index="created_at", columns="model_name", values="drift_share").reset_index()
        series["x"] = np.arange(len(series))
        figures.append(_line_png(series, [c for c in series.columns if c not in ("created_at", "x")], "Drift share per report"))
    if len(ab_results):
        for name, rows in ab_results.groupby("test_name"):
            series = rows.assign(x=np.arange(len(rows)))
            figures.append(_line_png(series, ["mean_difference", "ci_low", "ci_high"], f"A/B {name}: loss difference, 95 % CI"))
    body = "\n".join(f'<img alt="plot" src="{plots.data_uri(f)}">' for f in figures)
    tables = "".join(
        f"<h2>{html.escape(title)}</h2>"
        + (frame.to_html(index=False, float_format=lambda v: f"{v:.4f}") if len(frame) else "<p>none</p>")
        for title, frame in (
            ("Pooled", pooled),
            ("Per gameweek", weeks.drop(columns=["x"], errors="ignore")),
            ("Retraining decisions", decisions),
            ("Drift reports", drift),
            ("A/B test analyses", ab_results),
        )
    )
    html_path = directory / f"season_{season}.html"
    html_path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Season replay {html.escape(season)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
        f"<h1>Season replay {html.escape(season)}</h1>{body}{tables}</body></html>"
    )
    return markdown_path, html_path
