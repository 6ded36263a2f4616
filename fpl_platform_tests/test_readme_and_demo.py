"""The documents' promises: the README's two commands, docs/tables.md and the settings block kept current, every
link, every documented command and query run as written, and `make demo`'s result."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from fpl_platform.lib.schemas import ALL_TABLES, tables_markdown
from fpl_platform_tests.conftest import REPO

# The documents whose ```sh and ```sql blocks the tests run, in this order: the README first (it opens with
# `make demo`, which the later commands need), then docs/ from the analyst's reading to the reference.
DOCUMENTS = (
    "README.md",
    "docs/analyst.md",
    "docs/api.md",
    "docs/dashboard.md",
    "docs/operations.md",
    "docs/configuration.md",
    "docs/architecture.md",
    "docs/deployment.md",
    "docs/tables.md",
)
README = (REPO / "README.md").read_text()


def blocks(language: str) -> list[str]:
    """Every ```<language> block of the DOCUMENTS, in their order."""
    return [
        block
        for document in DOCUMENTS
        for block in re.findall(rf"^```{language}\n(.*?)^```", (REPO / document).read_text(), flags=re.S | re.M)
    ]


def test_readme_opens_with_the_two_commands():
    head = README.splitlines()[:8]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_every_document_has_its_place_in_the_order():
    assert {"README.md", *(path.relative_to(REPO).as_posix() for path in (REPO / "docs").glob("*.md"))} == set(DOCUMENTS)


def test_docs_tables_is_current_and_documents_every_table():
    generated = subprocess.run(
        [sys.executable, "-m", "fpl_platform.lib.schemas"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert (REPO / "docs" / "tables.md").read_text() == generated, "docs/tables.md is stale: run `make docs`"
    assert generated.endswith(tables_markdown())
    for table in ALL_TABLES:
        assert f"### `{table.name}`" in generated


def test_configuration_documents_every_setting_with_its_default():
    import yaml

    from fpl_platform.lib.settings import DEFAULTS

    (block,) = re.findall(r"^```yaml\n(.*?)^```", (REPO / "docs" / "configuration.md").read_text(), flags=re.S | re.M)
    assert yaml.safe_load(block) == DEFAULTS, "docs/configuration.md's YAML block differs from lib/settings.DEFAULTS"


def test_architecture_diagram_is_the_asset_graph():
    from fpl_platform.definitions import defs

    (diagram,) = re.findall(r"^```mermaid\n(.*?)^```", (REPO / "docs" / "architecture.md").read_text(), flags=re.S | re.M)
    labels = dict(re.findall(r"^\s*(\w+)\[\"([^\"]+)\"\]", diagram, flags=re.M))
    drawn = {(labels[a], labels[b]) for a, b in re.findall(r"^\s*(\w+) --> (\w+)$", diagram, flags=re.M)}
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert set(labels.values()) == {key.to_user_string() for key in keys}, "docs/architecture.md's diagram lacks assets"
    real = {(parent.to_user_string(), key.to_user_string()) for key in keys for parent in graph.get(key).parent_keys}
    assert drawn == real, "docs/architecture.md's diagram draws other dependencies than the asset graph has"


def anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_reaches_a_file_and_heading():
    broken = []
    for document in (*DOCUMENTS, "BENCHMARKS.md", "CONTRIBUTING.md"):
        source = REPO / document
        for target in re.findall(r"\]\(([^)\s]+)\)", source.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, fragment = target.partition("#")
            linked = (source.parent / path).resolve() if path else source
            if not linked.exists():
                broken.append(f"{document}: {target}")
            elif fragment and fragment not in {anchor(h) for h in re.findall(r"^#+ (.*)$", linked.read_text(), flags=re.M)}:
                broken.append(f"{document}: {target} (no such heading)")
    assert broken == []


def test_readme_shows_analyst_queries():
    assert all(query in sql_examples() for query in analyst_queries())


def test_readme_example_sql_runs_on_the_analyst_copy(isolated_home):
    """The raw tables' example queries in docs/tables.md run against a published analytics.duckdb."""
    import dagster as dg

    from fpl_platform.resources import Warehouse
    from fpl_platform_tests.conftest import materialise, resources_for
    from fpl_platform_tests.test_football_data import season_file

    odds = isolated_home / "fd" / "2425"
    odds.mkdir(parents=True)
    (odds / "E0.csv").write_bytes(season_file())
    warehouse = Warehouse(path=str(isolated_home / "w.duckdb"), analytics_path=str(isolated_home / "a.duckdb"))
    resources = resources_for(warehouse, football_data={"location": str(isolated_home / "fd")})
    with dg.instance_for_test() as instance:
        materialise(
            ["raw/matches", "raw/player_gameweeks", "raw/match_odds"], resources, instance, seasons=("2024-25", "2025-26")
        )
        materialise(["raw/fixtures", "raw/teams"], resources, instance)
    warehouse.publish()
    connection = duckdb.connect(str(warehouse.analytics_file), read_only=True)
    for table in ALL_TABLES:
        # the other layers' queries run in test_training_pipeline, raw.squad's (live mode only) in test_live_fpl
        if table.name.startswith("raw.") and table.name != "raw.squad":
            assert connection.execute(table.example_sql).fetchall(), table.name
    connection.close()


# "(not run by tests: <reason>)" or "(exit <n>: <reason>)" in a command's comment, or alone on a comment line
# for the rest of its block, tells test_the_readme_as_written what to expect of it
MARK = re.compile(r"\((not run by tests|exit (\d+)): ([^)]*)\)")


def documented_commands() -> list[tuple[str, int | None, str]]:
    """Every command of the DOCUMENTS' ```sh blocks, in order: (command as written, expected exit code or None to
    skip it, the reason given)."""
    commands = []
    for block in blocks("sh"):
        block_mark = None
        for line in block.replace("\\\n", " ").splitlines():
            if not line.strip():
                continue
            mark = MARK.search(line)
            if line.lstrip().startswith("#"):
                block_mark = mark or block_mark
                continue
            mark = mark or block_mark
            if mark is None:
                commands.append((line, 0, ""))
            else:
                commands.append((line, None if mark.group(2) is None else int(mark.group(2)), mark.group(3)))
    return commands


def repo_mirror(target: Path) -> Path:
    """The repo root as a person's checkout would look after `make`: every top-level file and folder (the
    installed .venv too), with nothing generated yet (no .fpl_platform)."""
    target.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {".git", ".fpl_platform", "test-artifacts", ".pytest_cache", ".ruff_cache"}:
            (target / entry.name).symlink_to(entry)
    return target


def test_the_readme_as_written(tmp_path, isolated_home, monkeypatch):
    """Every command of the README's and docs/' shell blocks (DOCUMENTS' order), exactly as written, from the repo
    root with a fresh FPL_PLATFORM_HOME and no other environment; then `make demo` again (nothing changes), every SQL example on
    the analyst copy, every documented table, and the UI in a browser."""
    from fpl_platform.lib.warehouse import table_digests

    stamp = REPO / ".venv" / ".installed-stamp"
    assert stamp.exists() and stamp.stat().st_mtime >= (REPO / "pyproject.toml").stat().st_mtime, "run `make` first"
    root = repo_mirror(tmp_path / "repo")
    home = root / ".fpl_platform"
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)), "FPL_PLATFORM_HOME": str(home)}

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True)

    commands = documented_commands()
    assert len(commands) >= 10 and commands[0][0].startswith("make demo")
    for command, expected, reason in commands:
        if command.startswith("make test"):
            expected, reason = None, "the test suite itself"
        if expected is None:
            print(f"documented command skipped ({reason}): {command}")
            continue
        out = run(command)
        assert out.returncode == expected, f"{command}\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
        if command.startswith("make demo"):
            first = table_digests(home / "warehouse.duckdb")
            again = run(command)  # a second `make demo` succeeds and changes nothing
            assert again.returncode == 0, again.stderr[-3000:]
            digests = table_digests(home / "warehouse.duckdb")
            assert {k: (first.get(k), v) for k, v in digests.items() if first.get(k) != v} == {}

    connection = duckdb.connect(str(home / "analytics.duckdb"), read_only=True)
    present = {row[0] for row in connection.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()}
    assert {table.name for table in ALL_TABLES} <= present, "documented tables missing after make demo"
    assert connection.execute("SELECT count(*), count(DISTINCT season) FROM raw.matches").fetchone() == (4560, 12)
    assert connection.execute("SELECT count(*) FROM raw.player_gameweeks").fetchone()[0] == 264_304
    # every branch ran: both models, both predictions, drift and performance monitoring, the first gate decisions
    served = connection.execute("SELECT count(*) FROM predictions.player_points WHERE as_of = '2025-26:37'").fetchone()[0]
    assert served > 500 and connection.execute("SELECT count(*) FROM predictions.match_outcomes").fetchone()[0] == 10
    decisions = connection.execute("SELECT model_name, decision FROM monitoring.retraining_events ORDER BY model_name").fetchall()
    assert decisions == [("match_outcome", "promoted"), ("player_points", "promoted")]
    assert connection.execute("SELECT count(DISTINCT model_name) FROM monitoring.drift_reports").fetchone()[0] == 2
    # gameweek 38 was served and its results are in: both models have a served performance row for it
    scored = "SELECT count(DISTINCT model_name) FROM monitoring.performance WHERE source = 'served' AND gameweek = 38"
    assert connection.execute(scored).fetchone()[0] == 2
    for query in sql_examples():
        connection.execute(query).fetchall()
    connection.close()

    status = run(".venv/bin/fpl-platform status")
    assert status.returncode == 0 and "match_outcome" in status.stdout and "newest result: 2026-05-24" in status.stdout
    # the browser check's UI serves this home and its instance
    monkeypatch.setenv("FPL_PLATFORM_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    check_ui_in_a_browser()


def sql_examples() -> list[str]:
    """Every ```sql block of the DOCUMENTS (the README's analyst queries and each table's example)."""
    return [block.strip() for block in blocks("sql")]


def analyst_queries() -> list[str]:
    """The ```sql blocks of the README's "Analyst queries" section."""
    section = README.split("## Analyst queries", 1)[1].split("\n## ", 1)[0]
    queries = [block.split("```", 1)[0].strip() for block in section.split("```sql\n")[1:]]
    assert len(queries) >= 3, "the README's Analyst queries section lost its examples"
    return queries


def check_ui_in_a_browser() -> None:
    """`fpl-platform ui` serves the demo's instance: the catalog lists the assets, the performance page shows its plot."""
    from selenium.webdriver.common.by import By

    from fpl_platform_tests.browser import artifacts_dir, chromium, click, dismiss_dialogs, free_port, start_ui, wait_for

    port = free_port()
    server = start_ui(port)
    driver = chromium()
    try:
        driver.get(f"http://127.0.0.1:{port}/assets")
        expected = ("match_features", "player_features", "match_outcome_model", "performance", "drift", "ab_results")
        assert wait_for(lambda: all(name in driver.page_source for name in expected)), "the catalog lacks assets"
        wait_for(lambda: "Loading..." not in driver.page_source)  # the statuses, for the screenshot
        dismiss_dialogs(driver)
        driver.save_screenshot(str(artifacts_dir() / "ui_asset_catalog.png"))

        # the headline numbers are numeric metadata: the asset's Plots tab draws their history
        driver.get(f"http://127.0.0.1:{port}/assets/monitoring/performance")
        # a loaded machine can leave the first render without the metadata table: look again once after a reload
        found = wait_for(lambda: "match_outcome/rolling_rps" in driver.page_source) or (
            driver.refresh() or wait_for(lambda: "match_outcome/rolling_rps" in driver.page_source, timeout=120)
        )
        assert found, "no numeric performance metadata"
        dismiss_dialogs(driver)
        driver.save_screenshot(str(artifacts_dir() / "ui_performance.png"))
        plots = driver.find_elements(By.XPATH, "//button[.//*[text()='Plots'] or text()='Plots']")
        assert plots, "the metadata section has no Plots view"
        click(driver, plots[0])
        assert wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "canvas")), "the Plots view drew nothing"
        assert "match_outcome/rolling_rps" in driver.page_source
        time.sleep(1)
        driver.save_screenshot(str(artifacts_dir() / "ui_performance_plots.png"))
        # the Evidently report opens through a real URL (MLflow's UI)
        driver.get(f"http://127.0.0.1:{port}/assets/monitoring/drift")
        links = wait_for(
            lambda: [a for a in driver.find_elements(By.TAG_NAME, "a") if "/#/experiments/" in (a.get_attribute("href") or "")]
        )
        assert links, "the drift page has no link to its Evidently report"
        assert "match_outcome/drift_share" in driver.page_source
        driver.save_screenshot(str(artifacts_dir() / "ui_drift.png"))
        # the runs `make demo` started from the command line are on the overview timeline, under the location
        driver.get(f"http://127.0.0.1:{port}/overview/timeline")
        assert wait_for(lambda: "asset materializations" in driver.page_source), "the timeline shows no CLI run"
        assert "fpl_platform" in driver.page_source
        dismiss_dialogs(driver)
        driver.save_screenshot(str(artifacts_dir() / "ui_timeline.png"))
    finally:
        driver.quit()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_sql_command_queries_the_analyst_copy(isolated_home, warehouse):
    import pandas as pd

    from fpl_platform.cli import main
    from fpl_platform.lib import schemas

    frame = pd.DataFrame([{"team": "Arsenal", "code": "ARS", "alias": "ARS", "alias_key": "ars", "seen_in": [], "seasons": []}])
    warehouse.write(schemas.TEAMS, frame)
    warehouse.publish()
    assert main(["sql", "SELECT count(*) AS n FROM raw.teams"]) == 0
