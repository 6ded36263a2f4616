"""Every threshold and tuning default of training, monitoring and automation: defaults here (the one place they
are written), overridden by a YAML file, overridden by run config.

The file is `FPL_PLATFORM_CONFIG` if set, else `$FPL_PLATFORM_HOME/fpl_platform.yaml` when it exists. It
holds any of the sections below with any subset of their keys; an unknown section or key, or a value of
the wrong type or outside its range (RULES), is an error naming the file, the key, the value and what is
expected. It is read when a step or sensor tick runs, so an edit applies to the next run without reloading
the code location; the command line checks the whole file (`check`) before it starts any run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
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
    # monitoring/drift: the champions' recent inputs and predictions against their training window
    "drift": {
        "current_gameweeks": 6,  # the current window: the latest gameweeks up to the one predicted now
        "reference_gameweeks": 76,  # the reference: the champion's last N gameweeks of training data
        "psi_warning": 0.1,  # a feature's PSI at or above this drifts (warning) ...
        "psi_critical": 0.25,  # ... at or above this, critically
        "ks_p_value": 0.01,  # or a KS test below this p-value ...
        "ks_statistic": 0.1,  # ... with at least this effect size (thousands of rows flag tiny differences)
        "warning_share": 0.2,  # a report's severity from the share of drifted features: warning ...
        "critical_share": 0.4,  # ... critical (the drift sensor requests a retrain)
        # when to draw Evidently's HTML report (~10 s a model): always, on_drift, on_change or never
        "evidently": "always",
        "evidently_max_age_days": 28.0,  # on_change: redraw while drift persists and the last report is this old
        # rows a side the statistics compare (a seeded sample of a larger window): at 10,000 rows PSI's sampling
        # bias and KS's noise are far below their thresholds for any current window of a few hundred rows
        "max_rows": 10_000,
    },
    # the walk-forward backtests and the models' validation
    "training": {
        "refit_every_gameweeks": 4,  # refit the model every N gameweeks while walking forward
        "player_trees": 200,  # boosting rounds of each stage of the player model (the tests' --quick uses fewer)
    },
    # sensors and the schedule
    "automation": {
        "retrain_cooldown_hours": 24.0,  # minimum interval between retrains of a model (emergency excepted)
        "max_attempts_per_trigger": 3,  # retrains requested for one persisting trigger before asking a person
        "stale_data_days": 16.0,  # in season, no new result for longer than this → stale-data alert
    },
}


@dataclass(frozen=True)
class Rule:
    """What a setting must be beyond its type (the type of its default): the test, and the words for it."""

    accepts: Callable[[float | int | str], bool]
    expected: str


def _at_least(minimum: int, unit: str) -> Rule:
    return Rule(lambda value: value >= minimum, f"a whole number of {unit}, at least {minimum}")


def _between(low: float, high: float | None, what: str, *, low_open: bool = True, high_open: bool = True) -> Rule:
    """A number in the interval from `low` to `high` (None: unbounded), each end open or closed."""

    def accepts(value: float) -> bool:
        above = value > low if low_open else value >= low
        below = high is None or (value < high if high_open else value <= high)
        return above and below

    interval = ("(" if low_open else "[") + f"{low:g}, " + ("∞)" if high is None else f"{high:g}" + (")" if high_open else "]"))
    return Rule(accepts, f"a number in {interval} ({what})")


TESTS = ("diebold_mariano", "wilcoxon")  # lib.significance.promotion_decision's one-sided paired tests
EVIDENTLY_POLICIES = ("always", "on_drift", "on_change", "never")  # lib.drift.evidently_due
RULES: dict[str, dict[str, Rule]] = {
    "performance": {
        "rolling_gameweeks": _at_least(1, "gameweeks"),
        "warning_sigma": _between(0, None, "σ above the centre line"),
        "critical_sigma": _between(0, None, "σ above the centre line"),
        "emergency_sigma": _between(0, None, "σ above the centre line"),
        "cusum_k": _between(0, None, "the CUSUM slack in σ", low_open=False),
        "cusum_h": _between(0, None, "the CUSUM decision interval in σ"),
        "backtest_seasons": _at_least(1, "seasons"),
    },
    "gate": {
        # a negative margin would promote a challenger that scores worse than the champion
        "match_margin": _between(0, None, "the RPS improvement a challenger needs", low_open=False),
        "player_margin": _between(0, None, "the RMSE improvement a challenger needs", low_open=False),
        # alpha = 1 (or more) passes every test: every challenger with the margin would be promoted
        "alpha": _between(0, 1, "the one-sided test's level, e.g. 0.05"),
        "test": Rule(lambda value: value in TESTS, " or ".join(repr(test) for test in TESTS)),
        "match_gameweeks": _at_least(1, "gameweeks"),
        "player_gameweeks": _at_least(1, "gameweeks"),
        "refit_every_gameweeks": _at_least(1, "gameweeks"),
    },
    "drift": {
        "current_gameweeks": _at_least(1, "gameweeks"),
        "reference_gameweeks": _at_least(1, "gameweeks"),
        "psi_warning": _between(0, None, "a population stability index"),
        "psi_critical": _between(0, None, "a population stability index"),
        "ks_p_value": _between(0, 1, "a p-value"),
        "ks_statistic": _between(0, 1, "a KS distance", low_open=False),
        "warning_share": _between(0, 1, "a share of the features", high_open=False),
        "critical_share": _between(0, 1, "a share of the features", high_open=False),
        "evidently": Rule(lambda value: value in EVIDENTLY_POLICIES, " or ".join(repr(p) for p in EVIDENTLY_POLICIES)),
        "evidently_max_age_days": _between(0, None, "days"),
        "max_rows": _at_least(100, "rows"),
    },
    "training": {"refit_every_gameweeks": _at_least(1, "gameweeks"), "player_trees": _at_least(1, "trees")},
    "automation": {
        "retrain_cooldown_hours": _between(0, None, "hours (0: no cooldown)", low_open=False),
        "max_attempts_per_trigger": _at_least(1, "retrains"),
        "stale_data_days": _between(0, None, "days"),
    },
}
# settings whose values must not decrease in these orders (a warning is never harder to reach than a critical)
ORDERED = {
    "performance": (("warning_sigma", "critical_sigma", "emergency_sigma"),),
    "drift": (("psi_warning", "psi_critical"), ("warning_share", "critical_share")),
}


def check_value(section: str, key: str, value: object) -> object:
    """`value` as setting `section.key` (an int is a float where a float is expected); raise ValueError saying what
    is expected when it is of the wrong type or outside its range."""
    default = DEFAULTS[section][key]
    rule = RULES.get(section, {}).get(key)
    expected = rule.expected if rule is not None else f"a {type(default).__name__}"
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    wrong_type = not isinstance(value, type(default)) or (isinstance(default, int) and isinstance(value, bool))
    if wrong_type or (isinstance(value, float) and not math.isfinite(value)) or (rule is not None and not rule.accepts(value)):
        raise ValueError(f"{section}.{key} = {value!r}: expected {expected}")
    return value


def config_file() -> Path:
    """The YAML file consulted (it may not exist)."""
    return Path(paths.setting("FPL_PLATFORM_CONFIG") or paths.platform_home() / "fpl_platform.yaml")


def _document(path: Path) -> dict:
    """The YAML file's top-level mapping, every problem an error naming the file (one line but YAML's own)."""
    import yaml

    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataValidationError(str(path), f"cannot be read ({error.strerror}); expected a YAML file") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataValidationError(
            str(path), f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); expected a YAML file"
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise DataValidationError(str(path), f"not valid YAML: {error}") from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise DataValidationError(
            str(path), f"holds {type(document).__name__} {document!r:.40}; expected a mapping of sections ({', '.join(DEFAULTS)})"
        )
    unknown = set(document) - set(DEFAULTS)
    if unknown:
        raise DataValidationError(str(path), f"unknown sections {sorted(unknown, key=str)}; expected {sorted(DEFAULTS)}")
    return document


def load(section: str) -> dict:
    """The section's settings: defaults updated by the YAML file (validated: types, ranges, order)."""
    values = dict(DEFAULTS[section])
    path = config_file()
    if not path.exists():
        if paths.setting("FPL_PLATFORM_CONFIG"):
            raise DataValidationError(str(path), "FPL_PLATFORM_CONFIG names a file that does not exist")
        return values
    given = _document(path).get(section)
    if given is None:  # an absent or empty section
        return values
    if not isinstance(given, dict):
        raise DataValidationError(
            str(path), f"{section} = {given!r:.40}: expected a mapping of settings ({', '.join(DEFAULTS[section])})"
        )
    for key, value in given.items():
        if key not in values:
            raise DataValidationError(str(path), f"{section}.{key} is not a setting; expected one of {sorted(values)}")
        try:
            values[key] = check_value(section, key, value)
        except ValueError as error:
            raise DataValidationError(str(path), str(error)) from None
    for ordered in ORDERED.get(section, ()):
        for lower, higher in itertools.pairwise(ordered):
            if values[lower] > values[higher]:
                raise DataValidationError(
                    str(path),
                    f"{section}.{higher} = {values[higher]!r} is below {section}.{lower} = {values[lower]!r}; "
                    f"expected {' <= '.join(ordered)}",
                )
    return values


def check() -> dict[str, dict]:
    """Every section of the settings file, validated: the command line calls it before it starts any run."""
    return {section: load(section) for section in DEFAULTS}


def resolve(section: str, overrides: dict) -> dict:
    """Settings of `section` with the non-None `overrides` (a run's dg.Config fields) applied on top, each held to
    the same types and ranges as the file's (a ValueError naming the run config otherwise)."""
    values = load(section)
    for key, value in overrides.items():
        if value is None or key not in values:
            continue
        try:
            values[key] = check_value(section, key, value)
        except ValueError as error:
            raise ValueError(f"run config: {error}") from None
    return values
