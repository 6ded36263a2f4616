"""The code location loads, has the expected graph, and stays light to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg

from fpl_platform.definitions import defs
from fpl_platform_tests.conftest import REPO

EXPECTED_DEPS = {
    "raw/matches": set(),
    "raw/player_gameweeks": {"raw/matches"},
    "raw/fixtures": set(),
    "raw/teams": {"raw/matches", "raw/fixtures"},
    "raw/match_odds": set(),
    "features/team_ratings": {"raw/matches", "raw/fixtures"},
    "features/match_features": {"features/team_ratings", "raw/player_gameweeks", "raw/match_odds"},
    "ml/match_backtest": {"features/match_features"},
    "ml/backtest_metrics": {"ml/match_backtest", "ml/player_backtest"},
    "ml/backtest_comparisons": {"ml/match_backtest", "ml/player_backtest"},
    "features/player_features": {"raw/player_gameweeks", "raw/squad", "features/team_ratings"},
    "raw/squad": {"raw/fixtures"},
    "monitoring/drift": {
        "ml/match_outcome_model",
        "ml/player_points_model",
        "features/match_features",
        "features/player_features",
    },
    "ml/player_backtest": {"features/player_features"},
    "ml/player_points_model": {"features/player_features", "features/match_features"},
    "predictions/player_points": {"ml/player_points_model", "features/player_features", "monitoring/ab_results", "raw/squad"},
    "ml/match_outcome_model": {"features/match_features"},
    "predictions/match_outcomes": {"ml/match_outcome_model", "features/match_features", "monitoring/ab_results"},
    # before the predictions: a rollback or raised split applies to the next gameweek served
    "monitoring/ab_results": {"features/match_features", "features/player_features"},
    "monitoring/performance": {
        "predictions/match_outcomes",
        "predictions/player_points",
        "ml/match_backtest",
        "ml/player_backtest",
        "features/match_features",
        "features/player_features",
    },
}
GROUPS = {"raw": "ingestion", "features": "features", "ml": "training", "predictions": "serving", "monitoring": "monitoring"}


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == set(EXPECTED_DEPS)
    for key, parents in EXPECTED_DEPS.items():
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert {p.to_user_string() for p in node.parent_keys} == parents, key


def test_every_asset_is_documented_grouped_pooled_and_named_after_its_table():
    from fpl_platform.lib.schemas import ALL_TABLES

    tables = {t.name for t in ALL_TABLES}
    for assets_def in defs.assets:
        for spec in assets_def.specs:
            assert spec.description, spec.key
            assert spec.group_name == GROUPS[spec.key.path[0]]
            assert "duckdb" in spec.kinds
            assert ".".join(spec.key.path) in tables
        assert assets_def.op.pool == "duckdb"
    for check in defs.asset_checks:
        assert check.op.pool == "duckdb"


def test_automation_runs_by_default_and_targets_the_right_jobs():
    repository = defs.get_repository_def()
    sensors = {s.name: s for s in repository.sensor_defs}
    assert {
        "new_data_sensor",
        "refresh_after_ingestion",
        "drift_retrain_sensor",
        "performance_retrain_sensor",
        "stale_data_sensor",
        "alert_on_run_failure",
        "recover_dead_runs",
        "publish_analytics_after_success",
        "refresh_predictions_after_rollback",
    } <= set(sensors)
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())
    schedule = repository.get_schedule_def("weekly_retrain_schedule")
    assert schedule.cron_schedule == "0 23 * * 1" and schedule.execution_timezone == "Europe/London"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    weekly = repository.get_job("weekly_retrain_job")
    assert {k.to_user_string() for k in weekly.asset_layer.executable_asset_keys} == {
        "ml/match_outcome_model",
        "ml/player_points_model",
        "predictions/match_outcomes",
        "predictions/player_points",
    }
    assert {j.name for j in sensors["drift_retrain_sensor"].jobs} == {"retrain_match_outcome_job", "retrain_player_points_job"}


def test_season_partitions_cover_2014_15_to_2026_27():
    graph = defs.resolve_asset_graph()
    keys = graph.get(dg.AssetKey(["raw", "matches"])).partitions_def.get_partition_keys()
    assert keys[0] == "2014-15" and keys[-1] == "2026-27" and len(keys) == 13


def test_blocking_checks_guard_matches():
    specs = [spec for check in defs.asset_checks for spec in check.check_specs]
    blocking = {s.name for s in specs if s.blocking}
    assert {"unique_match_per_season_home_away", "team_names_resolve", "no_duplicate_player_per_fixture"} <= blocking
    assert "minutes_between_0_and_90_plus" not in blocking


def test_code_location_import_does_not_load_heavy_libraries():
    code = (
        "import sys, fpl_platform.definitions; "
        "print(','.join(m for m in ('mlflow', 'evidently', 'xgboost', 'sklearn', 'scipy', 'pandas', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == ""


def test_dagster_definitions_validate(isolated_home):
    from fpl_platform.runtime import prepare_home

    prepare_home()  # DAGSTER_HOME under the temporary home, holding the repo's dagster.yaml
    dagster = Path(sys.executable).with_name("dagster")  # the venv's dagster CLI
    command = [str(dagster), "definitions", "validate", "-m", "fpl_platform.definitions"]
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


def test_importing_the_platform_turns_mlflow_telemetry_off(tmp_path):
    """MLflow reports usage to its servers unless told not to (it stays quiet under pytest and CI on its own,
    so the check runs in a clean process): importing fpl_platform turns it off, an explicit setting wins."""
    import os

    check = "from mlflow.telemetry.utils import is_telemetry_disabled; print(is_telemetry_disabled())"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"}
    }

    def disabled(code: str, **extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], env={**env, **extra}, cwd=tmp_path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert disabled(check) == "False"  # MLflow's default outside tests
    assert disabled(f"import fpl_platform; {check}") == "True"
    assert disabled(f"import fpl_platform; {check}", MLFLOW_DISABLE_TELEMETRY="false") == "False"


def test_importing_the_platform_makes_openmp_threads_sleep_while_they_wait(tmp_path):
    """XGBoost's OpenMP threads spin while waiting, which makes two processes fitting at once on two cores dozens
    of times slower (benchmarks/bench_threads.py): after importing fpl_platform, libgomp reports no spinning."""
    import os

    fit = "import xgboost, numpy as np; xgboost.XGBRegressor(n_estimators=1, n_jobs=2).fit(np.zeros((10, 2)), np.zeros(10))"
    env = {k: v for k, v in os.environ.items() if k not in {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"}}

    def spin_count(code: str, **extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "OMP_DISPLAY_ENV": "verbose", **extra},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        return next(line.split("=")[1].strip(" '") for line in done.stderr.splitlines() if "GOMP_SPINCOUNT" in line)

    assert spin_count(fit) == "300000"  # libgomp's default: spin before sleeping
    assert spin_count(f"import fpl_platform; {fit}") == "0"
    assert spin_count(f"import fpl_platform; {fit}", OMP_WAIT_POLICY="ACTIVE") != "0"  # an explicit setting wins
