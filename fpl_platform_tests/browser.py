"""The operator's view, checked as a person would: the Dagster UI in headless Debian Chromium (Selenium).

`make test` installs Debian's `chromium` and `chromium-driver` (never a browser of Selenium's own);
screenshots go to `test-artifacts/` (or FPL_PLATFORM_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from fpl_platform_tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def artifacts_dir() -> Path:
    target = Path(os.environ.get("FPL_PLATFORM_TEST_ARTIFACTS", REPO / "test-artifacts"))
    target.mkdir(parents=True, exist_ok=True)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_ui(port: int) -> subprocess.Popen:
    """`fpl-platform ui --webserver-only` on 127.0.0.1:port, against the current FPL_PLATFORM_HOME; waits until it serves."""
    import urllib.request

    cli = Path(sys.executable).with_name("fpl-platform")
    process = subprocess.Popen(
        [str(cli), "ui", "--webserver-only", "--port", str(port)],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the webserver exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the webserver did not answer within 120 s")


def chromium():
    """Headless Debian Chromium driven by its own chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} missing: `make test` installs Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1200"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def wait_for(predicate, timeout: float = 60.0, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def dismiss_dialogs(driver) -> None:
    """The UI's first-visit newsletter dialog covers the page: skip it as a person would, and wait until it is gone."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        if button.is_displayed():
            button.click()
    wait_for(lambda: not driver.find_elements(By.CSS_SELECTOR, ".bp5-overlay-backdrop"), timeout=10, step=0.2)


def click(driver, element, timeout: float = 30.0) -> None:
    """Click like a person: when a dialog that pops up late covers the element, dismiss it and click again."""
    from selenium.common.exceptions import ElementClickInterceptedException

    deadline = time.monotonic() + timeout
    while True:
        dismiss_dialogs(driver)
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
