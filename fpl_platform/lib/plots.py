"""Small PNG plots for asset metadata (Dagster renders base64 images inside markdown metadata)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

WIDTH_INCHES = 6.4


def new_figure(height: float, *, left: float = 0.45, bottom: float = 0.3, top: float = 0.3):
    """A figure with fixed margins (inches): `tight_layout` would draw every figure twice, doubling its cost."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=80)
    figure.subplots_adjust(left=left / WIDTH_INCHES, right=1 - 0.15 / WIDTH_INCHES, bottom=bottom / height, top=1 - top / height)
    return figure, figure.add_subplot()


def to_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")  # Agg, the Figure's default canvas: no pyplot state, no display
    return buffer.getvalue()


def trend_png(frame: pd.DataFrame, metric: str, title: str, *, last: int = 60) -> bytes:
    """A small PNG: per-gameweek metric, its rolling mean and the control limits, served rows highlighted."""
    tail = frame.tail(last).reset_index(drop=True)
    figure, axis = new_figure(2.6)
    x = np.arange(len(tail))
    served = tail["source"].eq("served").to_numpy()
    axis.scatter(x[~served], tail[metric][~served], s=8, color="#999999", label=f"{metric} (backtest)")
    axis.scatter(x[served], tail[metric][served], s=12, color="#1f77b4", label=f"{metric} (served)")
    axis.plot(x, tail[f"rolling_{metric}"], color="#1f77b4", linewidth=1.2, label="rolling")
    for column, style, colour in (
        ("centre", "-", "#2ca02c"),
        ("warning_limit", "--", "#ff7f0e"),
        ("critical_limit", "--", "#d62728"),
    ):
        axis.plot(x, tail[column], linestyle=style, color=colour, linewidth=0.9, label=column.replace("_", " "))
    ticks = np.linspace(0, len(tail) - 1, num=min(6, len(tail)), dtype=int)
    axis.set_xticks(ticks, [f"{tail['season'][i][2:]}:{int(tail['gameweek'][i])}" for i in ticks], fontsize=7)
    axis.tick_params(axis="y", labelsize=7)
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=6, ncol=3, loc="upper left")
    return to_png(figure)


def bar_png(labels: list[str], values: list[float], title: str, *, threshold: float | None = None) -> bytes:
    """A small horizontal bar chart PNG (drift PSI per feature)."""
    # 7-point tick labels are about 0.055 in a character: the left margin fits the longest
    figure, axis = new_figure(
        0.25 * len(labels) + 0.8, left=0.2 + 0.055 * max((len(label) for label in labels), default=0), bottom=0.35
    )
    axis.barh(labels[::-1], values[::-1], color="#1f77b4")
    if threshold is not None:
        axis.axvline(threshold, color="#d62728", linestyle="--", linewidth=0.9)
    axis.tick_params(labelsize=7)
    axis.set_title(title, fontsize=9)
    return to_png(figure)


def data_uri(png: bytes) -> str:
    """A PNG as a base64 data URI."""
    import base64

    return f"data:image/png;base64,{base64.b64encode(png).decode()}"


def png_markdown(png: bytes, alt: str) -> str:
    """Markdown embedding a PNG as a base64 data URI (Dagster renders it in asset metadata)."""
    return f"![{alt}]({data_uri(png)})"
