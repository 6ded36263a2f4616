"""Crash safety and data integrity: faults injected into a real platform home through the real command line.

    .venv/bin/python benchmarks/bench_faults.py [--trials 5] [--quick] [--keep]

Builds a fresh FPL_PLATFORM_HOME in a temporary directory (`fpl-platform materialize raw/matches
raw/player_gameweeks raw/fixtures`), then injects each fault into it through `fpl-platform` run as a
subprocess: kill -9 of a load at spread offsets, a short and a corrupt matches.parquet (in a damaged copy of
data/), truncated, half-empty and failing live FPL API responses (a local HTTP server), hostile SQL, a
read-only home. Before each fault every table of the warehouse and of the analyst copy is fingerprinted
(`table_digests`); a fault is survived when the fingerprints afterwards are the same. Two bookkeeping tables
may change, and are checked instead: `monitoring.alerts` only gains rows (a failed run's HIGH alert), and the
analyst copy's one-row `main.published` stamp may be renewed by a publish that completed before a kill.

After each kill the same command runs again and must succeed; the killed run must end FAILED in the Dagster
instance (found and failed either by `fpl_platform.recovery.recover`, timed, or by the next command itself).

Prints markdown tables (progress goes to stderr); exit status 1 if a fault was not survived, an expected
one-line error was not one line or a recovery expectation was not met. --quick: 2 kill offsets instead of --trials.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("fpl-platform")
# the analyst copy's publish stamp (note and time of the last publish)
PUBLISHED = "main.published"
ALERTS = "monitoring.alerts"
SEASON = "2025-26"


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def child_env(home: Path, **extra: str) -> dict:
    """The environment of a `fpl-platform` child: no FPL_PLATFORM_* setting or DAGSTER_HOME but the home (and `extra`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_HOME"))}
    env["FPL_PLATFORM_HOME"] = str(home)
    env.update(extra)
    return env


@dataclass
class Done:
    command: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    @property
    def one_line(self) -> bool:
        return len(self.lines) == 1 and bool(self.lines[0].strip())

    @property
    def error(self) -> str:
        return self.lines[0] if self.one_line else f"{len(self.lines)} stderr lines: " + " / ".join(self.lines[:3])[:300]


def cli(home: Path, *args: str, timeout: float = 600.0, **extra: str) -> Done:
    """`fpl-platform ARGS` in its own process group (killed whole on timeout, returncode None)."""
    command = [str(CLI), *args]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, env=child_env(home, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        code = None
    return Done(command, code, stdout, stderr, time.perf_counter() - started)


@contextlib.contextmanager
def quiet_fd2():
    """DuckDB draws a progress bar on fd 2 for queries over 2 s: not in this script's stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Home:
    """A platform home and the fingerprints of what it stores."""

    def __init__(self, path: Path):
        self.path = path
        self.warehouse = path / "warehouse.duckdb"
        self.analytics = path / "analytics.duckdb"
        self.baseline: dict | None = None

    def fingerprint(self) -> dict:
        from fpl_platform.lib.warehouse import connect, table_digests

        with quiet_fd2():
            found = {"warehouse": table_digests(self.warehouse), "analytics": table_digests(self.analytics)}
            alerts = set()
            if ALERTS in found["warehouse"]:
                with connect(self.warehouse, read_only=True, purpose="reading alerts") as connection:
                    alerts = {row[0] for row in connection.execute(f"SELECT t::VARCHAR FROM {ALERTS} AS t").fetchall()}
        found["alerts"] = alerts
        return found

    def file_hashes(self) -> dict:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (self.warehouse, self.analytics)}

    def rebase(self) -> dict:
        self.baseline = self.fingerprint()
        return self.baseline

    def check(self, *, publish_may_change: bool = False) -> tuple[list[str], dict]:
        """What changed since the baseline (empty: nothing), and notes on the bookkeeping tables; the state
        found becomes the baseline of the next fault."""
        before, after = self.baseline, self.fingerprint()
        problems, notes = [], {"alerts_added": len(after["alerts"] - before["alerts"]), "publish_renewed": False}
        for name in ("warehouse", "analytics"):
            old, new = before[name], after[name]
            for table in sorted(set(old) | set(new)):
                if table == ALERTS and name == "warehouse":
                    continue
                if table == ALERTS and name == "analytics" and publish_may_change:
                    continue  # a publish copies the warehouse's alerts, whose rows are checked below
                if table == PUBLISHED and name == "analytics" and publish_may_change and table in old and table in new:
                    if old[table] != new[table]:
                        if not new[table].startswith("1:"):
                            problems.append(f"{name} {table}: {old[table]} -> {new[table]}")
                        notes["publish_renewed"] = True
                    continue
                if old.get(table) != new.get(table):
                    problems.append(f"{name} {table}: {old.get(table, 'absent')} -> {new.get(table, 'absent')}")
        lost_alerts = before["alerts"] - after["alerts"]
        if lost_alerts:
            problems.append(f"warehouse {ALERTS}: {len(lost_alerts)} earlier alert rows gone")
        self.baseline = after
        return problems, notes


@dataclass
class Fault:
    name: str
    short: str = ""
    tries: int = 0
    survived: int = 0
    one_line: int = 0
    expects_error: bool = True
    recovery: str = ""
    details: list[str] = field(default_factory=list)
    unmet: list[str] = field(default_factory=list)  # expectations beyond the data (recovery) that were not met
    not_applicable: str = ""

    def row(self) -> str:
        if self.not_applicable:
            return f"| {self.name} | 0 | {self.not_applicable} | {self.not_applicable} | {self.recovery} |"
        one = (
            ("yes" if self.one_line == self.tries else f"no ({self.one_line}/{self.tries})")
            if self.expects_error
            else "n/a (killed)"
        )
        mark = "yes" if self.survived == self.tries else "**NO**"
        return f"| {self.name} | {self.tries} | {mark} ({self.survived}/{self.tries}) | {one} | {self.recovery} |"

    @property
    def ok(self) -> bool:
        return bool(self.not_applicable) or (
            self.survived == self.tries and (not self.expects_error or self.one_line == self.tries) and not self.unmet
        )


def refused(fault: Fault, home: Home, done: Done, label: str, *, fingerprint: bool = True, problems=()) -> None:
    """One try of a fault the command must refuse: a failure, one stderr line, nothing stored changed (`problems`,
    found by the caller, and the fingerprints unless `fingerprint` is False)."""
    changed, notes = home.check() if fingerprint else ([], {"alerts_added": 0})
    problems = [*problems, *changed]
    failed = done.returncode not in (0, None)
    fault.tries += 1
    fault.survived += failed and not problems
    fault.one_line += done.one_line
    status = "timed out" if done.returncode is None else f"exit {done.returncode}{'' if failed else ' (NOT refused)'}"
    verdict = "nothing changed" if not problems else "CHANGED: " + "; ".join(problems)
    alert = f", +{notes['alerts_added']} alert" if notes["alerts_added"] else ""
    fault.details.append(f"{label}: {status} in {done.seconds:.1f} s, {verdict}{alert}; stderr: `` {done.error} ``")
    log(f"  {label}: {status}, {verdict}")


# ---------------------------------------------------------------------------------------------------------------
# 1. kill -9 during a write


def run_ids(instance) -> dict:
    return {r.dagster_run.run_id: r.dagster_run.status for r in instance.get_run_records()}


def open_instance(home: Home):
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home.path / "dagster")
    return dg.DagsterInstance.get()


def claimed_slots(instance) -> list[str]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    from fpl_platform.recovery import POOL

    return [slot.run_id for slot in storage.get_concurrency_info(POOL).claimed_slots]


def stale_publish_files(home: Home) -> list[str]:
    return sorted(p.name for p in home.path.iterdir() if p.name.startswith(f".{home.analytics.name}."))


def kill_trials(home: Home, trials: int, uninterrupted: float) -> tuple[Fault, list[str]]:
    import dagster as dg

    from fpl_platform.recovery import recover

    command = ["materialize", "raw/player_gameweeks"]
    # the middles of `trials` equal slices of 20%..90% of an uninterrupted run
    fractions = [0.2 + 0.7 * (i + 0.5) / trials for i in range(trials)]
    fault = Fault(
        short="kill -9",
        name=f"kill -9 of `fpl-platform materialize raw/player_gameweeks` (13 seasons, 264,304 rows) at "
        f"{', '.join(f'{f:.0%}' for f in fractions)} of its uninterrupted {uninterrupted:.1f} s",
        expects_error=False,
    )
    finished = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    rows, next_times, recover_times = [], [], []
    dead_total = dead_failed = by_recover = 0
    for fraction in fractions:
        offset = fraction * uninterrupted
        with open_instance(home) as instance:
            before_runs = set(run_ids(instance))
        process = subprocess.Popen(
            [str(CLI), *command], cwd=REPO, env=child_env(home.path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        time.sleep(offset)
        try:
            os.killpg(process.pid, signal.SIGKILL)
            killed = process.wait() == -signal.SIGKILL
        except ProcessLookupError:
            killed = False
        if process.poll() is None:
            process.wait()
        wal = Path(f"{home.warehouse}.wal").exists()
        stale = stale_publish_files(home)
        lost, notes = home.check(publish_may_change=True)  # data: what the kill left
        unmet: list[str] = []  # recovery: what should have happened after it

        with open_instance(home) as instance:
            new = {k: v for k, v in run_ids(instance).items() if k not in before_runs}
            dead = {k: v.value for k, v in new.items() if v not in finished}
            phase = "no run yet (starting up)"
            if new:
                run_id = next(iter(new))
                events = instance.all_logs(run_id)
                last = events[-1].dagster_event.event_type_value if events and events[-1].dagster_event else "none"
                phase = f"run {new[run_id].value}, last event {last}"
            if stale:
                phase += ", publishing"
            held = [r for r in claimed_slots(instance) if r in dead]
            recover_seconds = None
            # alternate among the kills that left a dead run: recover() here (what the daemon's recover_dead_runs
            # sensor does), then the next command; or the next command alone (it recovers before its run starts)
            if dead and by_recover <= dead_total - by_recover:
                said: list[str] = []
                started = time.perf_counter()
                failed = recover(instance, log=said.append)
                recover_seconds = time.perf_counter() - started
                recover_times.append(recover_seconds)
                by_recover += 1
                if set(dead) - set(failed):
                    unmet.append(f"recover() left dead run(s) {', '.join(f'{r[:8]} {dead[r]}' for r in dead if r not in failed)}")
                if set(claimed_slots(instance)) & set(dead):
                    unmet.append("recover() left the dead run's pool slot claimed")
            dead_total += len(dead)

        done = cli(home.path, *command, timeout=300)
        if done.returncode == 0:
            next_times.append(done.seconds)
        else:
            lost.append(f"the next command failed: exit {done.returncode}: {done.error}")
        with open_instance(home) as instance:
            statuses = {k: v.value for k, v in run_ids(instance).items()}
            slots_after = claimed_slots(instance)
        ended_failed = [r for r in dead if statuses.get(r) == "FAILURE"]
        dead_failed += len(ended_failed)
        if len(ended_failed) != len(dead):
            unmet.append(
                "dead run(s) not FAILED after the next command: "
                + ", ".join(f"{r[:8]} {statuses.get(r)}" for r in dead if r not in ended_failed)
            )
        if slots_after:
            unmet.append(f"pool slots still claimed after the next command: {slots_after}")
        left = stale_publish_files(home)
        if left:
            unmet.append(f"stale publish files left after the next command: {left}")
        after, _ = home.check(publish_may_change=True)  # the rerun: the same data, a new publish stamp
        lost += [f"after the next command: {p}" for p in after]

        fault.tries += 1
        fault.survived += not lost
        fault.unmet += unmet
        recovered_by = "recover()" if recover_seconds is not None else ("the next command" if dead else "nothing to recover")
        rows.append(
            f"| {offset:.1f} s ({fraction:.0%}) | {'yes' if killed else 'no, had finished'} | {phase} | "
            f"{'yes' if wal else 'no'} / {len(stale)} | {'unchanged' if not lost else 'CHANGED'}"
            f"{' (publish stamp renewed)' if notes['publish_renewed'] else ''} | "
            f"{', '.join(f'{r[:8]} {v}' for r, v in dead.items()) or 'none'}; {len(held)} pool slot(s) held | "
            f"{recovered_by}{f' in {recover_seconds:.3f} s' if recover_seconds is not None else ''}; dead runs now "
            f"{', '.join(str(statuses.get(r)) for r in dead) or '-'} | {f'{done.seconds:.1f} s' if done.returncode == 0 else 'FAILED'} |"
        )
        for problem in lost + unmet:
            fault.details.append(f"kill at {offset:.1f} s: {problem}")
        log(f"  kill at {offset:.1f} s: {phase}; lost: {lost or 'nothing'}; recovery problems: {unmet or 'none'}")

    recovery = [
        f"next command succeeded {len(next_times)}/{len(fractions)}"
        + (f" in {statistics.median(next_times):.1f} s median (max {max(next_times):.1f})" if next_times else ""),
        ("dead runs ended FAILED" if dead_failed == dead_total else "**dead runs ended FAILED**")
        + f" {dead_failed}/{dead_total}",
    ]
    if recover_times:
        recovery.append(f"`recover()` took {statistics.median(recover_times):.3f} s (median of {len(recover_times)})")
    fault.recovery = "; ".join(recovery)
    return fault, rows


# ---------------------------------------------------------------------------------------------------------------
# 2-3. damaged bundled data


def damaged_data(root: Path, name: str, damage) -> Path:
    """A copy of data/ with matches.parquet damaged by `damage(path)`."""
    directory = root / f"data-{name}"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(REPO / "data", directory)
    damage(directory / "matches.parquet")
    return directory


def drop_50(path: Path) -> None:
    frame = pd.read_parquet(path)
    last = frame.index[frame["season"] == SEASON][-50:]
    frame.drop(index=last).to_parquet(path, index=False)


def truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def data_faults(home: Home, root: Path) -> list[Fault]:
    load = ["materialize", "raw/matches", "--partition", SEASON]
    short = Fault(
        short="short matches.parquet",
        name=f"valid but short matches.parquet ({SEASON} without its last 50 rows) → `materialize raw/matches --partition {SEASON}`",
        recovery="none needed: refused by the audit before the commit; the failed run's alert recorded",
    )
    done = cli(home.path, *load, FPL_PLATFORM_DATA_DIR=str(damaged_data(root, "short", drop_50)))
    refused(short, home, done, "short matches.parquet")

    corrupt = Fault(
        short="corrupt matches.parquet",
        name=f"corrupt matches.parquet (first half of its bytes; random bytes; empty file) → `materialize raw/matches --partition {SEASON}`",
        recovery="none needed: the read fails before any write; the failed run's alert recorded",
    )
    for name, damage in (("truncated", truncate_half), ("garbage", garbage), ("empty", empty)):
        done = cli(home.path, *load, FPL_PLATFORM_DATA_DIR=str(damaged_data(root, name, damage)))
        refused(corrupt, home, done, f"{name} matches.parquet")
    return [short, corrupt]


# ---------------------------------------------------------------------------------------------------------------
# 4. the live FPL API misbehaving


def live_faults(home: Home) -> list[Fault]:
    from fpl_platform.lib.fpl_api import recorded_responses
    from fpl_platform_tests.http_server import serve_json

    responses = recorded_responses(REPO / "data", SEASON)
    faults = []

    truncated = copy.deepcopy(responses)
    truncated["fixtures/"] = truncated["fixtures/"][:100]
    fault = Fault(
        short="truncated live fixtures",
        name=f"truncated live fixtures (100 of {len(responses['fixtures/'])}) → `materialize raw/matches --partition {SEASON}`, "
        "`materialize raw/fixtures`",
        recovery="none needed: refused by the audit before the commit; the failed run's alert recorded",
    )
    with serve_json(truncated) as server:
        live = {"FPL_PLATFORM_SOURCE": "live", "FPL_PLATFORM_FPL_API": f"{server.url}/api"}
        refused(fault, home, cli(home.path, "materialize", "raw/matches", "--partition", SEASON, **live), "raw/matches")
        refused(fault, home, cli(home.path, "materialize", "raw/fixtures", **live), "raw/fixtures")
    faults.append(fault)

    half = copy.deepcopy(responses)
    summaries = sorted(path for path in half if path.startswith("element-summary/"))
    for path in summaries[::2]:
        half[path] = {**half[path], "history": []}
    fault = Fault(
        short="half-empty live histories",
        name=f"half-empty live player histories ({len(summaries[::2])} of {len(summaries)} emptied) → "
        f"`materialize raw/player_gameweeks --partition {SEASON}`",
        recovery="none needed: refused by the audit (`--allow-shrink` would accept it); alert recorded",
    )
    with serve_json(half) as server:
        live = {"FPL_PLATFORM_SOURCE": "live", "FPL_PLATFORM_FPL_API": f"{server.url}/api"}
        done = cli(home.path, "materialize", "raw/player_gameweeks", "--partition", SEASON, **live)
        refused(fault, home, done, "raw/player_gameweeks")
    faults.append(fault)

    fault = Fault(
        short="HTTP 500",
        name="HTTP 500 from every live endpoint → `materialize raw/fixtures`",
        recovery="none needed: 5 attempts with backoff, then refused before any write; alert recorded",
    )
    with serve_json(responses, fail_first=10**9) as server:
        server.fail_status = 500
        live = {"FPL_PLATFORM_SOURCE": "live", "FPL_PLATFORM_FPL_API": f"{server.url}/api"}
        done = cli(home.path, "materialize", "raw/fixtures", **live)
        refused(fault, home, done, f"HTTP 500 ({len(server.requests)} requests)")
    faults.append(fault)
    return faults


# ---------------------------------------------------------------------------------------------------------------
# 5. hostile SQL through the analyst door


def sql_fault(home: Home) -> Fault:
    statements = [
        ("ATTACH the warehouse READ_WRITE, DELETE", f"ATTACH '{home.warehouse}' AS w (READ_WRITE); DELETE FROM w.raw.matches"),
        ("COPY over the warehouse file", f"COPY (SELECT 1) TO '{home.warehouse}'"),
        ("INSTALL httpfs", "INSTALL httpfs"),
        ("SET threads=1", "SET threads=1"),
        ("read_csv('/etc/passwd')", "SELECT * FROM read_csv('/etc/passwd')"),
    ]
    fault = Fault(
        short="hostile SQL",
        name="hostile SQL through `fpl-platform sql`: " + ", ".join(f"`{label}`" for label, _ in statements),
        recovery="none needed: refused by the read-only door; file bytes of both databases identical",
    )
    hashes = home.file_hashes()
    for label, sql in statements:
        done = cli(home.path, "sql", sql, timeout=120)
        problems = [f"{name} bytes changed" for name, digest in home.file_hashes().items() if hashes[name] != digest]
        if "root:x:0:0" in done.stdout + done.stderr:
            problems.append("printed /etc/passwd")
        # the files' bytes after every statement (equal bytes: equal tables), the tables' fingerprints after the last
        refused(fault, home, done, label, fingerprint=label == statements[-1][0], problems=problems)
    return fault


# ---------------------------------------------------------------------------------------------------------------
# 6. a read-only home


def chmod_stops_writes(root: Path) -> bool:
    probe = root / "chmod-probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        (probe / "x").write_text("x")
    except PermissionError:
        return True
    else:
        return False
    finally:
        probe.chmod(0o755)
        shutil.rmtree(probe)


def read_only_fault(home: Home, root: Path) -> Fault:
    fault = Fault(
        short="read-only home",
        name=f"read-only FPL_PLATFORM_HOME (chmod 0555) → `materialize raw/matches --partition {SEASON}`",
        recovery="make the home writable; the settings check refuses before any write",
    )
    if not chmod_stops_writes(root):
        fault.not_applicable = "n/a (root)"
        fault.recovery = f"not tried: uid {os.geteuid()} writes through chmod 0555"
        return fault
    mode = home.path.stat().st_mode & 0o777
    home.path.chmod(0o555)
    try:
        done = cli(home.path, "materialize", "raw/matches", "--partition", SEASON)
    finally:
        home.path.chmod(mode)
    refused(fault, home, done, "read-only home")
    return fault


# ---------------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5, help="kill -9 offsets, spread over 20%%..90%% of a run (default 5)")
    parser.add_argument("--quick", action="store_true", help="2 kill offsets")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()
    trials = 2 if args.quick else max(args.trials, 1)
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="fpl_faults_"))
    home = Home(root / "home")
    try:
        log(f"setup in {home.path}")
        setup = cli(home.path, "materialize", "raw/matches", "raw/player_gameweeks", "raw/fixtures")
        if setup.returncode != 0:
            raise SystemExit(f"setup failed: {setup.error}")
        log("timing an uninterrupted `materialize raw/player_gameweeks`")
        uninterrupted = cli(home.path, "materialize", "raw/player_gameweeks")
        if uninterrupted.returncode != 0:
            raise SystemExit(f"uninterrupted run failed: {uninterrupted.error}")
        home.rebase()
        tables = {name: int(digest.split(":")[0]) for name, digest in home.baseline["warehouse"].items()}

        log(f"1. kill -9 at {trials} offsets")
        kill, kill_rows = kill_trials(home, trials, uninterrupted.seconds)
        log("2-3. damaged matches.parquet")
        faults = [kill, *data_faults(home, root)]
        log("4. live FPL API faults")
        faults += live_faults(home)
        log("5. hostile SQL")
        faults.append(sql_fault(home))
        log("6. read-only home")
        faults.append(read_only_fault(home, root))

        log("after every fault: the intact data loads again")
        final = cli(home.path, "materialize", "raw/matches", "--partition", SEASON)
        final_problems, _ = home.check(publish_may_change=True)
        elapsed = time.perf_counter() - started
    finally:
        if args.keep:
            log(f"home kept: {home.path}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    invoked = " ".join([os.path.relpath(sys.executable, REPO), os.path.relpath(__file__, REPO), *sys.argv[1:]])
    print(f"# fpl_platform fault-injection benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n")
    print(f"`{invoked}`{' (--quick: 2 kill offsets)' if args.quick else ''}: {elapsed:.0f} s in all\n")
    print(
        "A fresh home: " + ", ".join(f"{name} {rows:,} rows" for name, rows in tables.items()) + "; every table of the "
        "warehouse and the analyst copy fingerprinted (`table_digests`) before and after each fault.\n"
    )
    print("| fault | tries | survived, nothing lost | one-line error | recovery |\n|---|---|---|---|---|")
    for fault in faults:
        print(fault.row())
    tried = sum(f.tries for f in faults)
    survived = sum(f.survived for f in faults)
    skipped = [f.name.split(" →")[0] for f in faults if f.not_applicable]
    print(
        f"\n**faults tried / survived with nothing lost: {tried} / {survived}**"
        + (f" (not tried: {', '.join(skipped)})" if skipped else "")
    )
    print(
        f"\nafter every fault, `fpl-platform materialize raw/matches --partition {SEASON}` on the intact data: "
        f"{'ok' if final.returncode == 0 else 'FAILED: ' + final.error} in {final.seconds:.1f} s, "
        f"{'stored tables unchanged' if not final_problems else 'CHANGED: ' + '; '.join(final_problems)}"
    )
    print(
        "\n| kill at | killed | where the run was | warehouse .wal / stale publish files left | stored tables | "
        "dead runs after the kill | recovered by | next command |\n|---|---|---|---|---|---|---|---|"
    )
    for row in kill_rows:
        print(row)
    print("\n| fault | outcome and the one stderr line |\n|---|---|")
    for fault in faults:
        for detail in fault.details:
            print(f"| {fault.short or fault.name} | {detail.replace('|', '∣')} |")
    failed = not all(f.ok for f in faults) or final.returncode != 0 or bool(final_problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
