"""Where a command's CPU goes, its child processes included: py-spy samples it, this prints the tables.

    .venv/bin/python benchmarks/profile_cpu.py [--rate 25] [--top 15] -- <command...>
    .venv/bin/python benchmarks/profile_cpu.py --from samples.txt      # tables of an earlier recording

e.g. the test suite: `benchmarks/profile_cpu.py -- .venv/bin/python -m pytest -n 2 --dist worksteal -q`, or one
cold demo in a fresh home: `FPL_PLATFORM_HOME=$(mktemp -d) benchmarks/profile_cpu.py -- .venv/bin/fpl-platform demo`.
py-spy (`pip install -e '.[bench]'`) records only samples where a thread runs, so the seconds are CPU-seconds
(at `--rate` samples a second). Tables:
- imports: the time spent importing, by the top-level package whose import was asked for;
- the library whose code was running (native code is counted to the Python frame that called it);
- the platform's own innermost frame under each sample (where our code spends, its callees included);
- the processes, grouped by command.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def samples(path: Path) -> Iterator[tuple[list[str], int]]:
    """py-spy's raw (collapsed) stacks: frames and sample count. A process's command line may hold newlines."""
    pending = ""
    for line in path.read_text().splitlines():
        pending += line
        match = re.search(r" (\d+)$", pending)
        if match and ";" in pending:
            yield pending[: match.start()].split(";"), int(match.group(1))
            pending = ""
        else:
            pending += "\\n"


def location(frame: str) -> str:
    """`module/file.py` of a frame 'function (module/file.py:line)'."""
    match = re.search(r"\(([^()]*?)(?::\d+)?\)$", frame)
    return match.group(1) if match else frame


def without_line(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame)


def command_kind(frame: str) -> str:
    """A process frame ('process 123:"cmd args"') as its program and first arguments, temporary paths elided."""
    command = frame.split(":", 1)[1].strip('"')
    command = re.sub(r"/tmp/\S+", "<tmp>", command.replace(str(REPO) + "/", ""))
    return " ".join(command.split()[:3])[:70]


def tables(path: Path, rate: float, top: int) -> None:
    total = 0
    imports: collections.Counter = collections.Counter()
    libraries: collections.Counter = collections.Counter()
    ours: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    pids: dict[str, set] = collections.defaultdict(set)
    for frames, count in samples(path):
        total += count
        process = [frame for frame in frames if frame.startswith("process ")][-1]
        kinds[command_kind(process)] += count
        pids[command_kind(process)].add(process.split(":", 1)[0])
        loading = next((i for i, frame in enumerate(frames) if frame.startswith("_find_and_load ")), None)
        if loading is not None:
            module = next((frame for frame in frames[loading:] if frame.startswith("<module> (")), "<module> (?)")
            imports[location(module).split("/")[0]] += count
            continue
        libraries[location(frames[-1]).split("/")[0]] += count
        own = [frame for frame in frames if location(frame).startswith("fpl_platform/")]
        if own:
            ours[without_line(own[-1])] += count

    def table(title: str, counter: collections.Counter, extra=None) -> None:
        print(f"\n| {title} | CPU-s | share |" + (" processes |" if extra else ""))
        print("|---|---:|---:|" + ("---:|" if extra else ""))
        for key, count in counter.most_common(top):
            row = f"| `{key}` | {count / rate:,.1f} | {count / total:.1%} |"
            print(row + (f" {extra(key)} |" if extra else ""))

    print(f"{total / rate:,.0f} CPU-seconds sampled; imports {sum(imports.values()) / rate:,.0f} of them")
    table("import of", imports)
    table("running in", libraries)
    table("our innermost frame", ours)
    table("process", kinds, extra=lambda kind: len(pids[kind]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=25, help="samples a second (default 25)")
    parser.add_argument("--top", type=int, default=15, help="rows of each table (default 15)")
    parser.add_argument("--from", dest="recorded", type=Path, help="py-spy raw output recorded earlier")
    parser.add_argument("--keep", type=Path, help="also keep the raw samples in this file")
    parser.add_argument("command", nargs="*", help="the command to profile, after --")
    args = parser.parse_args()
    if args.recorded is None and not args.command:
        parser.error("give a command after -- or --from <samples file>")
    if args.rate <= 0 or args.top < 1:
        parser.error("--rate must be above 0 and --top at least 1")
    if args.recorded is not None:
        if not args.recorded.is_file():
            parser.error(f"--from {args.recorded}: no such file (py-spy's raw output, e.g. from --keep)")
        tables(args.recorded, args.rate, args.top)
        return 0
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        parser.error(f"{spy} is missing: pip install -e '.[bench]'")
    with tempfile.TemporaryDirectory() as directory:
        raw = args.keep or Path(directory) / "samples.txt"
        record = [str(spy), "record", "--subprocesses", "-r", str(args.rate), "-f", "raw", "-o", str(raw), "--"]
        status = subprocess.run([*record, *args.command]).returncode
        tables(raw, args.rate, args.top)
    return status


if __name__ == "__main__":
    sys.exit(main())
