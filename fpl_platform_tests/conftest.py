"""Shared fixtures: every test gets its own warehouse, analyst copy and Dagster instance."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from fpl_platform.lib import paths
from fpl_platform.resources import FootballData, FplSource, MlflowTracking, Notifier, RunClock, Warehouse

REPO = paths.REPO_ROOT
BUNDLED = REPO / "data"


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory, worker_id) -> Path:
    """One fit cache for the whole session, both xdist workers' tests included: fits are keyed by their rows'
    content, recipe and code, and stored atomically, so a test reusing another's fit gets the model it would have
    fitted. Most tests fit the same seasons; the README's commands, run as written, keep their home's own cache."""
    root = tmp_path_factory.getbasetemp()
    return (root.parent if worker_id != "master" else root) / "shared-cache"


@pytest.fixture(scope="session")
def demo_home(shared_cache) -> Path:
    """A home after `fpl-platform demo --quick`, built once for the session by whichever xdist worker asks first
    (the other waits on the lock): for tests that only read what a demo leaves, never write to it."""
    import fcntl
    import os
    import subprocess
    import sys

    home = shared_cache.parent / "demo-home"
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(shared_cache.parent / "demo-home.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "built").exists():
            shutil.rmtree(home, ignore_errors=True)  # a build that died half-way
            env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_"))}
            env |= {"FPL_PLATFORM_HOME": str(home), "FPL_PLATFORM_CACHE": str(shared_cache)}
            command = [str(Path(sys.executable).with_name("fpl-platform")), "demo", "--quick"]
            out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
            assert out.returncode == 0, out.stderr[-3000:]
            (home / "built").touch()
    return home


@pytest.fixture(scope="module")
def demo_copy(demo_home):
    """The demo's analyst copy through the read-only door (DuckDB opens a file once per process with one
    configuration: the one the API and the dashboard open it with)."""
    from fpl_platform.lib.analyst import connect_read_only

    connection = connect_read_only(demo_home / "analytics.duckdb")
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch, shared_cache) -> Path:
    """Point FPL_PLATFORM_HOME (and everything under it but the fit cache) at a temporary directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("FPL_PLATFORM_HOME", str(home))
    monkeypatch.setenv("FPL_PLATFORM_CACHE", str(shared_cache))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    for name in ("FPL_PLATFORM_WAREHOUSE", "FPL_PLATFORM_ANALYTICS", "FPL_PLATFORM_SOURCE", "FPL_PLATFORM_FOOTBALL_DATA"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def warehouse(isolated_home) -> Warehouse:
    return Warehouse(
        path=str(isolated_home / "warehouse.duckdb"),
        analytics_path=str(isolated_home / "analytics.duckdb"),
        lock_timeout_seconds=20,
    )


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A private copy of the bundled snapshot that a test may damage."""
    target = tmp_path / "data"
    shutil.copytree(BUNDLED, target, ignore=shutil.ignore_patterns("*.md"))
    return target


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def resources_for(warehouse: Warehouse, data_dir: Path | str = BUNDLED, **kwargs) -> dict:
    """Every resource the Definitions need, pointed at the test's own warehouse and MLflow store."""
    mlflow = Path(warehouse.file).parent / "mlflow"  # where the command line's default MLflow store is
    return {
        "mlflow_tracking": MlflowTracking(
            tracking_uri=f"sqlite:///{mlflow / 'mlflow.db'}", artifact_root=str(mlflow / "artifacts")
        ),
        "notifier": Notifier(backoff_seconds=0.01),
        "warehouse": warehouse,
        "fpl_source": FplSource(data_dir=str(data_dir), **kwargs.pop("fpl", {})),
        "football_data_source": FootballData(**kwargs.pop("football_data", {})),
        "clock": RunClock(),
    }


def materialise(
    selection: list[str],
    resources: dict,
    instance,
    *,
    seasons: tuple[str, str] | None = None,
    raise_on_error: bool = True,
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialise assets (and their checks) from the real Definitions against a test instance."""
    from fpl_platform.definitions import defs

    tags = {}
    if seasons:
        tags = {"dagster/asset_partition_range_start": seasons[0], "dagster/asset_partition_range_end": seasons[1]}
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=dg.AssetSelection.from_coercible(selection),
        resources=resources,
        instance=instance,
        tags=tags,
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


def table(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    return warehouse.read(sql)


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The user-code error text of the first failed step."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            texts = []
            while error is not None:
                texts.append(error.message)
                error = error.cause
            return "\n".join(texts)
    return ""


# the end-to-end tests take minutes each; started first, they run side by side on the two xdist
# workers while the short tests fill the gaps, instead of meeting at the end of one worker's queue
LONG_TESTS = (
    "test_replay_is_deterministic_resumable_and_runs_an_ab_test",
    "test_the_readme_as_written",
    "test_rerunning_the_graph_and_each_asset_changes_nothing_and_a_new_round_is_taken_in",
    "test_pipeline_end_to_end",
    "test_live_mode_predicts_the_real_next_gameweek",
    "test_a_real_training_killed_after_its_alias_move_is_recorded_as_it_would_have_been",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.originalname in LONG_TESTS:
            item.add_marker(pytest.mark.slow)
    items.sort(
        key=lambda item: (
            item.originalname not in LONG_TESTS,
            LONG_TESTS.index(item.originalname) if item.originalname in LONG_TESTS else 0,
        )
    )
