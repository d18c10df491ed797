"""A file from another archive is refused by its TELESCOP/OBSERVAT/ORIGIN/INSTRUME cards, naming what it is."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from astrobio_hf.data.prepare import inspect_file
from astrobio_hf.data.sources import SourceFormatError

ESO_ADP = "eso/ADP.2014-09-16T11:04:45.123.fits"
ESI = "keck_koa/PH957_f.fits"
SMOKA = "subaru_smoka/thar_mmf2_a_H_20210317.fits"


def test_eso_adp_given_to_keck_koa(real_data_dir):
    with pytest.raises(SourceFormatError) as info:
        inspect_file("keck_koa", real_data_dir / ESO_ADP)
    message = str(info.value)
    assert "HDU 0 (PRIMARY): this is a ESO file (TELESCOP='ESO-3.6', ORIGIN='ESO', INSTRUME='HARPS'), not from " \
           "Keck; read it with the eso_archive builder" in message


def test_keck_esi_given_to_eso_archive(real_data_dir):
    with pytest.raises(SourceFormatError, match=r"this is a Keck file \(TELESCOP='Keck II', OBSERVAT='keck'.*not from "
                                                 r"ESO; read it with the keck_koa builder"):
        inspect_file("eso_archive", real_data_dir / ESI)


def test_gemini_frame_given_to_subaru_smoka(tmp_path):
    """A SYNTHETIC GMOS-N frame with the cards Gemini writes."""
    primary = fits.PrimaryHDU()
    primary.header.update(TELESCOP="Gemini-North", OBSERVAT="Gemini-North", INSTRUME="GMOS-N",
                          ORIGIN="Gemini Observatory", RA=210.8, DEC=54.3)
    image = fits.ImageHDU(np.zeros((8, 8), dtype=np.float32), name="SCI")
    fits.HDUList([primary, image]).writeto(tmp_path / "N20230101S0001.fits")
    with pytest.raises(SourceFormatError, match=r"this is a Gemini file \(TELESCOP='Gemini-North'.*INSTRUME='GMOS-N'\), "
                                                 r"not from Subaru; read it with the gemini_archive builder"):
        inspect_file("subaru_smoka", tmp_path / "N20230101S0001.fits")


def test_own_files_and_files_without_cards_are_accepted(real_data_dir):
    assert inspect_file("subaru_smoka", real_data_dir / SMOKA)["rows"] == 1  # IRAF dropped its TELESCOP card
    assert inspect_file("keck_koa", real_data_dir / ESI)["rows"] >= 1
    assert inspect_file("eso_archive", real_data_dir / ESO_ADP)["rows"] == 1
