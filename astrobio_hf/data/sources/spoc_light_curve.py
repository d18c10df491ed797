"""Base of the Kepler/K2 and TESS builders: SPOC light-curve FITS files -> one row per cadence.

A row is one cadence of a file's ``LIGHTCURVE`` BinTable with the native columns in lower case
(``time``, ``cadenceno``, ``sap_flux``, ``pdcsap_flux`` (+ ``_err``), ``quality``, centroids ...,
float32 where the file stores 4-byte floats) plus the target and time system:

* ``target_id`` ("KIC 11442793", "EPIC 201367065", "TIC 21132157"), ``target_number`` (the integer
  id), ``mission`` (Kepler | K2 | TESS), ``segment`` (quarter "Q3", campaign "C1", sector "S58");
* ``time`` is the file's native time, ``BJD - (BJDREFI + BJDREFF)`` in TDB (Kepler/K2 BKJD =
  BJD - 2454833, TESS BTJD = BJD - 2457000), ``time_system`` names it and ``time_bjd`` is the
  barycentric Julian date;
* ``quality`` is TESS's ``QUALITY`` or Kepler's ``SAP_QUALITY`` bit mask (0 = no flag).

Missing values stay as the file writes them (NaN flux / time for gaps). The mission, target,
segment and time system come from :func:`astrobio_hf.data.modalities.read_light_curve` (the same
reader the light-curve modality uses); the other columns are read with the shared FITS helpers.
Columns other than TIME, CADENCENO, PDCSAP_FLUX(_ERR) and the quality column are optional (null
when a file lacks them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import datasets
import numpy as np
import pyarrow as pa
from astropy import units as u
from astropy.io import fits

from ..download import HttpClient, Secrets
from ..modalities import LightCurveFormatError
from ..modalities._fits import find_hdu, open_fits, table_column
from ..modalities.light_curves import light_curve_from_hdul
from ..physical_ranges import rule, screen, violation_text
from .base import ArchiveBuilder
from .declared_units import check_unit_kind
from .errors import SourceFormatError
from .mast import ARCHIVE_URL, FileRequest, fetch_files, format_error, mast_token_secrets

#: (output column, native column, feature dtype, required). Units are taken from each file's TUNITn.
LIGHT_CURVE_COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("cadenceno", "CADENCENO", "int64", True),
    ("time", "TIME", "float64", True),
    ("timecorr", "TIMECORR", "float32", False),
    ("sap_flux", "SAP_FLUX", "float32", False),
    ("sap_flux_err", "SAP_FLUX_ERR", "float32", False),
    ("sap_bkg", "SAP_BKG", "float32", False),
    ("sap_bkg_err", "SAP_BKG_ERR", "float32", False),
    ("pdcsap_flux", "PDCSAP_FLUX", "float32", True),
    ("pdcsap_flux_err", "PDCSAP_FLUX_ERR", "float32", True),
    ("psf_centr1", "PSF_CENTR1", "float64", False),
    ("psf_centr1_err", "PSF_CENTR1_ERR", "float32", False),
    ("psf_centr2", "PSF_CENTR2", "float64", False),
    ("psf_centr2_err", "PSF_CENTR2_ERR", "float32", False),
    ("mom_centr1", "MOM_CENTR1", "float64", False),
    ("mom_centr1_err", "MOM_CENTR1_ERR", "float32", False),
    ("mom_centr2", "MOM_CENTR2", "float64", False),
    ("mom_centr2_err", "MOM_CENTR2_ERR", "float32", False),
    ("pos_corr1", "POS_CORR1", "float32", False),
    ("pos_corr2", "POS_CORR2", "float32", False),
)
IDENTITY_FEATURES = {
    "target_id": datasets.Value("string"),
    "target_number": datasets.Value("int64"),
    "mission": datasets.Value("string"),
    "segment": datasets.Value("string"),
    "time_system": datasets.Value("string"),
    "time_bjd": datasets.Value("float64"),
    "quality": datasets.Value("int64"),
}


class SpocLightCurveBuilder(ArchiveBuilder):
    """Rows = cadences of SPOC ``*_llc.fits`` / ``*-s_lc.fits`` files (see the module docstring)."""

    DEFAULT_BASE_URL = ARCHIVE_URL
    #: Missions this builder accepts ("Kepler", "K2", "TESS"); another mission's file is an error.
    MISSIONS: ClassVar[tuple[str, ...]] = ()
    MIN_INTERVAL_S = 0.5

    def data_features(self) -> dict[str, Any]:
        native = {name: datasets.Value(dtype) for name, _, dtype, _ in LIGHT_CURVE_COLUMNS}
        return {**IDENTITY_FEATURES, **native}

    def describe(self) -> str:
        columns = ", ".join(name for name, *_ in LIGHT_CURVE_COLUMNS)
        return (f"{'/'.join(self.MISSIONS)} SPOC light curves, one row per cadence: target_id, target_number, "
                "mission, segment, time_system, time_bjd (BJD_TDB days), quality (bit flags, 0 = none), and the "
                f"LIGHTCURVE columns {columns} (time in the native BKJD/BTJD days; fluxes in e-/s; centroids "
                "in pixels; units per file in the prepare report).")

    # ------------------------------------------------------------------ download

    def file_requests(self) -> list[FileRequest]:
        """The archive files of the current config (a mission builder fills this in)."""
        raise NotImplementedError

    def secrets(self) -> Secrets:
        """``MAST_API_TOKEN`` as JWST requests send it: exclusive-access light curves need it."""
        return mast_token_secrets()

    def fetch(self, client: HttpClient, download_dir: Path, force: bool = False) -> list[tuple[str, str]]:
        return fetch_files(client, self.base_url, download_dir, self.file_requests(), source=self.SOURCE,
                           force=force, workers=self.download_workers)

    # ------------------------------------------------------------------ parsing

    def parse_file(self, path: Path) -> Iterator[pa.Table]:
        try:
            with open_fits(path, LightCurveFormatError) as hdul:  # opened once: that costs more than the cadences
                raw = light_curve_from_hdul(path, hdul)
                if self.MISSIONS and raw.mission not in self.MISSIONS:
                    raise self.error(path, "HDU 0 'PRIMARY'", f"a {raw.mission} light curve; the {self.SOURCE} "
                                     f"builder reads {'/'.join(self.MISSIONS)} files")
                columns, units, release, number = self._read_columns(path, hdul)
        except LightCurveFormatError as exc:
            raise format_error(self.SOURCE, path, exc) from None
        columns["time"] = raw.time  # fill values masked, order checked (read_light_curve)
        self._check_cadence_numbers(path, columns["cadenceno"])
        masked = dict(raw.masked)
        for name in ("sap_flux", "sap_flux_err"):
            if columns.get(name) is not None:
                spec = rule("light_curve", "FLUX_ERR" if name.endswith("_err") else "FLUX")
                columns[name], count = screen(columns[name], spec, f"{path}, column {name.upper()}")
                if count:
                    masked[f"{name.upper()}: outside {spec.describe()}"] = count
        if raw.flux_column == "PDCSAP_FLUX":
            columns["pdcsap_flux"], columns["pdcsap_flux_err"] = raw.flux, raw.flux_err
        if masked:
            self.note_quality(path, {"masked": masked})
        self._check_units(path, units)
        self.note_units(path, units)
        self.note_release(path, release)
        columns["time_bjd"], columns["quality"] = raw.time_bjd, raw.quality
        # one Arrow table straight from the FITS columns (NaN stays NaN, as the file writes gaps)
        identity = {"target_id": raw.target_id, "target_number": number, "mission": raw.mission,
                    "segment": raw.segment, "time_system": raw.time_system}
        yield self.complete_table(pa.table({name: values for name, values in columns.items() if values is not None}),
                                  **identity)

    def _check_units(self, path: Path, units: dict[str, str]) -> None:
        """TUNITn of the time and flux columns parsed with astropy: days (SPOC writes ``BJD - 2454833``) and e-/s."""
        def error(column: str, message: str) -> SourceFormatError:
            return self.error(path, f"HDU 1 'LIGHTCURVE', column {column.upper()}", message)

        time_unit = units.get("time", "")
        if time_unit and "BJD" not in time_unit.upper():
            check_unit_kind(time_unit, u.day, "time", error)
        for name in ("sap_flux", "sap_flux_err", "sap_bkg", "sap_bkg_err", "pdcsap_flux", "pdcsap_flux_err"):
            if units.get(name):
                check_unit_kind(units[name], u.electron / u.s, name, error)

    def _check_cadence_numbers(self, path: Path, cadences: np.ndarray | None) -> None:
        """CADENCENO counts cadences from the mission start: non-negative and strictly increasing in a file."""
        if cadences is None or not cadences.size:
            return
        where = "HDU 1 'LIGHTCURVE'"
        spec = rule("light_curve", "CADENCENO")
        bad = np.flatnonzero(spec.outside(cadences))
        if bad.size:
            raise self.error(path, f"{where}, row {bad[0] + 1}, column CADENCENO",
                             violation_text(spec, float(cadences[bad[0]])))
        back = np.flatnonzero(np.diff(cadences) <= 0)
        if back.size:
            row = int(back[0]) + 1
            raise self.error(path, f"{where}, row {row + 1}, column CADENCENO",
                             f"cadence number {int(cadences[row])} does not follow {int(cadences[row - 1])} of row "
                             f"{row}: cadence numbers strictly increase ({back.size} such rows)")

    def _read_columns(self, path: Path, hdul: fits.HDUList
                      ) -> tuple[dict[str, np.ndarray | None], dict[str, str], str, int | None]:
        """The native columns, their TUNITn units, the release text and the target's integer id."""
        index = find_hdu(hdul, "LIGHTCURVE")
        data = hdul[index].data
        present = {n.upper() for n in data.columns.names}
        columns: dict[str, np.ndarray | None] = {}
        units: dict[str, str] = {}
        for name, native, dtype, required in LIGHT_CURVE_COLUMNS:
            if native not in present and not required:
                columns[name] = None
                continue
            values = table_column(path, hdul, index, data, native, LightCurveFormatError)
            columns[name] = np.asarray(values, dtype=np.dtype(dtype))
            unit = data.columns[native].unit
            if unit:
                units[name] = str(unit).strip()
        primary = hdul[0].header
        number = primary.get("TICID") if primary.get("TICID") is not None else primary.get("KEPLERID")
        release = f"{str(primary.get('TELESCOP') or '').strip()} SPOC".strip()
        if primary.get("DATA_REL") is not None:
            release += f" data release {primary['DATA_REL']}"
        if primary.get("DATE"):
            release += f" (file date {primary['DATE']})"
        return columns, units, release, None if number is None else int(number)
