"""`fpl-platform` refuses bad input with one line on stderr and a non-zero status, before any run writes anything.

Every test runs the real console script in a subprocess from the repo root, against the temporary
FPL_PLATFORM_HOME of the autouse `isolated_home` fixture.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from fpl_platform_tests.conftest import REPO

CLI = Path(sys.executable).with_name("fpl-platform")


def run(*arguments: str, **env: str) -> subprocess.CompletedProcess:
    """`fpl-platform <arguments>` with the test's environment plus `env`."""
    return subprocess.run(
        [str(CLI), *arguments], capture_output=True, text=True, cwd=REPO, env={**os.environ, **env}, timeout=600
    )


def one_line(out: subprocess.CompletedProcess, status: int, *expected: str) -> str:
    """The single stderr line of a command that must fail with `status`; it contains every `expected` text."""
    lines = out.stderr.splitlines()
    assert out.returncode == status, out.stderr[-3000:]
    assert len(lines) == 1 and lines[0].strip(), out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def wrote_nothing(home: Path) -> bool:
    """No warehouse, no Dagster instance, no MLflow store: the home is as the fixture made it."""
    return list(home.iterdir()) == []


def test_sql_error_is_the_first_line_of_duckdbs_message(isolated_home):
    line = one_line(run("sql", "SELECT 1"), 1, "analytics.duckdb", "make demo")  # no analyst copy yet
    assert line.startswith("fpl-platform sql: ")
    with duckdb.connect(str(isolated_home / "analytics.duckdb")) as connection:
        connection.execute("CREATE TABLE t AS SELECT 1 AS x")
    one_line(run("sql", "SELEC bad"), 1, 'fpl-platform sql: Parser Error: syntax error at or near "SELEC"')
    one_line(run("sql", "SELECT * FROM nosuch"), 1, "Catalog Error", "nosuch")
    assert "1" in run("sql", "SELECT x FROM t").stdout


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--season", "1999-00"], ["--season", "'1999-00'", "2019-20 to 2025-26"]),
        (["--season", "2026-27"], ["--season", "'2026-27'", "2019-20 to 2025-26"]),  # a partition without data
        (["--inject-drift", "swap:abc"], ["--inject-drift", "'swap:abc'", "swap:<fraction>@<gameweek>"]),
        (["--ab-test", "0.5,x"], ["--ab-test", "'0.5,x'", "0.1,0.25,0.5"]),
        (["--ab-test", "1.5"], ["--ab-test", "'1.5'", "(0, 1]"]),
        (["--history-seasons", "1"], ["--history-seasons", "'1'", "at least 2"]),
        (["--from-gameweek", "0", "--to-gameweek", "99"], ["--from-gameweek", "'0'", "from 1 to 38"]),
        (["--to-gameweek", "39"], ["--to-gameweek", "'39'", "from 1 to 38"]),
        (["--from-gameweek", "20", "--to-gameweek", "10"], ["--from-gameweek", "20", "--to-gameweek 10"]),
    ],
)
def test_replay_refuses_bad_arguments_before_it_starts(isolated_home, arguments, named):
    line = one_line(run("replay", *arguments), 2, *named)
    assert line.startswith("fpl-platform replay: error: ")
    assert wrote_nothing(isolated_home)


def register_champion() -> None:
    """Version 1 of match_outcome, the champion, with no previous one, in the home's MLflow registry."""
    from fpl_platform.lib import schemas, tracking
    from fpl_platform.resources import MlflowTracking, Warehouse

    registry = MlflowTracking()
    with tracking.training_run(registry.uri, "match_outcome", registry.artifacts, "t", {}) as run_id:
        tracking.log_model(registry.uri, {"a": 1}, "match_outcome", run_id=run_id)
    registry.set_alias("match_outcome", "champion", "1")
    Warehouse().ensure(schemas.ALERTS)


def test_rollback_without_a_previous_champion_is_one_line_and_starts_nothing(isolated_home):
    one_line(run("rollback", "nosuch"), 2, "argument model", "'nosuch'", "match_outcome or player_points")
    one_line(run("rollback", "match_outcome"), 1, "no warehouse", "make demo")
    assert wrote_nothing(isolated_home)

    register_champion()
    line = one_line(run("rollback", "match_outcome"), 1)
    assert line == "fpl-platform rollback: match_outcome champion version 1 has no previous champion to restore"
    # a refusal, not a failed run: no run is started and no alert raised
    with duckdb.connect(str(isolated_home / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM monitoring.alerts").fetchone()[0] == 0
    assert not (isolated_home / "dagster" / "history").exists()  # the Dagster instance never recorded a run


@pytest.mark.parametrize(
    ("command", "env", "named"),
    [
        ("demo", {"FPL_PLATFORM_SOURCE": "lve"}, ["FPL_PLATFORM_SOURCE", "'lve'", "'bundled' or 'live'"]),
        (
            "demo",
            {"FPL_PLATFORM_AS_OF": "2025-26:99"},
            ["FPL_PLATFORM_AS_OF", "'2025-26:99'", "from 0 to 37", "2014-15 to 2025-26"],
        ),
        ("demo", {"FPL_PLATFORM_AS_OF": "2025-26:38"}, ["FPL_PLATFORM_AS_OF", "'2025-26:38'", "from 0 to 37"]),
        ("demo", {"FPL_PLATFORM_AS_OF": "2026-27:3"}, ["FPL_PLATFORM_AS_OF", "'2026-27:3'", "a season with data"]),
        ("demo", {"FPL_PLATFORM_AS_OF": "2025-26"}, ["FPL_PLATFORM_AS_OF", "'2025-26'", "'<season>:<gameweek>'"]),
        ("rollback", {"FPL_PLATFORM_AS_OF": "2025-26:99"}, ["FPL_PLATFORM_AS_OF", "'2025-26:99'"]),
        ("demo", {"FPL_PLATFORM_FOOTBALL_DATA": "/no/such/dir"}, ["FPL_PLATFORM_FOOTBALL_DATA", "'/no/such/dir'", "directory"]),
        ("demo", {"FPL_PLATFORM_FOOTBALL_DATA": "ftp://example.org"}, ["FPL_PLATFORM_FOOTBALL_DATA", "URL"]),
        ("demo", {"FPL_PLATFORM_DATA_DIR": "/no/such/dir"}, ["FPL_PLATFORM_DATA_DIR", "'/no/such/dir'", "matches.parquet"]),
        ("demo", {"FPL_PLATFORM_CONFIG": "/no/such.yaml"}, ["FPL_PLATFORM_CONFIG", "'/no/such.yaml'", "does not exist"]),
        ("demo", {"FPL_PLATFORM_SMTP_PORT": "smtp"}, ["FPL_PLATFORM_SMTP_PORT", "'smtp'", "port number"]),
        ("replay", {"FPL_PLATFORM_FOOTBALL_DATA": "nowhere"}, ["FPL_PLATFORM_FOOTBALL_DATA", "'nowhere'"]),
    ],
)
def test_settings_are_checked_before_any_run(isolated_home, command, env, named):
    arguments = [command, "match_outcome"] if command == "rollback" else [command]
    line = one_line(run(*arguments, **env), 2, *named)
    assert line.startswith(f"fpl-platform {command}: error: ")
    assert wrote_nothing(isolated_home)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("gate: [\n", ["not valid YAML", "line 2"]),
        ("gate:\n  alpha: often\n", ["gate.alpha = 'often'", "expected a number in (0, 1)"]),
        ("gates: {}\n", ["unknown sections ['gates']"]),
        # the probe's faults: a bare AttributeError, a UnicodeDecodeError, and values that were taken as they were
        ("gate: 5\n", ["gate = 5: expected a mapping of settings (match_margin, "]),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff", ["is not UTF-8 text (byte 0x89 at offset 0); expected a YAML file"]),
        ("gate:\n  alpha: 2.0\n", ["gate.alpha = 2.0: expected a number in (0, 1)"]),  # it promoted every challenger
        ("gate:\n  test: ttest\n", ["gate.test = 'ttest': expected 'diebold_mariano' or 'wilcoxon'"]),
        ("gate:\n  match_gameweeks: 0\n", ["gate.match_gameweeks = 0: expected a whole number of gameweeks, at least 1"]),
        ("performance:\n  rolling_gameweeks: -6\n", ["performance.rolling_gameweeks = -6", "at least 1"]),
        ("automation:\n  stale_data_days: -1.5\n", ["automation.stale_data_days = -1.5: expected a number in (0, ∞)"]),
        ("gate:\n  match_margin: -0.01\n", ["gate.match_margin = -0.01: expected a number in [0, ∞)"]),
        ("gate:\n  player_gameweeks: 4.5\n", ["gate.player_gameweeks = 4.5", "whole number"]),
        ("performance:\n  critical_sigma: 1.5\n", ["performance.critical_sigma = 1.5 is below performance.warning_sigma = 2.0"]),
        ("[performance, gate]\n", ["holds list", "expected a mapping of sections"]),
        ("drift:\n  psi_critical: 0.05\n", ["drift.psi_critical = 0.05 is below drift.psi_warning = 0.1"]),
        ("drift:\n  evidently: sometimes\n", ["drift.evidently = 'sometimes': expected 'always' or 'on_drift'"]),
        ("training:\n  refit_every_gameweeks: 0\n", ["training.refit_every_gameweeks = 0", "at least 1"]),
    ],
)
def test_a_bad_settings_file_is_named_before_any_run(isolated_home, tmp_path, text, named):
    config = tmp_path / "fpl_platform.yaml"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    one_line(run("demo", FPL_PLATFORM_CONFIG=str(config)), 2, "FPL_PLATFORM_CONFIG", str(config), *named)
    assert wrote_nothing(isolated_home)  # no warehouse, no Dagster run, no MLflow store: nothing trained or registered


def test_every_setting_has_a_range_its_default_is_in(monkeypatch):
    from fpl_platform.lib import settings

    monkeypatch.delenv("FPL_PLATFORM_CONFIG", raising=False)
    for section, defaults in settings.DEFAULTS.items():
        assert set(settings.RULES[section]) == set(defaults), section
        for key, value in defaults.items():
            assert settings.check_value(section, key, value) == value
    assert settings.check() == settings.DEFAULTS  # no file: the defaults


def test_a_bad_setting_is_refused_before_dagster_or_pandas_load(isolated_home, tmp_path):
    """The checks read only the environment and the settings file: the refusal is immediate, not seconds of imports."""
    (tmp_path / "bad.yaml").write_text("gate:\n  alpha: often\n")
    script = (
        "import sys\nfrom fpl_platform.cli import main\nstatus = main(['demo'])\n"
        "print(status, sorted(m for m in ('dagster', 'pandas', 'duckdb', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "FPL_PLATFORM_CONFIG": str(tmp_path / "bad.yaml")},
        timeout=600,
    )
    assert out.stdout.split() == ["2", "[]"], out.stdout + out.stderr[-2000:]
    assert "gate.alpha = 'often'" in out.stderr


def test_the_settings_file_in_the_home_is_checked_too(isolated_home):
    (isolated_home / "fpl_platform.yaml").write_text("gate:\n  alpha: 1.0\n")
    line = one_line(run("demo"), 2, "the settings file", str(isolated_home / "fpl_platform.yaml"), "gate.alpha = 1.0")
    assert line.startswith("fpl-platform demo: error: ")
    assert [p.name for p in isolated_home.iterdir()] == ["fpl_platform.yaml"]


def test_status_without_a_warehouse_fails(isolated_home):
    one_line(run("status"), 1, "no warehouse", str(isolated_home / "warehouse.duckdb"), "make demo")


def test_ab_test_errors_are_one_line(isolated_home):
    one_line(run("ab-test", "report", "nosuch"), 2, "fpl-platform ab-test report: error: ", "'nosuch'")
    one_line(run("ab-test", "create", "x", "--model", "nosuch"), 2, "fpl-platform ab-test create: error: ", "'nosuch'")
    assert not (isolated_home / "warehouse.duckdb").exists()


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path):
    arguments = ["build-data", "--wheel", str(tmp_path / "missing.whl"), "--out", str(tmp_path / "out")]
    line = one_line(run(*arguments), 1, "fpl-platform build-data: FileNotFoundError: ", "missing.whl", "--debug")
    for debug in (["--debug", *arguments], [*arguments, "--debug"]):  # before or after the command
        out = run(*debug)
        assert out.returncode == 1 and out.stderr.startswith("Traceback") and out.stderr.splitlines()[-1] == line


def test_ctrl_c_is_one_line_and_status_130(isolated_home):
    process = subprocess.Popen(
        [str(CLI), "demo", "--quick"],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline()  # the first run has started: its log goes to stdout
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-3000:]
    assert stderr.splitlines() == ["fpl-platform demo: interrupted"]


def test_a_replay_whose_bootstrap_fails_names_the_step_and_the_file_in_one_line(data_dir):
    (data_dir / "player_gameweeks.parquet").write_bytes(b"not parquet")  # the season check reads matches only
    out = run("replay", "--season", "2025-26", "--to-gameweek", "1", FPL_PLATFORM_DATA_DIR=str(data_dir))
    one_line(
        out,
        1,
        "fpl-platform replay: replay bootstrap failed: step raw__player_gameweeks failed: DataValidationError",
        "player_gameweeks.parquet",
        "cannot be read as Parquet",
        "Dagster run",
    )


def test_a_failed_demo_run_is_alerted_without_the_daemon_and_only_once(isolated_home, data_dir):
    import dagster as dg

    from fpl_platform.defs.monitoring.sensors import alert_for_failed_run

    (data_dir / "matches.parquet").write_bytes(b"not parquet")
    out = run("demo", "--quick", FPL_PLATFORM_DATA_DIR=str(data_dir))
    line = one_line(out, 1, "fpl-platform demo: step raw__matches failed: DataValidationError", "matches.parquet")
    assert "alert recorded" in line
    run_id = re.search(r"Dagster run ([0-9a-f-]{36})", line).group(1)

    def alerts() -> list:
        with duckdb.connect(str(isolated_home / "warehouse.duckdb"), read_only=True) as connection:
            return connection.execute("SELECT alert_key, severity, title, status FROM monitoring.alerts").fetchall()

    assert alerts() == [("run_failure:__ASSET_JOB", "HIGH", "Asset run failed at step raw__matches", "no_channel")]
    status = run("status")
    assert status.returncode == 0 and "Asset run failed at step raw__matches" in status.stdout
    # the daemon's sensor, ticking after the CLI recorded the failure, records it no second time
    with dg.DagsterInstance.get() as instance:
        alert_for_failed_run(instance, run_id)
    assert len(alerts()) == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def living_members(groups: set[int]) -> list[int]:
    """The processes of `groups` that are not zombies."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) in groups:
            found.append(int(stat.parent.name))
    return found


def test_ui_serves_dagster_and_mlflow_and_leaves_no_child_when_stopped(isolated_home):
    port, mlflow_port = free_port(), free_port()
    process = subprocess.Popen(
        [str(CLI), "ui", "--webserver-only", "--port", str(port), "--mlflow-port", str(mlflow_port)],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not (answers(f"http://127.0.0.1:{port}/server_info") and answers(f"http://127.0.0.1:{mlflow_port}/")):
            assert process.poll() is None and time.monotonic() < deadline, "the UIs did not answer"
            time.sleep(1)
        spawned = children(process.pid)
        assert len(spawned) == 2  # mlflow server and dagster-webserver, each leading its own process group
        groups = {os.getpgid(pid) for pid in spawned}
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert not [pid for pid in spawned if alive(pid)]
    # nor any of their own children (killed ones may linger as zombies until init reaps them)
    deadline = time.monotonic() + 10
    while (left := living_members(groups)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left


def read_only(home: Path) -> list[str]:
    """The command prefix that runs a command with `home` read-only: as a user, `home` is chmod 555; as root, whom
    permissions do not stop, `home` is bind-mounted read-only in the command's own mount namespace (the test is
    skipped where that is not allowed)."""
    if os.geteuid() != 0:
        home.chmod(0o555)
        return []
    remount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    prefix = ["unshare", "--mount", "sh", "-c", remount, str(home)]
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: no read-only bind mount for root")
    probe = subprocess.run([*prefix, "sh", "-c", 'touch "$0/probe"', str(home)], capture_output=True, text=True)
    if probe.returncode == 0 or "Read-only file system" not in probe.stderr:
        (home / "probe").unlink(missing_ok=True)
        pytest.skip(f"no read-only bind mount here: {probe.stderr.strip()}")
    return prefix


@pytest.mark.parametrize("arguments", [["demo", "--quick"], ["replay", "--to-gameweek", "2"], ["ab-test", "report", "x"]])
def test_a_read_only_home_is_one_line_naming_it_before_anything_starts(isolated_home, arguments):
    command = [*read_only(isolated_home), str(CLI), *arguments]
    try:
        out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=dict(os.environ), timeout=600)
    finally:
        isolated_home.chmod(0o755)
    why = "on a read-only file system" if os.geteuid() == 0 else "not writable by this user"
    line = one_line(out, 2, f"error: FPL_PLATFORM_HOME is '{isolated_home}'", f"{isolated_home} is {why}")
    assert line.startswith(f"fpl-platform {' '.join(arguments[:2] if arguments[0] == 'ab-test' else arguments[:1])}: ")
    assert wrote_nothing(isolated_home)


@pytest.mark.parametrize(
    ("case", "named"),
    [
        ("home is a file", ["FPL_PLATFORM_HOME is '{file}'", "{file} is a file, not a directory"]),
        ("Dagster home is a file", ["DAGSTER_HOME is '{home}/dagster'", "{home}/dagster is a file, not a directory"]),
        ("warehouse is a directory", ["FPL_PLATFORM_HOME is '{home}'", "{home}/warehouse.duckdb is a directory, not a file"]),
        ("warehouse under a file", ["FPL_PLATFORM_WAREHOUSE is '{file}/w.duckdb'", "{file} is a file, so {file}/w.duckdb"]),
    ],
)
def test_a_file_where_a_directory_belongs_is_one_line_naming_it(isolated_home, tmp_path, case, named):
    file = tmp_path / "a-file"
    file.write_text("not a directory")
    env = {}
    if case == "home is a file":
        env["FPL_PLATFORM_HOME"] = str(file)
    elif case == "Dagster home is a file":
        (isolated_home / "dagster").write_text("not a directory")
    elif case == "warehouse is a directory":
        (isolated_home / "warehouse.duckdb").mkdir()
    else:
        env["FPL_PLATFORM_WAREHOUSE"] = str(file / "w.duckdb")
    before = sorted(isolated_home.rglob("*"))
    expected = [text.format(file=file, home=isolated_home) for text in named]
    one_line(run("demo", "--quick", **env), 2, "fpl-platform demo: error: ", *expected)
    assert sorted(isolated_home.rglob("*")) == before and file.read_text() == "not a directory"


def test_a_warehouse_that_cannot_be_opened_is_named(isolated_home, tmp_path):
    from fpl_platform.lib.warehouse import WarehouseOpenError, connect

    warehouse = isolated_home / "warehouse.duckdb"
    warehouse.write_text("season,goals\n")
    one_line(run("status"), 1, f"cannot open {warehouse} (read-only)", "not a valid DuckDB database file")

    def open_and_close(path: Path, **options) -> None:
        with connect(path, **options):
            pass

    blocked = tmp_path / "a-file" / "warehouse.duckdb"
    blocked.parent.write_text("")
    with pytest.raises(WarehouseOpenError) as raised:
        open_and_close(blocked)
    assert (
        str(raised.value) == f"cannot open {blocked} (read-write) for the warehouse: {blocked.parent} is a file, not a directory"
    )
    with pytest.raises(WarehouseOpenError, match=re.escape(f"cannot open {tmp_path} (read-only) for the warehouse: ")):
        open_and_close(tmp_path, read_only=True)


def test_a_command_that_read_parquet_exits_with_its_own_status_every_time(tmp_path):
    """A Parquet read starts Arrow's thread pool, whose teardown at interpreter exit aborted about 1 finished command
    in 27 under load (SIGABRT, "terminate called without an active exception"; CI saw it once). Many concurrent runs
    of a command that reads the bundled Parquet and then refuses a setting: every one ends with status 2 and its line."""
    home_is_a_file = tmp_path / "home-file"
    home_is_a_file.write_text("")
    env = {**os.environ, "FPL_PLATFORM_HOME": str(home_is_a_file)}
    command = [str(CLI), "replay", "--to-gameweek", "2"]
    outcomes = []
    for _ in range(12):
        runs = [
            subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        outcomes += [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    assert [status for status, _ in outcomes] == [2] * len(outcomes), [e for s, e in outcomes if s != 2][:2]
    assert all(err.count("\n") == 1 and "is a file, not a directory" in err for _, err in outcomes)
