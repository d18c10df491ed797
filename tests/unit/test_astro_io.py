"""Light curves as astropy TimeSeries, spectra as specutils Spectrum1D, catalog values as QTable, and the same
objects accepted by the processor: encoded exactly like the files they came from."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.timeseries import TimeSeries

from astrobio_hf.data.modalities.light_curves import read_light_curve
from astrobio_hf.data.modalities.spectra import read_spectra
from astrobio_hf.inference.astro_io import (
    catalog_qtable,
    light_curve_timeseries,
    raw_light_curve_from_timeseries,
    spectrum_from_specutils,
    spectrum_to_specutils,
)
from astrobio_hf.inference.processing import AstroMultimodalProcessor


@pytest.fixture(scope="module")
def processor():
    return AstroMultimodalProcessor()


def test_light_curve_round_trip_through_timeseries(real_data_dir, processor):
    path = real_data_dir / "tess" / "tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"
    series = light_curve_timeseries(path)
    raw = read_light_curve(path)
    assert isinstance(series, TimeSeries) and series["flux"].unit == u.electron / u.s
    assert series.time.scale == "tdb" and series.meta["mission"] == "TESS"
    assert len(series) == int(np.isfinite(raw.time).sum())
    np.testing.assert_allclose(series.time.jd, raw.time_bjd[np.isfinite(raw.time)], rtol=0, atol=1e-8)
    from_file = processor.light_curve(path, period=3.0)
    from_series = processor.light_curve(series, period=3.0)
    np.testing.assert_allclose(from_series, from_file, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no 'flux' column"):
        raw_light_curve_from_timeseries(TimeSeries(time=series.time[:3], data={"sap": [1.0, 2.0, 3.0]}))


def test_spectrum_round_trip_through_specutils(real_data_dir, processor):
    path = real_data_dir / "exoplanet_spectra" / "K2-18b_niriss_soss_lowres.txt"
    [spectrum] = read_spectra(path)
    s1d = spectrum_to_specutils(spectrum)
    assert s1d.spectral_axis.unit == u.um and s1d.flux.unit.physical_type == "dimensionless"
    back = spectrum_from_specutils(s1d)
    assert back.kind == spectrum.kind == "transmission" and back.value_unit == "ppm"
    np.testing.assert_allclose(back.value, spectrum.value, rtol=1e-9)
    np.testing.assert_allclose(back.error, spectrum.error, rtol=1e-9)
    np.testing.assert_allclose(processor.spectrum(s1d), processor.spectrum(path), rtol=1e-6, atol=1e-7)


def test_catalog_values_as_qtable():
    table = catalog_qtable({"pl_name": "Kepler-186 f", "pl_orbper": 129.9444, "st_teff": 3755.0, "pl_insol": 0.29,
                            "sy_dist": None})
    assert table["pl_orbper"].unit == u.day and table["st_teff"].unit == u.K
    assert table["pl_name"][0] == "Kepler-186 f" and np.isnan(table["sy_dist"][0].value)
    assert table["pl_orbper"][0].to(u.hour).value == pytest.approx(129.9444 * 24)
