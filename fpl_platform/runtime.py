"""How the command line and the simulation run the graph in their own process: the platform home and its
Dagster instance, the run configs they share, materialise-all, and runs recorded as the code location's runs.

`JobDefinition.execute_in_process` records a run with no code-location origin. The UI then leaves it out of
the overview timeline, offers no re-execution, and the daemon's run-status sensors (which watch their own
location's runs) never see it. Here the run is created with the origin the workspace gives the location, so
a run started by `fpl-platform demo`, `rollback` or a replay looks like one launched from the UI.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from fpl_platform.lib import paths

# workspace.yaml's location_name, and the name `dg` gives the project's location ([project] name)
LOCATION_NAME = "fpl_platform"
CODE_LOCATION_MODULE = "fpl_platform.definitions"
# Dagster's implicit asset job: the UI's "Materialize" runs, shown in the timeline as ad hoc materialisations
ASSET_JOB = "__ASSET_JOB"
# the first line of a replay's own dagster.yaml (simulation/storage.py), which prepare_home keeps
REPLAY_INSTANCE_PREFIX = "# Written by `fpl-platform replay`"
REPLAY_INSTANCE_HEADER = (
    "# Written by `fpl-platform replay` from the repo's dagster.yaml: see fpl_platform/simulation/storage.py.\n"
)


def location_job_origin(job_name: str):
    """The origin a run of `job_name` launched from the workspace's code location carries."""
    from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable, module_name=CODE_LOCATION_MODULE, working_directory=str(paths.REPO_ROOT)
        ),
        location_name=LOCATION_NAME,
    )
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME), job_name)


@contextlib.contextmanager
def _runs_with_origin(instance, job_name: str) -> Iterator[None]:
    # execute_in_process creates its run through instance.create_run_for_job and offers no way to pass an origin
    create = instance.create_run_for_job
    instance.create_run_for_job = functools.partial(create, remote_job_origin=location_job_origin(job_name))
    try:
        yield
    finally:
        del instance.create_run_for_job


def execute_in_process(job, instance, **kwargs):
    """`job.execute_in_process(instance=instance, **kwargs)`, the run recorded under the code location.

    Runs whose process has died are recovered first (their failure alerted, their pool slot freed), and a
    step that finds the pool taken waits visibly (`recovery.waiting_for_the_pool`).
    """
    from fpl_platform import recovery

    for run_id in recovery.recover(instance):
        _alert(instance, run_id)
    # the run is recorded before it starts; if this process dies in between, the tag lets recovery fail it
    kwargs["tags"] = {**(kwargs.get("tags") or {}), recovery.PROCESS_TAG: recovery.process_tag()}
    with _runs_with_origin(instance, job.name), recovery.waiting_for_the_pool(instance):
        return job.execute_in_process(instance=instance, **kwargs)


def _alert(instance, run_id: str) -> None:
    from fpl_platform.defs.monitoring.sensors import alert_for_failed_run

    try:
        alert_for_failed_run(instance, run_id)
    except Exception as error:  # the recovery matters more than its alert; the daemon's sensor tries again
        print(f"the alert for recovered run {run_id[:8]} could not be recorded: {type(error).__name__}: {error}")


def run_assets(selection, instance, *, tags: dict, run_config: dict, raise_on_error: bool):
    """Materialise `selection` (and its checks) in this process, as the UI's "Materialize" does.

    The job is the code location's assets, checks, resources and loggers (the compact console log).
    """
    import dagster as dg

    from fpl_platform.definitions import defs

    job = dg.Definitions(
        jobs=[dg.define_asset_job(ASSET_JOB, selection=selection)],
        assets=[*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        loggers=defs.loggers,
    ).resolve_job_def(ASSET_JOB)
    # the run records its assets, so the UI's run list shows them as its target (as for the UI's own runs)
    keys = sorted(job.asset_layer.selected_asset_keys)
    return execute_in_process(
        job, instance, run_config=run_config, tags=tags, raise_on_error=raise_on_error, asset_selection=keys
    )


def prepare_home(instance_yaml: str | None = None) -> Path:
    """Create FPL_PLATFORM_HOME and a DAGSTER_HOME inside it holding the repo's dagster.yaml (or `instance_yaml`)."""
    home = paths.platform_home()
    home.mkdir(parents=True, exist_ok=True)
    dagster_home = paths.dagster_home()
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    source = paths.REPO_ROOT / "dagster.yaml"
    if instance_yaml is not None:
        if not config.exists() or config.read_text() != instance_yaml:
            config.write_text(instance_yaml)
    elif source.exists():
        _install_instance_yaml(config, source)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return home


# console logs at INFO: the event stream at DEBUG drowns the summary people read
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


# the raw loads whose audit refuses a shrinking season unless the run allows it (RawLoadConfig)
LOADS = {"raw__matches", "raw__player_gameweeks", "raw__fixtures"}
# `demo --quick`, for tests: the same graph with the backtests cut to one season, coarser refits, a quarter of
# the player model's trees, and drift measured (PSI, KS, severity) without Evidently's HTML report, which
# costs seconds to import and seconds a model to draw
QUICK = {
    "ml__match_backtest": {"config": {"seasons": ["2025-26"], "validation_seasons": ["2024-25"], "refit_every_gameweeks": 8}},
    "ml__match_outcome_model": {"config": {"validation_season_count": 1, "refit_every_gameweeks": 8}},
    "ml__player_backtest": {
        "config": {"seasons": ["2025-26"], "refit_every_gameweeks": 19, "training_seasons": 1, "player_trees": 50}
    },
    "ml__player_points_model": {"config": {"validation_gameweeks": 4, "training_seasons": 1, "player_trees": 50}},
    "monitoring__drift": {"config": {"evidently": "never"}},
}


def materialise_all(
    instance,
    *,
    keys: list | None = None,
    seasons: list[str] | None = None,
    quick: bool = False,
    raise_on_error: bool = True,
    allow_shrink: bool = False,
    tags: dict | None = None,
) -> list:
    """Materialise `keys` (every asset when None): the season-partitioned ones in one single-run backfill of
    `seasons`, then the rest; both runs carry `tags` (e.g. a lib.clock.Clock's).

    Without `raise_on_error`, a failed first run is returned alone (the second would build on its failure).
    With `allow_shrink`, the raw loads may drop rows of a season (see lib/quality.py).
    """
    import dagster as dg

    from fpl_platform.definitions import defs
    from fpl_platform.lib.seasons import ALL_SEASONS

    seasons = seasons or ALL_SEASONS
    graph = defs.resolve_asset_graph()
    keys = list(graph.get_all_asset_keys()) if keys is None else keys

    def ops(selected: list, config: dict) -> dict:
        # run config may only name the run's own steps
        names = {"__".join(key.path) for key in selected}
        chosen = {op: c for op, c in config.items() if op in names}
        if allow_shrink:
            chosen.update({op: {"config": {"allow_shrink": True}} for op in names & LOADS})
        return chosen

    partitioned = [k for k in keys if graph.get(k).partitions_def is not None]
    unpartitioned = [k for k in keys if graph.get(k).partitions_def is None]
    results = []
    if partitioned:
        range_tags = {"dagster/asset_partition_range_start": seasons[0], "dagster/asset_partition_range_end": seasons[-1]}
        results.append(
            run_assets(
                dg.AssetSelection.assets(*partitioned),
                instance,
                tags={**range_tags, "fpl_platform/trigger": "cli", **(tags or {})},
                run_config={**QUIET, "ops": ops(partitioned, {})},
                raise_on_error=raise_on_error,
            )
        )
        if not results[-1].success:
            return results
    if unpartitioned:
        results.append(
            run_assets(
                dg.AssetSelection.assets(*unpartitioned),
                instance,
                tags={"fpl_platform/trigger": "cli", **(tags or {})},
                run_config={**QUIET, "ops": ops(unpartitioned, QUICK if quick else {})},
                raise_on_error=raise_on_error,
            )
        )
    return results


def _install_instance_yaml(config: Path, source: Path) -> None:
    """The repo's dagster.yaml (`source`) as the instance's `config`, unless the instance is a replay's: that keeps
    its own storages (one written before the replay moved to fpl_platform/simulation/ is renewed)."""
    current = config.read_text() if config.exists() else None
    if current is not None and current.startswith(REPLAY_INSTANCE_PREFIX):
        if not current.startswith(REPLAY_INSTANCE_HEADER):
            from fpl_platform.simulation.storage import replay_instance_yaml

            config.write_text(replay_instance_yaml(source, config.parent))
        return
    if current is None or config.read_bytes() != source.read_bytes():
        shutil.copyfile(source, config)


class CommandFailed(Exception):
    """The command could not do its work; the message is the one line printed (exit status 1)."""


def one_line(text: str) -> str:
    """The first non-empty line of an error message (DuckDB's and Dagster's run over several)."""
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def step_failure(result) -> str:
    """What failed in a Dagster run, on one line: the first failed step and its error (a dg.Failure's description)."""
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return one_line(data.user_failure_data.description)
        error = _own_error(data.error)
        if error is None:
            break
        return f"step {event.step_key} failed: {error.cls_name}: {_error_message(error)}"
    for event in result.all_events:  # no step failed: the run itself did (e.g. waiting for the pool too long)
        error = _own_error(event.job_failure_data.error) if event.is_run_failure and event.job_failure_data else None
        if error is not None:
            return _error_message(error) if error.cls_name == "PoolWaitTimeout" else f"{error.cls_name}: {_error_message(error)}"
    return "the run failed"


def _own_error(error):
    while error is not None and error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause  # Dagster's wrapper around the step's own exception
    return error


def _error_message(error) -> str:
    message = one_line(error.message)
    head, _, rest = message.partition(": ")
    return rest if rest and head.rsplit(".", 1)[-1] == error.cls_name else message  # "module.Class: " prefix
