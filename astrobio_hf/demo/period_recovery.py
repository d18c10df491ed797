"""Period-recovery report of the mission light-curve store: how often the transit search finds each planet's
catalog period. Evaluation only: it is the one place the catalog period (``truth_period``) meets the search.

A searched period P_f matches the catalog's P_t when ``P_f / P_t`` is within ``tolerance`` (1%) of 1 ("exact"), or
either ratio ``P_f / P_t`` or ``P_t / P_f`` is within ``tolerance`` of an integer 1..``max_ratio`` (5) ("harmonic":
a half, double, ... period is still the orbit up to a known ambiguity). Denominator: planets with at least
``min_transits`` (2) transits in their mission's baseline (``n_transits_in_baseline``); fewer cannot give a period.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: (lower, upper, label) of the period ranges (days) the report splits by.
PERIOD_RANGES: tuple[tuple[float, float, str], ...] = (
    (0.0, 1.0, "<1 d"), (1.0, 10.0, "1-10 d"), (10.0, 100.0, "10-100 d"), (100.0, math.inf, ">100 d"))


def period_matches(found, truth, tolerance: float = 0.01, max_ratio: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Boolean arrays (exact, harmonic) per planet; NaN found periods match nothing."""
    found = np.asarray(found, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if found.shape != truth.shape:
        raise ValueError(f"found and truth periods differ in shape: {found.shape} vs {truth.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = found / truth
        exact = np.abs(ratio - 1.0) <= tolerance
        harmonic = np.zeros(found.shape, dtype=bool)
        for n in range(1, max_ratio + 1):
            harmonic |= (np.abs(ratio - n) <= tolerance * n) | (np.abs(1.0 / ratio - n) <= tolerance * n)
    ok = np.isfinite(ratio) & (ratio > 0)
    return exact & ok, harmonic & ok


def period_recovery(table: pd.DataFrame, *, period_column: str = "search_period", truth_column: str = "truth_period",
                    min_transits: int = 2, tolerance: float = 0.01, max_ratio: int = 5) -> pd.DataFrame:
    """Recovery fractions by mission, by catalog-period range and overall (see the module docstring)."""
    for column in (period_column, truth_column, "n_transits_in_baseline", "mission"):
        if column not in table.columns:
            raise ValueError(f"period_recovery: the table has no column {column!r}")
    eligible = table[table["n_transits_in_baseline"] >= min_transits]
    exact, harmonic = period_matches(eligible[period_column], eligible[truth_column], tolerance, max_ratio)
    frame = pd.DataFrame({"mission": eligible["mission"].to_numpy(), "truth": eligible[truth_column].to_numpy(),
                          "found": np.isfinite(eligible[period_column].to_numpy(dtype=np.float64)),
                          "exact": exact, "harmonic": harmonic})
    groups: list[tuple[str, str, pd.DataFrame]] = [("mission", m, frame[frame["mission"] == m])
                                                   for m in sorted(frame["mission"].unique())]
    groups += [("period", label, frame[(frame["truth"] >= lo) & (frame["truth"] < hi)])
               for lo, hi, label in PERIOD_RANGES]
    groups.append(("all", "all", frame))
    rows = []
    for by, name, part in groups:
        n = len(part)
        rows.append({"by": by, "group": name, "n_eligible": n, "n_found": int(part["found"].sum()),
                     "n_exact": int(part["exact"].sum()), "n_harmonic": int(part["harmonic"].sum()),
                     "frac_exact": part["exact"].mean() if n else math.nan,
                     "frac_harmonic": part["harmonic"].mean() if n else math.nan})
    return pd.DataFrame(rows)


def recovery_markdown(report: pd.DataFrame) -> str:
    """The report as a markdown table."""
    lines = ["| by | group | planets (>= 2 transits) | found | within 1% | within 1% of 1..5x |",
             "|---|---|---:|---:|---:|---:|"]
    for row in report.itertuples(index=False):
        def pct(value: float) -> str:
            return "-" if not np.isfinite(value) else f"{100 * value:.1f}%"
        lines.append(f"| {row.by} | {row.group} | {row.n_eligible} | {row.n_found} | {row.n_exact} "
                     f"({pct(row.frac_exact)}) | {row.n_harmonic} ({pct(row.frac_harmonic)}) |")
    return "\n".join(lines)


__all__ = ["PERIOD_RANGES", "period_matches", "period_recovery", "recovery_markdown"]
