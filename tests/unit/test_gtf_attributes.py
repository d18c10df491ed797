"""The Arrow-kernel GTF attribute splitter against the row-by-row Python parser (the reference), row for row."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from astrobio_hf.data.sources.gtf_attributes import (
    attribute_values,
    gtf_pairs,
    gtf_pairs_python,
    malformed_rows,
    parse_gtf_attributes,
)

WELL_FORMED = [
    'gene_id "ENSG00000198727"; gene_version "2"; gene_name "MT-CYB"; tag "basic"; tag "CCDS";',
    'gene_id "G1"; exon_number 3; note "a \\"q\\"; b";',  # escaped quotes, a ';' inside quotes, a bare number
    '  a b c d  ',  # bare values, no separators, surrounding space
    'a "x";c "y"',  # no space after ';', no final ';'
    'k ""; z "\tinner\ttabs\t";',  # empty value, tabs kept inside quotes
    'padded   "v"   ;   next "w" ;   ',
    "",
    None,
]
MALFORMED = ['gene_id "ENSG00000211459; gene_version "2";', "lonely", 'a "b"; dangling', 'k "unterminated']


def test_well_formed_rows_split_exactly_as_the_python_parser():
    text = pa.array(WELL_FORMED, pa.string())
    assert malformed_rows(text).tolist() == []
    assert gtf_pairs(text).to_pylist() == gtf_pairs_python(WELL_FORMED).to_pylist()
    assert gtf_pairs(text)[1].as_py() == [{"key": "gene_id", "value": "G1"}, {"key": "exon_number", "value": "3"},
                                          {"key": "note", "value": 'a "q"; b'}]


def test_malformed_rows_are_the_rows_the_python_parser_rejects():
    rows = WELL_FORMED[:3] + MALFORMED
    flagged = malformed_rows(pa.array(rows, pa.string())).tolist()
    assert flagged == [3, 4, 5, 6]
    for i, text in enumerate(rows):
        if i in flagged:
            with pytest.raises(ValueError, match="cannot parse attribute"):
                parse_gtf_attributes(text)
        else:
            parse_gtf_attributes(text or "")


def test_separator_characters_in_the_text_take_the_python_path():
    rows = ['a "x\x1fy"; b "\x1e"', 'c "d";']
    assert gtf_pairs(pa.array(rows)).to_pylist() == gtf_pairs_python(rows).to_pylist()
    assert gtf_pairs(pa.array(rows))[0].as_py()[0] == {"key": "a", "value": "x\x1fy"}


def test_attribute_values_take_the_last_of_a_repeated_key_like_a_dict():
    pairs = gtf_pairs(pa.array(WELL_FORMED, pa.string()))
    for key in ("tag", "gene_id", "a", "c", "k", "z", "next", "missing"):
        expected = [dict(parse_gtf_attributes(t or "")).get(key) for t in WELL_FORMED]
        assert attribute_values(pairs, key).to_pylist() == expected, key


def test_random_texts_agree_with_the_python_parser_on_validity_and_pairs():
    """Seeded random texts over the grammar's tokens (keys, quotes, escapes, ';', spaces, tabs): the pattern
    flags exactly the texts the parser rejects, and splits the rest into the parser's pairs."""
    rng = random.Random(0)
    tokens = ["a", "b", "ab", " ", "\t", ";", "; ", '"', ' "', '"x"', "\\"]
    texts = ["".join(rng.choice(tokens) for _ in range(rng.randint(0, 9))) for _ in range(20_000)]
    flagged = set(malformed_rows(pa.array(texts)).tolist())
    well_formed = []
    for i, text in enumerate(texts):
        try:
            parse_gtf_attributes(text)
        except ValueError:
            assert i in flagged, f"{text!r}: the parser rejects it, the pattern does not"
            continue
        assert i not in flagged, f"{text!r}: the parser reads it, the pattern flags it"
        well_formed.append(text)
    assert len(well_formed) > 1000
    assert gtf_pairs(pa.array(well_formed)).to_pylist() == gtf_pairs_python(well_formed).to_pylist()


def test_ensembl_layout_takes_the_literal_split_and_agrees_with_the_python_parser():
    """Seeded random texts in Ensembl's layout (every value quoted, '; ' between pairs; values with spaces, tabs,
    non-ASCII and empty ones), alone in a chunk so the literal-split path reads them."""
    rng = random.Random(1)
    value_chars = ["a", "Z", "0", " ", "\t", "-", ".", "\u00e9", "\u00a0", "="]
    texts = []
    for _ in range(5_000):
        pairs = [f'{rng.choice(["gene_id", "tag", "k", "exon_number"])} '
                 f'"{"".join(rng.choice(value_chars) for _ in range(rng.randint(0, 6)))}"'
                 for _ in range(rng.randint(1, 5))]
        texts.append("; ".join(pairs) + rng.choice([";", "", "; "]))
    texts += ["", None]
    assert malformed_rows(pa.array(texts, pa.string())).tolist() == []
    assert gtf_pairs(pa.array(texts, pa.string())).to_pylist() == gtf_pairs_python(texts).to_pylist()
