"""Ranges for every stored quantity, applied where the value enters, masked values counted (issue 21, point 5).

Each case is a mutated copy of a real file (written into tmp_path) with one impossible value.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from astropy.io import fits

from astrobio_hf.data.modalities.climate_cubes import ClimateCubeError, CubeGrid, load_climate_cube
from astrobio_hf.data.prepare import prepare_source
from astrobio_hf.data.sources import SourceFormatError

PSCOMP = "nasa_exoplanet_archive/tap_style_2025/PSCompPars.csv"
KEPLER_Q4 = "kepler_k2/kplr011442793-2010009091648_llc.fits"
GISS = "climate_model/ta_Amon_GISS-E2-1-G_historical_r1i1p1f1_gn_200101-201412.nc"


def _catalog_with(real_data_dir, tmp_path, field: str, value: str):
    lines = (real_data_dir / PSCOMP).read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[5].rstrip("\n").split(",")
    cells[header.index(field)] = value
    path = tmp_path / "pscomppars.csv"
    path.write_text(lines[0] + "".join(lines[1:5]) + ",".join(cells) + "\n" + "".join(lines[6:40]))
    return path


@pytest.mark.parametrize("field, value", [
    ("st_teff", "100"), ("st_teff", "1e6"), ("st_logg", "50"), ("st_met", "-99"), ("pl_rade", "1e30"),
])
def test_catalog_values_outside_physics_are_refused(real_data_dir, tmp_path, field, value):
    path = _catalog_with(real_data_dir, tmp_path, field, value)
    with pytest.raises(SourceFormatError, match=rf"row 5 \(line 6\), field {field}: value .* of {field} is outside"):
        prepare_source("nasa_exoplanet_archive", data_files=str(path), cache_dir=tmp_path / "c")


def test_the_shipped_catalog_values_are_inside_the_tightened_ranges(real_data_dir, tmp_path):
    result = prepare_source("nasa_exoplanet_archive", data_files=str(real_data_dir / PSCOMP), cache_dir=tmp_path)
    assert result.rows == 5967


def test_exoplanets_org_teff_of_1e7_is_masked_and_counted(real_data_dir, tmp_path):
    path = tmp_path / "eod.csv"
    path.write_text("NAME,PER,TEFF\n,day,K\nA b,3.5,5700\nB b,4.5,1e7\n")
    result = prepare_source("exoplanets_org", data_files=str(path), cache_dir=tmp_path / "c")
    assert result.quality["eod.csv"]["masked"] == {"teff: outside (0, 60000] K": 1}


def test_gtdb_percentages_and_sizes(real_data_dir, tmp_path):
    lines = (real_data_dir / "gtdb" / "bac120_metadata_r202.first5.tsv").read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split("\t")
    for field, value in (("checkm_completeness", "150.5"), ("genome_size", "-5000"), ("gc_percentage", "120")):
        cells = lines[2].rstrip("\n").split("\t")
        cells[header.index(field)] = value
        path = tmp_path / f"{field}_metadata_r202.tsv"
        path.write_text(lines[0] + lines[1] + "\t".join(cells) + "\n")
        with pytest.raises(SourceFormatError, match=rf"row 2, field {field}: value .* is outside its possible range"):
            prepare_source("gtdb", data_files=str(path), cache_dir=tmp_path / field)


def _kepler_copy(real_data_dir, tmp_path, column: str, change) -> str:
    path = tmp_path / "kplr011442793-2010009091648_llc.fits"
    with fits.open(real_data_dir / KEPLER_Q4) as hdul:
        data = hdul[1].data
        data[column] = change(np.array(data[column]))
        hdul.writeto(path, overwrite=True)
    return str(path)


@pytest.mark.parametrize("column, change, message", [
    ("PDCSAP_FLUX", lambda v: -np.abs(v), r"column PDCSAP_FLUX: median flux .* <= 0"),
    ("TIME", lambda v: v * np.nan, r"column TIME: no cadence has a time"),
    ("CADENCENO", lambda v: v[::-1].copy(), r"row 2, column CADENCENO: cadence number \d+ does not follow"),
])
def test_light_curves_that_cannot_be(real_data_dir, tmp_path, column, change, message):
    path = _kepler_copy(real_data_dir, tmp_path, column, change)
    with pytest.raises(SourceFormatError, match=message):
        prepare_source("kepler_k2_mast", data_files=path, cache_dir=tmp_path / "c")


def test_transit_depths_outside_physics_are_masked_and_counted(real_data_dir, tmp_path):
    lines = (real_data_dir / "jwst/transmission_spectra/NE-WASP_39b_NIRISS_transmission_spectrum.csv").read_text() \
        .splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    for row, depth in ((3, "2500000"), (4, "-5000")):
        cells = lines[row].rstrip("\n").split(",")
        cells[header.index("dppm")] = depth
        lines[row] = ",".join(cells) + "\n"
    path = tmp_path / "NIRISS_wasp39b.csv"
    path.write_text("".join(lines))
    result = prepare_source("jwst_mast", data_files=str(path), cache_dir=tmp_path / "c", target_name="WASP-39 b")
    assert result.quality["NIRISS_wasp39b.csv"]["masked"] == {"depth: outside [-1000, 1e+06] ppm": 2}


def test_climate_inf_and_kelvin_labelled_celsius_are_refused(real_data_dir, tmp_path):
    grid = CubeGrid.regular(n_time=2, levels_hpa=(1000.0, 925.0), n_lat=2, n_lon=2)
    with xr.open_dataset(real_data_dir / GISS) as ds:
        giss = ds.load()
    disguised = giss.copy(deep=True)
    disguised["ta"].attrs["units"] = "degC"  # the values stay kelvin (about 200-300)
    disguised.to_netcdf(tmp_path / "ta_degC.nc")
    with pytest.raises(ClimateCubeError, match=r"labelled 'degC' but every value is above 100"):
        load_climate_cube(tmp_path / "ta_degC.nc", ["ta"], grid, extrapolation="clamp")
    infinite = giss.copy(deep=True)
    infinite["ua"] = infinite["ta"].copy(data=np.where(np.arange(infinite["ta"].size).reshape(infinite["ta"].shape)
                                                       == 7, np.inf, 1.0).astype(np.float32))
    infinite["ua"].attrs = {"units": "m s-1", "standard_name": "eastward_wind"}
    infinite.to_netcdf(tmp_path / "ua_inf.nc")
    with pytest.raises(ClimateCubeError, match=r"variable 'ua' at \(.*\): value inf is not finite"):
        load_climate_cube(tmp_path / "ua_inf.nc", ["ta", "ua"], grid, extrapolation="clamp")


# ------------------------------------------------------------------ declared units (issue 21, point 4)

NASA_2024 = "nasa_exoplanet_archive/PSCompPars.csv"


def _preamble_with(real_data_dir, tmp_path, column: str, unit: str):
    lines = (real_data_dir / NASA_2024).read_text().splitlines(keepends=True)
    out = [line.replace("[", f"[{unit}]  [", 1).split("  [")[0] + "\n"
           if line.startswith(f"# COLUMN {column}:") else line for line in lines[:200]]
    path = tmp_path / "PSCompPars.csv"
    path.write_text("".join(out))
    return path


def test_nasa_preamble_units_are_converted_or_refused(real_data_dir, tmp_path):
    seconds = _preamble_with(real_data_dir, tmp_path, "pl_orbper", "seconds")
    assert "[seconds]" in seconds.read_text()
    plain = prepare_source("nasa_exoplanet_archive", data_files=str(real_data_dir / NASA_2024),
                           cache_dir=tmp_path / "plain")
    result = prepare_source("nasa_exoplanet_archive", data_files=str(seconds), cache_dir=tmp_path / "s")
    assert result.quality["PSCompPars.csv"]["unit_conversions"] == ["pl_orbper: converted from seconds to days"]
    from astrobio_hf.data.sources import get_builder

    before = get_builder("nasa_exoplanet_archive", data_files=str(real_data_dir / NASA_2024),
                         cache_dir=str(tmp_path / "plain")).as_dataset("train")[0]["pl_orbper"]
    after = get_builder("nasa_exoplanet_archive", data_files=str(seconds),
                        cache_dir=str(tmp_path / "s")).as_dataset("train")[0]["pl_orbper"]
    assert plain.rows > 0 and after == pytest.approx(before / 86400.0)
    celsius = _preamble_with(real_data_dir, tmp_path, "st_teff", "deg C")
    result = prepare_source("nasa_exoplanet_archive", data_files=str(celsius), cache_dir=tmp_path / "c")
    assert result.quality["PSCompPars.csv"]["unit_conversions"] == ["st_teff: converted from deg C to K"]
    unknown = _preamble_with(real_data_dir, tmp_path, "st_teff", "furlongs")
    with pytest.raises(SourceFormatError, match=r"column st_teff: declared unit 'furlongs' of st_teff cannot be read"):
        prepare_source("nasa_exoplanet_archive", data_files=str(unknown), cache_dir=tmp_path / "u")


def test_exoplanets_org_units_row_in_years_is_converted(tmp_path):
    path = tmp_path / "eod.csv"
    path.write_text("NAME,PER\n,yr\nA b,2.0\n")
    result = prepare_source("exoplanets_org", data_files=str(path), cache_dir=tmp_path / "c")
    assert result.quality["eod.csv"]["unit_conversions"] == ["per: converted from yr to day"]
    path.write_text("NAME,PER\n,Jy\nA b,2.0\n")
    with pytest.raises(SourceFormatError, match=r"column per: declared unit 'Jy' of per cannot be converted to day"):
        prepare_source("exoplanets_org", data_files=str(path), cache_dir=tmp_path / "d")


@pytest.mark.parametrize("column, unit, message", [
    ("PDCSAP_FLUX", "Jy", r"column PDCSAP_FLUX: declared unit 'Jy' of pdcsap_flux is not electron / s"),
    ("TIME", "s", r"column TIME: declared unit 's' of time: SPOC writes d"),
])
def test_kepler_tunit_that_is_not_spoc_is_refused(real_data_dir, tmp_path, column, unit, message):
    path = tmp_path / "kplr011442793-2010009091648_llc.fits"
    with fits.open(real_data_dir / KEPLER_Q4) as hdul:
        index = hdul[1].columns.names.index(column) + 1
        hdul[1].header[f"TUNIT{index}"] = unit
        hdul.writeto(path)
    with pytest.raises(SourceFormatError, match=message):
        prepare_source("kepler_k2_mast", data_files=str(path), cache_dir=tmp_path / "c")


def test_jwst_wavelengths_in_nm_under_a_bare_header_are_refused(real_data_dir, tmp_path):
    lines = (real_data_dir / "jwst/transmission_spectra/NE-WASP_39b_NIRISS_transmission_spectrum.csv").read_text() \
        .splitlines(keepends=True)
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.rstrip("\n").split(",")
        cells[0] = repr(float(cells[0]) * 1000.0)
        out.append(",".join(cells) + "\n")
    path = tmp_path / "NIRISS_nm.csv"
    path.write_text("".join(out))
    with pytest.raises(SourceFormatError, match=r"field wavelength: value .* outside its possible range \[0.3, 30\] "
                                                r"um.*declare their unit"):
        prepare_source("jwst_mast", data_files=str(path), cache_dir=tmp_path / "c", target_name="WASP-39 b")


def test_a_uniprot_entry_declaring_an_impossible_mass_is_refused(real_data_dir, tmp_path):
    text = (real_data_dir / "uniprot" / "multi_ex.txt").read_text()
    path = tmp_path / "multi_ex.txt"
    path.write_text(text.replace("562 AA;  62917 MW;", "562 AA;  -5 MW;", 1))
    assert "-5 MW" in path.read_text()
    with pytest.raises(SourceFormatError, match=r"entry 1 \(P00750\), field mass: value -5.0 of mass is outside"):
        prepare_source("uniprot", data_files=str(path), cache_dir=tmp_path / "c")
