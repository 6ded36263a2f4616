"""football-data.co.uk season files: the real format's quirks, and bad files named precisely."""

from __future__ import annotations

import pandas as pd
import pytest

from fpl_platform.lib.errors import DataValidationError
from fpl_platform.lib.football_data import parse_season

HEADER_2425 = (
    "Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HTHG,HTAG,HTR,Referee,HS,AS,HST,AST,"
    "B365H,B365D,B365A,PSH,PSD,PSA,AvgH,AvgD,AvgA,B365>2.5,B365<2.5,B365CH,B365CD,B365CA,PSCH,PSCD,PSCA,AvgCH,AvgCD,AvgCA"
)
ROWS_2425 = [
    "E0,16/08/2024,20:00,Man United,Fulham,1,0,H,0,0,D,R Jones,14,10,5,2,1.6,4.2,5.25,1.63,4.3,5.5,1.6,4.2,5.3,1.8,2.0,1.65,4.0,5.25,1.68,4.2,5.3,1.65,4.1,5.2",
    "E0,17/08/2024,12:30,Ipswich,Liverpool,0,2,A,0,0,D,S Hooper,7,18,2,5,7.5,5.0,1.36,7.9,5.2,1.4,7.6,5.0,1.38,1.5,2.6,8.0,5.5,1.33,8.2,5.6,1.35,8.0,5.4,1.34",
    "E0,17/08/2024,15:00,Arsenal,Wolves,2,0,H,1,0,H,J Gillett,18,9,6,3,1.22,6.5,12.0,1.23,6.9,13.0,1.22,6.6,12.2,1.4,3.0,1.2,7.0,13.0,1.21,7.2,14.0,1.2,7.0,13.5",
    "E0,17/08/2024,15:00,Nott'm Forest,Bournemouth,1,1,D,1,0,H,M Oliver,15,16,3,4,2.3,3.4,3.1,2.35,3.5,3.15,2.3,3.4,3.1,1.9,1.9,,,,2.4,3.5,3.1,2.35,3.45,3.1",
]


def season_file(rows=ROWS_2425, header=HEADER_2425, *, bom=True, crlf=True, trailing_empty=True) -> bytes:
    lines = [header, *rows]
    if trailing_empty:
        lines.append("," * (header.count(",")))
    text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def test_parses_the_real_layout_with_bom_crlf_and_trailing_empty_row():
    frame = parse_season(season_file(), "2024-25", "2425/E0.csv")
    assert len(frame) == 4
    first = frame.iloc[0]
    assert first["match_id"] == "2024-25:MUN-FUL" and first["home_team"] == "Manchester United"
    assert first["match_date"] == pd.Timestamp("2024-08-16").date() and first["kickoff_time"] == "20:00"
    assert (first["home_goals"], first["away_goals"], first["result"]) == (1, 0, "H")
    assert first["home_shots"] == 14 and first["away_shots_on_target"] == 2
    odds = {e["key"]: e["value"] for e in first["odds"]}
    assert odds["PSCH"] == 1.68 and odds["AvgCA"] == 5.2 and odds["B365H"] == 1.6
    assert "B365>2.5" not in odds  # over/under prices are not 1X2 odds
    forest = {e["key"] for e in frame.iloc[3]["odds"]}
    assert "B365CH" not in forest and "PSCH" in forest  # a missing bookmaker price stays missing


def test_old_layout_two_digit_years_floats_and_renamed_over_under_columns():
    header = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HS,AS,HST,AST,B365H,B365D,B365A,BbAvH,BbAvD,BbAvA,BbAv_2_5,BbAv_2_5_1"
    rows = [
        "E0,16/08/14,Arsenal,Crystal Palace,2.0,1.0,H,14.0,4.0,6.0,2.0,1.25,6.5,15.0,1.24,6.1,12.5,1.6,2.3",
        "E0,16/08/14,Leicester,Everton,2.0,2.0,D,11.0,13.0,3.0,3.0,3.2,3.4,2.4,3.1,3.4,2.3,1.9,1.9",
    ]
    frame = parse_season(season_file(rows, header, bom=False, crlf=False), "2014-15", "E0_1415.csv")
    assert frame["home_goals"].tolist() == [2, 2]
    assert frame["match_date"].iat[0] == pd.Timestamp("2014-08-16").date()
    assert frame["kickoff_time"].isna().all()
    assert {e["key"] for e in frame["odds"].iat[0]} == {"B365H", "B365D", "B365A", "BbAvH", "BbAvD", "BbAvA"}


def _error(content: bytes, season="2024-25", source="2425/E0.csv") -> DataValidationError:
    with pytest.raises(DataValidationError) as error:
        parse_season(content, season, source)
    assert source in str(error.value)
    return error.value


def test_missing_columns_are_named():
    header = HEADER_2425.replace("FTHG,", "")
    rows = [",".join(r.split(",")[:5] + r.split(",")[6:]) for r in ROWS_2425]
    error = _error(season_file(rows, header))
    assert "FTHG" in str(error) and error.row == 1


def test_non_numeric_goals_name_the_row_and_field():
    rows = [*ROWS_2425]
    rows[2] = rows[2].replace(",Wolves,2,0,", ",Wolves,two,0,")
    error = _error(season_file(rows))
    assert (error.row, error.field) == (4, "FTHG")
    assert "'two'" in str(error)


def test_negative_goals_are_rejected():
    rows = [*ROWS_2425]
    rows[0] = rows[0].replace(",Fulham,1,0,H", ",Fulham,1,-1,H")
    error = _error(season_file(rows))
    assert (error.row, error.field) == (2, "FTAG")


def test_unknown_team_is_named_with_its_row():
    rows = [*ROWS_2425]
    rows[1] = rows[1].replace("Ipswich", "Ipswitch Town FC")
    error = _error(season_file(rows))
    assert (error.row, error.field) == (3, "HomeTeam") and "Ipswitch Town FC" in str(error)


def test_duplicated_matches_are_rejected():
    error = _error(season_file([*ROWS_2425, ROWS_2425[0]]))
    assert error.row == 6 and "duplicated match" in str(error) and "row 2" in str(error)


def test_wrong_delimiter_is_explained():
    content = season_file([r.replace(",", ";") for r in ROWS_2425], HEADER_2425.replace(",", ";"))
    error = _error(content)
    assert "delimiter" in str(error) and "';'" in str(error)


def test_empty_file():
    assert "empty" in str(_error(b""))
    assert "empty" in str(_error(b"\r\n\r\n"))


def test_not_utf8_names_the_offset():
    content = season_file().replace(b"R Jones", b"R J\xf6nes")
    error = _error(content)
    assert "not UTF-8" in str(error) and error.row == 2


def test_kickoff_outside_the_season_is_rejected():
    rows = [*ROWS_2425]
    rows[0] = rows[0].replace("16/08/2024", "16/08/2023")
    error = _error(season_file(rows))
    assert error.field == "kickoff" and "outside season 2024-25" in str(error)


def test_result_contradicting_the_score_is_rejected():
    rows = [*ROWS_2425]
    rows[0] = rows[0].replace(",1,0,H,", ",1,0,A,")
    assert _error(season_file(rows)).field == "FTR"


def test_non_numeric_odds_are_named():
    rows = [*ROWS_2425]
    rows[0] = rows[0].replace(",1.63,4.3,5.5,", ",1.63,abc,5.5,")
    error = _error(season_file(rows))
    assert (error.row, error.field) == (2, "PSD")
