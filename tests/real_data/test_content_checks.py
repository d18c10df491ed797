"""Content that is not what it claims is refused, naming file, line and field (issue 21, point 3).

Mutated copies of the real NCBI FASTA and Ensembl GTF files.
"""

from __future__ import annotations

import pytest

from astrobio_hf.data.prepare import prepare_source
from astrobio_hf.data.sources import SourceFormatError

GTF = "ensembl/human.ensembl.97.patch.gtf"


def test_fasta_letters_outside_the_iupac_alphabet_are_refused(real_data_dir, tmp_path):
    lines = (real_data_dir / "ncbi_genbank" / "NC_005816.fna").read_text().splitlines(keepends=True)
    lines[40] = lines[40][:20] + "12345!!@@" + lines[40][20:]
    path = tmp_path / "NC_005816.fna"
    path.write_text("".join(lines))
    with pytest.raises(SourceFormatError, match=r"NC_005816\.fna, entry 1 .*sequence holds '!12345@', not DNA "
                                                r"letters \(first at residue 2751: 'AAAAA12345!!@@A'\)"):
        prepare_source("ncbi_genbank", data_files=str(path), cache_dir=tmp_path / "c")


def _gtf_with(real_data_dir, tmp_path, column: int, value: str):
    lines = (real_data_dir / GTF).read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if not line.startswith("#")) + 2
    cells = lines[index].rstrip("\n").split("\t")
    cells[column] = value
    lines[index] = "\t".join(cells) + "\n"
    path = tmp_path / "patch.gtf"
    path.write_text("".join(lines))
    return path, index + 1


@pytest.mark.parametrize("column, value, field, message", [
    (3, "-5", "start", "start -5: positions are 1-based"),
    (3, "0", "start", "start 0: positions are 1-based"),
    (6, "x", "strand", "strand 'x': strand must be"),
    (7, "7", "frame", "frame 7: frame"),
    (8, "this is free text", "attributes", "no gene_id attribute"),
])
def test_gtf_columns_4_to_9_are_checked(real_data_dir, tmp_path, column, value, field, message):
    path, line = _gtf_with(real_data_dir, tmp_path, column, value)
    with pytest.raises(SourceFormatError, match=rf"patch\.gtf, line {line}, field {field}: {message}"):
        prepare_source("ensembl", data_files=str(path), cache_dir=tmp_path / "c")
