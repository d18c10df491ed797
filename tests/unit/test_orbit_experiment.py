"""The orbit experiment's bookkeeping: when a cached store may be reused, the targets computed from the results, and
the docs/results.md section replaced in place (the experiment itself is run by hand: about 10 minutes plus the store)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from astrobio_hf.demo import orbit_experiment as exp
from astrobio_hf.demo.mission_store import MANIFEST_NAME, PARQUET_NAME, source_sha256
from astrobio_hf.package_data import CATALOG_RELEASE


def _manifest(folder, **changes):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PARQUET_NAME).write_bytes(b"")
    manifest = {"seed": 0, "n_bins": 256, "limit": None, "catalog": CATALOG_RELEASE,
                "source_sha256": source_sha256(), **changes}
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_a_store_is_reused_only_when_seed_bins_catalog_and_code_match(tmp_path):
    assert exp.store_mismatch(tmp_path / "none", 0, 256) == "no store"
    _manifest(tmp_path / "ok")
    assert exp.store_mismatch(tmp_path / "ok", 0, 256) is None
    _manifest(tmp_path / "seed", seed=1)
    assert "seed 1" in exp.store_mismatch(tmp_path / "seed", 0, 256)
    _manifest(tmp_path / "code", source_sha256="0" * 64)
    assert "source_sha256" in exp.store_mismatch(tmp_path / "code", 0, 256)
    _manifest(tmp_path / "limited", limit=50)
    assert "limit 50" in exp.store_mismatch(tmp_path / "limited", 0, 256)


def _result(hz: dict[str, float], pr: dict[str, float], paired: dict[str, tuple[float, float, float]]) -> dict:
    def ci(v):
        return {"low": v - 0.05, "high": v + 0.05}

    return {"methods": [{"name": m, "metrics": {"hz_macro_f1": hz[m], "pr_auc": pr.get(m, 0.1), "f1": 0.2},
                         "ci": {"hz_macro_f1": ci(hz[m]), "pr_auc": ci(pr.get(m, 0.1))}} for m in hz],
            "paired": [{"b": m, "differences": {k: {"difference": d, "low": lo, "high": hi}
                                               for k in ("hz_macro_f1", "pr_auc", "f1")}}
                       for m, (d, lo, hi) in paired.items()],
            "rows": {"labelled": 100, "hosts": 90, "habitable": 3},
            "cross_validation": {"seed": 0, "folds": 5}, "bootstrap": {"resamples": 200}}


def test_targets_from_the_three_protocols():
    full = _result({exp.MODEL: 0.9, "hist_gradient_boosting": 0.85}, {}, {})
    orbit = _result({exp.MODEL: 0.7, "hist_gradient_boosting": 0.4, "bls_trees": 0.72},
                    {exp.MODEL: 0.5, "bls_trees": 0.3},
                    {"model without light_curve": (0.3, 0.2, 0.4), "bls_trees": (-0.02, -0.1, 0.06)})
    summary = exp.summarise({"full": full, "withheld": full, "withheld-orbit": orbit})
    assert summary["hz_macro_f1"]["recovered_fraction"] == pytest.approx(0.6)  # (0.7 - 0.4) / (0.9 - 0.4)
    targets = summary["targets"]
    assert not targets["recovers >= 80% of the gap"]
    assert targets["light_curve ablation interval above 0"]
    assert not targets["model >= BLS + trees, hz macro-F1"] and targets["model >= BLS + trees, PR-AUC"]
    recovery = pd.DataFrame([{"by": "all", "group": "all", "n_eligible": 10, "n_found": 9, "n_exact": 8,
                              "n_harmonic": 9, "frac_exact": 0.8, "frac_harmonic": 0.9}])
    section = exp.report_markdown({"full": full, "withheld": full, "withheld-orbit": orbit}, summary, recovery,
                                  command="python -m astrobio_hf.demo.orbit_experiment", machine="test",
                                  code="astrobio-hf 0.1.0 (git abc1234)",
                                  seconds={"store": 1.0, "total": 120.0},
                                  store={"counts": {"planets": 100, "found": 90}, "seconds": 3000, "workers": 2},
                                  store_written=False)
    assert section.startswith(exp.SECTION_START) and section.rstrip().endswith(exp.SECTION_END)
    assert "**60%** of the gap (target 80%: missed)" in section and "| BLS + trees |" in section


def test_the_section_is_replaced_in_place(tmp_path):
    doc = tmp_path / "results.md"
    doc.write_text("# Results\n\nbefore\n")
    exp.replace_section(doc, f"{exp.SECTION_START}\nfirst\n{exp.SECTION_END}\n")
    doc.write_text(doc.read_text() + "\nafter\n")
    exp.replace_section(doc, f"{exp.SECTION_START}\nsecond\n{exp.SECTION_END}\n")
    text = doc.read_text()
    assert "first" not in text and text.count(exp.SECTION_START) == 1
    assert text.index("before") < text.index("second") < text.index("after")
