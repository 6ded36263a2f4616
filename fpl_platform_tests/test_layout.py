"""The layout's import rules, read from the source with `ast`: pure `lib/`, domains that talk through asset keys and
tables, a command line and a simulation that share a runtime module, and the private Dagster APIs we rely on."""

from __future__ import annotations

import ast
import importlib

from fpl_platform_tests.conftest import REPO

PACKAGE = REPO / "fpl_platform"
# modules of defs/ that belong to no domain: what every domain may read (shared table reads, memo, console)
SHARED_DEFS = {"tables", "memo", "console"}
# every private Dagster import, and why a public API does not do (an upgrade that moves one fails here, loudly)
PRIVATE_DAGSTER = {
    "fpl_platform.runtime": {
        # a command-line run carries its code location's origin: the UI's timeline, re-execution and the
        # daemon's run-status sensors see it (issue 17); no public API builds that origin
        "dagster._core.definitions.repository_definition.valid_definitions": {"SINGLETON_REPOSITORY_NAME"},
        "dagster._core.remote_origin": {"ManagedGrpcPythonEnvCodeLocationOrigin", "RemoteJobOrigin", "RemoteRepositoryOrigin"},
        "dagster._core.types.loadable_target_origin": {"LoadableTargetOrigin"},
    },
    "fpl_platform.recovery": {
        # Ctrl-C while a step waits for the duckdb pool: Dagster holds interrupts back between steps
        "dagster._core.errors": {"DagsterExecutionInterruptedError"},
        "dagster._utils.interrupts": {"pop_captured_interrupt"},
    },
    "fpl_platform.simulation.storage": {
        # the replay's sqlite storages without a sync per write: measured in BENCHMARKS.md (replay per gameweek)
        "dagster._core.storage.event_log": {"ConsolidatedSqliteEventLogStorage"},
        "dagster._core.storage.runs": {"SqliteRunStorage"},
        "dagster._core.storage.schedules": {"SqliteScheduleStorage"},
        "dagster._core.storage.sqlite": {"SQLITE_BUSY_TIMEOUT_SECONDS"},
    },
}


def imports() -> dict[str, list[tuple[str, set[str]]]]:
    """Per module of the package (dotted name), every import anywhere in it (functions too): (module, names)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        found[name] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found[name].append((node.module, {alias.name for alias in node.names}))
            elif isinstance(node, ast.Import):
                found[name].extend((alias.name, set()) for alias in node.names)
    return found


def test_lib_is_pure_python_with_no_dagster_and_nothing_from_the_rest_of_the_package():
    offending = [
        (module, imported)
        for module, found in imports().items()
        if module.startswith("fpl_platform.lib")
        for imported, _ in found
        if imported.split(".")[0] == "dagster"
        or (imported.startswith("fpl_platform.") and not imported.startswith("fpl_platform.lib"))
    ]
    assert offending == []


def test_domains_import_only_their_own_modules_and_the_shared_ones():
    """A domain reads another's results through asset keys and tables, never through its code."""
    offending = []
    for module, found in imports().items():
        if not module.startswith("fpl_platform.defs.") or module.split(".")[2] in SHARED_DEFS:
            continue
        own = module.split(".")[2]
        for imported, _ in found:
            if imported.startswith("fpl_platform.defs.") and imported.split(".")[2] not in {own, *SHARED_DEFS}:
                offending.append((module, imported))
    assert offending == []
    assert not any(
        i.startswith("fpl_platform.defs.training")
        for m, f in imports().items()
        for i, _ in f
        if ".monitoring" in m or ".serving" in m
    )


def test_the_command_line_and_the_simulation_do_not_import_each_other():
    found = imports()
    cli = [i for i, _ in found["fpl_platform.cli"] if i.startswith("fpl_platform.simulation")]
    simulation = [
        (m, i)
        for m, f in found.items()
        if m.startswith("fpl_platform.simulation")
        for i, _ in f
        if i.startswith("fpl_platform.cli")
    ]
    # the command line may start a replay (the simulation's entry point), never the other way round
    assert set(cli) <= {"fpl_platform.simulation.replay", "fpl_platform.simulation.storage"}
    assert simulation == []
    runtime = {i for i, _ in found["fpl_platform.runtime"]}
    assert "fpl_platform.cli" not in runtime


def test_every_private_dagster_import_is_pinned_and_still_there():
    used = {}
    for module, found in imports().items():
        for imported, names in found:
            if imported.startswith("dagster._"):
                used.setdefault(module, {}).setdefault(imported, set()).update(names)
    assert used == PRIVATE_DAGSTER, "a private Dagster import was added or dropped: pin it here with its reason"
    for per_module in PRIVATE_DAGSTER.values():
        for imported, names in per_module.items():
            target = importlib.import_module(imported)
            assert all(hasattr(target, name) for name in names), (imported, names)


# who may touch os.environ, and why; everything else reads settings through lib.paths.setting (resources are
# configured from them in definitions.py) and run state through the run's tags (lib.clock)
ENVIRONMENT = {
    "fpl_platform.lib.paths": "the one module that reads the platform's settings",
    "fpl_platform.lib.notify": "secrets (SMTP password, webhooks) read when an alert is sent, never stored",
    "fpl_platform": "MLflow's own switches (telemetry off), set when the package is imported",
    "fpl_platform.runtime": "prepare_home points the process at its Dagster instance before any run",
    "fpl_platform.cli": "`fpl-platform ui` builds the environment of the servers it starts",
    "fpl_platform.simulation.replay": "a replay points the process at its home before its first run, and back after",
}


def test_only_the_settings_module_and_process_set_up_touch_the_environment():
    touching = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
                touching.add(name)
    assert touching == set(ENVIRONMENT), sorted(touching ^ set(ENVIRONMENT))
