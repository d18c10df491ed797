"""Spectrum readers and resampling on the real files (JWST/K2-18 b/Pyrat Bay tables, ESO ADP, HARPS
s1d, Keck/ESI, Subaru/IRD), plus a JWST x1d/x1dints and a Gemini 1-D spectrum CONSTRUCTED here
(no real file of those formats is available; the builders follow the published layouts).

Expected values come from the files themselves, read independently with astropy / numpy.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import ascii as astropy_ascii
from astropy.io import fits

from astrobio_hf.data.modalities import (
    SpectrumFormatError,
    WavelengthGrid,
    load_spectrum,
    read_eso_adp,
    read_jwst_x1d,
    read_spectra,
    read_transmission_table,
    read_wcs1d_fits,
    resample,
)

R100 = "jwst/transmission_spectra/CMADF-WASP_39b_NIRISS_transmission_spectrum_R100.csv"
NE = "jwst/transmission_spectra/NE-WASP_39b_NIRISS_transmission_spectrum.csv"
K2_18B = ("exoplanet_spectra/K2-18b_nirspec_g395h_lowres.txt", "exoplanet_spectra/K2-18b_niriss_soss_lowres.txt")
PYRATBAY = "exoplanet_spectra/obs_wasp39b_transit_jwst.dat"
ESO_ADP = "eso/ADP.2014-09-16T11:04:45.123.fits"
HARPS_S1D = "eso/HARPS.2010-09-18T23:42:36.178_s1d_A.fits"
ESI_FLUX, ESI_ERR = "keck_koa/PH957_f.fits", "keck_koa/PH957_e.fits"
IRD = "subaru_smoka/thar_mmf2_a_H_20210317.fits"


# ------------------------------------------------------------------ constructed files (not real data)


def build_jwst_x1d(path: Path, n_integrations: int = 0, n_pixels: int = 60) -> dict:
    """CONSTRUCTED JWST x1d (n_integrations=0) or x1dints file following the pipeline's published
    layout (jwst datamodels MultiSpecModel, spectable schema): PRIMARY header + one EXTRACT1D BinTable
    (WAVELENGTH [um], FLUX [Jy], FLUX_ERROR, FLUX_VAR_*, SURF_BRIGHT [MJy/sr], SB_*, DQ, BACKGROUND,
    BKGD_*, NPIXELS) per integration (header INT_NUM) and, for x1dints, an INT_TIMES table. The ASDF
    extension of real products is left out. Values are synthetic: a smooth continuum."""
    wave = np.linspace(2.87, 5.17, n_pixels)
    flux = 0.12 * (wave / 3.0) ** -2
    error = np.full(n_pixels, 1.5e-4)
    dq = np.zeros(n_pixels, dtype=np.int32)
    dq[[5, 6, 40]] = 1  # DO_NOT_USE
    nan_pixels = [20, 21]
    primary = fits.PrimaryHDU()
    primary.header.update(
        TELESCOP="JWST",
        INSTRUME="NIRSPEC",
        EXP_TYPE="NRS_BRIGHTOBJ",
        GRATING="G395H",
        FILTER="F290LP",
        TARGPROP="WASP-39",
        TARGNAME="WASP-39",
        DATAMODL="MultiSpecModel",
        NINTS=max(n_integrations, 1),
    )
    hdus = [primary]
    depths = {}
    for k in range(max(n_integrations, 1)):
        scale = 1.0 - (0.021 if n_integrations and k == 1 else 0.0)  # integration 2 in transit
        f = flux * scale
        f[nan_pixels] = np.nan
        columns = [
            fits.Column("WAVELENGTH", "D", unit="um", array=wave),
            fits.Column("FLUX", "D", unit="Jy", array=f),
            fits.Column("FLUX_ERROR", "D", unit="Jy", array=error),
            fits.Column("FLUX_VAR_POISSON", "D", unit="Jy^2", array=error**2),
            fits.Column("FLUX_VAR_RNOISE", "D", unit="Jy^2", array=np.zeros(n_pixels)),
            fits.Column("FLUX_VAR_FLAT", "D", unit="Jy^2", array=np.zeros(n_pixels)),
            fits.Column("SURF_BRIGHT", "D", unit="MJy/sr", array=f * 10),
            fits.Column("SB_ERROR", "D", unit="MJy/sr", array=error * 10),
            fits.Column("SB_VAR_POISSON", "D", unit="(MJy/sr)^2", array=(error * 10) ** 2),
            fits.Column("SB_VAR_RNOISE", "D", unit="(MJy/sr)^2", array=np.zeros(n_pixels)),
            fits.Column("SB_VAR_FLAT", "D", unit="(MJy/sr)^2", array=np.zeros(n_pixels)),
            fits.Column("DQ", "J", array=dq),
            fits.Column("BACKGROUND", "D", unit="MJy/sr", array=np.zeros(n_pixels)),
            fits.Column("BKGD_ERROR", "D", unit="MJy/sr", array=np.zeros(n_pixels)),
            fits.Column("BKGD_VAR_POISSON", "D", unit="(MJy/sr)^2", array=np.zeros(n_pixels)),
            fits.Column("BKGD_VAR_RNOISE", "D", unit="(MJy/sr)^2", array=np.zeros(n_pixels)),
            fits.Column("BKGD_VAR_FLAT", "D", unit="(MJy/sr)^2", array=np.zeros(n_pixels)),
            fits.Column("NPIXELS", "D", array=np.full(n_pixels, 7.0)),
        ]
        table = fits.BinTableHDU.from_columns(columns, name="EXTRACT1D")
        table.header["EXTVER"] = k + 1
        table.header["SPORDER"] = 1
        if n_integrations:
            table.header["INT_NUM"] = k + 1
        depths[k + 1] = scale
        hdus.append(table)
    mids = 2459787.55 + 0.01 * np.arange(max(n_integrations, 1))
    if n_integrations:
        hdus.append(
            fits.BinTableHDU.from_columns(
                [
                    fits.Column("int_number", "J", array=np.arange(1, n_integrations + 1)),
                    fits.Column("int_start_MJD_UTC", "D", array=mids - 2400000.5 - 0.004),
                    fits.Column("int_mid_MJD_UTC", "D", array=mids - 2400000.5),
                    fits.Column("int_end_MJD_UTC", "D", array=mids - 2400000.5 + 0.004),
                    fits.Column("int_start_BJD_TDB", "D", array=mids - 0.004),
                    fits.Column("int_mid_BJD_TDB", "D", array=mids),
                    fits.Column("int_end_BJD_TDB", "D", array=mids + 0.004),
                ],
                name="INT_TIMES",
            )
        )
    fits.HDUList(hdus).writeto(path)
    return {"wave": wave, "flux": flux, "dq": dq, "nan": nan_pixels, "scale": depths, "int_mid": mids}


def build_gemini_1d(path: Path, n_pixels: int = 400) -> dict:
    """CONSTRUCTED Gemini/IRAF 1-D spectrum (gsextract + gscalibrate layout): PHU without data,
    ``SCI`` 1-D image with CRVAL1/CD1_1/CRPIX1 and WAT cards (Angstrom), ``VAR`` and ``DQ`` images.
    Values are synthetic."""
    flux = (1.0 + 0.1 * np.sin(np.arange(n_pixels) / 15.0)).astype(np.float32) * 1e-16
    variance = np.full(n_pixels, (2e-18) ** 2, dtype=np.float32)
    dq = np.zeros(n_pixels, dtype=np.int16)
    dq[100:104] = 8
    primary = fits.PrimaryHDU()
    primary.header.update(TELESCOP="Gemini-North", INSTRUME="GMOS-N", OBJECT="HD 189733", OBSTYPE="OBJECT")
    wcs_cards = dict(
        CTYPE1="LINEAR",
        CRVAL1=5000.0,
        CRPIX1=1.0,
        CD1_1=2.0,
        CDELT1=2.0,
        DC_FLAG=0,
        WCSDIM=1,
        WAT0_001="system=equispec",
        WAT1_001="wtype=linear label=Wavelength units=angstroms",
        BUNIT="erg/cm2/s/A",
        DISPAXIS=1,
    )
    sci = fits.ImageHDU(flux, name="SCI")
    for key, value in wcs_cards.items():
        sci.header["DC-FLAG" if key == "DC_FLAG" else key] = value
    var = fits.ImageHDU(variance, header=sci.header.copy(), name="VAR")
    dqh = fits.ImageHDU(dq, header=sci.header.copy(), name="DQ")
    fits.HDUList([primary, sci, var, dqh]).writeto(path)
    return {"flux": flux, "variance": variance, "dq": dq}


# ------------------------------------------------------------------ published transmission tables


def test_wasp39b_r100_csv(real_data_dir):
    path = real_data_dir / R100
    spec = read_transmission_table(path)
    table = astropy_ascii.read(path, format="csv", comment="#")
    assert len(spec.wavelength) == len(table) == 132
    np.testing.assert_array_equal(spec.wavelength, np.asarray(table["wave"]))
    np.testing.assert_array_equal(spec.value, np.asarray(table["dppm"]))
    np.testing.assert_array_equal(spec.error, np.asarray(table["dppm_err"]))
    np.testing.assert_array_equal(spec.half_width, np.asarray(table["wave_error"]))
    np.testing.assert_array_equal(spec.mask, np.asarray(table["quality"]) == 0)
    assert int((~spec.mask).sum()) == 3
    # spot values: first data row of the file
    assert spec.wavelength[0] == 0.8781000432205291 and spec.value[0] == 21139.242788563635
    assert (spec.kind, spec.value_unit, spec.wavelength_unit) == ("transmission", "ppm", "um")
    assert spec.meta["format"] == "csv" and set(spec.meta["order"]) == {"1.0", "2.0"}


def test_wasp39b_ne_csv_without_comments(real_data_dir):
    path = real_data_dir / NE
    spec = read_transmission_table(path, target_name="WASP-39 b")
    table = astropy_ascii.read(path, format="csv")
    assert len(spec.wavelength) == len(table) == 166
    assert spec.target_name == "WASP-39 b"
    assert spec.value[0] == 21330.8 and spec.error[0] == 253.16 and spec.wavelength[0] == 0.60267
    assert int(spec.mask.sum()) == int(np.sum(np.asarray(table["quality"]) == 0))


@pytest.mark.parametrize("relpath", K2_18B)
def test_k2_18b_whitespace_tables_in_ppm(real_data_dir, relpath):
    path = real_data_dir / relpath
    spec = read_transmission_table(path)
    raw = np.loadtxt(path, skiprows=1)
    assert len(spec.wavelength) == raw.shape[0] == len(path.read_text().splitlines()) - 1
    np.testing.assert_array_equal(spec.wavelength, raw[:, 0])
    np.testing.assert_array_equal(spec.half_width, raw[:, 1])
    np.testing.assert_allclose(spec.value, raw[:, 2] * 1e6, rtol=1e-12)  # transit depth is a fraction
    np.testing.assert_allclose(spec.error, raw[:, 3] * 1e6, rtol=1e-12)
    assert spec.mask.all() and spec.meta["depth_unit_in_file"] == "none"
    # an explicit depth unit overrides the default
    in_percent = read_transmission_table(path, depth_unit="percent")
    np.testing.assert_allclose(in_percent.value, raw[:, 2] * 1e4, rtol=1e-12)


def test_pyratbay_observation_file(real_data_dir):
    path = real_data_dir / PYRATBAY
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "@DATA")
    rows = [line.split() for line in lines[start + 1 :] if line.strip() and not line.lstrip().startswith("#")]
    spec = read_transmission_table(path)
    assert len(spec.wavelength) == len(rows) == 383
    assert spec.meta["depth_unit_in_file"] == "ppm" and spec.meta["format"] == "pyratbay"
    np.testing.assert_array_equal(spec.value, [float(r[0]) for r in rows])
    np.testing.assert_array_equal(spec.error, [float(r[1]) for r in rows])
    np.testing.assert_array_equal(spec.wavelength, [float(r[2]) for r in rows])
    np.testing.assert_array_equal(spec.half_width, [float(r[3]) for r in rows])
    assert list(spec.meta["instrument"]) == [r[4] for r in rows]
    assert {"nirspec_prism", "niriss_soss1", "nirspec_g395h_nrs1", "miri_lrs"} <= set(spec.meta["instrument"])
    assert spec.value[0] == 20667.1 and spec.wavelength[0] == 0.52132


def test_transmission_resampling_masks_outside_the_data(real_data_dir):
    path = real_data_dir / PYRATBAY
    native = read_transmission_table(path)
    reddest = float(np.max(native.wavelength + native.half_width))  # 12.0 um (MIRI LRS)
    grid = WavelengthGrid(min_um=0.3, max_um=30.0, n=256, scale="log")
    for method in ("flux_conserving", "linear"):
        spec = load_spectrum(path, grid=grid, method=method)
        assert spec.resampling == method and spec.value.shape == (256,) and spec.value.dtype == np.float32
        edges = grid.edges()
        assert not spec.mask[edges[:-1] > reddest].any()
        assert not spec.mask[edges[1:] < 0.5].any()
        assert spec.mask[(edges[:-1] > 1.0) & (edges[1:] < 1.9)].all()
        assert spec.mask[(edges[:-1] > 2.2) & (edges[1:] < 5.0)].all()
        assert np.all(spec.value[~spec.mask] == 0)
        inside = spec.value[spec.mask]
        assert np.all((inside > 19000) & (inside < 24000))  # WASP-39 b transit depths in ppm
        assert "instrument" not in spec.meta  # per-sample labels do not survive resampling
    # NIRISS/SOSS order 1 has no bin between 2.0014 and 2.0201 um and no other instrument covers it:
    # the flux-conserving bin holding 2.0014 um (1.9835-2.0195) is 49.7% covered, below min_coverage 0.5.
    gap_bin = np.flatnonzero((grid.edges()[:-1] < 2.0014) & (grid.edges()[1:] > 2.0014))
    assert gap_bin.size == 1
    assert not load_spectrum(path, grid=grid).mask[gap_bin].any()
    assert load_spectrum(path, grid=grid, min_coverage=0.4).mask[gap_bin].all()


def test_flux_conserving_bin_is_the_width_weighted_mean(real_data_dir):
    """One output bin spanning whole native bins (order 2 of the NE table, 0.62-0.69 um) holds their
    width-weighted mean and the propagated error sqrt(sum (w s)^2) / sum w."""
    spec = read_transmission_table(real_data_dir / NE)
    lo, hi = spec.wavelength - spec.half_width, spec.wavelength + spec.half_width
    chosen = np.flatnonzero((lo >= 0.62) & (hi <= 0.69) & spec.mask)
    assert chosen.size > 10
    start, stop = lo[chosen].min(), hi[chosen].max()
    assert not np.any(spec.mask & (hi > start) & (lo < stop) & ~np.isin(np.arange(lo.size), chosen))
    grid = WavelengthGrid(min_um=start, max_um=stop, n=1, scale="linear")
    binned = resample(spec, grid)
    widths = hi[chosen] - lo[chosen]
    assert binned.mask.all()
    assert binned.value[0] == pytest.approx(np.average(spec.value[chosen], weights=widths), rel=1e-6)
    expected_error = np.sqrt(np.sum((widths * spec.error[chosen]) ** 2)) / widths.sum()
    assert binned.error[0] == pytest.approx(expected_error, rel=1e-5)
    assert binned.error[0] < np.min(spec.error[chosen])


# ------------------------------------------------------------------ stellar spectra


def test_eso_adp_spectrum(real_data_dir):
    path = real_data_dir / ESO_ADP
    spec = read_eso_adp(path)
    primary = fits.getheader(path, 0)
    flux = fits.getdata(path, "SPECTRUM")["FLUX"][0]
    assert len(spec.wavelength) == flux.size == 313124
    # WAVELMIN/WAVELMAX are in nm in the ESO SDP standard
    assert spec.wavelength.min() == pytest.approx(primary["WAVELMIN"] * 1e-3, rel=1e-12)
    assert spec.wavelength.max() == pytest.approx(primary["WAVELMAX"] * 1e-3, rel=1e-12)
    assert spec.error is None  # ERR column is all NaN: "Error spectrum not available"
    assert int((~spec.mask).sum()) == int(np.sum(flux == 0)) == 3295  # HARPS CCD gap padded with zeros
    assert (spec.target_name, spec.value_unit, spec.kind) == ("IC4651No9122", "adu", "stellar")
    assert spec.meta["instrument"] == "HARPS" and spec.nonstandard_cards == ()
    assert read_spectra(path)[0].wavelength.size == spec.wavelength.size  # dispatch picks the ADP reader


def test_harps_s1d_linear_wcs_and_gap(real_data_dir):
    path = real_data_dir / HARPS_S1D
    header = fits.getheader(path)
    data = fits.getdata(path)
    spec = read_wcs1d_fits(path)
    n = header["NAXIS1"]
    assert spec.wavelength.size == n == 313114
    pixels = np.array([0, 1, 1000, n - 1])
    expected_angstrom = header["CRVAL1"] + (pixels + 1 - header["CRPIX1"]) * header["CDELT1"]
    np.testing.assert_allclose(spec.wavelength[pixels], expected_angstrom * 1e-4, rtol=1e-12)
    np.testing.assert_allclose(spec.half_width, 0.5 * header["CDELT1"] * 1e-4, rtol=1e-6)
    assert (spec.target_name, spec.value_unit, spec.error) == ("Gl581", "Relative Flux", None)
    zeros = np.flatnonzero(data == 0)
    assert int((~spec.mask).sum()) == zeros.size
    gap_lo, gap_hi = spec.wavelength[zeros.min()], spec.wavelength[zeros.max()]
    grid = WavelengthGrid(min_um=0.50, max_um=0.56, n=600, scale="linear")
    for method in ("flux_conserving", "linear"):
        out = resample(spec, grid, method=method)
        centres = grid.centres()
        assert not out.mask[(centres > gap_lo + 2e-4) & (centres < gap_hi - 2e-4)].any()
        assert out.mask[(centres < gap_lo - 2e-4) | (centres > gap_hi + 2e-4)].all()


def test_flux_conserving_resampling_conserves_the_integral(real_data_dir):
    spec = read_wcs1d_fits(real_data_dir / HARPS_S1D)
    data = fits.getdata(real_data_dir / HARPS_S1D).astype(np.float64)
    grid = WavelengthGrid(min_um=0.40, max_um=0.50, n=2000, scale="log")
    out = resample(spec, grid)
    assert out.mask.all()
    integral = np.sum(out.value.astype(np.float64) * np.diff(grid.edges()))
    inside = (spec.wavelength >= 0.40) & (spec.wavelength < 0.50)
    native = np.sum(data[inside]) * 0.01e-4  # CDELT1 = 0.01 Angstrom
    assert integral == pytest.approx(native, rel=2e-4)


def test_keck_esi_log_linear_wcs_with_error_companion(real_data_dir):
    path = real_data_dir / ESI_FLUX
    header = fits.getheader(path)
    errors = fits.getdata(real_data_dir / ESI_ERR).astype(np.float64)
    flux = fits.getdata(path).astype(np.float64)
    spec = read_spectra(path)[0]
    assert spec.wavelength.size == header["NAXIS1"] == 21059
    assert header["DC-FLAG"] == 1
    assert spec.wavelength[0] == pytest.approx(10 ** header["CRVAL1"] * 1e-4, rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log10(spec.wavelength)), header["CDELT1"], rtol=1e-6)
    np.testing.assert_array_equal(spec.error, errors)
    np.testing.assert_array_equal(spec.mask, (errors > 0) & np.isfinite(flux))
    assert int((~spec.mask).sum()) == 680
    assert spec.meta["error_file"].endswith("PH957_e.fits")
    assert spec.value_unit == "erg/cm2/s/A"
    assert spec.value_quantity().unit == u.erg / u.cm**2 / u.s / u.Angstrom
    out = resample(spec, WavelengthGrid(min_um=0.4, max_um=1.0, n=300))
    assert out.mask.sum() > 250 and np.all(out.error[out.mask] > 0)


def test_subaru_ird_nonstandard_card_reported(real_data_dir):
    path = real_data_dir / IRD
    with pytest.raises(SpectrumFormatError, match=r"thar_mmf2_a_H_20210317\.fits.*CTYPE1='PIXEL'.*IRAF-B/P"):
        read_spectra(path)
    image = fits.getdata(path).astype(np.float64)
    assert image.shape == (21, 2048)
    # PLACEHOLDER wavelengths (not a calibration): the file has none, so the reader takes them as input.
    placeholder = np.linspace(1.45, 1.75, image.size).reshape(image.shape)
    spec = read_spectra(path, wavelength_um=placeholder)[0]
    assert spec.nonstandard_cards == ("IRAF-B/P",)
    assert spec.wavelength.size == image.size
    np.testing.assert_array_equal(spec.value.reshape(image.shape), image)
    np.testing.assert_array_equal(spec.meta["order"].reshape(image.shape)[:, 0], np.arange(21))
    assert spec.kind == "stellar" and spec.mask.all()


# ------------------------------------------------------------------ constructed JWST and Gemini files


def test_jwst_x1d_constructed(tmp_path):
    path = tmp_path / "jw01366-o001_t001_nirspec_g395h_x1d.fits"
    truth = build_jwst_x1d(path)
    [spec] = read_jwst_x1d(path)
    np.testing.assert_array_equal(spec.wavelength, truth["wave"])
    expected_mask = truth["dq"] == 0
    expected_mask[truth["nan"]] = False
    np.testing.assert_array_equal(spec.mask, expected_mask)
    np.testing.assert_allclose(spec.value[spec.mask], truth["flux"][spec.mask])
    assert (spec.value_unit, spec.target_name, spec.meta["instrument"]) == ("Jy", "WASP-39", "NIRSPEC")
    out = load_spectrum(path, grid=np.linspace(3.0, 5.0, 21), method="linear")
    assert out.mask.sum() >= 17  # a few centres sit next to flagged pixels
    np.testing.assert_allclose(out.value[out.mask], 0.12 * (out.wavelength[out.mask] / 3.0) ** -2, rtol=5e-3)


def test_jwst_x1dints_constructed(tmp_path):
    path = tmp_path / "jw01366-o001_t001_nirspec_g395h_x1dints.fits"
    truth = build_jwst_x1d(path, n_integrations=3)
    spectra = read_jwst_x1d(path)
    assert [s.meta["int_num"] for s in spectra] == [1, 2, 3]
    assert [s.meta["int_mid_bjd_tdb"] for s in spectra] == pytest.approx(list(truth["int_mid"]))
    grid = WavelengthGrid(min_um=3.0, max_um=5.0, n=10, scale="linear")
    in_transit = load_spectrum(path, grid=grid, integration=2)
    out_of_transit = load_spectrum(path, grid=grid, integration=1)
    ratio = in_transit.value[in_transit.mask] / out_of_transit.value[in_transit.mask]
    np.testing.assert_allclose(ratio, truth["scale"][2], rtol=1e-6)
    with pytest.raises(SpectrumFormatError, match=r"x1dints\.fits: 3 spectra match"):
        load_spectrum(path, grid=grid)


def test_gemini_1d_constructed(tmp_path):
    path = tmp_path / "N20230101S0001_1d.fits"
    truth = build_gemini_1d(path)
    [spec] = read_spectra(path)
    np.testing.assert_allclose(spec.wavelength, (5000.0 + 2.0 * np.arange(400)) * 1e-4, rtol=1e-12)
    np.testing.assert_allclose(spec.error, np.sqrt(truth["variance"].astype(np.float64)), rtol=1e-6)
    np.testing.assert_array_equal(spec.mask, truth["dq"] == 0)
    assert (spec.target_name, spec.meta["hdu"], spec.value_unit) == ("HD 189733", "HDU 1 'SCI'", "erg/cm2/s/A")
