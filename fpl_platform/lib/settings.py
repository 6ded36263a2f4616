"""Monitoring and automation thresholds: defaults here, overridden by a YAML file, overridden by run config.

The file is `FPL_PLATFORM_CONFIG` if set, else `$FPL_PLATFORM_HOME/fpl_platform.yaml` when it exists. It
holds any of the sections below with any subset of their keys; an unknown section or key, or a value of
the wrong type, is an error naming the file and the key. It is read when a step or sensor tick runs, so
an edit applies to the next run without reloading the code location.
"""

from __future__ import annotations

import os
from pathlib import Path

from fpl_platform.lib import paths
from fpl_platform.lib.errors import DataValidationError

DEFAULTS: dict[str, dict[str, float | int | str | bool]] = {
    # monitoring/performance: statistical process control against the model's own backtest
    "performance": {
        "rolling_gameweeks": 6,  # the rolling window the sensors act on
        "warning_sigma": 2.0,  # rolling mean above centre + k·σ(rolling) → warning
        "critical_sigma": 3.0,  # … → critical (retrain, within the cooldown)
        "emergency_sigma": 5.0,  # … or one gameweek above centre + k·σ(gameweek) → emergency (retrain now)
        "cusum_k": 0.5,  # CUSUM slack, in σ of one gameweek
        "cusum_h": 5.0,  # CUSUM decision interval: above it the shift is sustained → critical
        "backtest_seasons": 3,  # the last N backtest seasons set the centre line and σ
    },
    # the blocking champion/challenger gate in ml/match_outcome_model and ml/player_points_model
    "gate": {
        "match_margin": 0.0005,  # challenger RPS must be lower by at least this
        "player_margin": 0.005,  # challenger RMSE must be lower by at least this
        "alpha": 0.05,  # one-sided paired test level
        "test": "diebold_mariano",  # or "wilcoxon"
        "match_gameweeks": 38,  # compare on the last N finished gameweeks before the cutoff
        "player_gameweeks": 8,
        "refit_every_gameweeks": 4,  # both recipes refit walk-forward inside the window
    },
    # sensors and the schedule
    "automation": {
        "retrain_cooldown_hours": 24.0,  # minimum interval between retrains of a model (emergency excepted)
        "max_attempts_per_trigger": 3,  # retrains requested for one persisting trigger before asking a person
        "stale_data_days": 16.0,  # in season, no new result for longer than this → stale-data alert
    },
}


def config_file() -> Path:
    """The YAML file consulted (it may not exist)."""
    return Path(os.environ.get("FPL_PLATFORM_CONFIG") or paths.platform_home() / "fpl_platform.yaml")


def load(section: str) -> dict:
    """The section's settings: defaults updated by the YAML file (validated)."""
    import yaml

    values = dict(DEFAULTS[section])
    path = config_file()
    if not path.exists():
        if os.environ.get("FPL_PLATFORM_CONFIG"):
            raise DataValidationError(str(path), "FPL_PLATFORM_CONFIG names a file that does not exist")
        return values
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise DataValidationError(str(path), f"not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise DataValidationError(str(path), "expected a mapping of sections (performance, gate, automation)")
    unknown = set(document) - set(DEFAULTS)
    if unknown:
        raise DataValidationError(str(path), f"unknown sections {sorted(unknown)}; expected {sorted(DEFAULTS)}")
    for key, value in (document.get(section) or {}).items():
        if key not in values:
            raise DataValidationError(str(path), f"{section}.{key} is not a setting; expected one of {sorted(values)}")
        expected = type(values[key])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise DataValidationError(str(path), f"{section}.{key} = {value!r}: expected {expected.__name__}")
        values[key] = value
    return values


def resolve(section: str, overrides: dict) -> dict:
    """Settings of `section` with the non-None `overrides` (a run's dg.Config fields) applied on top."""
    values = load(section)
    values.update({k: v for k, v in overrides.items() if v is not None and k in values})
    return values
