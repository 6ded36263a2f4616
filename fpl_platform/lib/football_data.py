"""football-data.co.uk season files (E0.csv): results, shots and 1X2 odds.

The real files have quirks this parser handles: a UTF-8 BOM, CRLF line endings, dates as dd/mm/yy or
dd/mm/yyyy, trailing all-empty rows, bookmaker columns that come and go between seasons, over/under
columns renamed by re-saving (`B365>2.5` -> `B365_2_5`), and numbers written as floats ("2.0").
Anything else that is wrong fails with the file, the row and the field named.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from fpl_platform.lib import http, teams
from fpl_platform.lib.errors import DataValidationError
from fpl_platform.lib.ingest import check_kickoffs_in_season, check_unique_matches, integer_column, match_ids
from fpl_platform.lib.seasons import short_code

REQUIRED = ("Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG")
STATS = {"HS": "home_shots", "AS": "away_shots", "HST": "home_shots_on_target", "AST": "away_shots_on_target"}
# 1X2 price columns are <bookmaker>[C]<H|D|A>; C marks the closing price
BOOKMAKERS = (
    "B365", "BW", "GB", "IW", "LB", "SB", "WH", "SJ", "VC", "BS", "PS", "P", "Max", "Avg", "BbAv", "BbMx",
    "BF", "BFD", "BFE", "BMGM", "BV", "CL", "1XB",
)  # fmt: skip
ODDS_COLUMN = re.compile(r"^(" + "|".join(sorted(BOOKMAKERS, key=len, reverse=True)) + r")(C?)([HDA])$")


def season_location(base: str, season: str) -> str:
    """Where a season's file lives under `base` (URL or directory): `<base>/<yyzz>/E0.csv`."""
    return f"{base.rstrip('/')}/{short_code(season)}/E0.csv"


def is_url(base: str) -> bool:
    return base.startswith(("http://", "https://"))


def fetch_season(base: str, season: str, *, retries: int = 4, backoff_seconds: float = 0.5) -> tuple[bytes, str] | None:
    """The raw bytes of a season's file and where they came from; None when the source has no such season.

    A local directory may also hold the flat name `E0_<yyzz>.csv`.
    """
    location = season_location(base, season)
    if is_url(base):
        response = http.get(location, retries=retries, backoff_seconds=backoff_seconds, not_found_ok=True)
        return None if response is None else (response.content, location)
    for candidate in (Path(location), Path(base) / f"E0_{short_code(season)}.csv"):
        if candidate.exists():
            return candidate.read_bytes(), str(candidate)
    return None


def parse_season(content: bytes, season: str, source: str) -> pd.DataFrame:
    """Parse and validate one season file into raw.match_odds rows."""
    if not content.strip():
        raise DataValidationError(source, "file is empty; expected a football-data.co.uk CSV with a header row")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise DataValidationError(
            source, f"is not UTF-8 text (byte 0x{content[error.start]:02x} at offset {error.start})", row=line
        ) from None
    header_line = text.splitlines()[0]
    if "," not in header_line:
        found = next((d for d in (";", "\t", "|") if d in header_line), None)
        raise DataValidationError(
            source,
            "wrong delimiter: expected comma-separated columns"
            + (f" but the header is separated by {found!r}" if found else " but the header has no commas"),
            row=1,
        )
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataValidationError(source, f"missing required columns {missing}; the header has {header[:12]}...", row=1)
    records = []
    for number, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue  # trailing all-empty rows (",,,,")
        if len(values) > len(header):
            # short rows happen (trailing empty cells dropped); extra cells mean a broken line
            raise DataValidationError(source, f"has {len(values)} cells, the header has {len(header)}", row=number)
        record = dict(zip(header, values, strict=False))
        if not record.get("HomeTeam", "").strip():
            continue
        record["_source_row"] = number
        records.append(record)
    if not records:
        raise DataValidationError(source, "has a header but no match rows")
    raw = pd.DataFrame(records)
    for column in ("HomeTeam", "AwayTeam"):
        raw[column] = raw[column].str.strip()
    raw = teams.canonicalise_columns(raw, ["HomeTeam", "AwayTeam"], source, row_offset=0)
    # canonicalise_columns reports positions; map them back to file lines through _source_row
    out = pd.DataFrame(
        {"season": season, "home_team": raw["HomeTeam"], "away_team": raw["AwayTeam"], "_source_row": raw["_source_row"]}
    )
    out["match_date"] = _parse_dates(raw, source)
    out["kickoff_time"] = raw["Time"].where(raw["Time"].str.strip() != "", None) if "Time" in raw else None
    out["home_goals"] = integer_column(raw, "FTHG", source, minimum=0)
    out["away_goals"] = integer_column(raw, "FTAG", source, minimum=0)
    if "FTR" in raw:
        out["result"] = raw["FTR"].str.strip()
        bad = ~out["result"].isin(["H", "D", "A"])
        if bad.any():
            position = int(bad.to_numpy().nonzero()[0][0])
            raise DataValidationError(
                source,
                f"FTR is {raw['FTR'].iat[position]!r}, expected H, D or A",
                row=int(raw["_source_row"].iat[position]),
                field="FTR",
            )
    else:
        out["result"] = (out["home_goals"] - out["away_goals"]).map(lambda d: "H" if d > 0 else ("A" if d < 0 else "D"))
    expected = (out["home_goals"] - out["away_goals"]).map(lambda d: "H" if d > 0 else ("A" if d < 0 else "D"))
    wrong = expected != out["result"]
    if wrong.any():
        position = int(wrong.to_numpy().nonzero()[0][0])
        raise DataValidationError(
            source,
            f"FTR {out['result'].iat[position]!r} contradicts the score {out['home_goals'].iat[position]}-{out['away_goals'].iat[position]}",
            row=int(raw["_source_row"].iat[position]),
            field="FTR",
        )
    for column, name in STATS.items():
        out[name] = pd.array([pd.NA] * len(raw), dtype="Int64")
        if column in raw:
            present = raw[column].str.strip() != ""
            out.loc[present, name] = integer_column(raw[present], column, source, minimum=0).to_numpy()
    out["odds"] = _odds_entries(raw, source)
    out["source"] = source
    out["kickoff"] = pd.to_datetime(out["match_date"]).dt.tz_localize("UTC")
    check_unique_matches(out, source)
    check_kickoffs_in_season(out, source)
    out.insert(0, "match_id", match_ids(out))
    return out.drop(columns=["kickoff"])


def _parse_dates(raw: pd.DataFrame, source: str) -> pd.Series:
    text = raw["Date"].str.strip()
    long = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    short = pd.to_datetime(text, format="%d/%m/%y", errors="coerce")
    dates = long.where(text.str.len() == 10, short)
    bad = dates.isna()
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        raise DataValidationError(
            source,
            f"Date is {raw['Date'].iat[position]!r}, expected dd/mm/yy or dd/mm/yyyy",
            row=int(raw["_source_row"].iat[position]),
            field="Date",
        )
    return dates.dt.date


def _odds_entries(raw: pd.DataFrame, source: str) -> list[list[dict]]:
    columns = [c for c in raw.columns if ODDS_COLUMN.match(c)]
    entries: list[list[dict]] = [[] for _ in range(len(raw))]
    for column in columns:
        values = pd.to_numeric(raw[column].str.strip().replace("", None), errors="coerce")
        bad = values.isna() & raw[column].str.strip().ne("") | (values <= 1.0)
        if bad.any():
            position = int(bad.to_numpy().nonzero()[0][0])
            raise DataValidationError(
                source,
                f"{column} is {raw[column].iat[position]!r}, expected a decimal price above 1",
                row=int(raw["_source_row"].iat[position]),
                field=column,
            )
        for position, value in enumerate(values.tolist()):
            if value == value:  # not NaN
                entries[position].append({"key": column, "value": float(value)})
    return entries
