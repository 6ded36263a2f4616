"""Runs that the command line executes in its own process, recorded as the code location's runs.

`JobDefinition.execute_in_process` records a run with no code-location origin. The UI then leaves it out of
the overview timeline, offers no re-execution, and the daemon's run-status sensors (which watch their own
location's runs) never see it. Here the run is created with the origin the workspace gives the location, so
a run started by `fpl-platform demo`, `rollback` or a replay looks like one launched from the UI.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator

from fpl_platform.lib import paths

# workspace.yaml's location_name, and the name `dg` gives the project's location ([project] name)
LOCATION_NAME = "fpl_platform"
CODE_LOCATION_MODULE = "fpl_platform.definitions"
# Dagster's implicit asset job: the UI's "Materialize" runs, shown in the timeline as ad hoc materialisations
ASSET_JOB = "__ASSET_JOB"


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
