"""The read-only prediction API: FastAPI over the analyst copy (`fpl-platform api`, http://127.0.0.1:8000/docs).

It reads `analytics.duckdb` through the read-only SQL door (lib.analyst), never the warehouse, so it neither
waits for nor blocks a pipeline run. A publish replaces the copy by renaming a new file over it: each request
takes a cursor on the copy as it was when the request started, and the first request after a publish opens
the new file, so a replacement mid-request is never an error.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Literal

import duckdb
from fastapi import FastAPI, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field, create_model

from fpl_platform.lib import analyst, forecasts, schemas
from fpl_platform.lib.models import MODELS

SEASON = r"^\d{4}-\d{2}$"
# the copy is republished after every successful run, and the schedule retrains weekly: a copy older than a
# week and a day means the pipeline has stopped
DEFAULT_MAX_AGE_HOURS = 192.0

# the questions that keep what they read of a copy in a memo for the next question to it
REMEMBERING = (forecasts.match_predictions, forecasts.player_predictions)

PYTHON_TYPES = {
    "VARCHAR": str,
    "SMALLINT": int,
    "INTEGER": int,
    "BIGINT": int,
    "DOUBLE": float,
    "BOOLEAN": bool,
    "TIMESTAMPTZ": dt.datetime,
    "DATE": dt.date,
}


def row_model(name: str, table: schemas.TableSchema, columns, optional=()) -> type[BaseModel]:
    """The response schema of rows of `columns` from `table`: types, nullability and descriptions from lib.schemas."""
    by_name = {column.name: column for column in table.columns}
    fields = {}
    for column_name in columns:
        column = by_name[column_name]
        kind = PYTHON_TYPES[column.type]
        # a float may be NaN in DuckDB, which JSON has not: it is sent as null
        nullable = column.nullable or kind is float or column_name in optional
        default = None if column_name in optional else ...
        fields[column_name] = (kind | None if nullable else kind, Field(default, description=column.doc))
    return create_model(name, **fields)


TrainingRow = row_model("RegisteredVersion", next(iter(MODELS.values())).trainings, forecasts.TRAINING_COLUMNS)
PerformanceRow = row_model("GameweekPerformance", schemas.PERFORMANCE, forecasts.PERFORMANCE_COLUMNS)
MatchRow = row_model("MatchPrediction", schemas.MATCH_PREDICTIONS, forecasts.MATCH_COLUMNS)
PlayerRow = row_model(
    "PlayerPrediction", schemas.PLAYER_PREDICTIONS, forecasts.PLAYER_COLUMNS, optional=forecasts.LATER_PLAYER_COLUMNS
)
MetricRow = row_model("SeasonMetrics", schemas.BACKTEST_METRICS, forecasts.BACKTEST_METRIC_COLUMNS)
ComparisonRow = row_model("PairedComparison", schemas.BACKTEST_COMPARISONS, forecasts.COMPARISON_COLUMNS)


class Round(BaseModel):
    season: str = Field(description="Season of the predicted gameweek, e.g. '2025-26'.")
    gameweek: int = Field(description="The predicted gameweek, 1-38.")
    as_of: str = Field(description="The data cutoff the round was predicted from.")


class MatchPredictions(Round):
    matches: list[MatchRow]


class PlayerPredictions(Round):
    total: int = Field(description="Rows matching the filters, over all pages.")
    limit: int
    offset: int
    players: list[PlayerRow]


class Models(BaseModel):
    models: list[TrainingRow]


class Performance(BaseModel):
    performance: list[PerformanceRow]


class Backtest(BaseModel):
    metrics: list[MetricRow]
    comparisons: list[ComparisonRow]


class Champion(BaseModel):
    version: str
    trained_at: dt.datetime
    data_cutoff: dt.datetime


class Health(BaseModel):
    status: Literal["ok", "stale"] = Field(description="'stale' (with 503) when the copy is older than max_age_hours.")
    published_at: dt.datetime = Field(description="When the analyst copy was last published.")
    age_hours: float
    max_age_hours: float
    newest_result: dt.datetime | None = Field(description="Kickoff of the newest result in raw.matches.")
    last_predicted_at: dt.datetime | None = Field(description="When the newest predictions were made.")
    champions: dict[str, Champion | None] = Field(description="Each model's serving version, null before its first.")


class Problem(BaseModel):
    detail: str = Field(description="What was wrong, and what there is instead.")


class Missing(BaseModel):
    status: Literal["missing", "unreadable"]
    detail: str


NO_COPY = {503: {"model": Problem, "description": "No analyst copy yet, or one that cannot answer (an older release's)"}}
NO_ROUND = {404: {"model": Problem, "description": "No predictions for the round asked for; the message lists the rounds"}}
NO_TEAM = {400: {"model": Problem, "description": "A team with no players in the round; the message lists the teams"}}


class Answers:
    """Rendered answers by (copy identity, question), least recently used dropped beyond `max_bytes` or
    `max_entries` (keys count too: many small distinct questions would otherwise grow it unbounded). A published
    copy never changes, so an answer stays right for as long as its copy is the published one."""

    def __init__(self, max_bytes: int = 64 << 20, max_entries: int = 4096):
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._bodies: collections.OrderedDict[tuple, bytes] = collections.OrderedDict()
        self._bytes = 0

    def get(self, key: tuple) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: tuple, body: bytes) -> None:
        if key in self._bodies or len(body) > self.max_bytes:
            return
        self._bodies[key] = body
        self._bytes += len(body)
        while self._bytes > self.max_bytes or len(self._bodies) > self.max_entries:
            _, dropped = self._bodies.popitem(last=False)
            self._bytes -= len(dropped)


def create_app(analytics: Path, *, max_age_hours: float = DEFAULT_MAX_AGE_HOURS) -> FastAPI:
    """The API over the analyst copy at `analytics`; /health is 503 when it is missing or older than `max_age_hours`."""
    copy = analyst.AnalystCopy(Path(analytics))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        copy.close()

    # FastAPI's /docs and /redoc load their scripts from a CDN, a blank page offline: these serve them locally
    app = FastAPIOffline(
        lifespan=lifespan,
        title="fpl_platform predictions",
        version="1",
        summary="Premier League match outcome and FPL player points forecasts, read-only.",
        description="Reads the analyst copy (analytics.duckdb) that the pipeline publishes after every successful "
        "run. Every prediction row carries the registered model version that made it and `predicted_at`.",
    )

    answers = Answers()
    memos: dict[tuple, dict] = {}  # what forecasts remembers of the current copy (its rounds and their rows)

    def memo_of(identity: tuple) -> dict:
        if identity not in memos:
            memos.clear()  # an older copy's: never asked again
            memos[identity] = {}
        return memos[identity]

    def compute(function, args: tuple, kwargs: dict, envelope: str | None) -> tuple[tuple, bytes]:
        """`function(cursor, ...)` on the newest copy as JSON, with the copy that answered; a missing copy or one
        that cannot answer is a 503, a missing round a 404, a team with no players a 400."""
        try:
            with copy.cursor() as (cursor, identity):
                remembering = {"memo": memo_of(identity)} if function in REMEMBERING else {}
                value = function(cursor, *args, **kwargs, **remembering)
        except FileNotFoundError as error:
            raise HTTPException(503, detail=str(error)) from None
        except forecasts.NotFound as error:
            raise HTTPException(404, detail=str(error)) from None
        except forecasts.BadFilter as error:
            raise HTTPException(400, detail=str(error)) from None
        except duckdb.Error as error:  # a copy from an older release, or one being written by hand
            raise HTTPException(503, detail=f"the analyst copy cannot answer this: {error}".splitlines()[0]) from None
        value = {envelope: value} if envelope else value
        return identity, json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    async def answer(function, *args, envelope: str | None = None, **kwargs) -> Response:
        """The JSON answer of `function` on the current copy, from memory when this copy has answered it before."""
        try:
            identity = copy.identity()
        except FileNotFoundError as error:
            raise HTTPException(503, detail=str(error)) from None
        question = (function.__name__, envelope, args, tuple(sorted(kwargs.items())))
        body = answers.get((identity, question))
        if body is None:
            # the query runs off the event loop; what it read is cached under the copy it read (a newer one
            # than `identity` if a publish came in between, which no later request will ask for)
            read_identity, body = await run_in_threadpool(compute, function, args, kwargs, envelope)
            answers.put((read_identity, question), body)
        return Response(body, media_type="application/json")

    @app.get(
        "/health",
        summary="Data freshness, champion versions, the last publish",
        response_model=Health,
        responses={503: {"model": Health | Missing, "description": "The copy is missing, or stale"}},
    )
    def health() -> JSONResponse:
        try:
            with copy.cursor() as (cursor, _):
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
        except duckdb.Error as error:  # a copy from an older release, or one being written by hand
            detail = f"the analyst copy cannot answer this: {error}".splitlines()[0]
            return JSONResponse({"status": "unreadable", "detail": detail}, status_code=503)
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    @app.get(
        "/v1/models",
        summary="Registered versions, their aliases and gate verdicts",
        response_model=Models,
        responses=NO_COPY,
    )
    async def models() -> Response:
        return await answer(forecasts.models, envelope="models")

    @app.get(
        "/v1/predictions/matches",
        summary="Home/draw/away probabilities of a predicted gameweek",
        response_model=MatchPredictions,
        responses=NO_COPY | NO_ROUND,
    )
    async def matches(
        season: Annotated[str | None, Query(pattern=SEASON, description="e.g. 2025-26; default: the latest predicted")] = None,
        gameweek: Annotated[int | None, Query(ge=1, le=38, description="1-38; default: the latest predicted")] = None,
    ) -> Response:
        return await answer(forecasts.match_predictions, season, gameweek)

    @app.get(
        "/v1/predictions/players",
        summary="Expected FPL points of a predicted gameweek, best first",
        response_model=PlayerPredictions,
        responses=NO_COPY | NO_ROUND | NO_TEAM,
    )
    async def players(
        season: Annotated[str | None, Query(pattern=SEASON, description="e.g. 2025-26; default: the latest predicted")] = None,
        gameweek: Annotated[int | None, Query(ge=1, le=38, description="1-38; default: the latest predicted")] = None,
        position: Annotated[Literal[forecasts.POSITIONS] | None, Query(description="FPL position")] = None,
        team: Annotated[str | None, Query(min_length=1, max_length=64, description="canonical team name, e.g. Arsenal")] = None,
        min_p_play: Annotated[float, Query(ge=0, le=1, description="lowest probability of playing")] = 0.0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Response:
        return await answer(
            forecasts.player_predictions,
            season,
            gameweek,
            position=position,
            team=team,
            min_p_play=min_p_play,
            limit=limit,
            offset=offset,
        )

    @app.get(
        "/v1/performance",
        summary="Per-gameweek metrics with control limits and CUSUM",
        response_model=Performance,
        responses=NO_COPY,
    )
    async def performance(model: Annotated[Literal[tuple(MODELS)] | None, Query()] = None) -> Response:
        return await answer(forecasts.performance, model, envelope="performance")

    @app.get(
        "/v1/backtest",
        summary="Walk-forward metrics per season and the paired comparisons",
        response_model=Backtest,
        responses=NO_COPY,
    )
    async def backtest() -> Response:
        return await answer(forecasts.backtest)

    return app
