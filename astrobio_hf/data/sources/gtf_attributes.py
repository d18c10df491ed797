"""GTF attribute columns split with Arrow compute: one regular-expression pass per chunk, no Python per row.

A GTF's ninth column is ``key "value"; key value; ...`` (GTF 2.2). No library in our stack reads it into
columns (Biopython has no GTF reader; gtfparse/pyranges are not dependencies), so this module does it with
pyarrow's RE2 kernels, over a whole chunk at once:

1. a row is well-formed when the whole text is pairs of :data:`GTF_PAIR` as the parser reads them;
2. a chunk in Ensembl's own layout (every value quoted, pairs split by ``"; ``) is split with literal splits;
   any other chunk has every pair rewritten to ``key<US>value<RS>`` (ASCII unit / record separators) first.

:func:`gtf_pairs_python` does the same with Python's ``re`` one row at a time; it is the reference of the
parity test and the path taken for the rare chunk whose text holds the separator characters themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Whitespace is spelled out: Python's ``\s`` is Unicode-aware and RE2's is not, and both sides must agree.
_SPACE = " \t\n\r\f\v"
_WS = f"[{_SPACE}]"
_KEY = _BARE = f'[^{_SPACE}";]+'
_QUOTED_TEXT = r'(?:[^"\\]|\\.)*'
#: One ``key "value";`` or ``key value;`` pair (values may be quoted with ``\"`` escapes, or bare tokens).
GTF_PAIR = f'{_WS}*({_KEY}){_WS}+(?:"({_QUOTED_TEXT})"|({_BARE})){_WS}*;?'
_PAIR = re.compile(GTF_PAIR)
# The whole text is pairs as the parser's greedy loop reads them: a bare value runs to whitespace, ';' or the end
# (a backtracking match of ``(GTF_PAIR)*`` would also cut ``tag`` into ``ta`` + the key ``g``).
_WHOLE = (f'^(?:{_WS}*{_KEY}{_WS}+(?:"{_QUOTED_TEXT}"{_WS}*;?|{_BARE}(?:{_WS}+;?|{_WS}*;)))*'
          f"(?:{_WS}*{_KEY}{_WS}+{_BARE})?{_WS}*$")
# Ensembl's and GENCODE's own layout: every value quoted, no quote, backslash or ';' inside, pairs split by '; '.
# Literal splits read it several times faster than the pattern's rewrite.
_PLAIN_PAIR = f'[^{_SPACE}";]+ "[^"\\\\;]*"'
_PLAIN = f"^(?:{_PLAIN_PAIR}; )*{_PLAIN_PAIR};?$"
_UNIT, _RECORD = "\x1f", "\x1e"
PAIR_TYPE = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))


def parse_gtf_attributes(text: str) -> list[tuple[str, str]]:
    """``gene_id "ENSG1"; tag "basic";`` -> [(gene_id, ENSG1), (tag, basic)]; ValueError on other text."""
    pairs, pos = [], 0
    text = text.strip(_SPACE)
    while pos < len(text):
        match = _PAIR.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(f"cannot parse attribute text at {text[pos:pos + 40]!r} (expected key \"value\";)")
        value = match.group(2) if match.group(2) is not None else match.group(3)
        pairs.append((match.group(1), value.replace('\\"', '"')))
        pos = match.end()
    return pairs


def malformed_rows(text: pa.Array) -> np.ndarray:
    """Positions of the rows whose attribute text is not a sequence of pairs (null text is no pairs)."""
    good = pc.match_substring_regex(pc.fill_null(text, ""), _WHOLE)
    return np.flatnonzero(~good.to_numpy(zero_copy_only=False))


def gtf_pairs(text: pa.Array) -> pa.ListArray:
    """The (key, value) pairs of every row as ``list<struct<key, value>>``, in file order.

    Rows must be well-formed (see :func:`malformed_rows`); repeated keys (``tag``) are all kept.
    """
    text = pc.fill_null(pc.utf8_trim(text, _SPACE), "")
    if pc.all(pc.or_(pc.match_substring_regex(text, _PLAIN), pc.equal(text, ""))).as_py():
        # the last pair keeps its closing '"' or '";' (values hold neither character)
        return _pairs_from_pieces(len(text), pc.split_pattern(text, '"; '), ' "', lambda v: pc.utf8_rtrim(v, '";'))
    if pc.any(pc.match_substring_regex(text, f"[{_UNIT}{_RECORD}]")).as_py():
        return gtf_pairs_python(text.to_pylist())
    canonical = pc.replace_substring_regex(text, GTF_PAIR, rf"\1{_UNIT}\2\3{_RECORD}")
    return _pairs_from_pieces(len(text), pc.split_pattern(canonical, _RECORD), _UNIT,
                              lambda v: pc.replace_substring(v, '\\"', '"'))


def _pairs_from_pieces(rows: int, pieces: pa.ListArray, between: str, finish: Callable[[pa.Array], pa.Array]
                       ) -> pa.ListArray:
    """``list<struct<key, value>>`` from each row's ``key<between>value`` pieces (empty pieces dropped), with
    ``finish`` applied to the values."""
    flat = pc.list_flatten(pieces)
    parents = pc.list_parent_indices(pieces)
    keep = pc.not_equal(flat, "")  # an empty row's only piece; the piece after a row's last separator
    flat, parents = flat.filter(keep), parents.filter(keep)
    counts = np.bincount(parents.to_numpy(), minlength=rows)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    key_value = pc.split_pattern(flat, between, max_splits=1)
    pairs = pa.StructArray.from_arrays([pc.list_element(key_value, 0), finish(pc.list_element(key_value, 1))],
                                       names=["key", "value"])
    return pa.ListArray.from_arrays(pa.array(offsets), pairs, type=PAIR_TYPE)


def gtf_pairs_python(texts: Sequence[str | None]) -> pa.ListArray:
    """:func:`gtf_pairs` row by row with Python's ``re`` (the reference; raises ValueError on a bad row)."""
    rows = [[{"key": k, "value": v} for k, v in parse_gtf_attributes(t or "")] for t in texts]
    return pa.array(rows, type=PAIR_TYPE)


def attribute_values(pairs: pa.ListArray, key: str) -> pa.Array:
    """Per row, the value of ``key`` (the last one where a key repeats, as ``dict(pairs)`` gives); else null."""
    flat = pairs.flatten()
    parents = pc.list_parent_indices(pairs).to_numpy()
    hits = np.flatnonzero(pc.equal(flat.field("key"), key).to_numpy(zero_copy_only=False))
    last = np.full(len(pairs), -1, dtype=np.int64)
    np.maximum.at(last, parents[hits], hits)
    return flat.field("value").take(pa.array(last, mask=last < 0))


__all__ = ["GTF_PAIR", "PAIR_TYPE", "attribute_values", "gtf_pairs", "gtf_pairs_python", "malformed_rows",
           "parse_gtf_attributes"]
