"""`fpl-platform`: the command line for people (demo, ui, sql, status, rollback, replay, ab-test, ...).

An error is one line on stderr naming what was wrong (the argument or environment variable, the value,
what is expected), and a non-zero exit status: 2 for a bad argument or setting (checked before any run
starts, so nothing is written), 1 for a command that failed, 130 when interrupted. `--debug` adds the
traceback. The commands that run Dagster jobs (demo, rollback, replay) send the runs' logs to stdout, so
stderr holds only that line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from fpl_platform.lib import paths
from fpl_platform.lib.errors import DataValidationError, SettingError
from fpl_platform.runtime import (
    CommandFailed,
    execute_in_process,
    materialise_all,
    one_line,
    prepare_home,
    run_assets,
    step_failure,
)


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (`fpl-platform replay: error: argument --season: ...`)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (--help shows the usage)\n")


@contextlib.contextmanager
def run_logs_to_stdout(debug: bool) -> Iterator[None]:
    """While Dagster runs in this process, everything written to stderr (its console log, MLflow's log, warnings)
    goes to stdout, so that stderr holds only the command's outcome line; with --debug, nothing moves."""
    if debug:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(1, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _is_url(text: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_source() -> str:
    """FPL_PLATFORM_SOURCE: 'bundled' (default) or 'live'; with 'live', FPL_PLATFORM_FPL_API an http(s) URL."""
    mode = paths.source_mode(paths.setting("FPL_PLATFORM_SOURCE") or "bundled")
    api = paths.setting("FPL_PLATFORM_FPL_API")
    if mode == "live" and api and not _is_url(api):
        raise SettingError("FPL_PLATFORM_FPL_API", api, f"the FPL API's http(s) base URL, e.g. {paths.DEFAULT_FPL_API}")
    return mode


def check_data_dir() -> Path:
    """FPL_PLATFORM_DATA_DIR (default data/): a directory holding every file of the bundled snapshot."""
    from fpl_platform.lib.bundled import FILES

    directory = paths.data_dir()
    if not directory.is_dir() or any(not (directory / f"{name}.parquet").is_file() for name in FILES):
        setting = "FPL_PLATFORM_DATA_DIR" if paths.setting("FPL_PLATFORM_DATA_DIR") else "the bundled data directory"
        raise SettingError(
            setting, str(directory), f"a directory holding the bundled snapshot ({', '.join(f + '.parquet' for f in FILES)})"
        )
    return directory


def check_football_data() -> None:
    """FPL_PLATFORM_FOOTBALL_DATA, when set: an http(s) base URL or a directory."""
    location = paths.setting("FPL_PLATFORM_FOOTBALL_DATA")
    if location and not (_is_url(location) or Path(location).is_dir()):
        raise SettingError(
            "FPL_PLATFORM_FOOTBALL_DATA",
            location,
            "football-data.co.uk's base URL (https://www.football-data.co.uk/mmz4281) or an existing directory laid out "
            "as <yyzz>/E0.csv",
        )


def check_as_of(mode: str) -> None:
    """FPL_PLATFORM_AS_OF, when set: '<season>:<gameweek>' with a season the source has data for (lib.asof.validate)."""
    text = paths.setting("FPL_PLATFORM_AS_OF")
    if not text:
        return
    from fpl_platform.lib import asof
    from fpl_platform.lib.seasons import ALL_SEASONS, seasons_with_results

    # the live source adds the current season to the bundled ones: any season of the partitions may be it
    asof.validate(text, ALL_SEASONS if mode == "live" else seasons_with_results(paths.data_dir()))


def check_config() -> None:
    """FPL_PLATFORM_CONFIG (or $FPL_PLATFORM_HOME/fpl_platform.yaml): every setting of every section has its type and
    range (lib.settings.check), so no run trains or registers anything with a bad value."""
    from fpl_platform.lib import settings

    try:
        settings.check()
    except DataValidationError as error:
        setting = "FPL_PLATFORM_CONFIG" if paths.setting("FPL_PLATFORM_CONFIG") else "the settings file"
        # YAML's errors run over several lines, the last ones a caret under a quoted line
        problem = " ".join(line.strip() for line in error.problem.splitlines() if line.strip().strip("^"))
        raise SettingError(setting, str(settings.config_file()), f"a settings file that loads: {problem}") from error


def check_smtp_port() -> None:
    """FPL_PLATFORM_SMTP_PORT, when set: a port number (alerts are sent with it long after the command started)."""
    port = paths.setting("FPL_PLATFORM_SMTP_PORT")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise SettingError("FPL_PLATFORM_SMTP_PORT", port, "a port number such as 587")


def check_pool_wait() -> None:
    """FPL_PLATFORM_POOL_WAIT_SECONDS, when set: how long a step waits for the duckdb pool, in seconds (> 0)."""
    text = paths.setting("FPL_PLATFORM_POOL_WAIT_SECONDS")
    try:
        valid = not text or float(text) > 0
    except ValueError:
        valid = False
    if not valid:
        raise SettingError("FPL_PLATFORM_POOL_WAIT_SECONDS", text, "a number of seconds above 0, e.g. 900")


def _unwritable(path: Path, *, directory: bool) -> str | None:
    """Why this process could not create or write `path` (a directory, or a file in one), or None if it can."""
    if path.exists():
        if directory != path.is_dir():
            return f"{path} is a {'file' if directory else 'directory'}, not a {'directory' if directory else 'file'}"
        if not os.access(path, os.W_OK | (os.X_OK if directory else 0)):
            return f"{path} is {_why_not_writable(path)}"
        return None if directory else _unwritable(path.parent, directory=True)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is a file, so {path} cannot be created in it"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be created: {parent} is {_why_not_writable(parent)}"
    return None


def _why_not_writable(path: Path) -> str:
    with contextlib.suppress(OSError):
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "on a read-only file system"
    return f"not writable by this user (uid {os.geteuid()})"


# what each command creates or writes under FPL_PLATFORM_HOME
WRITES = {
    "demo": ("home", "dagster", "mlflow", "warehouse", "analytics", "cache"),
    "materialize": ("home", "dagster", "mlflow", "warehouse", "analytics", "cache"),
    "rollback": ("home", "dagster", "mlflow", "warehouse", "analytics"),
    "replay": ("home", "cache"),  # a replay writes below its own home, $FPL_PLATFORM_HOME/replays/<season>
    "publish": ("analytics",),
    "ab-test": ("home", "dagster", "warehouse"),
    "ui": ("home", "dagster", "mlflow", "cache"),
}


def check_writable(command: str) -> None:
    """FPL_PLATFORM_HOME and what `command` writes under it (the Dagster instance, MLflow's store, the warehouse, the
    analyst copy), checked before anything is created: a read-only home, or a file where a directory belongs, is one
    line naming the setting and the path instead of a traceback from the first write."""
    home = "FPL_PLATFORM_HOME" if paths.setting("FPL_PLATFORM_HOME") else "the platform home (FPL_PLATFORM_HOME unset)"
    targets = {
        "home": (home, paths.platform_home(), paths.platform_home(), True),
        "dagster": ("DAGSTER_HOME", paths.setting("DAGSTER_HOME"), paths.dagster_home(), True)
        if paths.setting("DAGSTER_HOME")
        else (home, paths.platform_home(), paths.dagster_home(), True),
        "mlflow": (home, paths.platform_home(), paths.mlflow_dir(), True),
        "warehouse": ("FPL_PLATFORM_WAREHOUSE", paths.warehouse_path(), paths.warehouse_path(), False)
        if paths.setting("FPL_PLATFORM_WAREHOUSE")
        else (home, paths.platform_home(), paths.warehouse_path(), False),
        "analytics": ("FPL_PLATFORM_ANALYTICS", paths.analytics_path(), paths.analytics_path(), False)
        if paths.setting("FPL_PLATFORM_ANALYTICS")
        else (home, paths.platform_home(), paths.analytics_path(), False),
        "cache": ("FPL_PLATFORM_CACHE", paths.cache_dir(), paths.cache_dir(), True)
        if paths.setting("FPL_PLATFORM_CACHE")
        else (home, paths.platform_home(), paths.cache_dir(), True),
    }
    for name in WRITES[command]:
        setting, value, path, directory = targets[name]
        problem = _unwritable(Path(path), directory=directory)
        if problem is not None:
            kind = "a directory" if directory else "a file in a directory"
            raise SettingError(setting, str(value), f"{kind} this process can write: {problem}")


def check_settings(command: str) -> None:
    """The environment a command reads, checked before it writes anything: a SettingError names the first bad one."""
    if command in ("demo", "materialize"):
        mode = check_source()
        check_data_dir()
        check_football_data()
        check_as_of(mode)
    elif command == "rollback":  # it re-predicts the next gameweek
        check_as_of(check_source())
    elif command == "replay":  # the replay sets its own source and as-of for each gameweek
        check_data_dir()
        check_football_data()
    check_config()
    check_smtp_port()
    check_writable(command)
    check_pool_wait()


def raise_if_interrupted(result) -> None:
    """Ctrl-C inside a step fails the run with DagsterExecutionInterruptedError: the command was interrupted."""
    for event in result.all_events:
        error = event.step_failure_data.error if event.is_step_failure else None
        if event.is_run_failure and event.job_failure_data:  # interrupted between steps (waiting for the pool)
            error = event.job_failure_data.error
        while error is not None:
            if error.cls_name == "DagsterExecutionInterruptedError":
                raise KeyboardInterrupt
            error = error.cause


def record_failure(instance, result) -> str:
    """Record a failed run's HIGH alert as the daemon's run-failure sensor would; says whether it was recorded.

    An interrupted run raises KeyboardInterrupt instead: the person who pressed Ctrl-C needs no alert.
    """
    from fpl_platform.defs.monitoring.sensors import alert_for_failed_run

    raise_if_interrupted(result)
    try:
        alert_for_failed_run(instance, result.run_id)
    except Exception as error:  # the failure itself is what the person must read
        return f"its alert could not be recorded: {type(error).__name__}: {one_line(str(error))}"
    return "alert recorded, see `fpl-platform status`"


def run_failed(instance, result, what: str = "") -> CommandFailed:
    """The failed run's alert recorded, and the line saying what failed."""
    alerted = record_failure(instance, result)
    return CommandFailed(f"{what + ': ' if what else ''}{step_failure(result)} (Dagster run {result.run_id}; {alerted})")


def cmd_demo(args: argparse.Namespace) -> int:
    check_settings("demo")
    with run_logs_to_stdout(args.debug):
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    prepare_home()
    import dagster as dg

    from fpl_platform.resources import Warehouse

    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        results = materialise_all(instance, quick=args.quick, raise_on_error=False, allow_shrink=args.allow_shrink)
        failed = next((result for result in results if not result.success), None)
        if failed is not None:
            raise run_failed(instance, failed)
    from fpl_platform.lib.schemas import ALL_TABLES

    warehouse = Warehouse()
    # tables that only events fill (alerts, A/B tests) exist from the start, empty, so analysts' queries run
    warehouse.ensure(*ALL_TABLES)
    counts = warehouse.publish(note="make demo")
    elapsed = time.perf_counter() - started
    print()
    print(f"fpl_platform demo finished in {elapsed:.1f}s")
    print(f"  warehouse:     {warehouse.file}")
    print(f"  analyst copy:  {warehouse.analytics_file}")
    print('                 query it: .venv/bin/fpl-platform sql "SELECT season, count(*) FROM raw.matches GROUP BY ALL"')
    print(f"  dagster home:  {paths.dagster_home()}")
    print("  rows:")
    for table, rows in sorted(counts.items()):
        print(f"    {table:<28} {rows:>8,}")
    if not paths.setting("FPL_PLATFORM_FOOTBALL_DATA"):
        print(
            "  raw.match_odds was skipped: set FPL_PLATFORM_FOOTBALL_DATA to a football-data.co.uk URL or directory to load odds."
        )
    print()
    print("Open the Dagster UI with `make ui` (http://127.0.0.1:3000).")
    return 0


def _ui_child() -> None:
    """In a child of `fpl-platform ui`, before exec: it obeys the SIGINT and SIGTERM this process forwards (a shell
    starts a background command with SIGINT ignored, and Dagster then ignores SIGTERM too), and it gets SIGTERM
    when this process dies, even by SIGKILL (Linux)."""
    import ctypes
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop_group(process, timeout: float = 15.0) -> None:
    """SIGTERM to a child's process group (it leads it), SIGKILL to what is left after `timeout`."""
    import signal
    import subprocess

    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # workers the leader left behind


def mlflow_port() -> int:
    """The port of FPL_PLATFORM_MLFLOW_UI (what asset metadata links to) when it is on this machine, else 5000."""
    from urllib.parse import urlsplit

    link = urlsplit(paths.setting("FPL_PLATFORM_MLFLOW_UI") or "http://127.0.0.1:5000")
    local = link.hostname in ("127.0.0.1", "localhost")
    return (link.port or 5000) if local else 5000


def port_in_use(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port, or None when it could. The probe binds as the servers do
    (SO_REUSEADDR), so a port a stopped server left in TIME_WAIT counts as free, as it is to them."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.strerror or str(error)
    return None


def start_mlflow(host: str, port: int):
    """`mlflow server` on the platform's registry and artifacts, in its own process group; None if the port is taken."""
    import subprocess

    from fpl_platform.resources import MlflowTracking

    if port_in_use(host, port):
        print(f"MLflow UI not started: {host}:{port} is in use (--mlflow-port picks another, --no-mlflow skips it)")
        return None
    tracking = MlflowTracking()
    log = paths.mlflow_dir() / "server.log"
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri",
        tracking.uri,
        "--default-artifact-root",
        tracking.artifacts,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # MLflow's job runner (GenAI evaluation jobs, seven worker processes) has nothing to do here
    environment = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            process_group=0,
            preexec_fn=_ui_child,
        )
    print(f"MLflow UI on http://{host}:{port} (registry {tracking.uri}; log {log})", flush=True)
    return process


# settings that may be paths relative to where `fpl-platform` was started
PATH_SETTINGS = (
    "FPL_PLATFORM_WAREHOUSE",
    "FPL_PLATFORM_ANALYTICS",
    "FPL_PLATFORM_DATA_DIR",
    "FPL_PLATFORM_CACHE",
    "FPL_PLATFORM_FOOTBALL_DATA",
    "FPL_PLATFORM_CONFIG",
    "FPL_PLATFORM_SMTP_CA_FILE",
)


def absolute_path_settings() -> None:
    """Make the path settings in the environment absolute, for a server started from another directory."""
    for name in PATH_SETTINGS:
        if os.environ.get(name) and not _is_url(os.environ[name]):
            os.environ[name] = str(Path(os.environ[name]).resolve())


def cmd_ui(args: argparse.Namespace) -> int:
    import signal
    import subprocess

    check_config()  # the daemon's sensors and runs read it
    check_writable("ui")
    prepare_home()
    # `dagster dev` runs the webserver and the daemon (sensors, schedule); --webserver-only just the UI
    program = ["dagster-webserver"] if args.webserver_only else ["dagster", "dev"]
    command = [
        str(Path(sys.executable).with_name(program[0])),
        *program[1:],
        "-h",
        args.host,
        "-p",
        str(args.port),
        "-w",
        str(paths.REPO_ROOT / "workspace.yaml"),
    ]
    port = args.mlflow_port or mlflow_port()
    mlflow = None if args.no_mlflow else start_mlflow("127.0.0.1", port)
    print(f"DAGSTER_HOME={paths.setting('DAGSTER_HOME')}; starting {' '.join(command)}", flush=True)
    # Dagster's commands load a .env file from their working directory over the environment, and the repo's
    # names the default instance: run them from FPL_PLATFORM_HOME, so that the DAGSTER_HOME above holds
    absolute_path_settings()
    os.chdir(paths.platform_home())
    if mlflow is None:
        os.execv(command[0], command)
    os.environ.setdefault("FPL_PLATFORM_MLFLOW_UI", f"http://127.0.0.1:{port}")  # the links in asset metadata
    # Dagster in its own process group: a signal to this process (Ctrl-C, SIGTERM) reaches it once, forwarded
    dagster = subprocess.Popen(command, process_group=0, preexec_fn=_ui_child)

    def forward(signum, _frame) -> None:
        if dagster.poll() is None:
            dagster.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    try:
        return dagster.wait()
    finally:
        _stop_group(dagster)
        _stop_group(mlflow)


def selected_assets(names: list[str], downstream: bool) -> list:
    """The asset keys `names` give (`raw/matches`), and with `downstream` every asset that depends on them."""
    import difflib

    import dagster as dg

    from fpl_platform.definitions import defs

    graph = defs.resolve_asset_graph()
    known = {key.to_user_string(): key for key in graph.get_all_asset_keys()}
    keys = []
    for name in names:
        if name.strip() not in known:
            near = difflib.get_close_matches(name, known, n=3) or sorted(known)[:3]
            raise SettingError("asset", name, f"an asset key such as {', '.join(near)} (`.venv/bin/dg list defs` lists all)")
        keys.append(known[name.strip()])
    selection = dg.AssetSelection.assets(*keys)
    if downstream:
        selection = selection.downstream()
    return sorted(selection.resolve(graph), key=lambda key: key.to_user_string())


def cmd_materialize(args: argparse.Namespace) -> int:
    keys = selected_assets(args.assets, args.downstream)
    check_settings("materialize")
    with run_logs_to_stdout(args.debug):
        return _materialize(args, keys)


def _materialize(args: argparse.Namespace, keys: list) -> int:
    """As the UI's Materialize, then what the daemon's sensors do after it: a failed run is alerted, a
    successful one republishes the analyst copy (the same whether or not the daemon runs)."""
    prepare_home()
    import dagster as dg

    from fpl_platform.resources import Warehouse

    started = time.perf_counter()
    seasons = [args.partition] if args.partition else None
    with dg.DagsterInstance.get() as instance:
        results = materialise_all(instance, keys=keys, seasons=seasons, raise_on_error=False, allow_shrink=args.allow_shrink)
        failed = next((result for result in results if not result.success), None)
        if failed is not None:
            raise run_failed(instance, failed)
    counts = Warehouse().publish(note="fpl-platform materialize")
    runs = ", ".join(result.run_id[:8] for result in results)
    names = ", ".join(key.to_user_string() for key in keys)
    print(f"materialised {names} in {time.perf_counter() - started:.1f}s (Dagster run {runs})")
    print(f"published {Warehouse().analytics_file}: {len(counts)} tables, {sum(counts.values()):,} rows")
    return 0


def season_argument(text: str) -> str:
    """argparse type: a season of the season-partitioned assets that the source has (the live API: any)."""
    from fpl_platform.lib.seasons import ALL_SEASONS, seasons_with_results, span

    live = paths.setting("FPL_PLATFORM_SOURCE").lower() == "live"
    try:
        seasons = ALL_SEASONS if live else seasons_with_results(paths.data_dir())
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"the bundled data cannot be read: {one_line(str(error))}") from error
    if text not in seasons:
        raise argparse.ArgumentTypeError(f"{text!r} is not a season with data; expected one of {span(seasons)}")
    return text


def cmd_publish(args: argparse.Namespace) -> int:
    from fpl_platform.resources import Warehouse

    warehouse = Warehouse()
    if not warehouse.file.exists():
        raise CommandFailed(f"no warehouse at {warehouse.file}: run `make demo` first")
    check_writable("publish")
    counts = warehouse.publish(note="fpl-platform publish")
    print(f"published {warehouse.analytics_file}: {len(counts)} tables, {sum(counts.values()):,} rows")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from fpl_platform.lib import analyst

    path = paths.analytics_path()
    if not path.exists():
        raise CommandFailed(f"{path} does not exist yet: run `make demo` first")
    connection = analyst.connect_read_only(path)
    try:
        result = analyst.run(connection, args.query)
        if result is not None:
            print(result)
    except analyst.RefusedStatement as error:
        raise CommandFailed(str(error)) from error
    except duckdb.Error as error:
        raise CommandFailed(one_line(str(error))) from error
    finally:
        connection.close()
    return 0


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1-65535."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def positive_hours(text: str) -> float:
    """argparse type: a number of hours above 0."""
    try:
        hours = float(text)
    except ValueError:
        hours = 0.0
    if not hours > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours above 0")
    return hours


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from fpl_platform.api import create_app

    if problem := port_in_use(args.host, args.port):  # uvicorn would log a traceback-like error and exit later
        raise CommandFailed(f"cannot serve on {args.host}:{args.port}: {problem}")
    path = paths.analytics_path()
    state = "" if path.exists() else " (missing: /health answers 503 until `make demo` or `fpl-platform publish`)"
    print(f"prediction API on http://{args.host}:{args.port} (docs: /docs), reading {path}{state}", flush=True)
    limits = {} if args.max_age_hours is None else {"max_age_hours": args.max_age_hours}
    uvicorn.run(create_app(path, **limits), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    if problem := port_in_use(args.host, args.port):
        raise CommandFailed(f"cannot serve on {args.host}:{args.port}: {problem}")
    path = paths.analytics_path()
    state = "" if path.exists() else " (missing: the pages say to run `make demo` until it is published)"
    print(f"dashboard on http://{args.host}:{args.port}, reading {path}{state}", flush=True)
    absolute_path_settings()  # the pages find the copy through the same settings, from streamlit's directory
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(Path(__file__).with_name("dashboard") / "app.py"),
        f"--server.address={args.host}",
        f"--server.port={args.port}",
        "--server.headless=true",  # no browser opened on a server, and no e-mail prompt
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",  # no telemetry leaves the machine
        "--client.toolbarMode=viewer",
        "--logger.level=warning",
    ]
    os.execv(command[0], command)


def cmd_rollback(args: argparse.Namespace) -> int:
    from fpl_platform.lib.models import MODELS

    if args.model not in MODELS:
        raise SettingError("argument model", args.model, " or ".join(sorted(MODELS)))
    check_settings("rollback")
    if not paths.warehouse_path().exists():
        raise CommandFailed(f"nothing to roll back: no warehouse at {paths.warehouse_path()}; run `make demo` first")
    from fpl_platform.lib import tracking
    from fpl_platform.resources import MlflowTracking

    # a refusal is not a failed run: nothing is started, nothing is alerted
    aliases = tracking.aliases(MlflowTracking().uri, args.model)
    if "champion" not in aliases:
        raise CommandFailed(f"{args.model} has no champion: nothing to roll back")
    if "previous" not in aliases:
        raise CommandFailed(f"{args.model} champion version {aliases['champion']} has no previous champion to restore")
    with run_logs_to_stdout(args.debug):
        return _rollback(args)


def _rollback(args: argparse.Namespace) -> int:
    prepare_home()
    import dagster as dg

    from fpl_platform.definitions import defs
    from fpl_platform.defs.training.sensors import REFRESHED_TAG
    from fpl_platform.lib.models import MODELS

    # the run's log stays in the instance (the UI); the terminal gets the outcome
    silent = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    with dg.DagsterInstance.get() as instance:
        result = execute_in_process(
            defs.resolve_job_def("rollback_job"),
            instance,
            run_config={**silent, "ops": {"rollback_champion": {"config": {"model_name": args.model}}}},
            tags={
                REFRESHED_TAG: "fpl-platform rollback",
                "fpl_platform/evidence": f"fpl-platform rollback {args.model} (by a person)",
            },
            raise_on_error=False,
        )
        if not result.success:  # e.g. no previous champion: the refusal is the line (its alert is recorded)
            alerted = record_failure(instance, result)
            raise CommandFailed(step_failure(result) + ("" if alerted.startswith("alert recorded") else f" ({alerted})"))
        refreshed = run_assets(
            dg.AssetSelection.assets(MODELS[args.model].predictions_asset),
            instance,
            tags={"fpl_platform/trigger": "rollback", "fpl_platform/after_run": result.run_id},
            run_config=silent,
            raise_on_error=False,
        )
        if not refreshed.success:
            failure = run_failed(instance, refreshed, f"{args.model} was rolled back, but refreshing its predictions failed")
    from fpl_platform.lib import tracking
    from fpl_platform.resources import MlflowTracking

    aliases = tracking.aliases(MlflowTracking().uri, args.model)
    print(f"{args.model}: champion is now version {aliases.get('champion')} (rolled back: {aliases.get('rolled_back')})")
    if not refreshed.success:
        raise failure
    from fpl_platform.resources import Warehouse

    # as the daemon's publish sensor would: the analyst copy shows the restored champion's predictions
    counts = Warehouse().publish(note=f"fpl-platform rollback {args.model}")
    print(f"  predictions refreshed; analyst copy republished ({len(counts)} tables)")
    return 0


def gameweek_argument(text: str) -> int:
    """argparse type: a gameweek, 1 to 38."""
    from fpl_platform.lib.seasons import GAMEWEEKS_PER_SEASON

    if not (text.strip().isdigit() and 1 <= int(text) <= GAMEWEEKS_PER_SEASON):
        raise argparse.ArgumentTypeError(f"{text!r} is not a gameweek; expected an integer from 1 to {GAMEWEEKS_PER_SEASON}")
    return int(text)


def replay_season_argument(text: str) -> str:
    """argparse type: a season the bundled data can replay (lib.seasons.replayable_seasons)."""
    from fpl_platform.lib.seasons import REPLAY_SEASONS_BEFORE, replayable_seasons, span

    try:
        seasons = replayable_seasons(paths.data_dir())
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"the bundled data cannot be read: {one_line(str(error))}") from error
    if text not in seasons:
        raise argparse.ArgumentTypeError(
            f"{text!r} cannot be replayed; expected a season with results and fixtures in the bundled data and "
            f"{REPLAY_SEASONS_BEFORE} seasons before it: {span(seasons)}"
        )
    return text


def history_seasons_argument(text: str) -> int:
    """argparse type: how many seasons before the replayed one to ingest (at least replay.MIN_HISTORY_SEASONS)."""
    from fpl_platform.simulation.replay import MIN_HISTORY_SEASONS

    if not (text.strip().isdigit() and int(text) >= MIN_HISTORY_SEASONS):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected an integer of at least {MIN_HISTORY_SEASONS} (the season before the replayed one is "
            "backtested, on a model fitted on the season before it)"
        )
    return int(text)


def inject_drift_argument(text: str) -> str:
    """argparse type: a drift injection, 'swap:<fraction>@<gameweek>' (replay.DriftInjection)."""
    from fpl_platform.simulation.replay import DriftInjection

    try:
        DriftInjection.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def ab_steps_argument(text: str) -> str:
    """argparse type: A/B treatment shares, e.g. '0.1,0.25,0.5' (lib.ab.parse_steps)."""
    from fpl_platform.lib import ab

    try:
        ab.parse_steps(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def cmd_replay(args: argparse.Namespace) -> int:
    if args.from_gameweek > args.to_gameweek:
        raise SettingError("--from-gameweek", args.from_gameweek, f"a gameweek no later than --to-gameweek {args.to_gameweek}")
    check_settings("replay")
    with run_logs_to_stdout(args.debug):
        return _replay(args)


def _replay(args: argparse.Namespace) -> int:
    from fpl_platform.simulation.replay import Replay

    replay = Replay(
        args.season,
        inject_drift=args.inject_drift,
        quick=args.quick,
        ab_test=args.ab_test,
        history_seasons=args.history_seasons,
        log=lambda line: print(line, flush=True),
    )
    started = time.perf_counter()
    state = replay.run(args.from_gameweek, args.to_gameweek)
    elapsed = time.perf_counter() - started
    played = [v for k, v in state.seconds.items() if k.startswith("gameweek_")]
    print()
    print(f"replay of {args.season} reached gameweek {state.next_gameweek - 1} in {elapsed:.0f}s this session")
    if played:
        print(
            f"  {len(played)} gameweeks so far, {sum(played) / len(played):.1f}s per gameweek (bootstrap {state.seconds.get('bootstrap', 0):.0f}s)"
        )
    print(f"  home: {replay.home}   (FPL_PLATFORM_HOME={replay.home} fpl-platform status)")
    return 0


def cmd_ab_test(args: argparse.Namespace) -> int:
    check_writable("ab-test")
    prepare_home()
    from fpl_platform import ab_tests
    from fpl_platform.resources import MlflowTracking, Warehouse

    warehouse = Warehouse()
    try:
        if args.action == "create":
            row = ab_tests.create(
                warehouse,
                MlflowTracking(),
                args.name,
                model=args.model,
                treatment=args.treatment,
                split=args.split,
                rollout=args.rollout or "",
                min_gameweeks_per_step=args.min_gameweeks_per_step,
                target_size=args.target_size,
                end_as_of=args.end,
                alpha=args.alpha,
            )
            print(f"A/B test {args.name}: {row['note']}; start it with `fpl-platform ab-test start {args.name}`")
        elif args.action == "start":
            ab_tests.start(warehouse, args.name)
            print(f"A/B test {args.name} is running: the next predictions are served by arm")
        elif args.action == "stop":
            ab_tests.stop(warehouse, args.name)
            print(f"A/B test {args.name} stopped: the champion serves every item again")
        else:
            print(ab_tests.report(warehouse, args.name))
    except ab_tests.AbTestError as error:
        print(f"fpl-platform ab-test {args.action}: error: {one_line(str(error))}", file=sys.stderr)
        return 2
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from fpl_platform.lib import status

    if not paths.warehouse_path().exists():
        raise CommandFailed(f"no warehouse at {paths.warehouse_path()}: run `make demo` first")
    repairs = []
    # a run killed between moving an alias and recording it would otherwise show two champions: settle that
    # first, leaving alone what a run still alive in the platform's instance is doing. When everything agrees
    # this only reads (no warehouse write lock, no Dagster instance opened)
    if (paths.mlflow_dir() / "mlflow.db").exists():
        import dagster as dg

        from fpl_platform.defs.training.gating import live_runs
        from fpl_platform.resources import MlflowTracking, Warehouse

        with contextlib.ExitStack() as instance:
            judge = []

            def is_alive(run_id: str) -> bool:
                if not judge:
                    prepare_home()
                    judge.append(live_runs(instance.enter_context(dg.DagsterInstance.get())))
                return judge[0](run_id)

            repairs = status.reconcile(Warehouse(lock_timeout_seconds=30), MlflowTracking(), is_alive)
    print(status.report(repairs=repairs))
    return 0


def cmd_build_data(args: argparse.Namespace) -> int:
    from fpl_platform.lib.bundle_builder import WHEEL_NAME, build_all

    wheel = Path(args.wheel) if args.wheel else None
    if wheel is None:
        import subprocess
        import tempfile

        target = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "airsenal==1.17.0", "-d", str(target)], check=True)
        wheel = target / WHEEL_NAME
    counts = build_all(wheel, Path(args.out))
    for name, rows in counts.items():
        print(f"{name:<20} {rows:>8,}")
    return 0


DEBUG_HELP = "on an error, print its traceback too (before or after the command)"


def build_parser() -> Parser:
    """The `fpl-platform` command line."""
    parser = Parser(prog="fpl-platform", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(subparsers, name: str, text: str, func=None) -> Parser:
        made = subparsers.add_parser(name, help=text, description=text)
        # SUPPRESS: a --debug given before the command is not reset by the command's own default
        made.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        if func is not None:
            made.set_defaults(func=func)
        return made

    demo = command(sub, "demo", "materialise every asset on the bundled data and publish the analyst copy", cmd_demo)
    demo.add_argument("--quick", action="store_true", help="for tests: one backtest season, coarser refits, no Evidently report")
    demo.add_argument(
        "--allow-shrink",
        action="store_true",
        help="accept a load that drops a season's rows (a completed season's results and fixtures never shrink)",
    )
    ui = command(sub, "ui", "run `dagster dev` (webserver + daemon) and the MLflow UI against the platform's instance", cmd_ui)
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=port_number, default=3000)
    ui.add_argument("--webserver-only", action="store_true", help="the UI without the daemon (no sensor or schedule runs)")
    ui.add_argument("--no-mlflow", action="store_true", help="do not start the MLflow UI")
    ui.add_argument(
        "--mlflow-port",
        type=port_number,
        help="the MLflow UI's port on 127.0.0.1 (default: FPL_PLATFORM_MLFLOW_UI's, else 5000)",
    )
    api = command(sub, "api", "serve the forecasts read-only over HTTP (FastAPI; OpenAPI docs at /docs)", cmd_api)
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=port_number, default=8000)
    api.add_argument(
        "--max-age-hours",
        type=positive_hours,
        help="/health answers 503 when the analyst copy is older (default 192: a week and a day)",
    )
    dashboard = command(
        sub, "dashboard", "serve the forecasts and the monitoring to people (Streamlit, read-only)", cmd_dashboard
    )
    dashboard.add_argument("--host", default="127.0.0.1")
    dashboard.add_argument("--port", type=port_number, default=8501)
    materialize = command(
        sub,
        "materialize",
        "materialise assets as the UI's Materialize does; a failure is alerted, a success republishes the analyst copy",
        cmd_materialize,
    )
    materialize.add_argument("assets", nargs="+", metavar="ASSET", help="an asset key, e.g. features/team_ratings")
    materialize.add_argument("--downstream", action="store_true", help="and every asset that depends on them")
    materialize.add_argument(
        "--partition",
        type=season_argument,
        help="one season of the season-partitioned (raw) assets, e.g. 2025-26 (default: every season)",
    )
    materialize.add_argument(
        "--allow-shrink", action="store_true", help="accept a load that drops a season's rows (see `demo --allow-shrink`)"
    )
    command(sub, "publish", "publish analytics.duckdb from the warehouse", cmd_publish)
    sql = command(sub, "sql", "run a query against the analyst copy (read-only)", cmd_sql)
    sql.add_argument("query")
    rollback = command(sub, "rollback", "restore a model's previous champion and refresh its predictions", cmd_rollback)
    rollback.add_argument("model", help="match_outcome or player_points")
    replay = command(
        sub, "replay", "replay a bundled season gameweek by gameweek through sensors, schedule and gates", cmd_replay
    )
    replay.add_argument(
        "--season",
        type=replay_season_argument,
        default="2025-26",
        help="a season the bundled data can replay: 2019-20 to 2025-26 (default 2025-26)",
    )
    replay.add_argument("--from-gameweek", type=gameweek_argument, default=1, help="1 to 38 (default 1)")
    replay.add_argument(
        "--to-gameweek", type=gameweek_argument, default=38, help="1 to 38, not before --from-gameweek (default 38)"
    )
    replay.add_argument(
        "--inject-drift",
        type=inject_drift_argument,
        help="e.g. swap:0.5@20 (swap home/away goals in 50%% of matches from gameweek 20)",
    )
    replay.add_argument(
        "--quick", action="store_true", help="for tests: lighter backtests and training validation, no Evidently reports"
    )
    replay.add_argument(
        "--history-seasons",
        type=history_seasons_argument,
        help="ingest only this many seasons before the replayed one, at least 2 (default: all)",
    )
    replay.add_argument(
        "--ab-test",
        type=ab_steps_argument,
        help="A/B test a second match-outcome recipe all season at these treatment shares, e.g. 0.5 or 0.1,0.25,0.5",
    )
    ab_test = command(sub, "ab-test", "A/B test a model version against the champion: create, start, stop, report", cmd_ab_test)
    ab_actions = ab_test.add_subparsers(dest="action", required=True)
    create = command(ab_actions, "create", "define a test (then `start` it)")
    create.add_argument("name")
    create.add_argument("--model", required=True, help="match_outcome or player_points")
    create.add_argument("--treatment", default="challenger", help="a registered version number or alias (default: challenger)")
    create.add_argument("--split", type=float, default=0.1, help="the treatment's initial share of items (default 0.1)")
    create.add_argument("--rollout", help="raise the share through these steps while not worse, e.g. 0.25,0.5")
    create.add_argument("--min-gameweeks-per-step", type=int, default=2)
    create.add_argument("--target-size", type=int, help="complete after this many evaluated items")
    create.add_argument("--end", help="complete at this as-of, e.g. 2025-26:38")
    create.add_argument("--alpha", type=float, default=0.05)
    for action, text in (
        ("start", "start serving by arm"),
        ("stop", "stop (the champion serves all)"),
        ("report", "print the analysis"),
    ):
        command(ab_actions, action, text).add_argument("name")
    command(sub, "status", "champions, last retrain, last drift report, performance, open alerts, data freshness", cmd_status)
    build = command(sub, "build-data", "rebuild data/ from the airsenal==1.17.0 wheel", cmd_build_data)
    build.add_argument("--wheel", help="path to airsenal-1.17.0-py3-none-any.whl (downloaded with pip when omitted)")
    build.add_argument("--out", default=str(paths.REPO_ROOT / "data"), help="output directory (default: data/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    name = " ".join(["fpl-platform", args.command, *([args.action] if args.command == "ab-test" else [])])

    def fail(line: str, status: int) -> int:
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"{name}: {line}", file=sys.stderr, flush=True)
        return status

    try:
        return args.func(args)
    except SettingError as error:
        return fail(f"error: {error}", 2)
    except CommandFailed as error:
        return fail(str(error), 1)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except Exception as error:
        if type(error).__name__ == "DagsterExecutionInterruptedError":  # Ctrl-C inside a run
            return fail("interrupted", 130)
        return fail(f"{type(error).__name__}: {one_line(str(error))} (run with --debug for the traceback)", 1)


def entry() -> None:
    """The `fpl-platform` console script: main(), then an exit that skips the native libraries' teardown.

    Arrow's thread pool (started by any Parquet read) can still be joinable while CPython finalises, and its destructor
    then aborts a finished command with SIGABRT, "terminate called without an active exception" (apache/arrow#34314).
    The command's work is done by then, so what finalisation would run from Python (other threads' ends, atexit
    handlers such as logging's flush) runs here, and the process leaves before the C++ static destructors."""
    try:
        status = main()
    except SystemExit as stop:  # argparse's usage errors and --help
        status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    entry()
