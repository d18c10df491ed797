"""JWST spectra from MAST (x1d / x1dints products) and published transmission-spectrum tables.

``records`` selects what a row is (one schema per choice):

* ``"spectra"`` (default): one row per spectrum segment. A segment is one ``EXTRACT1D``
  extension of a ``*_x1d.fits`` / ``*_x1dints.fits`` file (one spectral order, or one integration
  of an x1dints file, with its mid-time ``int_mid_bjd_tdb`` from ``INT_TIMES``), or, in a published
  table, the samples that share one order (CSV ``order`` column) or one instrument label (Pyrat Bay
  ``instrument`` column); a table with neither is one segment. List columns ``wavelength`` [um],
  ``half_width`` [um], ``value`` (FLUX [Jy] for x1d, transit depth [ppm] for tables), ``error``
  (same unit; null when the file has none) and ``mask`` (True = usable: finite, DQ == 0,
  quality == 0, error > 0) hold the native samples; scalar columns say what the segment is
  (``target_name``, ``instrument``, ``exp_type``, ``spectrum_kind``, ``order``, ``integration``,
  ``value_unit``, ``n_points``, ``n_valid``, ``segment_index``). Files are read with the spectrum
  modality's readers (:func:`read_jwst_x1d`, :func:`read_transmission_table`). Tables name no
  target: pass ``target_name=``; their ``instrument`` is the per-sample label, else the JWST
  instrument named in the file name (NIRISS, NIRSPEC, NIRCAM, MIRI), else null.
* ``"observations"``: one row per CAOM observation of a ``Mast.Caom.Filtered`` answer (JSON).
* ``"products"``: one row per product of a ``Mast.Caom.Products`` answer (JSON).

Download mode (base ``https://mast.stsci.edu/api``; override ``base_url=`` or
``ASTROBIO_JWST_MAST_URL``) sends the MAST Portal API requests as ``POST <base>/v0/invoke`` with the
form field ``request=<json>``:

1. ``Mast.Caom.Filtered`` with filters ``obs_collection=JWST`` and, where given, ``target_name``
   (``targets``), ``instrument_name`` (``instruments``), ``proposal_id`` (``proposal_ids``),
   ``dataproduct_type`` (default ``spectrum``); every page is fetched (``page_size`` rows each);
2. ``Mast.Caom.Products`` for the obsids found (``obsid`` = comma-separated, 50 per request);
3. the products whose file name ends with one of ``product_suffixes`` (default ``_x1d.fits``,
   ``_x1dints.fits``), at most ``max_files``, via ``GET <base>/v0.1/Download/file?uri=<dataURI>``
   (``mast:JWST/product/<file>``).

Each step's answer is saved and parsed like a local file; ``records`` decides which step's files
become rows. ``MAST_API_TOKEN`` (only for exclusive-access data) is sent as
``Authorization: token ...``; it is never logged or cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa

from ..download import DownloadError, HttpClient, Secrets, join_url, redact_url
from ..modalities import Spectrum, SpectrumFormatError, read_jwst_x1d, read_transmission_table
from ..physical_ranges import rule, violation_text
from .base import ArchiveBuilder, ArchiveBuilderConfig, DownloadRequest
from .kepler_k2_mast import str_list
from .mast import (
    CAOM_COLUMNS,
    DOWNLOAD_PATH,
    INVOKE_PATH,
    MAST_API_URL,
    PRODUCT_COLUMNS,
    FileRequest,
    MastAnswer,
    answer_table,
    fetch_files,
    format_error,
    invoke,
    invoke_dest,
    mast_filters,
    mast_request,
    mast_token_secrets,
    read_mast_answer,
    retrieved_now,
)
from .observatory import note_masked_samples
from .tabular import Column, convert_columns, rows

RECORDS = ("spectra", "observations", "products")
X1D_SUFFIXES = ("_x1d.fits", "_x1dints.fits")
_FITS_SUFFIXES = (".fits", ".fit", ".fits.gz")
_TABLE_PATTERNS = ("**/*.csv", "**/*.txt", "**/*.dat", "**/*.tsv", "**/*.ecsv")
FILE_PATTERNS_BY_RECORDS: dict[str, tuple[str, ...]] = {
    "spectra": ("**/*_x1d.fits", "**/*_x1dints.fits", "**/*_x1d.fits.gz", "**/*_x1dints.fits.gz", *_TABLE_PATTERNS),
    "observations": ("**/*.json",),
    "products": ("**/*.json",),
}
_INSTRUMENT_IN_NAME = re.compile(r"(?i)(?<![a-z])(niriss|nirspec|nircam|miri)(?![a-z])")
OBSID_BATCH = 50

SPECTRUM_FEATURES = {
    "target_name": datasets.Value("string"),
    "instrument": datasets.Value("string"),
    "exp_type": datasets.Value("string"),
    "spectrum_kind": datasets.Value("string"),
    "segment_index": datasets.Value("int64"),
    "order": datasets.Value("int64"),
    "integration": datasets.Value("int64"),
    "int_mid_bjd_tdb": datasets.Value("float64"),
    "n_points": datasets.Value("int64"),
    "n_valid": datasets.Value("int64"),
    "wavelength_unit": datasets.Value("string"),
    "value_unit": datasets.Value("string"),
    "wavelength": datasets.List(datasets.Value("float64")),
    "half_width": datasets.List(datasets.Value("float64")),
    "value": datasets.List(datasets.Value("float64")),
    "error": datasets.List(datasets.Value("float64")),
    "mask": datasets.List(datasets.Value("bool")),
}


@dataclass
class JwstMastConfig(ArchiveBuilderConfig):
    """``records``: spectra | observations | products; the MAST query filters; table options."""

    records: str = "spectra"
    targets: Any = None
    instruments: Any = None
    proposal_ids: Any = None
    dataproduct_type: str | None = "spectrum"
    product_suffixes: Any = X1D_SUFFIXES
    max_files: int | None = None
    page_size: int = 5000
    #: target of published tables (they name none); also overrides the x1d header's target
    target_name: str | None = None
    #: depth unit of tables whose header and comments give none (default: a fraction)
    depth_unit: str | None = None
    #: "transmission" / "stellar" / "emission"; default: transmission for tables, stellar for x1d
    spectrum_kind: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.records not in RECORDS:
            raise ValueError(f"jwst_mast: records must be one of {RECORDS}, got {self.records!r}")
        self.targets = str_list(self.targets)
        self.instruments = str_list(self.instruments)
        self.proposal_ids = str_list(self.proposal_ids)
        self.product_suffixes = str_list(self.product_suffixes)
        if self.max_files is not None and int(self.max_files) <= 0:
            raise ValueError("jwst_mast: max_files must be a positive count")
        if int(self.page_size) <= 0:
            raise ValueError("jwst_mast: page_size must be positive")


class JwstMast(ArchiveBuilder):
    """JWST x1d/x1dints spectra, transmission-spectrum tables, and MAST observation/product lists."""

    BUILDER_CONFIG_CLASS = JwstMastConfig
    SOURCE = "jwst_mast"
    DEFAULT_BASE_URL = MAST_API_URL
    FILE_PATTERNS = FILE_PATTERNS_BY_RECORDS["spectra"]
    HOMEPAGE = "https://mast.stsci.edu"
    CITATION = "Data from the Mikulski Archive for Space Telescopes (MAST), Space Telescope Science Institute."
    LICENSE = "MAST public data (exclusive-access data need MAST_API_TOKEN); published tables: their authors' terms"
    MIN_INTERVAL_S = 1.0

    config: JwstMastConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # the files a data_dir holds depend on what a row is: JSON answers or spectrum files
        records = kwargs.get("records", "spectra")
        self.FILE_PATTERNS = FILE_PATTERNS_BY_RECORDS.get(records, self.FILE_PATTERNS)
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ schema

    def columns(self) -> tuple[Column, ...]:
        return {"observations": CAOM_COLUMNS, "products": PRODUCT_COLUMNS}.get(self.config.records, ())

    def data_features(self) -> dict[str, Any]:
        if self.config.records == "spectra":
            return dict(SPECTRUM_FEATURES)
        return super().data_features()

    def describe(self) -> str:
        if self.config.records == "observations":
            return "MAST CAOM observations (Mast.Caom.Filtered answers), one row per observation."
        if self.config.records == "products":
            return "MAST data products (Mast.Caom.Products answers), one row per product file."
        return ("JWST spectra, one row per spectrum segment (an EXTRACT1D extension of an x1d/x1dints file, or one "
                "order/instrument of a published transmission table): wavelength and half_width [um], value (flux "
                "[Jy] or transit depth [ppm], see value_unit), error, mask (True = usable), target, instrument, "
                "order, integration (int_mid_bjd_tdb), spectrum_kind.")

    # ------------------------------------------------------------------ download

    def secrets(self) -> Secrets:
        return mast_token_secrets()

    def observation_request(self, page: int) -> dict[str, Any]:
        """The ``Mast.Caom.Filtered`` request of the config (one page)."""
        cfg = self.config
        criteria = {"obs_collection": ["JWST"], "target_name": cfg.targets, "instrument_name": cfg.instruments,
                    "proposal_id": cfg.proposal_ids,
                    "dataproduct_type": [cfg.dataproduct_type] if cfg.dataproduct_type else None}
        return mast_request("Mast.Caom.Filtered", {"columns": "*", "filters": mast_filters(criteria)}, page=page,
                            page_size=cfg.page_size)

    def product_request(self, obsids: list[str], page: int) -> dict[str, Any]:
        """The ``Mast.Caom.Products`` request for some obsids (one page)."""
        return mast_request("Mast.Caom.Products", {"obsid": ",".join(obsids)}, page=page,
                            page_size=self.config.page_size)

    def _paged(self, client: HttpClient, download_dir: Path, make, name: str, force: bool) -> list[MastAnswer]:
        url = join_url(self.base_url, INVOKE_PATH)
        answers, page = [], 1
        while True:
            request = make(page)
            dest = invoke_dest(download_dir, url, request, f"{name}-p{page}.json")
            answer = invoke(client, url, request, dest, source=self.SOURCE, force=force)
            answers.append(answer)
            if page >= answer.pages:
                return answers
            page += 1

    def fetch(self, client: HttpClient, download_dir: Path, force: bool = False) -> list[tuple[str, str]]:
        retrieved = retrieved_now()
        invoke_url = redact_url(join_url(self.base_url, INVOKE_PATH))
        observations = self._paged(client, download_dir, self.observation_request, "caom", force)
        query = "; ".join(f"{f['paramName']}={','.join(f['values'])}"
                          for f in self.observation_request(1)["params"]["filters"])
        if self.config.records == "observations":
            return [(a.path, f"Mast.Caom.Filtered {query} via {invoke_url} (retrieved {retrieved})")
                    for a in observations]
        obsids = list(dict.fromkeys(r for a in observations for r in self._typed(a, CAOM_COLUMNS, "obsid")))
        if not obsids:
            raise DownloadError(f"{self.SOURCE}: Mast.Caom.Filtered found no observation for {query}")
        products: list[MastAnswer] = []
        for start in range(0, len(obsids), OBSID_BATCH):
            batch = obsids[start:start + OBSID_BATCH]
            products += self._paged(client, download_dir, lambda page, b=batch: self.product_request(b, page),
                                    "products", force)
        if self.config.records == "products":
            return [(a.path, f"Mast.Caom.Products for {len(obsids)} obsids of Mast.Caom.Filtered {query} "
                     f"(retrieved {retrieved})") for a in products]
        files = self.x1d_requests(products)
        if not files:
            raise DownloadError(f"{self.SOURCE}: none of the {sum(len(a.rows) for a in products)} products of "
                                f"{len(obsids)} observations ({query}) ends with {', '.join(self.config.product_suffixes)}")
        return fetch_files(client, self.base_url, download_dir, files, source=self.SOURCE, force=force,
                           workers=self.download_workers)

    def x1d_requests(self, products: list[MastAnswer]) -> list[FileRequest]:
        """Download requests for the products whose file name ends with one of ``product_suffixes``."""
        out: list[FileRequest] = []
        seen: set[str] = set()
        for answer in products:
            table = convert_columns(answer_table(answer), PRODUCT_COLUMNS, source=self.SOURCE, file=answer.path)
            for row in rows(table):
                name = row["productFilename"]
                if name in seen or not name.endswith(tuple(self.config.product_suffixes)):
                    continue
                if self.config.max_files is not None and len(seen) >= int(self.config.max_files):
                    return out
                seen.add(name)
                uri = row["dataURI"] or f"mast:JWST/product/{name}"
                request = DownloadRequest(path=DOWNLOAD_PATH, filename=name, params={"uri": uri},
                                          release=f"MAST {uri} (obsid {row['obsID']})")
                out.append(FileRequest(request, group=uri))
        return out

    def _typed(self, answer: MastAnswer, columns: tuple[Column, ...], name: str) -> list[Any]:
        table = convert_columns(answer_table(answer), columns, source=self.SOURCE, file=answer.path)
        return [v for v in table.column(name).to_pylist() if v is not None]

    # ------------------------------------------------------------------ parsing

    def parse_file(self, path: Path) -> Iterator[dict[str, Any] | pa.Table]:
        if self.config.records == "spectra":
            yield from self._spectrum_rows(path)
            return
        if path.name.lower().endswith(_FITS_SUFFIXES):
            raise self.error(path, "", f"a FITS file; records={self.config.records!r} reads MAST API JSON answers "
                             "(use records='spectra' for x1d files)")
        answer = read_mast_answer(path, self.SOURCE)
        self._check_answer_kind(path, answer)
        typed = convert_columns(answer_table(answer), self.columns(), source=self.SOURCE, file=path)
        units = {c.name: c.unit for c in self.columns() if c.unit}
        self.note_units(path, units)
        yield typed

    def _check_answer_kind(self, path: Path, answer: MastAnswer) -> None:
        names = set(answer.fields) | {k for row in answer.rows[:1] for k in row}
        looks_like_products = "productFilename" in names
        if self.config.records == "observations" and looks_like_products:
            raise self.error(path, "column obs_id", "this is a Mast.Caom.Products answer (it has productFilename); "
                             "read it with records='products'")
        if self.config.records == "products" and names and not looks_like_products and "obs_id" in names:
            raise self.error(path, "column productFilename", "this is a CAOM observation answer (no "
                             "productFilename); read it with records='observations'")

    def _spectrum_rows(self, path: Path) -> Iterator[dict[str, Any]]:
        if path.suffix.lower() == ".json":
            raise self.error(path, "", "a MAST API JSON answer; read it with records='observations' or 'products'")
        cfg = self.config
        try:
            if path.name.lower().endswith(_FITS_SUFFIXES):
                spectra = read_jwst_x1d(path, kind=cfg.spectrum_kind or "stellar")
                segments = [(s, _int(s.meta.get("sporder")), _int(s.meta.get("int_num")), None) for s in spectra]
            else:
                table = read_transmission_table(path, kind=cfg.spectrum_kind or "transmission",
                                                depth_unit=cfg.depth_unit, target_name=cfg.target_name)
                segments = list(_table_segments(table))
        except SpectrumFormatError as exc:
            raise format_error(self.SOURCE, path, exc) from None
        checked = spectra if path.name.lower().endswith(_FITS_SUFFIXES) else [table]
        note_masked_samples(self, path, checked)
        self._check_wavelength_coverage(path, checked)
        units: dict[str, str] = {"wavelength": "um", "half_width": "um"}
        file_instrument = _instrument_from_name(path.name)
        for index, (spec, order, integration, label) in enumerate(segments):
            units.update(value=spec.value_unit, error=spec.value_unit)
            instrument = label or spec.meta.get("instrument") or file_instrument
            yield {
                "target_name": cfg.target_name or spec.target_name,
                "instrument": instrument if isinstance(instrument, str) else None,
                "exp_type": spec.meta.get("exp_type"),
                "spectrum_kind": spec.kind,
                "segment_index": index,
                "order": order,
                "integration": integration,
                "int_mid_bjd_tdb": spec.meta.get("int_mid_bjd_tdb"),
                "n_points": int(spec.wavelength.size),
                "n_valid": int(np.count_nonzero(spec.mask)),
                "wavelength_unit": spec.wavelength_unit,
                "value_unit": spec.value_unit,
                "wavelength": spec.wavelength.tolist(),
                "half_width": None if spec.half_width is None else spec.half_width.tolist(),
                "value": spec.value.tolist(),
                "error": None if spec.error is None else spec.error.tolist(),
                "mask": spec.mask.tolist(),
            }
        self.note_units(path, units)

    def _check_wavelength_coverage(self, path: Path, spectra: list[Spectrum]) -> None:
        """Wavelengths inside JWST's coverage: a table in nm under a bare ``wave`` header reads as 878-2793 um."""
        spec_range = rule("jwst_spectrum", "wavelength")
        for spec in spectra:
            bad = np.flatnonzero(spec_range.outside(spec.wavelength))
            if bad.size:
                finite = spec.wavelength[np.isfinite(spec.wavelength)]
                raise self.error(path, f"sample {bad[0] + 1}, field wavelength",
                                 f"{violation_text(spec_range, float(spec.wavelength[bad[0]]))}; the file's wavelengths "
                                 f"run {finite.min():g}-{finite.max():g} um: declare their unit (e.g. a 'wave [nm]' "
                                 "header or '# wavelength unit: nm') if they are not microns")


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _instrument_from_name(name: str) -> str | None:
    match = _INSTRUMENT_IN_NAME.search(name.replace("_", " ").replace("-", " "))
    return match.group(1).upper() if match else None


def _table_segments(spec: Spectrum) -> Iterator[tuple[Spectrum, int | None, None, str | None]]:
    """A table spectrum split by its per-sample order or instrument label (file order kept)."""
    if "order" in spec.meta:
        labels, kind = np.asarray(spec.meta["order"], dtype=str), "order"
    elif isinstance(spec.meta.get("instrument"), np.ndarray):
        labels, kind = np.asarray(spec.meta["instrument"], dtype=str), "instrument"
    else:
        yield spec, None, None, None
        return
    for label in dict.fromkeys(labels.tolist()):
        take = labels == label
        part = Spectrum(
            wavelength=spec.wavelength[take], value=spec.value[take],
            error=None if spec.error is None else spec.error[take], mask=spec.mask[take], kind=spec.kind,
            value_unit=spec.value_unit, source_file=spec.source_file, target_name=spec.target_name,
            wavelength_unit=spec.wavelength_unit,
            half_width=None if spec.half_width is None else spec.half_width[take],
            meta={k: v for k, v in spec.meta.items() if not isinstance(v, np.ndarray)},
        )
        if kind == "order":
            yield part, _order_number(label), None, None
        else:
            yield part, None, None, label


def _order_number(label: str) -> int | None:
    try:
        value = float(label)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None
