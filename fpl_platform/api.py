"""The read-only prediction API: FastAPI over the analyst copy (`fpl-platform api`, http://127.0.0.1:8000/docs).

It reads `analytics.duckdb` through the read-only SQL door (lib.analyst), never the warehouse, so it neither
waits for nor blocks a pipeline run. A publish replaces the copy by renaming a new file over it: each request
takes a cursor on the copy as it was when the request started, and the first request after a publish opens
the new file, so a replacement mid-request is never an error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import duckdb
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse

from fpl_platform.lib import analyst, forecasts
from fpl_platform.lib.models import MODELS

SEASON = r"^\d{4}-\d{2}$"
# the copy is republished after every successful run, and the schedule retrains weekly: a copy older than a
# week and a day means the pipeline has stopped
DEFAULT_MAX_AGE_HOURS = 192.0


class AnalystCopy:
    """Cursors on the analyst copy, one connection per published file (a publish renames a new file over it).

    DuckDB keeps one database per path in a process: while any connection to the old file is open, connecting to
    the path again reaches the old file. So a new file is opened only once the requests reading the old one have
    closed their cursors (milliseconds), and the old connection is closed first."""

    def __init__(self, path: Path):
        self.path = path
        self._changed = threading.Condition()
        self._identity: tuple[int, int] | None = None
        self._connection = None
        self._reading = 0

    @contextlib.contextmanager
    def cursor(self) -> Iterator:
        """A cursor on the newest published copy; FileNotFoundError when there is none yet."""
        with self._changed:
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                raise FileNotFoundError(f"no analyst copy at {self.path}: run `make demo` or `fpl-platform publish`") from None
            if (stat.st_ino, stat.st_mtime_ns) != self._identity:
                self._changed.wait_for(lambda: self._reading == 0)
                if self._connection is not None:
                    self._connection.close()
                self._connection = analyst.connect_read_only(self.path)
                self._identity = (stat.st_ino, stat.st_mtime_ns)
            cursor = self._connection.cursor()
            self._reading += 1
        try:
            yield cursor
        finally:
            cursor.close()
            with self._changed:
                self._reading -= 1
                self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            if self._connection is not None:
                self._connection.close()
            self._connection, self._identity = None, None

    def published_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(os.stat(self.path).st_mtime, tz=dt.UTC)


def create_app(analytics: Path, *, max_age_hours: float = DEFAULT_MAX_AGE_HOURS) -> FastAPI:
    """The API over the analyst copy at `analytics`; /health is 503 when it is missing or older than `max_age_hours`."""
    copy = AnalystCopy(Path(analytics))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        copy.close()

    app = FastAPI(
        lifespan=lifespan,
        title="fpl_platform predictions",
        version="1",
        summary="Premier League match outcome and FPL player points forecasts, read-only.",
        description="Reads the analyst copy (analytics.duckdb) that the pipeline publishes after every successful "
        "run. Every prediction row carries the registered model version that made it and `predicted_at`.",
    )

    def read(function, *args, **kwargs):
        """`function(cursor, ...)`, with the copy's absence a 503 and a missing round a 404."""
        try:
            with copy.cursor() as cursor:
                return function(cursor, *args, **kwargs)
        except FileNotFoundError as error:
            raise HTTPException(503, detail=str(error)) from None
        except forecasts.NotFound as error:
            raise HTTPException(404, detail=str(error)) from None
        except forecasts.BadFilter as error:
            raise HTTPException(400, detail=str(error)) from None
        except duckdb.Error as error:  # a copy from an older release, or one being written by hand
            raise HTTPException(503, detail=f"the analyst copy cannot answer this: {error}".splitlines()[0]) from None

    @app.get("/health", summary="Data freshness, champion versions, the last publish")
    def health() -> JSONResponse:
        try:
            with copy.cursor() as cursor:
                published = copy.published_at()
                age = (dt.datetime.now(dt.UTC) - published).total_seconds() / 3600
                body = {
                    "status": "ok" if age <= max_age_hours else "stale",
                    "published_at": published.isoformat(),
                    "age_hours": round(age, 3),
                    "max_age_hours": max_age_hours,
                    **forecasts.freshness(cursor),
                    "champions": forecasts.champions(cursor),
                }
        except FileNotFoundError as error:
            return JSONResponse({"status": "missing", "detail": str(error)}, status_code=503)
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    @app.get("/v1/models", summary="Registered versions, their aliases and gate verdicts")
    def models() -> dict:
        return {"models": read(forecasts.models)}

    @app.get("/v1/predictions/matches", summary="Home/draw/away probabilities of a predicted gameweek")
    def matches(
        season: Annotated[str | None, Query(pattern=SEASON, description="e.g. 2025-26; default: the latest predicted")] = None,
        gameweek: Annotated[int | None, Query(ge=1, le=38, description="1-38; default: the latest predicted")] = None,
    ) -> dict:
        return read(forecasts.match_predictions, season, gameweek)

    @app.get("/v1/predictions/players", summary="Expected FPL points of a predicted gameweek, best first")
    def players(
        season: Annotated[str | None, Query(pattern=SEASON, description="e.g. 2025-26; default: the latest predicted")] = None,
        gameweek: Annotated[int | None, Query(ge=1, le=38, description="1-38; default: the latest predicted")] = None,
        position: Annotated[Literal[forecasts.POSITIONS] | None, Query(description="FPL position")] = None,
        team: Annotated[str | None, Query(min_length=1, max_length=64, description="canonical team name, e.g. Arsenal")] = None,
        min_p_play: Annotated[float, Query(ge=0, le=1, description="lowest probability of playing")] = 0.0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> dict:
        return read(
            forecasts.player_predictions,
            season,
            gameweek,
            position=position,
            team=team,
            min_p_play=min_p_play,
            limit=limit,
            offset=offset,
        )

    @app.get("/v1/performance", summary="Per-gameweek metrics with control limits and CUSUM")
    def performance(model: Annotated[Literal[tuple(MODELS)] | None, Query()] = None) -> dict:
        return {"performance": read(forecasts.performance, model)}

    @app.get("/v1/backtest", summary="Walk-forward metrics per season and the paired comparisons")
    def backtest() -> dict:
        return read(forecasts.backtest)

    return app
