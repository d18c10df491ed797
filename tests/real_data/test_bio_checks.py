"""Impossible values and precise errors in the biology sources, on real files with one fault written in.

Each real file is read in place and a copy with a single deliberate fault goes to tmp_path.
"""

from __future__ import annotations

import re

import pytest

from astrobio_hf.data.prepare import inspect_file
from astrobio_hf.data.sources import SourceFormatError


@pytest.fixture(scope="module")
def uniprot_xml(real_data_dir):
    return (real_data_dir / "uniprot" / "multi_ex.xml").read_text()


def test_uniprot_negative_length_is_refused(uniprot_xml, tmp_path):
    bad = tmp_path / "neg.xml"
    bad.write_text(uniprot_xml.replace('length="', 'length="-', 1))
    with pytest.raises(SourceFormatError) as info:
        inspect_file("uniprot", bad)
    message = str(info.value)
    assert "neg.xml, entry 1 (P00750), field length: value -562 of length is outside its possible range" in message


def test_uniprot_length_must_match_the_sequence(real_data_dir, tmp_path):
    text = (real_data_dir / "uniprot" / "multi_ex.txt").read_text()
    bad = tmp_path / "len.txt"
    bad.write_text(re.sub(r"^(ID   \S+ +Reviewed; +)562 AA\.", r"\g<1>600 AA.", text, count=1, flags=re.M))
    with pytest.raises(SourceFormatError, match=r"entry 1 \(P00750\), field length: length 600 disagrees with the "
                                                r"sequence's 562 residues"):
        inspect_file("uniprot", bad)


def test_uniprot_bare_assertion_is_explained(uniprot_xml, tmp_path):
    bad = tmp_path / "pos.xml"
    bad.write_text(re.sub(r'<position position="(\d+)"', r'<position status="unknown" position="\1"', uniprot_xml,
                          count=1))
    with pytest.raises(SourceFormatError) as info:
        inspect_file("uniprot", bad)
    message = str(info.value)
    assert "bad UniProt XML: AssertionError: the parser's check `assert position is None` failed in " \
           "_parse_position" in message
    assert not message.rstrip().endswith("AssertionError:")


def test_uniprot_error_location_is_printed_once(real_data_dir, tmp_path):
    text = (real_data_dir / "uniprot" / "multi_ex.txt").read_text()
    bad = tmp_path / "ec.txt"
    bad.write_text(re.sub(r"EC=[0-9.]+", "EC=9.9.x.abc", text, count=1))
    with pytest.raises(SourceFormatError) as info:
        inspect_file("uniprot", bad)
    message = str(info.value)
    assert message.count("entry 1 (P00750)") == 1 and message.count("DE line EC=") == 1
    assert message.endswith("'9.9.x.abc' is not an EC number (expected four fields like 2.7.1.11 or 2.7.1.-)")


def test_genbank_feature_beyond_the_record_is_refused(real_data_dir, tmp_path):
    text = (real_data_dir / "ncbi_genbank" / "NC_005816.gb").read_text()
    bad = tmp_path / "far.gb"
    bad.write_text(text.replace("     gene            87..1109", "     gene            87..99999999999", 1))
    with pytest.raises(SourceFormatError) as info:
        inspect_file("ncbi_genbank", bad)
    message = str(info.value)
    assert "far.gb, record 1 (NC_005816.1), feature 3 (gene YP_pPCP01), location" in message
    assert "ends at 99,999,999,999 on a record of 9,609 bp" in message
