"""Period-recovery figures on a hand-made table with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astrobio_hf.demo.period_recovery import period_matches, period_recovery, recovery_markdown


def test_period_matches_exact_and_integer_ratios():
    found = [10.05, 10.2, 20.1, 5.0, 30.0, 60.0, np.nan, 3.35]
    truth = [10.0] * 8
    exact, harmonic = period_matches(found, truth)
    assert exact.tolist() == [True, False, False, False, False, False, False, False]
    # 20.1 = 2.01x (within 1% of 2), 5 = 1/2, 30 = 3x, 60 = 6x (beyond 5), 3.35 = 1/2.985 (within 1% of 3)
    assert harmonic.tolist() == [True, False, True, True, True, False, False, True]
    with pytest.raises(ValueError, match="shape"):
        period_matches([1.0], [1.0, 2.0])


def test_report_on_a_hand_made_table():
    table = pd.DataFrame({
        "mission": ["Kepler", "Kepler", "Kepler", "TESS", "TESS", "TESS"],
        "truth_period": [0.8, 5.0, 150.0, 3.0, 40.0, 12.0],
        "search_period": [0.8, 10.0, np.nan, 3.01, 40.1, 12.0],
        "n_transits_in_baseline": [1000, 200, 9, 8, 1, 2],  # the 40 d TESS planet has one transit: not counted
    })
    report = period_recovery(table).set_index(["by", "group"])
    kepler, tess, everything = report.loc[("mission", "Kepler")], report.loc[("mission", "TESS")], report.loc[("all", "all")]
    assert (kepler.n_eligible, kepler.n_found, kepler.n_exact, kepler.n_harmonic) == (3, 2, 1, 2)
    assert (tess.n_eligible, tess.n_exact, tess.n_harmonic) == (2, 2, 2)
    assert everything.frac_exact == pytest.approx(3 / 5) and everything.frac_harmonic == pytest.approx(4 / 5)
    assert report.loc[("period", "<1 d")].n_eligible == 1 and report.loc[("period", ">100 d")].frac_exact == 0
    assert report.loc[("period", "10-100 d")].n_eligible == 1  # the 12 d planet only
    text = recovery_markdown(report.reset_index())
    assert "| all | all | 5 | 4 | 3 (60.0%) | 4 (80.0%) |" in text


def test_report_names_a_missing_column():
    with pytest.raises(ValueError, match="truth_period"):
        period_recovery(pd.DataFrame({"mission": [], "search_period": [], "n_transits_in_baseline": []}))
