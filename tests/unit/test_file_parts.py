"""Per-file parts of a prepare: records round-trip, and equal unit declarations are held once."""

from __future__ import annotations

from astrobio_hf.data.sources.file_parts import FileParts, FileRecord


def test_records_round_trip_and_share_equal_unit_declarations(tmp_path):
    parts = FileParts(tmp_path / "parts")
    units = {"time": "d", "pdcsap_flux": "e-/s"}
    for name, quality in (("a.fits", {"flagged": 3}), ("b.fits", {"flagged": 5}), ("c.fits", {})):
        parts.save(FileRecord(file=name, rows=10, units=dict(units), release="r1", quality=quality))
    parts.save(FileRecord(file="d.fits", rows=1, units={"time": "s"}))
    a, b, c, d = (parts.record(name) for name in ("a.fits", "b.fits", "c.fits", "d.fits"))
    assert (a.rows, a.units, a.release, a.quality) == (10, units, "r1", {"flagged": 3})
    assert a.units is b.units is c.units  # one dict for the three equal declarations
    assert d.units == {"time": "s"} and d.units is not a.units
    assert parts.record("never-parsed.fits") is None
