"""The deployment's settings from the environment, and where generated state lives: everything under
FPL_PLATFORM_HOME (default `.fpl_platform/` in the repo).

This is the one module that reads the platform's environment variables (`setting`); docs/configuration.md
lists them. Secrets (SMTP password, webhooks) are read by lib.notify when it sends, never stored.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FPL_API = "https://fantasy.premierleague.com/api"


def setting(name: str) -> str:
    """The environment variable `name` ('' when unset): a deployment setting, read where it is configured."""
    return os.environ.get(name, "").strip()


# FPL_PLATFORM_SOURCE values a person sets; a replay's runs read the replay source through their clock's reveal
SOURCE_MODES = ("bundled", "live")


def source_mode(mode: str, *, setting: str = "FPL_PLATFORM_SOURCE") -> str:
    """`mode` if it names a source, else a SettingError naming the setting."""
    from fpl_platform.lib.errors import SettingError

    if mode in SOURCE_MODES:
        return mode
    raise SettingError(setting, mode, " or ".join(repr(m) for m in SOURCE_MODES))


def platform_home() -> Path:
    """FPL_PLATFORM_HOME, or `.fpl_platform/` beside pyproject.toml."""
    return Path(os.environ.get("FPL_PLATFORM_HOME") or REPO_ROOT / ".fpl_platform").resolve()


def warehouse_path() -> Path:
    """The DuckDB warehouse pipelines write."""
    return Path(os.environ.get("FPL_PLATFORM_WAREHOUSE") or platform_home() / "warehouse.duckdb")


def analytics_path() -> Path:
    """The analyst copy, published atomically after successful runs."""
    return Path(os.environ.get("FPL_PLATFORM_ANALYTICS") or platform_home() / "analytics.duckdb")


def data_dir() -> Path:
    """The bundled snapshot (Parquet built from the airsenal wheel)."""
    return Path(os.environ.get("FPL_PLATFORM_DATA_DIR") or REPO_ROOT / "data")


def dagster_home() -> Path:
    """DAGSTER_HOME if set, else `<FPL_PLATFORM_HOME>/dagster`."""
    return Path(os.environ.get("DAGSTER_HOME") or platform_home() / "dagster")


def reports_dir() -> Path:
    """HTML reports (Evidently drift reports, season reports)."""
    directory = platform_home() / "reports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def mlflow_dir() -> Path:
    """MLflow's sqlite store and artifacts."""
    return platform_home() / "mlflow"


def mlflow_uri() -> str:
    """The default MLflow tracking and registry URI (sqlite under FPL_PLATFORM_HOME/mlflow)."""
    return f"sqlite:///{mlflow_dir() / 'mlflow.db'}"


def cache_dir() -> Path:
    """FPL_PLATFORM_CACHE, or `<FPL_PLATFORM_HOME>/cache`: content-keyed, so several homes (a replay's, a test's) may
    share one."""
    return Path(os.environ.get("FPL_PLATFORM_CACHE") or platform_home() / "cache")


def fits_dir() -> Path:
    """Fitted models memoised by their training rows (lib.gate.FitCache): a cache, safe to delete."""
    return cache_dir() / "fits"
