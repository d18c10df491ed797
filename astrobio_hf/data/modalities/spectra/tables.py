"""Published transmission / emission spectrum tables: CSV, whitespace text, the Pyrat Bay format."""

from __future__ import annotations

import io
import re
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd

from ..spectrum_checks import checked
from .core import PPM, Spectrum, SpectrumFormatError, SpectrumKind, _check_kind, _half_widths, _native_mask

_WAVE_NAMES = ("wave", "wavelength", "wl", "lambda", "wavelength_microns")
_HALF_WIDTH_NAMES = ("wave_error", "wave_err", "half_width", "bin_half_width", "halfwidth", "wl_err")
_DEPTH_NAMES = ("dppm", "depth", "transit_depth", "eclipse_depth", "rp_rs2", "value")
_DEPTH_ERR_NAMES = ("dppm_err", "dppm_error", "depth_err", "depth_error", "uncertainty", "error", "err")


def _normalise_name(name: str) -> str:
    name = re.sub(r"\(.*?\)|\[.*?\]", "", str(name)).strip().lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def _pick(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    normalised = {_normalise_name(c): c for c in columns}
    for candidate in candidates:
        if candidate in normalised:
            return normalised[candidate]
    return None


def _decode_text(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every line; non-UTF-8 bytes raise naming the line."""
    raw = path.read_bytes()
    if not raw.strip():
        raise SpectrumFormatError(f"{path}: empty file, no spectrum table")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpectrumFormatError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from exc
    return list(enumerate(text.splitlines(), start=1))


def _numeric(frame: pd.DataFrame, column: str, line_numbers: list[int], path: Path) -> np.ndarray:
    """A column as float64 (numpy's correctly rounded parser; empty cells become NaN and are masked)."""
    texts = frame[column].fillna("nan").astype(str).str.strip().to_numpy()
    try:
        return texts.astype(np.float64)
    except ValueError:
        for row, text in enumerate(texts):
            try:
                float(text)
            except ValueError:
                raise SpectrumFormatError(
                    f"{path}: line {line_numbers[row]}: column '{column}' value {text!r} is not a number"
                ) from None
        raise


def _check_field_counts(path: Path, lines: list[tuple[int, str]], sep: str, names: list[str] | None) -> None:
    """Every data line holds as many fields as the header: pandas fills a short (cut) line with NaN silently."""
    def count(text: str) -> int:
        return len(text.strip().split()) if sep == r"\s+" else len(text.split(sep))

    rows = lines if names is not None else lines[1:]
    want = len(names) if names is not None else count(lines[0][1]) if lines else 0
    for number, text in rows:
        if text.strip() and count(text) != want:
            raise SpectrumFormatError(f"{path}: line {number}: {count(text)} fields where the header has {want} "
                                      f"({text.strip()[:60]!r}: a cut or damaged line)")


def _read_frame(path: Path, lines: list[tuple[int, str]], sep: str, names: list[str] | None) -> pd.DataFrame:
    _check_field_counts(path, lines, sep, names)
    text = "\n".join(t for _, t in lines)
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None if names is not None else 0,
            names=names,
            dtype=str,
            skipinitialspace=True,
            engine="python",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"line {lines[int(match.group(1)) - 1][0]}" if match and int(match.group(1)) <= len(lines) else "table"
        raise SpectrumFormatError(f"{path}: {where}: cannot parse the table ({exc})") from exc


def _depth_unit_from(column: str, header_text: str) -> str | None:
    text = f"{column} {header_text}".lower()
    if "ppm" in text:
        return "ppm"
    if "percent" in text or "%" in text:
        return "percent"
    if "ppt" in text:
        return "ppt"
    return None


def _depth_to_ppm(values: np.ndarray, unit: str, path: Path) -> np.ndarray:
    units = {"ppm": PPM, "ppt": u.def_unit("ppt", 1e-3 * u.dimensionless_unscaled), "percent": u.percent}
    units.update({"none": u.dimensionless_unscaled, "fraction": u.dimensionless_unscaled})
    if unit.lower() not in units:
        raise SpectrumFormatError(f"{path}: depth unit {unit!r} not one of {sorted(units)}")
    return (values * units[unit.lower()]).to_value(PPM)


def _pyratbay_sections(path: Path, lines: list[tuple[int, str]]) -> tuple[str | None, list[tuple[int, str]]]:
    """Depth unit and data lines of a Pyrat Bay observation file ('@DEPTH_UNITS' then its value,
    '@DATA' then whitespace rows). Written by hand: no library reads this small format."""
    unit, data, state = None, [], None
    for number, text in lines:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("@"):
            state = stripped.upper()
            if state not in ("@DEPTH_UNITS", "@DATA"):
                raise SpectrumFormatError(f"{path}: line {number}: unknown Pyrat Bay section {stripped!r}")
            continue
        if state == "@DEPTH_UNITS":
            unit, state = stripped, None
        elif state == "@DATA":
            data.append((number, stripped))
        else:
            raise SpectrumFormatError(f"{path}: line {number}: data before an '@DATA' marker")
    return unit, data


@checked(SpectrumFormatError)
def read_transmission_table(
    path: str | Path,
    kind: SpectrumKind = "transmission",
    depth_unit: str | None = None,
    target_name: str | None = None,
) -> Spectrum:
    """A published transit/eclipse-depth spectrum table (CSV, whitespace text or Pyrat Bay)."""
    path = Path(path)
    _check_kind(kind)
    lines = _decode_text(path)
    meta: dict = {}
    if any(t.strip().upper() == "@DATA" for _, t in lines):
        unit, data_lines = _pyratbay_sections(path, lines)
        if not data_lines:
            raise SpectrumFormatError(f"{path}: '@DATA' section has no rows")
        frame = _read_frame(path, data_lines, r"\s+", _pyratbay_names(path, data_lines))
        wave_col, hw_col, depth_col, err_col = "wl", "half_width", "depth", "depth_err"
        file_unit = depth_unit or unit or "none"
        meta["format"] = "pyratbay"
        if "instrument" in frame.columns:
            meta["instrument"] = frame["instrument"].to_numpy(dtype=str)
        line_numbers = [n for n, _ in data_lines]
    else:
        content = [(n, t) for n, t in lines if t.strip() and not t.lstrip().startswith("#")]
        comments = " ".join(t for _, t in lines if t.lstrip().startswith("#"))
        if len(content) < 2:
            raise SpectrumFormatError(f"{path}: no data rows after the header")
        header_number, header = content[0]
        rows = content[1:]
        if "," in rows[0][1]:
            frame = _read_frame(path, content, ",", None)
            meta["format"] = "csv"
        else:
            names = [h.strip() for h in (header.split(",") if "," in header else header.split())]
            frame = _read_frame(path, rows, r"\s+", names)
            meta["format"] = "whitespace"
        columns = [str(c) for c in frame.columns]
        wave_col = _pick(columns, _WAVE_NAMES)
        depth_col = _pick(columns, _DEPTH_NAMES)
        err_col = _pick(columns, _DEPTH_ERR_NAMES)
        hw_col = _pick(columns, _HALF_WIDTH_NAMES)
        for role, col in (("wavelength", wave_col), ("depth", depth_col)):
            if col is None:
                raise SpectrumFormatError(f"{path}: line {header_number}: no {role} column in header {columns}")
        file_unit = depth_unit or _depth_unit_from(depth_col, comments) or "none"
        line_numbers = [n for n, _ in rows]
        for extra in ("order", "quality", "instrument"):
            col = _pick(columns, (extra,))
            if col is not None:
                meta[extra] = frame[col].to_numpy(dtype=str)

    wave = _numeric(frame, wave_col, line_numbers, path)
    depth = _depth_to_ppm(_numeric(frame, depth_col, line_numbers, path), file_unit, path)
    error = _depth_to_ppm(_numeric(frame, err_col, line_numbers, path), file_unit, path) if err_col else None
    half_width = _numeric(frame, hw_col, line_numbers, path) if hw_col else _half_widths(wave)
    mask = _native_mask(wave, depth, error)
    if "quality" in meta:
        mask &= pd.to_numeric(pd.Series(meta["quality"]), errors="coerce").fillna(1).to_numpy() == 0
    meta["depth_unit_in_file"] = file_unit
    return Spectrum(
        wavelength=wave,
        value=depth,
        error=error,
        mask=mask,
        kind=kind,
        value_unit="ppm",
        source_file=str(path),
        target_name=target_name,
        half_width=half_width,
        meta=meta,
    )


def _pyratbay_names(path: Path, data_lines: list[tuple[int, str]]) -> list[str]:
    widths = {len(t.split()) for _, t in data_lines}
    if widths == {5}:
        return ["depth", "depth_err", "wl", "half_width", "instrument"]
    if widths == {4}:
        return ["depth", "depth_err", "wl", "half_width"]
    number = next(n for n, t in data_lines if len(t.split()) not in (4, 5)) if widths - {4, 5} else data_lines[0][0]
    raise SpectrumFormatError(
        f"{path}: line {number}: Pyrat Bay '@DATA' rows need 4 or 5 columns "
        f"(depth depth_err wl half_width [instrument]); found rows with {sorted(widths)} columns"
    )


