"""`fpl-platform ab-test create|start|stop|report`: the lifecycle of an A/B test in monitoring.ab_tests.

created → running (predictions assets serve each item from its arm's model; `monitoring/ab_results`
analyses after every gameweek and raises the split through the rollout steps while the treatment is not
worse) → completed (target size or end reached, or a significant result), rolled_back (significantly
worse: the split drops to 0 and an alert goes out) or stopped (by a person). One running test per model.
"""

from __future__ import annotations

import re

import pandas as pd

from fpl_platform.lib import ab, schemas
from fpl_platform.lib.clock import REAL_TIME, Clock
from fpl_platform.lib.models import MODELS
from fpl_platform.resources import MlflowTracking, Warehouse

NAME = re.compile(r"[a-z0-9][a-z0-9_\-]{0,62}")


class AbTestError(ValueError):
    """A request the A/B test's state or arguments do not allow; the message says why."""


def all_tests(warehouse: Warehouse) -> pd.DataFrame:
    if not warehouse.exists(schemas.AB_TESTS.name):
        return pd.DataFrame(columns=schemas.AB_TESTS.column_names)
    return warehouse.read("SELECT * FROM monitoring.ab_tests ORDER BY created_at")


def get(warehouse: Warehouse, name: str) -> dict:
    tests = all_tests(warehouse)
    found = tests[tests["test_name"] == name]
    if found.empty:
        known = ", ".join(tests["test_name"]) or "none yet"
        raise AbTestError(f"no A/B test named {name!r} (known: {known}); create it with `fpl-platform ab-test create`")
    return found.iloc[0].to_dict()


def create(
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    name: str,
    *,
    model: str,
    treatment: str = "challenger",
    split: float = 0.1,
    rollout: str = "",
    min_gameweeks_per_step: int = 2,
    target_size: int | None = None,
    end_as_of: str | None = None,
    alpha: float = 0.05,
    clock: Clock = REAL_TIME,
) -> dict:
    """Define a test (status created): `treatment` is a registered version number or an alias (e.g. challenger).

    A person's command happens in real time; a replay passes its own clock."""
    if not NAME.fullmatch(name):
        raise AbTestError(f"test name {name!r}: expected lower-case letters, digits, '-' or '_' (up to 63)")
    if model not in MODELS:
        raise AbTestError(f"model {model!r}: expected one of {tuple(MODELS)}")
    if not 0 < split <= 1:
        raise AbTestError(f"--split {split}: expected a share in (0, 1], e.g. 0.1")
    try:
        steps = ab.parse_steps(rollout) if rollout else []
    except ValueError as error:
        raise AbTestError(f"--rollout: {error}") from error
    if steps and steps[0] <= split:
        steps = [s for s in steps if s > split]
    if target_size is not None and target_size < 2:
        raise AbTestError(f"--target-size {target_size}: expected at least 2 items")
    if end_as_of is not None and not re.fullmatch(r"\d{4}-\d{2}:\d{1,2}", end_as_of):
        raise AbTestError(f"--end {end_as_of!r}: expected '<season>:<gameweek>', e.g. 2025-26:30")
    if not 0 < alpha < 0.5:
        raise AbTestError(f"--alpha {alpha}: expected a level in (0, 0.5)")
    if not all_tests(warehouse).query("test_name == @name").empty:
        raise AbTestError(f"an A/B test named {name!r} exists already")
    aliases = mlflow_tracking.aliases(model)
    version = aliases.get(treatment) if not treatment.isdigit() else treatment
    if version is None:
        raise AbTestError(f"{model} has no version with alias {treatment!r} (aliases: {aliases or 'none'})")
    version = str(version)
    if not mlflow_tracking.has_version(model, version):
        raise AbTestError(f"{model} has no registered version {version} (aliases: {aliases or 'none'})")
    if str(version) == aliases.get("champion"):
        raise AbTestError(f"{model} version {version} is the champion: the treatment must be another version")
    row = {
        "test_name": name,
        "model_name": model,
        "treatment_version": str(version),
        "traffic_split": float(split),
        "rollout_steps": ",".join(f"{s:g}" for s in steps) or None,
        "min_gameweeks_per_step": int(min_gameweeks_per_step),
        "target_size": target_size,
        "end_as_of": end_as_of,
        "alpha": float(alpha),
        "status": "created",
        "created_at": clock.now(),
        "note": f"created: {model} version {version} against the champion ({aliases.get('champion')}) at {split:.0%}",
    }
    warehouse.upsert((schemas.AB_TESTS, ab.test_frame(row)), source="fpl-platform ab-test create")
    return row


def start(warehouse: Warehouse, name: str, as_of: str = "", clock: Clock = REAL_TIME) -> dict:
    """created or stopped → running (the next predictions are served by arm)."""
    test = get(warehouse, name)
    if test["status"] not in ("created", "stopped"):
        raise AbTestError(f"A/B test {name!r} is {test['status']}: only a created or stopped test can start")
    running = all_tests(warehouse).query("status == 'running' and model_name == @test['model_name']")
    if not running.empty:
        raise AbTestError(f"A/B test {running['test_name'].iat[0]!r} is already running on {test['model_name']}: stop it first")
    first_start = pd.isna(test.get("started_at"))
    test.update(status="running", ended_at=None)
    now = clock.now()
    if first_start:  # a restarted test keeps its first start
        test.update(started_at=now, start_as_of=as_of or None)
    test["note"] = f"started at {now:%Y-%m-%d %H:%M} UTC"
    warehouse.upsert((schemas.AB_TESTS, ab.test_frame(test)), source="fpl-platform ab-test start")
    return test


def stop(warehouse: Warehouse, name: str, clock: Clock = REAL_TIME) -> dict:
    """running → stopped: the champion serves every item again; the analysis so far stays."""
    test = get(warehouse, name)
    if test["status"] != "running":
        raise AbTestError(f"A/B test {name!r} is {test['status']}, not running")
    now = clock.now()
    test.update(status="stopped", ended_at=now, note=f"stopped by a person at {now:%Y-%m-%d %H:%M} UTC")
    warehouse.upsert((schemas.AB_TESTS, ab.test_frame(test)), source="fpl-platform ab-test stop")
    return test


def report(warehouse: Warehouse, name: str) -> str:
    """The test, its analysis now (from the stored assignments and outcomes) and its analysis history."""
    from fpl_platform.defs.monitoring.ab import evaluate

    test = get(warehouse, name)
    lines = [
        f"A/B test {name}: {test['model_name']} version {test['treatment_version']} (treatment) against the champion",
        f"  status {test['status']}, treatment share {float(test['traffic_split']):.0%}"
        + (f", rollout {test['rollout_steps']}" if isinstance(test["rollout_steps"], str) else "")
        + (f", target {int(test['target_size'])} items" if pd.notna(test["target_size"]) else "")
        + (f", ends at {test['end_as_of']}" if isinstance(test["end_as_of"], str) else ""),
        f"  {test['note']}",
    ]
    evaluated = evaluate(warehouse, pd.Series(test)) if warehouse.exists(schemas.AB_ASSIGNMENTS.name) else None
    if evaluated is None:
        lines.append("  no evaluated item yet (items are evaluated once their results are in)")
        return "\n".join(lines)
    _, analysis, as_of = evaluated
    a = analysis
    lines += [
        f"\nAnalysis as of {as_of}: {a.n_items} items over {a.gameweeks} gameweeks ({a.n_control} control, {a.n_treatment} treatment)",
        f"  paired: mean loss control {a.mean_loss_control:.5f}, treatment {a.mean_loss_treatment:.5f}, "
        f"difference {a.mean_difference:+.5f} (95 % CI by gameweek [{a.ci_low:+.5f}, {a.ci_high:+.5f}])",
        f"  paired t = {a.paired_t:.3f} (p {a.paired_t_p:.4f}); Wilcoxon p {a.wilcoxon_p:.4f}; "
        f"Diebold-Mariano = {a.dm_statistic:.3f} (p better {a.dm_p_better:.4f}, p worse {a.dm_p_worse:.4f})",
        f"  arms: served loss control {a.served_loss_control:.5f}, treatment {a.served_loss_treatment:.5f}; "
        f"Mann-Whitney p {a.mann_whitney_p:.4f}; Welch p {a.welch_p:.4f}",
        f"  effect: Cohen's d_z {a.cohens_d_paired:+.4f}, d (arms) {a.cohens_d_arms:+.4f}; power {a.power:.2f}; "
        f"items for 80 % power {a.n_needed:g}",
        f"  recommendation: {a.recommendation.upper()}: {a.reason}",
    ]
    if warehouse.exists(schemas.AB_RESULTS.name):
        history = warehouse.read(
            "SELECT as_of, n_items, round(mean_difference, 5) AS diff, round(dm_p_better, 4) AS p_better, "
            "traffic_split AS split, recommendation, action FROM monitoring.ab_results WHERE test_name = ? ORDER BY evaluated_at",
            [name],
        )
        if not history.empty:
            lines += ["\nRecorded analyses (monitoring.ab_results):", history.to_string(index=False)]
    return "\n".join(lines)
