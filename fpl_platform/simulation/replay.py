"""Season replay: the platform lives through a bundled season gameweek by gameweek, as the daemon would.

For each gameweek g: the source reveals g's results (`ReplaySource`), the clock moves to just after
g's last kickoff, and then only what production runs runs: the automation the code location defines
(`Automation.of`), as the daemon would evaluate it. Today that is the new-data sensor's request (season
ingestion), the run-status sensor's refresh (features, predictions of g+1 from the champion, performance,
drift), the drift and performance sensors' retrain requests (through the gate), and the weekly schedule's
ticks between g's last kickoff and g+1's first. Every run is
executed in process against the replay's own Dagster instance, warehouse and MLflow registry under
`$FPL_PLATFORM_HOME/replays/<season>/`, so a replay never touches the demo's tables. The replay's state of
time (lib.clock.Clock: the simulated "now", the cutoff, the reveal) travels as each run's tags and as the
`clock` resource of each sensor tick; the process is pointed at the replay's home before its first run.

The replay is resumable (a JSON state file records the next gameweek, sensor cursors and executed run
keys) and deterministic (simulated time, seeded models, seeded drift injection).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fpl_platform.lib import ab, paths
from fpl_platform.lib.clock import Clock
from fpl_platform.lib.seasons import ALL_SEASONS, GAMEWEEKS_PER_SEASON, REPLAY_SEASONS_BEFORE, replayable_seasons, span
from fpl_platform.runtime import QUICK, QUIET, CommandFailed, execute_in_process, prepare_home, run_assets, step_failure

# Evidently's HTML report (~5-10 s a model) when a champion has none yet, when the severity rises above its
# last one's, or monthly while drift persists (lib.drift.evidently_due); PSI and KS still run on every
# gameweek and decide the drift sensor's requests, as in production
REPLAY_OPS = {"monitoring__drift": {"config": {"evidently": "on_change"}}}
# `history_seasons`: the bootstrap backtests the season before the replayed one on a model fitted on the one before it
MIN_HISTORY_SEASONS = 2
# the tags the daemon gives a run launched for a RunRequest with a run key, and for a sensor's request (the UI
# shows the sensor as the run's "Launched by"; a sensor's evaluate_tick adds it, a run-status sensor's call does not)
RUN_KEY_TAG = "dagster/run_key"
SENSOR_TAG = "dagster/sensor_name"


@dataclass(frozen=True)
class Automation:
    """What the daemon would evaluate, found in the code location: the sensors and schedules that are on by
    default and request runs of asset jobs. Sensors that only alert or repair (stale data, dead runs) and the
    ones that request op jobs (the analyst copy's publish) are left out: a replay's runs never die unseen, its
    data is never stale, and nobody queries its analyst copy."""

    sensors: tuple  # request runs on their own evidence (new data, drift, performance), in the location's order
    after_success: tuple  # run-status sensors: evaluated after each run that succeeds
    schedules: tuple

    @classmethod
    def of(cls, defs) -> Automation:
        import dagster as dg

        def requests_asset_jobs(names: list[str]) -> bool:
            return bool(names) and all(defs.resolve_job_def(name).asset_layer.executable_asset_keys for name in names)

        on = [s for s in defs.sensors or () if s.default_status == dg.DefaultSensorStatus.RUNNING]
        on = [s for s in on if requests_asset_jobs([target.job_name for target in s.targets])]
        schedules = [
            s
            for s in defs.schedules or ()
            if s.default_status == dg.DefaultScheduleStatus.RUNNING and requests_asset_jobs([s.job_name])
        ]
        return cls(
            tuple(s for s in on if not isinstance(s, dg.RunStatusSensorDefinition)),
            tuple(s for s in on if isinstance(s, dg.RunStatusSensorDefinition)),
            tuple(schedules),
        )


@dataclass
class ReplayState:
    """What a resumed replay needs: where it is, the sensors' cursors, the run keys already executed."""

    season: str
    next_gameweek: int
    inject_drift: str | None
    quick: bool
    ab_test: str | None = None
    history_seasons: int | None = None
    cursors: dict[str, str | None] = field(default_factory=dict)
    run_keys: list[str] = field(default_factory=list)
    last_now: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ReplayState | None:
        return cls(**json.loads(path.read_text())) if path.exists() else None

    def save(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.__dict__, indent=2, sort_keys=True))
        os.replace(temporary, path)


@dataclass(frozen=True)
class DriftInjection:
    """`swap:<fraction>@<gameweek>`: from that gameweek on, swap home and away goals in a seeded fraction of matches."""

    fraction: float
    from_gameweek: int

    @classmethod
    def parse(cls, spec: str) -> DriftInjection:
        import re

        match = re.fullmatch(r"swap:(0?\.\d+|1(?:\.0)?)@(\d{1,2})", spec.strip())
        if not match or float(match.group(1)) == 0 or not 1 <= int(match.group(2)) <= GAMEWEEKS_PER_SEASON:
            raise ValueError(
                f"drift injection {spec!r}: expected 'swap:<fraction>@<gameweek>' with a fraction in (0, 1] and a "
                f"gameweek from 1 to {GAMEWEEKS_PER_SEASON}, e.g. 'swap:0.5@20'"
            )
        return cls(float(match.group(1)), int(match.group(2)))

    def apply(self, data_dir: Path, season: str) -> int:
        """Rewrite the replay's private copy of matches.parquet and fixtures.parquet; returns matches changed."""
        import numpy as np
        import pandas as pd

        from fpl_platform.lib import bundled

        matches = bundled.read(data_dir, "matches")
        fixtures = bundled.read(data_dir, "fixtures")
        target = matches.index[(matches["season"] == season) & (matches["gameweek"] >= self.from_gameweek)]
        picked = np.random.default_rng(20250801).permutation(target)[: round(self.fraction * len(target))]
        swapped = set(zip(matches.loc[picked, "home_team"], matches.loc[picked, "away_team"], strict=True))
        for frame in (matches, fixtures):
            keys = frame.index[
                (frame["season"] == season)
                & pd.Series(
                    [pair in swapped for pair in zip(frame["home_team"], frame["away_team"], strict=True)], index=frame.index
                )
            ]
            frame.loc[keys, ["home_goals", "away_goals"]] = frame.loc[keys, ["away_goals", "home_goals"]].to_numpy()
        matches.to_parquet(data_dir / "matches.parquet", index=False)
        fixtures.to_parquet(data_dir / "fixtures.parquet", index=False)
        return len(picked)


@contextlib.contextmanager
def _unsynced_sqlite(home: Path) -> Iterator[None]:
    """While the block runs, this process writes the sqlite files under `home` without waiting for the disk.

    The Dagster instance (run and event-log shards) and the MLflow registry under a replay's home are
    sqlite files; Dagster opens a fresh connection for every event it stores and commits it at once, so
    each of the ~170 events of a gameweek waited for an fsync (about 40 % of Dagster's time per run,
    measured). `PRAGMA synchronous=OFF` leaves the flushing to the OS: a crash of this process loses
    nothing, a power cut or kernel crash can damage the replay's files, and a replay home can always be
    deleted and replayed. Production's instance (`make ui`, the daemon) is not touched.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    prefix = str(home.resolve()) + os.sep

    def unsynced(connection, _record) -> None:
        if not isinstance(connection, sqlite3.Connection):
            return
        cursor = connection.cursor()
        try:
            files = [row[2] for row in cursor.execute("PRAGMA database_list").fetchall()]
            if any(file and os.path.realpath(file).startswith(prefix) for file in files):
                cursor.execute("PRAGMA synchronous=OFF")
        finally:
            cursor.close()

    event.listen(Engine, "connect", unsynced)
    try:
        yield
    finally:
        event.remove(Engine, "connect", unsynced)


def replay_home(season: str) -> Path:
    return paths.platform_home() / "replays" / season


class Replay:
    """Drives one season's replay against its own instance; see the module docstring."""

    def __init__(
        self,
        season: str,
        *,
        inject_drift: str | None = None,
        quick: bool = False,
        ab_test: str | None = None,
        history_seasons: int | None = None,
        log: Callable[[str], None] = print,
    ):
        replayable = replayable_seasons(paths.data_dir())
        if season not in replayable:
            raise ValueError(
                f"season {season!r} cannot be replayed: expected a season with results and fixtures in the bundled data "
                f"and {REPLAY_SEASONS_BEFORE} seasons before it: {span(replayable)}"
            )
        self.season = season
        self.inject = DriftInjection.parse(inject_drift) if inject_drift else None
        self.inject_spec = inject_drift
        self.quick = quick
        self.ab_steps = ab.parse_steps(ab_test) if ab_test else None
        self.ab_spec = ab_test
        index = ALL_SEASONS.index(season)
        if history_seasons is not None and history_seasons < MIN_HISTORY_SEASONS:
            raise ValueError(
                f"history_seasons {history_seasons}: expected at least {MIN_HISTORY_SEASONS} seasons before {season}"
            )
        # the seasons ingested before the replayed one (all by default; fewer make a faster, rougher start)
        self.first_season = ALL_SEASONS[max(0, index - history_seasons)] if history_seasons else ALL_SEASONS[0]
        self.history_seasons = history_seasons
        self.log = log
        self.parent_home = paths.platform_home()
        self.source_data = paths.data_dir()
        self.home = replay_home(season)
        self.state_file = self.home / "replay_state.json"

    # -- environment -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _at_home(self) -> Iterator[None]:
        """This process pointed at the replay's home (its data copy, warehouse, registry and instance) while the
        replay runs, and at the one it had before afterwards, so a second replay starts where the first did."""
        from fpl_platform.simulation.storage import replay_instance_yaml

        self.home.mkdir(parents=True, exist_ok=True)
        data = self.home / "data"
        if not data.exists():
            shutil.copytree(self.source_data, data, ignore=shutil.ignore_patterns("*.md"))
            if self.inject is not None:
                changed = self.inject.apply(data, self.season)
                self.log(f"injected drift {self.inject_spec}: swapped home/away goals in {changed} matches of {self.season}")
        names = ("FPL_PLATFORM_HOME", "FPL_PLATFORM_DATA_DIR", "FPL_PLATFORM_WAREHOUSE", "FPL_PLATFORM_ANALYTICS", "DAGSTER_HOME")
        saved = {name: os.environ.get(name) for name in names}
        for name in names:
            os.environ.pop(name, None)
        # set before any run, never while one executes: paths.* resolve under the replay's home
        os.environ["FPL_PLATFORM_HOME"] = str(self.home)
        os.environ["FPL_PLATFORM_DATA_DIR"] = str(data)
        try:
            # production's instance settings with storages and pool claims suited to one in-process run at a time
            prepare_home(replay_instance_yaml(paths.REPO_ROOT / "dagster.yaml", paths.dagster_home()))
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One replay per home at a time: a second one fails fast instead of interleaving runs."""
        import fcntl

        with open(self.home / "replay.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise RuntimeError(f"another replay is running in {self.home}; wait for it or stop it first") from error
            yield

    def _reveal(self, gameweek: int, now) -> None:
        """Results through `gameweek` are known, and it is `now`: the clock of every run and tick that follows."""
        label = f"{self.season}:{gameweek}"
        self.clock = Clock(now.tz_convert("UTC"), as_of=label, reveal=label)

    # -- the season's calendar --------------------------------------------------------------------
    def _calendar(self):
        """Per gameweek: first and last kickoff (UTC)."""
        import pandas as pd

        from fpl_platform.lib import bundled

        matches = bundled.read(self.home / "data", "matches")
        season = matches[matches["season"] == self.season]
        kickoffs = pd.to_datetime(season["kickoff"], utc=True)
        return season.assign(kickoff=kickoffs).groupby("gameweek")["kickoff"].agg(["min", "max"])

    # -- running what the daemon would run ----------------------------------------------------------
    def _launch(self, instance, job_name: str, request, gameweek: int) -> None:
        """Run a request, then, as the daemon would, what the run-status sensors request after its success."""
        import dagster as dg

        run_id = self._execute(instance, job_name, request, gameweek)
        for sensor in self.automation.after_success if run_id else ():
            follow = self._after_success(instance, run_id, sensor)
            if follow is not None:
                follow = dg.RunRequest(
                    run_key=follow.run_key,
                    tags={**follow.tags, SENSOR_TAG: sensor.name},
                    job_name=follow.job_name,
                    partition_key=follow.partition_key,
                )
                self._launch(instance, follow.job_name or sensor.targets[0].job_name, follow, gameweek)

    def _execute(self, instance, job_name: str, request, gameweek: int, extra_ops: dict | None = None) -> str | None:
        """Run a requested job in process, as the daemon would launch it; the id of its run if it succeeded (on a
        resumed replay, of the run that had the request's run key), else None."""
        import dagster as dg

        from fpl_platform.definitions import defs
        from fpl_platform.lib.models import MODELS

        key = request.run_key or f"{job_name}-{gameweek}-{self.clock.now().isoformat()}"
        if key in self.state.run_keys:
            self.log(f"  gw {gameweek}: {job_name} for {key} already ran (resumed replay)")
            runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: key}), limit=1)
            return runs[0].run_id if runs and runs[0].status == dg.DagsterRunStatus.SUCCESS else None
        job = defs.resolve_job_def(job_name)
        selection = None
        if gameweek >= GAMEWEEKS_PER_SEASON:  # the season is over: no next gameweek to train for or to predict
            keys = job.asset_layer.executable_asset_keys
            if keys & {dg.AssetKey(model.model_asset) for model in MODELS.values()}:
                self.log(f"  gw {gameweek}: {job_name} not run: the season is over, no next gameweek to train for")
                return None
            served = {dg.AssetKey(model.predictions_asset) for model in MODELS.values()}
            selection = sorted(keys - served)
            if not selection:
                return None
        nodes = {node.name for node in job.graph.node_defs} | set(job.graph.node_dict)
        ops = {op: config for op, config in {**REPLAY_OPS, **(QUICK if self.quick else {})}.items() if op in nodes}
        for op, config in (extra_ops or {}).items():
            ops[op] = {"config": {**ops.get(op, {}).get("config", {}), **config["config"]}}
        started = time.perf_counter()
        result = execute_in_process(
            job,
            instance,
            run_config={**QUIET, **({"ops": ops} if ops else {})},
            tags={**request.tags, **self.clock.tags(), RUN_KEY_TAG: key, "fpl_platform/replay": self.season},
            partition_key=request.partition_key,
            asset_selection=selection,
            raise_on_error=False,
        )
        elapsed = time.perf_counter() - started
        self.state.seconds[job_name] = self.state.seconds.get(job_name, 0.0) + elapsed
        self.state.run_keys.append(key)
        self.state.save(self.state_file)  # a resumed replay never re-runs a finished run
        self.log(f"  gw {gameweek}: {job_name} {'ok' if result.success else 'FAILED'} in {elapsed:.1f}s ({key})")
        if not result.success:
            self._after_failure(instance, result)
        return result.run_id if result.success else None

    def _after_failure(self, instance, result) -> None:
        """The run-failure sensor, as the daemon evaluates it."""
        from fpl_platform.defs.monitoring.sensors import alert_for_failed_run

        alert_for_failed_run(instance, result.run_id)

    def _tick(self, instance, sensor) -> list:
        import dagster as dg

        from fpl_platform.definitions import defs
        from fpl_platform.resources import RunClock

        resources = {k: v for k, v in (defs.resources or {}).items() if k in sensor.required_resource_keys}
        if "clock" in resources:
            resources["clock"] = RunClock.of(self.clock)
        context = dg.build_sensor_context(
            instance=instance,
            cursor=self.state.cursors.get(sensor.name),
            resources=resources,
            sensor_name=sensor.name,
            repository_def=defs.get_repository_def(),
        )
        evaluation = sensor.evaluate_tick(context)
        self.state.cursors[sensor.name] = evaluation.cursor
        return self._requests(sensor.name, evaluation)

    def _requests(self, name: str, evaluation) -> list:
        """A sensor's or schedule's run requests; its skip reason is logged when it requests nothing."""
        if not evaluation.run_requests and evaluation.skip_message:
            self.log(f"    {name}: {evaluation.skip_message}")
        return list(evaluation.run_requests or [])

    def _after_success(self, instance, run_id: str, sensor):
        """A run-status sensor's request after a successful run (None when it skips)."""
        import dagster as dg

        run = instance.get_run_by_id(run_id)
        success = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0]
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name, dagster_instance=instance, dagster_run=run, dagster_event=success.dagster_event
        )
        request = sensor(context)
        return request if isinstance(request, dg.RunRequest) else None

    def _bootstrap(self, instance, gameweek: int) -> None:
        """Ingest everything up to the start, backtest the seasons before it, train the first champions."""
        import dagster as dg

        from fpl_platform.definitions import defs

        index = ALL_SEASONS.index(self.season)
        lowest = ALL_SEASONS.index(self.first_season) + 1  # every backtest or validation season has one before it
        # backtest up to three seasons before the replayed one, each with at least one season of history
        before = ALL_SEASONS[max(2, lowest, index - 3) : index][-1 if self.quick else -3 :]
        first = ALL_SEASONS.index(before[0])
        ops = {
            **REPLAY_OPS,
            "ml__match_backtest": {
                "config": {
                    "seasons": before,
                    "validation_seasons": ALL_SEASONS[max(1, lowest, first - 3) : first] or before[:1],
                }
            },
            "ml__player_backtest": {"config": {"seasons": before[-1:]}},
        }
        if self.quick:
            ops["ml__player_backtest"]["config"].update(QUICK["ml__player_backtest"]["config"], seasons=before[-1:])
            ops["ml__match_outcome_model"] = QUICK["ml__match_outcome_model"]
            ops["ml__player_points_model"] = QUICK["ml__player_points_model"]
            ops["monitoring__drift"] = QUICK["monitoring__drift"]
        graph = defs.resolve_asset_graph()
        keys = graph.get_all_asset_keys()
        partitioned = [k for k in keys if graph.get(k).partitions_def is not None]
        started = time.perf_counter()
        for selection, tags, run_config in (
            (
                partitioned,
                {"dagster/asset_partition_range_start": self.first_season, "dagster/asset_partition_range_end": self.season},
                QUIET,
            ),
            ([k for k in keys if k not in partitioned], {}, {**QUIET, "ops": ops}),
        ):
            result = run_assets(
                dg.AssetSelection.assets(*selection),
                instance,
                tags={**tags, **self.clock.tags(), "fpl_platform/trigger": "replay", "fpl_platform/replay": self.season},
                run_config=run_config,
                raise_on_error=False,
            )
            if not result.success:
                raise CommandFailed(f"replay bootstrap failed: {step_failure(result)} (Dagster run {result.run_id})")
        self.state.seconds["bootstrap"] = time.perf_counter() - started
        self.log(
            f"bootstrap as of {self.season}:{gameweek}: ingested, backtested {before}, champions trained in {self.state.seconds['bootstrap']:.0f}s"
        )

    def _start_ab_test(self, instance, gameweek: int) -> None:
        """A second match-outcome recipe trained through the gate, A/B tested against the champion all season.

        The treatment is the recipe the champion is not (xgboost against a logistic champion, else the
        logistic one), trained at the same cutoff; it starts at the first rollout step and is raised through
        the others while not worse; the analysis completes the test at gameweek 38.
        """
        import dagster as dg

        from fpl_platform import ab_tests
        from fpl_platform.resources import MlflowTracking, Warehouse

        tracking = MlflowTracking()
        warehouse = Warehouse()
        # the champion's recipe, from its training row (no need to load the model)
        name = warehouse.read(
            "SELECT candidate FROM ml.match_outcome_model WHERE version = ?", [tracking.aliases("match_outcome")["champion"]]
        )["candidate"].iat[0]
        other = "xgboost" if name != "xgboost" else "logistic_dc_elo"
        request = dg.RunRequest(run_key=f"ab-treatment-{self.season}", tags={"fpl_platform/trigger": "manual"})
        if not self._execute(
            instance,
            "retrain_match_outcome_job",
            request,
            gameweek,
            {"ml__match_outcome_model": {"config": {"candidate": other}}},
        ):
            raise RuntimeError("replay: training the A/B treatment failed; see the Dagster run")
        aliases = tracking.aliases("match_outcome")
        treatment = aliases["challenger"] if aliases.get("challenger") != aliases.get("champion") else aliases["previous"]
        test_name = f"replay-{self.season}"
        if ab_tests.all_tests(warehouse).query("test_name == @test_name").empty:
            ab_tests.create(
                warehouse,
                tracking,
                test_name,
                model="match_outcome",
                treatment=str(treatment),
                split=self.ab_steps[0],
                rollout=",".join(str(step) for step in self.ab_steps[1:]),
                end_as_of=f"{self.season}:{GAMEWEEKS_PER_SEASON}",
                clock=self.clock,
            )
            ab_tests.start(warehouse, test_name, as_of=f"{self.season}:{gameweek}", clock=self.clock)
        self.log(f"A/B test {test_name}: {other} (version {treatment}) against the {name} champion, steps {self.ab_spec}")
        self._execute(instance, "refresh_predictions_job", dg.RunRequest(run_key=f"ab-serve-{self.season}"), gameweek)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, from_gameweek: int = 1, to_gameweek: int = GAMEWEEKS_PER_SEASON) -> ReplayState:
        if not 1 <= from_gameweek <= to_gameweek <= GAMEWEEKS_PER_SEASON:
            raise ValueError(f"gameweeks must satisfy 1 ≤ from ≤ to ≤ 38, got {from_gameweek} … {to_gameweek}")
        # a replay with other settings in this home is refused before anything is copied or written
        state = ReplayState.load(self.state_file)
        if state is not None and (
            (state.inject_drift, state.quick, state.ab_test, state.history_seasons)
            != (self.inject_spec, self.quick, self.ab_spec, self.history_seasons)
        ):
            raise ValueError(
                f"{self.home} holds a replay with inject_drift={state.inject_drift!r}, quick={state.quick}, "
                f"ab_test={state.ab_test!r}, history_seasons={state.history_seasons}; delete that directory to start "
                "a different one"
            )
        with self._at_home(), self._locked():
            return self._run(from_gameweek, to_gameweek)

    def _run(self, from_gameweek: int, to_gameweek: int) -> ReplayState:
        import dagster as dg
        import pandas as pd

        from fpl_platform.definitions import defs
        from fpl_platform.lib import warehouse

        self.automation = Automation.of(defs)

        state = ReplayState.load(self.state_file)  # again under the lock: a replay that just finished may have saved it
        fresh = state is None
        self.state = state or ReplayState(
            self.season, from_gameweek, self.inject_spec, self.quick, self.ab_spec, self.history_seasons
        )
        calendar = self._calendar()
        with _unsynced_sqlite(self.home), warehouse.session(paths.warehouse_path()), dg.DagsterInstance.get() as instance:
            if fresh:
                start = from_gameweek - 1
                first = calendar.loc[from_gameweek, "min"]
                self._reveal(start, first - pd.Timedelta(days=2))
                self._bootstrap(instance, start)
                if self.ab_steps:
                    self._start_ab_test(instance, start)
                self.state.last_now = (first - pd.Timedelta(days=2)).isoformat()
                self.state.save(self.state_file)
            for gameweek in range(self.state.next_gameweek, to_gameweek + 1):
                started = time.perf_counter()
                now = calendar.loc[gameweek, "max"] + pd.Timedelta(hours=3)
                self._reveal(gameweek, now)
                self.log(f"{self.season} gameweek {gameweek}: results revealed, clock {now:%Y-%m-%d %H:%M} UTC")
                for sensor in self.automation.sensors:
                    for request in self._tick(instance, sensor):
                        self._launch(instance, request.job_name or sensor.targets[0].job_name, request, gameweek)
                for schedule in self.automation.schedules:
                    self._schedule_ticks(instance, schedule, calendar, gameweek)
                self.state.next_gameweek = gameweek + 1
                self.state.seconds[f"gameweek_{gameweek}"] = time.perf_counter() - started
                self.state.save(self.state_file)
        self.report()
        return self.state

    def report(self) -> tuple[Path, Path]:
        """Write the season report (markdown and HTML) for the gameweeks replayed so far."""
        from fpl_platform.lib import season_report
        from fpl_platform.lib import warehouse as duck

        markdown, page = season_report.write(
            lambda sql, params: duck.read_sql(paths.warehouse_path(), sql, params), self.season, paths.reports_dir()
        )
        self.log(f"season report: {markdown} and {page}")
        return markdown, page

    def _schedule_ticks(self, instance, schedule, calendar, gameweek: int) -> None:
        """The schedule's ticks between this gameweek's last kickoff and the next one's first, at their moments."""
        import dagster as dg
        import pandas as pd

        from fpl_platform.lib.cron import ticks

        start = calendar.loc[gameweek, "max"]
        end = calendar.loc[gameweek + 1, "min"] if gameweek + 1 in calendar.index else start + pd.Timedelta(days=7)
        for tick in ticks(schedule.cron_schedule, schedule.execution_timezone or "UTC", start, end):
            self.clock = self.clock.at(tick.tz_convert("UTC"))
            context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick.to_pydatetime())
            for request in self._requests(f"{schedule.name} at {tick:%Y-%m-%d %H:%M}", schedule.evaluate_tick(context)):
                self._launch(instance, request.job_name or schedule.job_name, request, gameweek)
