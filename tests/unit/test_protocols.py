"""Evaluation protocols: which columns and modalities each removes, which datasets can be scored under which, and
that under ``withheld-orbit`` no orbit column reaches the model and the catalog period never folds a light curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from astrobio_hf.data.multimodal import MultimodalBuildConfig, build_multimodal_dataset
from astrobio_hf.data.protocols import (
    PROTOCOLS,
    can_evaluate,
    check_protocol,
    describe_protocol,
    hidden_modalities,
    protocol_param_names,
    removed_columns,
    removes_insolation,
)
from astrobio_hf.models.multimodal.configuration_multimodal import DEFAULT_PLANET_PARAMS

ORBIT = {"pl_orbper", "pl_orbsmax", "pl_insol", "pl_eqt"}
KEPLER_90_Q3 = "kepler_k2/kplr011442793-2009350155506_llc.fits"
HEADER = "pl_name,hostname,pl_orbper,pl_orbsmax,pl_rade,pl_bmasse,pl_insol,pl_eqt,st_teff,st_rad,st_mass,discoverymethod"


def test_each_protocol_removes_its_columns_and_says_so():
    assert PROTOCOLS == ("full", "withheld", "withheld-orbit")
    assert protocol_param_names(DEFAULT_PLANET_PARAMS, "full") == tuple(DEFAULT_PLANET_PARAMS)
    assert set(DEFAULT_PLANET_PARAMS) - set(protocol_param_names(DEFAULT_PLANET_PARAMS, "withheld")) == {
        "pl_insol", "pl_eqt"}
    kept = protocol_param_names(DEFAULT_PLANET_PARAMS, "withheld-orbit")
    assert not ORBIT & set(kept) and set(DEFAULT_PLANET_PARAMS) - set(kept) == ORBIT
    record = describe_protocol("withheld-orbit")
    assert record["name"] == "withheld-orbit" and set(record["removed_columns"]) == ORBIT
    assert any("catalog period" in m for m in record["removed_modalities"])
    assert describe_protocol("full") == {"name": "full", "removed_columns": [], "removed_modalities": []}
    assert removes_insolation("withheld") and removes_insolation("withheld-orbit") and not removes_insolation("full")
    with pytest.raises(ValueError, match="protocol must be one of"):
        check_protocol("withheld_orbit")


def test_a_dataset_is_scored_only_under_protocols_that_remove_at_least_as_much():
    assert can_evaluate("full", "withheld") and can_evaluate("full", "withheld-orbit")
    assert can_evaluate("withheld", "withheld-orbit") and can_evaluate("withheld-orbit", "withheld-orbit")
    assert not can_evaluate("withheld", "full") and not can_evaluate("withheld-orbit", "withheld")
    assert removed_columns("withheld-orbit")[:2] == ("pl_orbper", "pl_orbsmax")
    # scored under a stricter protocol than prepared: what the dataset made from the withheld columns is hidden
    assert hidden_modalities("full", "full") == () and hidden_modalities("withheld", "withheld") == ()
    assert hidden_modalities("full", "withheld") == ("climate_cube",)
    assert hidden_modalities("full", "withheld-orbit") == ("climate_cube", "light_curve")
    assert hidden_modalities("withheld", "withheld-orbit") == ("light_curve",)
    # curves from a searched store were folded at the found period: nothing of the orbit to hide
    assert hidden_modalities("full", "withheld-orbit", searched_light_curves=True) == ("climate_cube",)
    with pytest.raises(ValueError, match="cannot be scored"):
        hidden_modalities("withheld-orbit", "full")


def _build(tmp_path: Path, real_data_dir: Path, protocol: str, period: float):
    """Kepler-90 h (KOI-351) with the real Kepler Q3 light curve of its star, the catalog period as given."""
    folder = tmp_path / f"{protocol}-{period}"
    folder.mkdir()
    (folder / "pscomppars.csv").write_text(
        HEADER + f"\nKOI-351 h,KOI-351,{period},1.01,11.3,203,1.1,292,5970,1.2,1.1,Transit\n"
        + "Other b,Other,10,0.09,1.0,1.0,100,800,5000,0.8,0.8,Transit\n")
    (folder / "cross_ids.csv").write_text("host_name,kic,tic,epic\nKOI-351,11442793,,\n")
    config = MultimodalBuildConfig(nasa_data_files=[folder / "pscomppars.csv"], cache_dir=tmp_path / "cache",
                                   light_curve_files=[real_data_dir / KEPLER_90_Q3], cross_ids=folder / "cross_ids.csv",
                                   protocol=protocol, split_fractions=(0.5, 0.25, 0.25))
    splits, spec, report = build_multimodal_dataset(config)
    rows = {row["planet_name"]: row for split in splits.values() for row in split}
    return np.asarray(rows["KOI-351 h"]["light_curve"]), spec, report


def test_under_withheld_orbit_no_orbit_column_reaches_the_model_and_the_period_folds_nothing(tmp_path, real_data_dir):
    folded, full_spec, full_report = _build(tmp_path, real_data_dir, "full", 331.6)
    binned, spec, report = _build(tmp_path, real_data_dir, "withheld-orbit", 331.6)
    corrupted, _, _ = _build(tmp_path, real_data_dir, "withheld-orbit", 7.3)
    assert not ORBIT & set(spec.planet_param_names) and ORBIT <= set(full_spec.planet_param_names)
    assert spec.extra["protocol"]["name"] == "withheld-orbit"
    assert full_report.light_curves["phase_folded"] == 1 and report.light_curves["phase_folded"] == 0
    # the catalog period does not touch the stored light curve: any period gives the same array
    np.testing.assert_array_equal(binned, corrupted)
    assert not np.array_equal(binned, folded)


def test_predict_never_folds_at_the_catalog_period_for_a_model_trained_without_the_orbit(real_data_dir):
    from astrobio_hf.data.multimodal_schema import MultimodalSpec
    from astrobio_hf.inference.processing import AstroMultimodalProcessor

    curve = real_data_dir / KEPLER_90_Q3
    for protocol, folds in (("full", True), ("withheld-orbit", False)):
        spec = MultimodalSpec(extra={"protocol": describe_protocol(protocol)}).to_dict()
        processor = AstroMultimodalProcessor(spec)
        one, other = processor.light_curve(curve, 331.6), processor.light_curve(curve, 7.3)
        assert np.array_equal(one, other) is not folds, protocol
