"""The live Fantasy Premier League API: bootstrap-static/, fixtures/, element-summary/<id>/.

`LiveFpl` fetches a season and turns it into the same frames as the bundled snapshot. `recorded_responses`
builds API-shaped responses from the bundled dumps, so tests (and anyone without network) can serve a
real season from a local HTTP server.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import requests

from fpl_platform.lib import bundled, http, teams
from fpl_platform.lib.errors import DataValidationError
from fpl_platform.lib.paths import DEFAULT_FPL_API as DEFAULT_BASE
from fpl_platform.lib.seasons import season_of

POSITIONS = {1: "GK", 2: "DEF", 3: "MID", 4: "FWD", 5: "AM"}
HISTORY_FIELDS = {
    "total_points": "points",
    "goals_scored": "goals",
    "assists": "assists",
    "minutes": "minutes",
    "clean_sheets": "clean_sheets",
    "goals_conceded": "goals_conceded",
    "own_goals": "own_goals",
    "penalties_saved": "penalties_saved",
    "penalties_missed": "penalties_missed",
    "yellow_cards": "yellow_cards",
    "red_cards": "red_cards",
    "saves": "saves",
    "bonus": "bonus",
    "bps": "bps",
    "influence": "influence",
    "creativity": "creativity",
    "threat": "threat",
    "ict_index": "ict_index",
    "starts": "starts",
    "expected_goals": "expected_goals",
    "expected_assists": "expected_assists",
    "expected_goal_involvements": "expected_goal_involvements",
    "expected_goals_conceded": "expected_goals_conceded",
    "selected": "selected",
    "transfers_in": "transfers_in",
    "transfers_out": "transfers_out",
    "transfers_balance": "transfers_balance",
}


@dataclass(frozen=True)
class Kind:
    """What a JSON value must be: the words an error uses for it, and the test."""

    expected: str
    accepts: Callable[[object], bool]


def _is_integer(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):  # the API sends ICT and expected-goal figures as decimal strings ("1.3")
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, int | float) and math.isfinite(value)


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


INTEGER = Kind("an integer", _is_integer)
NUMBER = Kind("a number", _is_number)
TEXT = Kind("a string", lambda value: isinstance(value, str))
TIMESTAMP = Kind("an ISO timestamp", _is_timestamp)
BOOLEAN = Kind("true or false", lambda value: isinstance(value, bool))


@dataclass(frozen=True)
class Records:
    """A JSON list of objects and the fields each must have: name -> (kind, required).

    A required field is present and not null; an optional one may be absent or null, and is of its kind otherwise.
    """

    what: str
    fields: Mapping[str, tuple[Kind, bool]]
    non_empty: bool = True
    unique_id: bool = False


# What each endpoint must hold for this module to read it, checked once per response as it arrives (the
# fields used below, and nothing more: the API adds fields every season)
EVENTS = Records("the season's gameweeks", {"deadline_time": (TIMESTAMP, True)})
TEAMS = Records("the season's teams", {"id": (INTEGER, True), "name": (TEXT, True)}, unique_id=True)
ELEMENTS = Records(
    "the season's players",
    {
        "id": (INTEGER, True),
        "code": (INTEGER, True),
        "first_name": (TEXT, True),
        "second_name": (TEXT, True),
        "team": (INTEGER, True),
        "element_type": (INTEGER, True),
        "now_cost": (INTEGER, True),
        "selected_by_percent": (NUMBER, False),
        "transfers_in_event": (INTEGER, False),
        "transfers_out_event": (INTEGER, False),
        "chance_of_playing_next_round": (NUMBER, False),
        "status": (TEXT, False),
    },
    unique_id=True,
)
FIXTURES = Records(
    "the season's fixtures",
    {
        "id": (INTEGER, True),
        "team_h": (INTEGER, True),
        "team_a": (INTEGER, True),
        "event": (INTEGER, False),
        "kickoff_time": (TIMESTAMP, False),
        "team_h_score": (INTEGER, False),
        "team_a_score": (INTEGER, False),
        "team_h_difficulty": (INTEGER, False),
        "team_a_difficulty": (INTEGER, False),
        "finished": (BOOLEAN, False),
    },
    unique_id=True,
)
HISTORY = Records(
    "the player's gameweeks this season",
    {
        "fixture": (INTEGER, True),
        "was_home": (BOOLEAN, True),
        "round": (INTEGER, True),
        "kickoff_time": (TIMESTAMP, True),
        "value": (INTEGER, False),
        **{api_name: (NUMBER, False) for api_name in HISTORY_FIELDS},
    },
    non_empty=False,  # a player without a minute this season, or any player before gameweek 1
)
# endpoint -> the response's shape: a list of records, or an object holding lists of records and values by name
Shape = Records | Mapping[str, Records | tuple[Kind, bool]]
ENDPOINTS: dict[str, Shape] = {
    "bootstrap-static/": {"events": EVENTS, "teams": TEAMS, "elements": ELEMENTS, "total_players": (INTEGER, False)},
    "fixtures/": FIXTURES,
    "element-summary/": {"history": HISTORY},
}


def _shown(value: object) -> str:
    """A JSON value as an error shows it: its kind when it is a container, else its JSON text (shortened)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_response(url: str, body: object, shape: Shape, name: str) -> None:
    """Raise DataValidationError at the first part of `body` that does not have `shape`, naming `url`, where the
    value is (`events[3]`, `fixtures[12] (id 13)`) and what was expected."""
    if isinstance(shape, Records):
        _check_records(url, body, shape, name, whole=True)
        return
    if not isinstance(body, dict):
        raise DataValidationError(url, f"the response is {_shown(body)} (expected an object with {', '.join(map(repr, shape))})")
    for key, part in shape.items():
        expected, required = (f"a list of {part.what}", True) if isinstance(part, Records) else (part[0].expected, part[1])
        if body.get(key) is None:
            if required:
                problem = "has no" if key not in body else "has null for"
                raise DataValidationError(url, f"the response {problem} {key!r} (expected {expected})")
        elif isinstance(part, Records):
            _check_records(url, body[key], part, key, whole=False)
        elif not part[0].accepts(body[key]):
            raise DataValidationError(url, f"{key} is {_shown(body[key])} (expected {expected})")


def _check_records(url: str, value: object, records: Records, name: str, *, whole: bool) -> None:
    label = "the response" if whole else name
    if not isinstance(value, list):
        raise DataValidationError(url, f"{label} is {_shown(value)} (expected a list of {records.what})")
    if records.non_empty and not value:
        raise DataValidationError(url, f"{label} is an empty list (expected a list of {records.what})")
    seen: dict[int, int] = {}
    fields = [(field, kind.accepts, kind.expected, required) for field, (kind, required) in records.fields.items()]
    for index, record in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(record, dict):
            raise DataValidationError(url, f"{where} is {_shown(record)} (expected an object)")
        if _is_integer(record.get("id")):
            where += f" (id {record['id']})"
        for field, accepts, expected, required in fields:
            item = record.get(field)
            if item is None:
                if required:
                    problem = f"has no {field!r}" if field not in record else f"has null for {field!r}"
                    raise DataValidationError(url, f"{where} {problem} (expected {expected})")
            elif not accepts(item):
                raise DataValidationError(url, f"{where}: {field} is {_shown(item)} (expected {expected})")
        if records.unique_id:
            first = seen.setdefault(int(record["id"]), index)
            if first != index:
                raise DataValidationError(url, f"{where} repeats the id of {name}[{first}] (expected unique ids)")


@dataclass
class LiveSeason:
    """What the live API says about the current season, in bundled-snapshot shapes."""

    season: str
    matches: pd.DataFrame
    fixtures: pd.DataFrame
    player_gameweeks: pd.DataFrame | None
    squad: pd.DataFrame | None = None


class LiveFpl:
    """Client for the FPL API at `base_url` with retries and backoff on every request."""

    def __init__(self, base_url: str = DEFAULT_BASE, *, retries: int = 4, backoff_seconds: float = 0.5, workers: int = 4):
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.workers = workers
        self._session = requests.Session()

    def _json(self, path: str, endpoint: str):
        """The response at `path`, checked against the shape of `endpoint` (ENDPOINTS) before anything reads it."""
        url = f"{self.base_url}/{path}"
        response = http.get(url, session=self._session, retries=self.retries, backoff_seconds=self.backoff_seconds)
        try:
            body = response.json()
        except ValueError:
            raise DataValidationError(url, "response is not JSON") from None
        check_response(url, body, ENDPOINTS[endpoint], endpoint.rstrip("/"))
        return body

    def bootstrap(self) -> dict:
        return self._json("bootstrap-static/", "bootstrap-static/")

    def fixtures(self) -> list[dict]:
        return self._json("fixtures/", "fixtures/")

    def element_summary(self, element_id: int) -> dict:
        return self._json(f"element-summary/{element_id}/", "element-summary/")

    def season(self, *, with_players: bool = True) -> LiveSeason:
        """Fetch the current season: finished matches, all fixtures and (optionally) every player's history."""
        boot = self.bootstrap()
        source = f"{self.base_url}/bootstrap-static/"
        season = season_of(pd.Timestamp(boot["events"][0]["deadline_time"]).to_pydatetime())
        team_names = {int(t["id"]): teams.canonical_name(t["name"], source) for t in boot["teams"]}
        fixtures = fixtures_frame(self.fixtures(), team_names, season, f"{self.base_url}/fixtures/")
        played = fixtures[fixtures["finished"] & fixtures["home_goals"].notna()]
        for column, field in (("gameweek", "event"), ("away_goals", "team_a_score")):
            missing = played[played[column].isna()]
            if len(missing):
                raise DataValidationError(
                    f"{self.base_url}/fixtures/",
                    f"fixtures[{missing.index[0]}] (id {missing['fpl_fixture_id'].iat[0]}) is finished and scored but has "
                    f"null for {field!r} (expected {'its gameweek' if field == 'event' else 'both scores'})",
                )
        matches = pd.DataFrame(
            {
                "season": season,
                "gameweek": played["gameweek"].astype(int),
                "kickoff": played["kickoff"],
                "kickoff_has_time": True,
                "home_team": played["home_team"],
                "away_team": played["away_team"],
                "home_goals": played["home_goals"].astype(int),
                "away_goals": played["away_goals"].astype(int),
            }
        )
        players = None
        if with_players:
            elements = boot["elements"]
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                summaries = list(pool.map(lambda e: self.element_summary(int(e["id"])), elements))
            urls = [f"{self.base_url}/element-summary/{int(e['id'])}/" for e in elements]
            players = player_frame(elements, summaries, fixtures, season, urls)
            if players.empty and len(played):
                raise DataValidationError(
                    f"{self.base_url}/element-summary/",
                    f"no player has a history row, but {len(played)} fixtures are finished "
                    "(expected the finished fixtures' player rows in the players' history)",
                )
        squad = squad_frame(boot, fixtures, team_names, season)
        return LiveSeason(season, matches.reset_index(drop=True), fixtures, players, squad)


def squad_frame(boot: dict, fixtures: pd.DataFrame, team_names: dict[int, str], season: str) -> pd.DataFrame:
    """Every listed player × every fixture of his team in the next gameweek (the first with unfinished fixtures)."""
    upcoming = fixtures[~fixtures["finished"] & fixtures["gameweek"].notna()]
    if upcoming.empty:
        return pd.DataFrame()
    gameweek = int(upcoming["gameweek"].min())
    upcoming = upcoming[upcoming["gameweek"] == gameweek]
    total_players = boot.get("total_players") or 0
    rows = []
    for element in boot["elements"]:
        team = team_names.get(int(element["team"]))
        for fixture in upcoming.itertuples():
            if team not in (fixture.home_team, fixture.away_team):
                continue
            home = team == fixture.home_team
            selected_share = float(element.get("selected_by_percent") or "nan") / 100
            rows.append(
                {
                    "season": season,
                    "gameweek": gameweek,
                    "kickoff": fixture.kickoff,
                    "player_code": int(element["code"]),
                    "player_name": f"{element['first_name']} {element['second_name']}",
                    "position": POSITIONS.get(int(element["element_type"])),
                    "team_name": team,
                    "opponent_name": fixture.away_team if home else fixture.home_team,
                    "was_home": home,
                    "home_team_name": fixture.home_team,
                    "away_team_name": fixture.away_team,
                    "price": int(element["now_cost"]) / 10,
                    "selected": round(selected_share * total_players)
                    if total_players and selected_share == selected_share
                    else None,
                    "transfers_balance": (element.get("transfers_in_event") or 0) - (element.get("transfers_out_event") or 0),
                    "chance_of_playing": element.get("chance_of_playing_next_round"),
                    "status": element.get("status"),
                }
            )
    return pd.DataFrame(rows)


def fixtures_frame(raw: list[dict], team_names: dict[int, str], season: str, source: str) -> pd.DataFrame:
    """fixtures/ JSON -> typed frame with canonical team names."""
    rows = []
    for number, f in enumerate(raw):
        for field in ("team_h", "team_a"):
            if int(f[field]) not in team_names:
                raise DataValidationError(
                    source,
                    f"fixtures[{number}] (id {f['id']}): {field} is {f[field]} (expected the id of one of bootstrap-static/'s teams)",
                )
        home, away = team_names[int(f["team_h"])], team_names[int(f["team_a"])]
        rows.append(
            {
                "season": season,
                "fpl_fixture_id": int(f["id"]),
                "gameweek": f.get("event"),
                "kickoff": f.get("kickoff_time"),
                "home_team": home,
                "away_team": away,
                "home_goals": f.get("team_h_score"),
                "away_goals": f.get("team_a_score"),
                "home_difficulty": f.get("team_h_difficulty"),
                "away_difficulty": f.get("team_a_difficulty"),
                "finished": bool(f.get("finished")),
            }
        )
    frame = pd.DataFrame(rows)
    frame["kickoff"] = pd.to_datetime(frame["kickoff"], utc=True)
    for column in ["gameweek", "home_goals", "away_goals", "home_difficulty", "away_difficulty"]:
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    return frame


def player_frame(
    elements: list[dict], summaries: list[dict], fixtures: pd.DataFrame, season: str, urls: list[str] | None = None
) -> pd.DataFrame:
    """element-summary histories (fetched from `urls`, which errors name) -> player-gameweek rows in the bundled
    snapshot's shape."""
    by_fixture = fixtures.set_index("fpl_fixture_id")
    rows = []
    for number, (element, summary) in enumerate(zip(elements, summaries, strict=True)):
        for index, item in enumerate(summary.get("history", [])):
            if int(item["fixture"]) not in by_fixture.index:
                raise DataValidationError(
                    urls[number] if urls else f"element-summary of element {element['id']}",
                    f"history[{index}]: fixture is {item['fixture']} (expected the id of one of fixtures/'s fixtures)",
                )
            fixture = by_fixture.loc[int(item["fixture"])]
            home = bool(item["was_home"])
            row = {
                "season": season,
                "gameweek": int(item["round"]),
                "kickoff": item["kickoff_time"],
                "player_code": int(element["code"]),
                "player_name": f"{element['first_name']} {element['second_name']}",
                "position": POSITIONS.get(int(element["element_type"])),
                "team_name": fixture["home_team"] if home else fixture["away_team"],
                "opponent_name": fixture["away_team"] if home else fixture["home_team"],
                "was_home": home,
                "home_team_name": fixture["home_team"],
                "away_team_name": fixture["away_team"],
                "price": int(item["value"]) / 10 if item.get("value") is not None else None,
            }
            for api_name, name in HISTORY_FIELDS.items():
                row[name] = item.get(api_name)
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["kickoff"] = pd.to_datetime(frame["kickoff"], utc=True)
    for name in HISTORY_FIELDS.values():
        frame[name] = pd.to_numeric(frame[name])
    return frame


def recorded_responses(data_dir, season: str) -> dict[str, object]:
    """API-shaped responses for one bundled season: {'bootstrap-static/': ..., 'fixtures/': ..., 'element-summary/1/': ...}."""
    fpl_teams = bundled.read(data_dir, "fpl_teams", season)
    elements = bundled.read(data_dir, "fpl_elements", season)
    events = bundled.read(data_dir, "fpl_events", season)
    fixtures = bundled.read(data_dir, "fixtures", season)
    players = bundled.read(data_dir, "player_gameweeks", season)
    team_ids = {
        teams.canonical_name(n, "bundled"): int(i) for i, n in zip(fpl_teams["fpl_team_id"], fpl_teams["full_name"], strict=True)
    }
    position_ids = {v: k for k, v in POSITIONS.items()}
    responses: dict[str, object] = {
        "bootstrap-static/": {
            "events": [
                {
                    "id": int(e.gameweek),
                    "name": e.name,
                    "deadline_time": e.deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "finished": bool(e.finished),
                }
                for e in events.itertuples()
            ],
            "teams": [{"id": int(t.fpl_team_id), "name": t.full_name, "short_name": t.code} for t in fpl_teams.itertuples()],
            "elements": [
                {
                    "id": int(e.element_id),
                    "code": int(e.player_code),
                    "first_name": e.first_name,
                    "second_name": e.second_name,
                    "web_name": e.web_name,
                    "team": int(e.fpl_team_id),
                    "element_type": position_ids.get(e.position, 3),
                    "now_cost": int(e.now_cost),
                }
                for e in elements.itertuples()
            ],
        },
        "fixtures/": [
            {
                "id": int(f.fpl_fixture_id),
                "event": None if pd.isna(f.gameweek) else int(f.gameweek),
                "kickoff_time": None if pd.isna(f.kickoff) else f.kickoff.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "team_h": int(f.fpl_home_team_id),
                "team_a": int(f.fpl_away_team_id),
                "team_h_score": None if pd.isna(f.home_goals) else int(f.home_goals),
                "team_a_score": None if pd.isna(f.away_goals) else int(f.away_goals),
                "team_h_difficulty": None if pd.isna(f.home_difficulty) else int(f.home_difficulty),
                "team_a_difficulty": None if pd.isna(f.away_difficulty) else int(f.away_difficulty),
                "finished": bool(f.finished),
            }
            for f in fixtures.itertuples()
        ],
    }
    fixture_ids = {
        (teams.canonical_name(f.home_team, "bundled"), teams.canonical_name(f.away_team, "bundled")): int(f.fpl_fixture_id)
        for f in fixtures.itertuples()
    }
    reverse = {v: k for k, v in HISTORY_FIELDS.items()}
    histories: dict[int, list] = {int(e): [] for e in elements["player_code"]}
    for row in players.to_dict("records"):
        if pd.isna(row["player_code"]) or int(row["player_code"]) not in histories:
            continue
        item = {
            "fixture": fixture_ids[(row["home_team_name"], row["away_team_name"])],
            "opponent_team": team_ids[row["opponent_name"]],
            "was_home": bool(row["was_home"]),
            "kickoff_time": row["kickoff"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "round": int(row["gameweek"]),
            "value": None if pd.isna(row["price"]) else round(row["price"] * 10),
        }
        for name, api_name in reverse.items():
            value = row[name]
            item[api_name] = None if pd.isna(value) else (value.item() if hasattr(value, "item") else value)
        histories[int(row["player_code"])].append(item)
    for e in elements.itertuples():
        responses[f"element-summary/{int(e.element_id)}/"] = {"history": histories[int(e.player_code)], "fixtures": []}
    return responses
