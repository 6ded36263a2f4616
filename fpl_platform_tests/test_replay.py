"""The season replay's building blocks: what the replay source reveals, the simulated clock, drift injection."""

from __future__ import annotations

import pandas as pd
import pytest

from fpl_platform.lib import ab, clock, schemas
from fpl_platform.lib.asof import resolve
from fpl_platform.lib.sources import BundledSource, ReplaySource
from fpl_platform.resources import RunClock
from fpl_platform.simulation.replay import DriftInjection
from fpl_platform_tests.conftest import BUNDLED


def test_replay_source_reveals_results_up_to_the_gameweek_and_the_next_squad():
    source = ReplaySource(BUNDLED, "2025-26:5")
    matches = source.matches("2025-26")
    assert len(matches) == 50 and matches["gameweek"].max() == 5
    assert len(source.matches("2024-25")) == 380 and source.matches("2026-27").empty
    players = source.player_gameweeks("2025-26")
    assert players["gameweek"].max() == 5

    fixtures = source.fixtures()
    current = fixtures[fixtures["season"] == "2025-26"]
    assert current.loc[current["gameweek"] <= 5, "finished"].all()
    later = current[current["gameweek"] > 5]
    assert len(later) == 330 and not later["finished"].any() and later["home_goals"].isna().all()
    assert fixtures["season"].max() == "2025-26"

    squad = source.squad()
    assert set(squad["gameweek"]) == {6} and list(squad.columns) == schemas.SQUAD.column_names
    assert not {"minutes", "points", "goals"} & set(squad.columns)  # no outcome of the gameweek it lists
    full = BundledSource(BUNDLED).player_gameweeks("2025-26")
    assert len(squad) == (full["gameweek"] == 6).sum()

    # the as-of the platform resolves from what the replay source shows is the revealed gameweek
    assert resolve(matches, fixtures, "").label == "2025-26:5"
    assert ReplaySource(BUNDLED, "2025-26:38").squad() is None


def test_a_new_seasons_fixtures_set_the_as_of_before_its_first_result():
    source = ReplaySource(BUNDLED, "2025-26:0")
    assert source.matches("2025-26").empty
    played = pd.concat([source.matches(s) for s in ("2023-24", "2024-25")])
    assert resolve(played, source.fixtures(), "").label == "2025-26:0"


def test_a_runs_clock_is_its_tags_and_a_run_without_them_lives_in_real_time():
    import dagster as dg

    replayed = clock.Clock(pd.Timestamp("2025-09-01 12:00", tz="UTC"), as_of="2025-26:3", reveal="2025-26:3")
    assert clock.Clock.from_tags(replayed.tags(), as_of="2024-25:37") == replayed
    with pytest.raises(ValueError, match="fpl_platform/simulated_at is 'yesterday-ish'; expected an ISO 8601 instant"):
        clock.Clock.from_tags({"fpl_platform/simulated_at": "yesterday-ish"})

    seen = {}

    @dg.asset
    def stamped(clock: RunClock) -> None:
        seen[len(seen)] = (clock.now(), clock.as_of, clock.state.reveal)

    with dg.instance_for_test() as instance:
        resources = {"clock": RunClock(default_as_of="2024-25:37")}
        dg.materialize([stamped], resources=resources, instance=instance, tags=replayed.tags())
        dg.materialize([stamped], resources=resources, instance=instance)
    assert seen[0] == (replayed.now(), "2025-26:3", "2025-26:3")
    now, as_of, reveal = seen[1]
    assert abs(now - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=1) and (as_of, reveal) == ("2024-25:37", "")
    # a sensor has no run: the replay ticks it with its own clock
    assert RunClock.of(replayed).state == replayed


def test_drift_injection_swaps_a_seeded_fraction_consistently(data_dir):
    with pytest.raises(ValueError, match="swap:<fraction>@<gameweek>"):
        DriftInjection.parse("shift:price")
    spec = DriftInjection.parse("swap:0.5@30")
    before = pd.read_parquet(data_dir / "matches.parquet")
    changed = spec.apply(data_dir, "2025-26")
    after = pd.read_parquet(data_dir / "matches.parquet")
    late = ((before["season"] == "2025-26") & (before["gameweek"] >= 30)).sum()
    assert late == 89 and changed == 44  # half of gameweeks 30-38's matches (one was moved out of them)
    moved = (before["home_goals"] != after["home_goals"]) | (before["away_goals"] != after["away_goals"])
    assert (after.loc[moved, "season"] == "2025-26").all() and (after.loc[moved, "gameweek"] >= 30).all()
    assert (after.loc[moved, "home_goals"] == before.loc[moved, "away_goals"]).all()
    fixtures = pd.read_parquet(data_dir / "fixtures.parquet")
    joined = fixtures.merge(after, on=["season", "home_team", "away_team"], suffixes=("_f", "_m"))
    assert (joined["home_goals_f"] == joined["home_goals_m"]).all()  # results and fixtures still agree
    other = data_dir.parent / "other"
    other.mkdir()
    before.to_parquet(other / "matches.parquet", index=False)
    (other / "fixtures.parquet").write_bytes((data_dir / "fixtures.parquet").read_bytes())
    spec.apply(other, "2025-26")
    assert pd.read_parquet(other / "matches.parquet").equals(after)  # seeded: the same matches every time


# tables a replay fills, with the columns that name runs of this process rather than what happened
REPLAYED_TABLES = {
    "features.match_features": (),
    "features.player_features": (),
    "predictions.match_outcomes": (),
    "predictions.player_points": (),
    "monitoring.performance": (),
    "monitoring.drift": (),
    "monitoring.drift_reports": ("html_report",),
    "monitoring.retraining_events": ("event_id", "evidence", "dagster_run_id", "mlflow_run_id"),  # evidence may name a run
    "monitoring.ab_assignments": (),
    "monitoring.ab_results": (),
    "monitoring.ab_tests": (),
}


def _run_in(home, command: list[str]):
    """`command` in a subprocess with FPL_PLATFORM_HOME=home and nothing else of ours inherited."""
    import os
    import subprocess

    from fpl_platform_tests.conftest import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_HOME"))}
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env={**env, "FPL_PLATFORM_HOME": str(home)})


def _cli(home, *arguments):
    import sys
    from pathlib import Path

    return _run_in(home, [str(Path(sys.executable).with_name("fpl-platform")), *arguments])


def _python(home, script: str):
    import sys

    return _run_in(home, [sys.executable, "-c", script])


def _replay(home, *arguments) -> str:
    out = _cli(home, *arguments)
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-3000:])
    return out.stdout


def report_error(home, *arguments) -> str:
    """stderr of a command that must refuse (exit status 2)."""
    out = _cli(home, *arguments)
    assert out.returncode == 2, out.stderr[-2000:]
    return out.stderr


def _tables(home, season: str = "2025-26") -> dict[str, pd.DataFrame]:
    import duckdb

    connection = duckdb.connect(str(home / "replays" / season / "warehouse.duckdb"), read_only=True)
    try:
        out = {}
        for name, volatile in REPLAYED_TABLES.items():
            frame = connection.execute(f"SELECT * FROM {name}").df().drop(columns=list(volatile))
            out[name] = frame.sort_values(list(frame.columns[:6])).reset_index(drop=True)
        return out
    finally:
        connection.close()


def test_only_the_replays_own_sqlite_files_are_unsynced_and_only_while_it_runs(tmp_path):
    import sqlalchemy

    from fpl_platform.simulation.replay import _unsynced_sqlite

    home, elsewhere = tmp_path / "replays" / "2025-26", tmp_path / "dagster"
    home.mkdir(parents=True)
    elsewhere.mkdir()

    def synchronous(directory) -> int:
        engine = sqlalchemy.create_engine(f"sqlite:///{directory}/storage.db", poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text("PRAGMA synchronous")).scalar()

    with _unsynced_sqlite(home):
        assert synchronous(home) == 0  # OFF
        assert synchronous(elsewhere) == 2  # FULL, sqlite's default
    assert synchronous(home) == 2


def test_replay_is_deterministic_resumable_and_runs_an_ab_test(tmp_path):
    """A replay continued later adds each gameweek once; a gameweek replayed again from the same state (a crash
    after its runs, or a second replay) gives the same tables, and so does the replay run in one process after a
    replay of another season; the season's A/B test is analysed and reported."""
    import json
    import shutil

    replay = ["replay", "--season", "2025-26", "--quick", "--history-seasons", "3", "--ab-test", "0.5"]
    top = tmp_path / "top"
    home = top / "replays" / "2025-26"
    _replay(top, *replay, "--to-gameweek", "1")
    at_one = _tables(top)
    assert len(at_one["predictions.match_outcomes"]) == 20  # gameweek 1 (served at the start) and gameweek 2
    results = at_one["monitoring.ab_results"]
    assert len(results) == 1 and results["n_items"].iat[0] == 10 and results["recommendation"].iat[0] in ab.RECOMMENDATIONS
    snapshot = tmp_path / "snapshot"
    shutil.copytree(top, snapshot)  # the whole home as it was after gameweek 1 (MLflow paths are absolute: restored in place)

    # the replay's state of time travels in its runs' tags, and its home is the process's only while it runs: a
    # replay after one of another season, in the same process, writes what this replay's own process wrote
    together = tmp_path / "together"
    script = (
        "from fpl_platform.simulation.replay import Replay\n"
        "Replay('2024-25', quick=True, history_seasons=2).run(1, 1)\n"  # the least history a replay takes
        "Replay('2025-26', quick=True, history_seasons=3, ab_test='0.5').run(1, 1)\n"
    )
    out = _python(together, script)
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(path.name for path in (together / "replays").iterdir()) == ["2024-25", "2025-26"]  # not nested
    assert set(_tables(together, "2024-25")["predictions.match_outcomes"]["as_of"]) == {"2024-25:0", "2024-25:1"}
    for name, frame in _tables(together).items():
        pd.testing.assert_frame_equal(frame, at_one[name], check_exact=False, rtol=1e-9, obj=name)

    # continued: gameweek 2 is added once, nothing from before is repeated
    _replay(top, *replay, "--to-gameweek", "2")
    first = _tables(top)
    assert set(first["predictions.match_outcomes"]["as_of"]) == {"2025-26:0", "2025-26:1", "2025-26:2"}
    state = json.loads((home / "replay_state.json").read_text())
    assert state["next_gameweek"] == 3 and len(state["run_keys"]) == len(set(state["run_keys"]))
    for name in REPLAYED_TABLES:
        older = at_one[name]
        assert len(first[name]) >= len(older), name

    # re-entered after a crash that came after gameweek 2's runs but before its end was recorded: nothing runs twice
    (home / "replay_state.json").write_text(json.dumps({**state, "next_gameweek": 2}))
    out = _replay(top, *replay, "--to-gameweek", "2")
    # the sensors find the warehouse up to date; the weekly schedule skips, as nothing it trains on was
    # materialised after the last weekly retrain (a request for a run key already executed would not run either:
    # test_a_run_key_already_executed_is_not_run_again)
    assert "retraining on the same data would fit the same models" in out
    assert json.loads((home / "replay_state.json").read_text())["run_keys"] == state["run_keys"]  # no run executed
    again = _tables(top)
    for name in REPLAYED_TABLES:
        pd.testing.assert_frame_equal(first[name], again[name], obj=name)

    # the same gameweek replayed from the same state a second time gives the same tables
    shutil.rmtree(top)
    shutil.copytree(snapshot, top)
    _replay(top, *replay, "--to-gameweek", "2")
    second = _tables(top)
    for name in REPLAYED_TABLES:
        pd.testing.assert_frame_equal(first[name], second[name], check_exact=False, rtol=1e-9, obj=name)

    # the operator's view of the season's A/B test
    report = _replay(home, "ab-test", "report", "replay-2025-26")
    assert "Analysis as of 2025-26:2" in report and "Diebold-Mariano" in report and "recommendation:" in report
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        for table in (schemas.AB_TESTS, schemas.AB_ASSIGNMENTS, schemas.AB_LOSSES, schemas.AB_RESULTS):
            assert connection.execute(table.example_sql).fetchall(), table.name  # docs/tables.md's queries
        status, split = connection.execute("SELECT status, traffic_split FROM monitoring.ab_tests").fetchone()
        actions = [r[0] for r in connection.execute("SELECT action FROM monitoring.ab_results ORDER BY as_of").fetchall()]
    if status == "running":
        assert "stopped" in _replay(home, "ab-test", "stop", "replay-2025-26")
    else:  # rolled back (significantly worse) or completed: the analysis did it, and stop says so
        assert status == "rolled_back" and split == 0.0 and actions[-1] == "rolled_back"
        assert "is rolled_back, not running" in report_error(home, "ab-test", "stop", "replay-2025-26")
    assert (home / "reports" / "season_2025-26.html").read_text().count("<img") >= 3


def test_a_run_key_already_executed_is_not_run_again():
    """The replay's last line of defence on resume: a request whose run key it executed before is skipped."""
    import dagster as dg

    from fpl_platform.simulation.replay import Replay, ReplayState

    logs: list[str] = []
    replay = Replay("2025-26", log=logs.append)
    replay.state = ReplayState("2025-26", 3, None, False, run_keys=["weekly-2025-08-25"])
    request = dg.RunRequest(run_key="weekly-2025-08-25")
    with dg.instance_for_test() as instance:
        # nothing runs; the run it had then is not in this instance, so nothing follows it either
        assert replay._execute(instance, "weekly_retrain_job", request, 2) is None
        assert instance.get_runs() == []
    assert logs == ["  gw 2: weekly_retrain_job for weekly-2025-08-25 already ran (resumed replay)"]


def test_the_replay_drives_the_automation_it_finds_in_the_code_location():
    """Sensors and schedules on by default that request asset jobs; not the ones that alert, repair or publish."""
    from fpl_platform.definitions import defs
    from fpl_platform.simulation.replay import Automation

    found = Automation.of(defs)
    assert [s.name for s in found.sensors] == ["new_data_sensor", "drift_retrain_sensor", "performance_retrain_sensor"]
    assert [s.name for s in found.after_success] == ["refresh_after_ingestion", "refresh_predictions_after_rollback"]
    assert [s.name for s in found.schedules] == ["weekly_retrain_schedule"]


def test_a_schedules_ticks_fall_at_its_wall_clock_time_across_a_clock_change():
    from fpl_platform.lib.cron import ticks

    start, end = pd.Timestamp("2025-03-20", tz="UTC"), pd.Timestamp("2025-04-08", tz="UTC")
    weekly = ticks("0 23 * * 1", "Europe/London", start, end)  # the weekly retrain; BST starts on 30 March
    assert [t.isoformat() for t in weekly] == [
        "2025-03-24T23:00:00+00:00", "2025-03-31T23:00:00+01:00", "2025-04-07T23:00:00+01:00",
    ]  # fmt: skip
    assert [t.isoformat() for t in ticks("0 */12 1,15 * *", "UTC", start, end)] == [
        "2025-04-01T00:00:00+00:00", "2025-04-01T12:00:00+00:00",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="cron hour field '25': expected values from 0 to 23"):
        ticks("0 25 * * 1", "UTC", start, end)
