"""Habitability labels: Kopparapu et al. (2014) limits and the default rule, checked on facts we know."""

from __future__ import annotations

import math

import datasets
import pytest

from astrobio_hf.data import labels
from astrobio_hf.data.labels import KOPPARAPU_2014, LabelRule, label_planet, label_table

SUN = {"st_teff": 5772.0, "st_rad": 1.0}


def test_limits_at_the_reference_temperature_are_s0():
    # T = Teff - 5780 K = 0: every polynomial term but S0 vanishes
    limits = labels.hz_flux_limits(5780.0)
    assert limits == {"recent_venus": 1.776, "runaway_greenhouse": 1.107, "maximum_greenhouse": 0.356,
                      "early_mars": 0.320}


def test_limits_are_ordered_and_shrink_for_cool_stars():
    for teff in (2600.0, 3500.0, 5780.0, 7200.0):
        s = labels.hz_flux_limits(teff)
        assert s["recent_venus"] > s["runaway_greenhouse"] > s["maximum_greenhouse"] > s["early_mars"] > 0
    assert KOPPARAPU_2014["runaway_greenhouse"].s_eff(3000) < KOPPARAPU_2014["runaway_greenhouse"].s_eff(6000)


def test_insolation_fallback_and_equilibrium_temperature_of_earth():
    # A Sun twin at 1 AU: L = 1 Lsun exactly (Teff = 5772 K, R = 1 Rsun), so S = 1
    s, source = labels.insolation(None, st_rad=1.0, st_teff=5772.0, pl_orbsmax=1.0)
    assert (s, source) == (1.0, "computed")
    assert labels.insolation(2.5, 1.0, 5772.0, 1.0) == (2.5, "pl_insol")  # the catalog value wins
    assert labels.insolation(None, None, 5772.0, 1.0) == (None, "")
    assert labels.insolation_from_star(1.0, 5772.0, 2.0) == pytest.approx(0.25)  # inverse square
    assert labels.luminosity_lsun(2.0, 5772.0) == pytest.approx(4.0)  # R^2
    # T_eq with A = 0: 278.6 K at S = 1; A = 0.3 gives Earth's ~255 K
    assert labels.equilibrium_temperature(1.0, 0.0) == pytest.approx(278.6)
    assert labels.equilibrium_temperature(1.0, 0.3) == pytest.approx(278.6 * 0.7 ** 0.25)
    assert 254 < labels.equilibrium_temperature(1.0, 0.3) < 256
    assert labels.equilibrium_temperature(16.0, 0.0) == pytest.approx(2 * 278.6)  # S^(1/4)


@pytest.mark.parametrize("name, a_au, radius, expected_class, expected_hab", [
    ("Venus", 0.723, 0.95, "too hot", 0),      # S = 1.91 > 1.107 (runaway greenhouse at 5772 K)
    ("Earth", 1.0, 1.0, "temperate", 1),
    ("Mars", 1.524, 0.53, "temperate", 1),     # S = 0.43 > 0.356: inside the conservative HZ
    ("Jupiter", 5.20, 11.2, "too cold", 0),
])
def test_solar_system_planets(name, a_au, radius, expected_class, expected_hab):
    lab = label_planet(**SUN, pl_orbsmax=a_au, pl_rade=radius)
    assert (lab.hz_class, lab.habitability, lab.reason) == (expected_class, expected_hab, "")
    assert lab.insolation == pytest.approx(1.0 / a_au**2) and lab.insolation_source == "computed"


def test_rocky_criterion_radius_then_mass():
    temperate = {"st_teff": 5772.0, "pl_insol": 1.0}
    assert label_planet(**temperate, pl_rade=1.6).habitability == 1
    assert label_planet(**temperate, pl_rade=1.61).habitability == 0  # sub-Neptune in the HZ
    assert label_planet(**temperate, pl_bmasse=9.9).habitability == 1  # no radius: mass decides
    assert label_planet(**temperate, pl_bmasse=17.0).habitability == 0
    assert label_planet(**temperate, pl_rade=1.2, pl_bmasse=300.0).habitability == 1  # radius first
    lab = label_planet(**temperate)
    assert lab.habitability is None and lab.hz_class == "temperate" and "no radius or mass" in lab.reason


def test_rocky_is_the_size_half_alone_for_every_planet_with_a_size():
    """The factorised head's size label: given whatever the insolation or the star, None only without a size."""
    assert label_planet(st_teff=5772.0, pl_insol=100.0, pl_rade=1.0).rocky == 1  # too hot, but rocky
    assert label_planet(st_teff=5772.0, pl_insol=0.01, pl_bmasse=300.0).rocky == 0  # too cold giant, by mass
    assert label_planet(st_teff=None, pl_insol=1.0, pl_rade=1.61).rocky == 0  # unlabelled, yet its size is known
    assert label_planet(st_teff=5772.0, pl_insol=1.0, pl_rade=1.6).rocky == 1
    assert label_planet(st_teff=5772.0, pl_insol=1.0).rocky is None
    report = label_table([{"st_teff": 5772.0, "pl_insol": 1.0, "pl_rade": 1.0}, {"pl_rade": 4.0}, {}])
    assert report.rocky == [1, 0, None]
    assert report.counts()["rocky"] == {"rocky": 1, "not rocky": 1, "no size": 1}


def test_unlabelled_cases_have_reasons():
    assert label_planet(st_teff=None, pl_insol=1.0).reason == "no st_teff"
    assert label_planet(st_teff=2566.0, pl_insol=0.65, pl_rade=0.92).reason == "st_teff outside 2600-7200 K"
    assert label_planet(st_teff=7500.0, pl_insol=1.0).habitability is None
    assert "no insolation" in label_planet(st_teff=5000.0, pl_rade=1.0).reason
    assert label_planet(st_teff=float("nan"), pl_insol=1.0).reason == "no st_teff"  # NaN counts as missing


def test_rule_is_configurable():
    venus_like = {"st_teff": 5780.0, "pl_insol": 1.5, "pl_rade": 1.0}
    assert label_planet(**venus_like).hz_class == "too hot"  # 1.5 > 1.107
    optimistic = LabelRule(inner="recent_venus", outer="early_mars")
    assert label_planet(**venus_like, rule=optimistic).hz_class == "temperate"  # 1.5 < 1.776
    assert label_planet(st_teff=5780.0, pl_insol=1.0, pl_rade=2.0, rule=LabelRule(max_radius_earth=2.5)).habitability == 1
    cool = LabelRule(teff_min_k=2500.0)
    assert label_planet(st_teff=2566.0, pl_insol=0.65, pl_rade=0.92, rule=cool).habitability is not None
    with pytest.raises(ValueError, match="unknown HZ limit"):
        LabelRule(inner="nope")


def test_label_table_counts_everything_rows_and_columns():
    rows = [
        {"st_teff": 5772.0, "pl_insol": 1.0, "pl_rade": 1.0},     # temperate, rocky
        {"st_teff": 5772.0, "pl_insol": 100.0, "pl_rade": 10.0},  # too hot
        {"st_teff": 5772.0, "pl_insol": 0.01},                    # too cold (size not needed)
        {"st_teff": None, "pl_insol": 1.0},                       # no Teff
        {"st_teff": 2000.0, "pl_insol": 1.0},                     # outside the valid range
        {"pl_name": "no columns at all"},
    ]
    report = label_table(rows)
    counts = report.counts()
    assert report.habitability == [1, 0, 0, None, None, None]
    assert report.hz_class == ["temperate", "too hot", "too cold", None, None, None]
    assert counts["total"] == 6 and counts["labelled"] == 3 and counts["unlabelled"] == 3
    assert counts["labelled"] + counts["unlabelled"] == counts["total"]
    assert counts["reasons"] == {"no st_teff": 2, "st_teff outside 2600-7200 K": 1}
    columns = {k: [r.get(k) for r in rows] for k in ("st_teff", "pl_insol", "pl_rade")}
    assert label_table(columns).habitability == report.habitability  # column form gives the same labels


def test_add_labels_to_a_dataset():
    ds = datasets.Dataset.from_dict({"pl_name": ["Earth twin", "Hot"], "st_teff": [5772.0, 5772.0],
                                     "pl_insol": [1.0, 50.0], "pl_rade": [1.0, 1.0]})
    out, report = labels.add_labels(ds)
    assert out["habitability"] == [1, 0] and out["hz_class"] == ["temperate", "too hot"]
    assert out.features["habitability"] == datasets.Value("int8")
    assert math.isclose(out["t_eq"][0], 278.6 * 0.7 ** 0.25)
    assert report.counts()["labelled"] == 2
