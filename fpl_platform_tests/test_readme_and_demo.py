"""The README's promises: the two commands, the Tables section, and `make demo`'s result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from fpl_platform.lib.schemas import ALL_TABLES, tables_markdown
from fpl_platform_tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    head = README.splitlines()[:8]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_readme_documents_every_table():
    assert tables_markdown() in README, "regenerate the README's Tables section from fpl_platform/lib/schemas.py"
    for table in ALL_TABLES:
        assert f"### `{table.name}`" in README


def test_readme_example_sql_runs_on_the_analyst_copy(isolated_home):
    """The raw tables' example queries in the Tables section run against a published analytics.duckdb."""
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


def test_fpl_platform_demo_loads_every_bundled_row(isolated_home):
    """What `make demo` runs (backtests cut to one season), in a fresh FPL_PLATFORM_HOME, through a real Dagster instance."""
    cli = Path(sys.executable).with_name("fpl-platform")
    out = subprocess.run([str(cli), "demo", "--quick"], capture_output=True, text=True, cwd=REPO, env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "make ui" in out.stdout and str(isolated_home / "warehouse.duckdb") in out.stdout
    connection = duckdb.connect(str(isolated_home / "analytics.duckdb"), read_only=True)
    assert connection.execute("SELECT count(*), count(DISTINCT season) FROM raw.matches").fetchone() == (4560, 12)
    assert connection.execute("SELECT count(*) FROM raw.player_gameweeks").fetchone()[0] == 264_304
    # every branch ran: both models, both predictions, drift and performance monitoring, the first gate decisions
    served = connection.execute("SELECT count(*) FROM predictions.player_points WHERE as_of = '2025-26:37'").fetchone()[0]
    assert served > 500 and connection.execute("SELECT count(*) FROM predictions.match_outcomes").fetchone()[0] == 10
    decisions = connection.execute("SELECT model_name, decision FROM monitoring.retraining_events ORDER BY model_name").fetchall()
    assert decisions == [("match_outcome", "promoted"), ("player_points", "promoted")]
    assert connection.execute("SELECT count(DISTINCT model_name) FROM monitoring.performance").fetchone()[0] == 2
    assert connection.execute("SELECT count(*) FROM monitoring.drift_reports").fetchone()[0] == 2
    connection.close()
    storage = isolated_home / "dagster" / "storage"
    assert storage.exists()  # the runs were recorded in the platform's own instance

    status = subprocess.run([str(cli), "status"], capture_output=True, text=True, cwd=REPO, env=dict(os.environ))
    assert status.returncode == 0, status.stderr[-2000:]
    assert "match_outcome" in status.stdout and "promoted" in status.stdout and "newest result: 2026-05-24" in status.stdout
    # nothing to roll back to after the first training: a clear refusal, not a traceback
    rollback = subprocess.run(
        [str(cli), "rollback", "match_outcome"], capture_output=True, text=True, cwd=REPO, env=dict(os.environ)
    )
    assert rollback.returncode == 1 and "has no previous champion to restore" in rollback.stderr

    # the analysts' queries in the README run on the demo's analyst copy and return rows
    connection = duckdb.connect(str(isolated_home / "analytics.duckdb"), read_only=True)
    for query in analyst_queries():
        assert connection.execute(query).fetchall(), query
    connection.close()

    check_ui_in_a_browser()


def analyst_queries() -> list[str]:
    """The ```sql blocks of the README's "Analyst queries" section."""
    section = README.split("## Analyst queries", 1)[1].split("\n## ", 1)[0]
    queries = [block.split("```", 1)[0].strip() for block in section.split("```sql")[1:]]
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
        dismiss_dialogs(driver)
        driver.save_screenshot(str(artifacts_dir() / "ui_asset_catalog.png"))

        driver.get(f"http://127.0.0.1:{port}/assets/monitoring/performance")
        row = wait_for(lambda: driver.find_elements(By.XPATH, "//tr[td[contains(., 'trend_match_outcome')]]"))
        assert row, "the performance asset's page shows no trend plot entry"
        click(driver, row[0].find_element(By.XPATH, ".//*[contains(text(), 'Show Markdown')]"))
        plots = wait_for(
            lambda: [
                image
                for image in driver.find_elements(By.TAG_NAME, "img")
                if (image.get_attribute("src") or "").startswith("data:image/png")
                and driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 200
            ]
        )
        assert plots, "the trend plot did not render"
        time.sleep(1)  # the dialog fades in
        driver.save_screenshot(str(artifacts_dir() / "ui_performance_plot.png"))
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
