"""Reduce a NASA Exoplanet Archive PSCompPars CSV export to the columns astrobio-hf uses, gzip-compressed.

This is how `astrobio_hf/package_data/nasa_exoplanet_archive/PSCompPars_2025.csv.gz` was made from the 2025 TAP-style
export (see the README beside it); run it again on a newer export to refresh the demo's catalog:

    python data_scripts/reduce_pscomppars.py PSCompPars.csv astrobio_hf/package_data/nasa_exoplanet_archive/PSCompPars_2025.csv.gz

Values are copied as the archive wrote them (text, full precision); only columns are dropped. The gzip header
carries no file name and no time stamp, so the output is byte-identical for the same input.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import sys
from pathlib import Path

from astrobio_hf.package_data import CATALOG_COLUMNS


def reduce_catalog(source: Path, target: Path) -> dict[str, object]:
    """Write the reduced, gzipped catalog; return its row count and the sha256 of the source and the target."""
    raw = source.read_bytes()
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    missing = [c for c in CATALOG_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SystemExit(f"{source}: no columns {missing}; is it a PSCompPars export?")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CATALOG_COLUMNS)
    rows = 0
    for row in reader:
        writer.writerow([row[c] for c in CATALOG_COLUMNS])
        rows += 1
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(out.getvalue().encode())
    target.write_bytes(buffer.getvalue())
    return {"rows": rows, "source_sha256": hashlib.sha256(raw).hexdigest(),
            "target_sha256": hashlib.sha256(buffer.getvalue()).hexdigest(), "target_bytes": len(buffer.getvalue())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="PSCompPars CSV export (TAP style, header line first)")
    parser.add_argument("target", type=Path, help="output .csv.gz")
    args = parser.parse_args(argv)
    print(reduce_catalog(args.source, args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
