"""MLflow, used correctly: one run per training that always ends (FINISHED or FAILED), registered
versions, aliases. mlflow is imported inside each function (it takes seconds to import).

Why not dagster-mlflow's resource: it starts an MLflow run when the resource is initialised and ends it
only in its own teardown, so a plain `materialize` leaves runs RUNNING, and in one process it reuses
the active run across Dagster runs. Here every training opens and closes its own run.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's chatter around the calls that cause it: INFO lines for every registered version and new store,
    the "Successfully registered" prints, and the missing-type-hint warning of a pyfunc wrapper (its input is
    whatever the wrapped model takes). Its errors still raise. (Progress bars are off from import: fpl_platform.)"""
    import logging
    import warnings

    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.filterwarnings("ignore", message=".*type hints to the `predict` method", category=UserWarning)
            yield
    finally:
        logger.setLevel(level)


def _client(tracking_uri: str):
    import mlflow
    from mlflow import MlflowClient

    if tracking_uri.startswith("sqlite:///"):
        _seed_sqlite_store(Path(tracking_uri.removeprefix("sqlite:///")))
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with _quiet():  # a new sqlite store logs its table creation
        return mlflow, MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _seed_sqlite_store(database: Path) -> None:
    """A new sqlite store starts as a copy of an empty one made once per MLflow release (in the cache), instead of
    running MLflow's ~50 schema migrations (seconds) for every new home, replay and test. The copy holds the tables
    only: MLflow adds its Default experiment, with this store's artifact root, when it first opens the store."""
    import os
    import shutil
    import sqlite3

    if database.exists():
        return
    import mlflow

    from fpl_platform.lib import paths

    template = paths.cache_dir() / "mlflow" / f"empty-store-{mlflow.__version__}.db"
    if not template.exists():
        template.parent.mkdir(parents=True, exist_ok=True)
        building = template.with_suffix(f".{os.getpid()}.tmp")
        building.unlink(missing_ok=True)
        with _quiet():
            mlflow.MlflowClient(tracking_uri=f"sqlite:///{building}").search_experiments()
        with contextlib.closing(sqlite3.connect(building)) as connection, connection:
            connection.execute("DELETE FROM experiments")
        os.replace(building, template)
    database.parent.mkdir(parents=True, exist_ok=True)
    copy = database.with_name(f".{database.name}.{os.getpid()}.tmp")
    shutil.copyfile(template, copy)
    try:
        os.link(copy, database)  # only if no other process created the store meanwhile
    except FileExistsError:
        pass
    finally:
        copy.unlink()


def experiment_id(tracking_uri: str, name: str, artifact_root: str) -> str:
    """The experiment's id, created with artifacts under `artifact_root` when new."""
    _, client = _client(tracking_uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    Path(artifact_root).mkdir(parents=True, exist_ok=True)
    return client.create_experiment(name, artifact_location=Path(artifact_root, name).resolve().as_uri())


@contextlib.contextmanager
def training_run(tracking_uri: str, experiment: str, artifact_root: str, run_name: str, tags: dict[str, str]) -> Iterator:
    """A fresh MLflow run (never a reused active one) that ends FINISHED, or FAILED on any exception."""
    mlflow, client = _client(tracking_uri)
    run = client.create_run(experiment_id(tracking_uri, experiment, artifact_root), run_name=run_name, tags=tags)
    try:
        with mlflow.start_run(run_id=run.info.run_id):
            yield run.info.run_id
    except BaseException:
        client.set_terminated(run.info.run_id, status="FAILED")
        raise
    client.set_terminated(run.info.run_id, status="FINISHED")


def model_requirements() -> list[str]:
    """The pinned libraries a pickled model needs (with fpl_platform itself on the path).

    Given explicitly, MLflow skips inferring them, which starts a Python subprocess that re-imports the
    model's modules: about 5 s of every training.
    """
    from importlib.metadata import PackageNotFoundError, version

    pinned = []
    for distribution in ("cloudpickle", "numpy", "pandas", "scipy", "scikit-learn", "xgboost-cpu"):
        try:
            pinned.append(f"{distribution}=={version(distribution)}")
        except PackageNotFoundError:
            continue
    return pinned


def log_model(tracking_uri: str, model: object, registered_name: str, *, run_id: str) -> str:
    """Log `model` (any picklable object with predict/predict_proba) as a pyfunc and register a new version."""
    mlflow, _ = _client(tracking_uri)
    with _quiet():  # the wrapper class is checked for type hints when it is defined
        from fpl_platform.lib.mlflow_model import PickledModel

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "model.pkl")
        path.write_bytes(pickle.dumps(model))
        with contextlib.ExitStack() as stack:
            if mlflow.active_run() is None or mlflow.active_run().info.run_id != run_id:
                stack.enter_context(mlflow.start_run(run_id=run_id))
            stack.enter_context(_quiet())
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=PickledModel(),
                artifacts={"model": str(path)},
                registered_model_name=registered_name,
                pip_requirements=model_requirements(),
            )
    return str(info.registered_model_version)


def set_alias(tracking_uri: str, name: str, alias: str, version: str) -> None:
    _, client = _client(tracking_uri)
    client.set_registered_model_alias(name, alias, version)


def delete_alias(tracking_uri: str, name: str, alias: str) -> None:
    """Remove `alias` from the model (no error when it is not set)."""
    _, client = _client(tracking_uri)
    if alias_version(tracking_uri, name, alias) is not None:
        client.delete_registered_model_alias(name, alias)


def aliases(tracking_uri: str, name: str) -> dict[str, str]:
    """alias → version for a registered model ({} when the model does not exist)."""
    _, client = _client(tracking_uri)
    try:
        return {alias: str(version) for alias, version in client.get_registered_model(name).aliases.items()}
    except Exception:  # RESOURCE_DOES_NOT_EXIST
        return {}


def set_version_tag(tracking_uri: str, name: str, version: str, key: str, value: str) -> None:
    _, client = _client(tracking_uri)
    client.set_model_version_tag(name, version, key, value)


def version_exists(tracking_uri: str, name: str, version: str) -> bool:
    """Whether the registry holds `version` of the model (a metadata lookup: the model is not loaded)."""
    _, client = _client(tracking_uri)
    try:
        client.get_model_version(name, str(version))
    except Exception:  # MlflowException (RESOURCE_DOES_NOT_EXIST) for a missing model or version
        return False
    return True


def latest_version(tracking_uri: str, name: str) -> tuple[str, dict[str, str], str] | None:
    """(version, tags, run id) of the model's newest registered version, or None."""
    _, client = _client(tracking_uri)
    try:
        found = client.search_model_versions(f"name = '{name}'", order_by=["version_number DESC"], max_results=1)
    except Exception:  # MlflowException (RESOURCE_DOES_NOT_EXIST) for a model never registered
        return None
    if not found:
        return None
    return str(found[0].version), dict(found[0].tags or {}), found[0].run_id


class RegisteredVersion(NamedTuple):
    """A registered version as the registry's search returns it (the shape of `latest_version`)."""

    version: str
    tags: dict[str, str]
    run_id: str


def model_versions(tracking_uri: str, name: str) -> list[RegisteredVersion]:
    """Every registered version of the model with its tags, oldest first, in one search ([] for no model)."""
    _, client = _client(tracking_uri)
    try:
        found = client.search_model_versions(f"name = '{name}'")
    except Exception:  # MlflowException (RESOURCE_DOES_NOT_EXIST) for a model never registered
        return []
    return sorted((RegisteredVersion(str(v.version), dict(v.tags or {}), v.run_id) for v in found), key=lambda v: int(v.version))


def unfinished_runs(tracking_uri: str, experiment: str) -> list[tuple[str, dict[str, str]]]:
    """(run id, tags) of the experiment's runs still RUNNING, in one search."""
    _, client = _client(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs([found.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000)
    return [(run.info.run_id, dict(run.data.tags)) for run in runs]


def end_run_failed(tracking_uri: str, run_id: str, reason: str) -> None:
    """End a run another process left RUNNING as FAILED, with the reason as its `fpl_platform/ended_by` tag."""
    _, client = _client(tracking_uri)
    client.set_tag(run_id, "fpl_platform/ended_by", reason[:7000])
    client.set_terminated(run_id, status="FAILED")


def alias_version(tracking_uri: str, name: str, alias: str) -> str | None:
    """The version carrying `alias`, or None."""
    _, client = _client(tracking_uri)
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except Exception:  # mlflow raises MlflowException (RESOURCE_DOES_NOT_EXIST) for a missing model or alias
        return None


# Registered versions never change, so a process that loads one again (a replay, the webserver's
# in-process runs, consecutive steps of one run) reuses it: pyfunc loading costs ~0.5 s a model.
_LOADED: OrderedDict[tuple[str, str, str], object] = OrderedDict()
_LOADED_MAX = 8


def load(tracking_uri: str, name: str, alias: str = "champion", *, version: str | None = None) -> tuple[object, str]:
    """The Python object behind `models:/<name>@<alias>` (or the given version) and its version.

    The object is shared by every caller in this process that loads the same version: treat it as read-only.
    """
    mlflow, client = _client(tracking_uri)
    version = str(version or client.get_model_version_by_alias(name, alias).version)
    key = (tracking_uri, name, version)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key], version
    with _quiet():
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model().model
    _LOADED[key] = model
    while len(_LOADED) > _LOADED_MAX:
        _LOADED.popitem(last=False)
    return model, version


def runs(tracking_uri: str, experiment: str) -> list:
    """Every run of an experiment (for tests and status)."""
    _, client = _client(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    return [] if found is None else client.search_runs([found.experiment_id], max_results=10_000)


MLFLOW_UI = "http://127.0.0.1:5000"  # where `fpl-platform ui` serves MLflow's UI


def ui_url(experiment_id: str, run_id: str, artifact_path: str | None = None, *, base: str | None = None) -> str:
    """The MLflow UI page of a run, or of one of its artifacts (base: FPL_PLATFORM_MLFLOW_UI, else `MLFLOW_UI`)."""
    from fpl_platform.lib.paths import setting

    base = (base or setting("FPL_PLATFORM_MLFLOW_UI") or MLFLOW_UI).rstrip("/")
    page = f"{base}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"{page}/artifacts/{artifact_path}" if artifact_path else page


def log_html_report(
    tracking_uri: str,
    experiment: str,
    artifact_root: str,
    html_path: str,
    *,
    run_name: str,
    tags: dict[str, str],
    metrics: dict[str, float] | None = None,
    artifact_dir: str = "reports",
) -> tuple[str, str, str]:
    """Log an HTML file as an artifact of a new, FINISHED run of `experiment` (with tags and metrics): the MLflow
    UI then serves it. Returns (experiment id, run id, artifact path within the run)."""
    import time

    from mlflow.entities import Metric

    _, client = _client(tracking_uri)
    experiment_id_ = experiment_id(tracking_uri, experiment, artifact_root)
    run = client.create_run(experiment_id_, run_name=run_name, tags=tags)
    try:
        client.log_artifact(run.info.run_id, html_path, artifact_path=artifact_dir)
        if metrics:
            stamp = int(time.time() * 1000)
            client.log_batch(run.info.run_id, metrics=[Metric(k, float(v), stamp, 0) for k, v in metrics.items()])
    except BaseException:
        client.set_terminated(run.info.run_id, status="FAILED")
        raise
    client.set_terminated(run.info.run_id, status="FINISHED")
    return experiment_id_, run.info.run_id, f"{artifact_dir}/{Path(html_path).name}"
