"""TAP / DataLink helpers (sources/tap.py) on small SYNTHETIC answers written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.tap import (
    adql_identifier,
    adql_string,
    cone_condition,
    datalink_file_url,
    read_tap_answer,
    tap_sync_request,
    where_clause,
)


def test_adql_pieces():
    assert adql_string("O'Brien") == "'O''Brien'"
    assert cone_condition("s_ra", "s_dec", 10, -5, 0.1) == \
        "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.0, -5.0, 0.1)) = 1"
    with pytest.raises(ValueError, match="bad cone"):
        cone_condition("ra", "dec", 400, 0, 1)
    with pytest.raises(ValueError, match="not a valid ADQL"):
        adql_identifier("ra; DROP")
    assert where_clause(["a = 1", "", "b = 2"]) == " WHERE (a = 1) AND (b = 2)"
    assert where_clause([]) == ""
    req = tap_sync_request("SELECT 1", filename="x.csv", maxrec=3, path="tap/sync")
    assert (req.path, req.params) == ("tap/sync", {"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "csv",
                                                   "QUERY": "SELECT 1", "MAXREC": 3})


def test_csv_answer_with_comments_keeps_physical_lines(tmp_path):
    path = tmp_path / "answer.csv"
    path.write_text("\n# comment\n#\na,b\n1,2\n3,4\n\n# A total of 2 records were found.\n")
    raw = read_tap_answer(path, "test")
    assert raw.table.num_rows == 2 and raw.location(1) == "row 2 (line 6)"
    path.write_text("# comment\na,b\n1,2\n3\n# trailer\n")
    with pytest.raises(SourceFormatError) as info:
        read_tap_answer(path, "test")
    assert info.value.location == "line 4"


def test_only_comments(tmp_path):
    path = tmp_path / "comments.csv"
    path.write_text("# nothing\n#\n")
    with pytest.raises(SourceFormatError, match="only comments"):
        read_tap_answer(path, "test")


def test_datalink_this_row_and_errors():
    path = Path("links.xml")
    rows = [{"semantics": "#preview", "access_url": "http://x/p"}, {"semantics": "#this", "access_url": "http://x/f"}]
    assert datalink_file_url(rows, path, "test") == "http://x/f"
    with pytest.raises(SourceFormatError, match="DataLink reports: NotAuthorized") as info:
        datalink_file_url([{"semantics": "#this", "error_message": "NotAuthorized"}], path, "test")
    assert info.value.location == "row 1, field error_message"
    with pytest.raises(SourceFormatError, match="no '#this' row"):
        datalink_file_url(rows[:1], path, "test")
