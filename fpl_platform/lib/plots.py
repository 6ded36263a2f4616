"""PNG plots for asset metadata (Dagster renders base64 images inside markdown metadata).

Sized to be read in Dagster's metadata dialog on a 1600×1000 screen: about 1000 px wide, 10-11 pt text,
legends beside the plot rather than over the data.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

WIDTH_INCHES = 10.0
DPI = 100
FONT = 10


def new_figure(height: float, *, left: float = 0.8, right: float = 0.25, bottom: float = 0.6, top: float = 0.45):
    """A figure with fixed margins (inches): `tight_layout` would draw every figure twice, doubling its cost."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI)
    figure.subplots_adjust(left=left / WIDTH_INCHES, right=1 - right / WIDTH_INCHES, bottom=bottom / height, top=1 - top / height)
    return figure, figure.add_subplot()


def to_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")  # Agg, the Figure's default canvas: no pyplot state, no display
    return buffer.getvalue()


def trend_png(frame: pd.DataFrame, metric: str, title: str, *, last: int = 60) -> bytes:
    """`trend_figure` as a PNG."""
    return to_png(trend_figure(frame, metric, title, last=last))


def trend_figure(frame: pd.DataFrame, metric: str, title: str, *, last: int = 60):
    """Per-gameweek metric, its rolling value and the control limits of the last `last` gameweeks, served rows
    highlighted; the legend sits right of the plot."""
    tail = frame.tail(last).reset_index(drop=True)
    figure, axis = new_figure(4.6, right=2.3)
    x = np.arange(len(tail))
    served = tail["source"].eq("served").to_numpy()
    axis.scatter(x[~served], tail[metric][~served], s=14, color="#999999", label=f"{metric}, backtest")
    axis.scatter(x[served], tail[metric][served], s=30, color="#1f77b4", zorder=3, label=f"{metric}, served")
    axis.plot(x, tail[f"rolling_{metric}"], color="#1f77b4", linewidth=1.6, label=f"rolling {metric}")
    for column, style, colour in (
        ("centre", "-", "#2ca02c"),
        ("warning_limit", "--", "#ff7f0e"),
        ("critical_limit", "--", "#d62728"),
    ):
        axis.plot(x, tail[column], linestyle=style, color=colour, linewidth=1.2, label=column.replace("_", " "))
    ticks = np.linspace(0, len(tail) - 1, num=min(8, len(tail)), dtype=int)
    axis.set_xticks(ticks, [f"{tail['season'][i][2:]}:{int(tail['gameweek'][i])}" for i in ticks])
    axis.set_xlabel("season:gameweek", fontsize=FONT)
    axis.tick_params(labelsize=FONT)
    axis.grid(axis="y", color="#eeeeee")
    axis.set_title(title, fontsize=FONT + 2)
    axis.legend(fontsize=FONT, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)
    return figure


def bar_png(labels: list[str], values: list[float], title: str, *, threshold: float | None = None) -> bytes:
    """A horizontal bar chart (drift PSI per feature), values printed at the bars' ends."""
    # 10-point tick labels are about 0.085 in a character: the left margin fits the longest
    longest = max((len(label) for label in labels), default=0)
    figure, axis = new_figure(0.34 * len(labels) + 1.2, left=0.3 + 0.085 * longest, right=0.6, bottom=0.55)
    axis.barh(labels[::-1], values[::-1], color="#1f77b4")
    for y, value in enumerate(values[::-1]):
        axis.annotate(f"{value:.3f}", (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=FONT - 1)
    if threshold is not None:
        axis.axvline(threshold, color="#d62728", linestyle="--", linewidth=1.2)
    axis.set_xlim(0, max([*values, threshold or 0.0, 1e-9]) * 1.15)
    axis.tick_params(labelsize=FONT)
    axis.set_title(title, fontsize=FONT + 2)
    return to_png(figure)


def data_uri(png: bytes) -> str:
    """A PNG as a base64 data URI."""
    import base64

    return f"data:image/png;base64,{base64.b64encode(png).decode()}"


def png_markdown(png: bytes, alt: str) -> str:
    """Markdown embedding a PNG as a base64 data URI (Dagster renders it in asset metadata)."""
    return f"![{alt}]({data_uri(png)})"
