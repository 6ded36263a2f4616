"""HTTP GET with retries and backoff, for live sources (FPL API, football-data.co.uk)."""

from __future__ import annotations

import random
import time

import requests

from fpl_platform.lib.errors import SourceUnavailableError

USER_AGENT = "fpl-platform/0.1 (+https://github.com/)"


def get(
    url: str,
    *,
    session: requests.Session | None = None,
    retries: int = 4,
    backoff_seconds: float = 0.5,
    timeout_seconds: float = 30.0,
    not_found_ok: bool = False,
) -> requests.Response | None:
    """GET `url`; retries connection errors, timeouts, 429 and 5xx with jittered exponential backoff.

    Returns None for 404 when `not_found_ok`; raises SourceUnavailableError naming the URL when every
    attempt failed.
    """
    http = session or requests
    last = ""
    for attempt in range(retries + 1):
        try:
            response = http.get(url, timeout=timeout_seconds, headers={"User-Agent": USER_AGENT})
        except requests.RequestException as error:
            last = f"{type(error).__name__}: {error}"
        else:
            if response.status_code == 404 and not_found_ok:
                return None
            if response.status_code < 400:
                return response
            last = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break
        if attempt < retries:
            time.sleep(backoff_seconds * (2**attempt) * (0.5 + random.random()))
    raise SourceUnavailableError(f"could not fetch {url} after {retries + 1} attempts ({last}); nothing was written")
