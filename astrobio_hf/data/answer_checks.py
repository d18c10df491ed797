"""Checks a downloaded answer must pass before it is kept in the download cache.

An archive under load answers in ways that look like success: an HTML error page with status 200,
a body cut short with no ``Content-Length`` to betray it, a FITS file missing its last blocks. Each
check here looks at the saved bytes and raises :class:`BadAnswerError` naming what is wrong, so the
caller can throw the file away instead of caching it:

* :func:`check_not_html`: an HTML page where a table, FITS or JSON answer was expected;
* :func:`check_length`: fewer (or more) bytes than the ``Content-Length`` header announced;
* :func:`check_signature`: the format named by the file's suffix has its own signature
  (``SIMPLE  =`` for FITS, the gzip magic and an intact gzip trailer, valid JSON, XML);
* :func:`check_fits_size`: a FITS file as long as its headers declare (every HDU's data present);
* :func:`check_gzip_complete`: a gzip stream that ends with its trailer (CRC and length checked);
* :func:`transport_evidence` / :func:`format_evidence`: what, if anything, proves the body is whole
  (``Content-Length``, a chunked transfer's last chunk, a format's own end: FITS size, gzip trailer,
  a JSON or XML document that parses to its end); :func:`check_line_end` refuses a text answer that
  ends inside a line when nothing else can tell.
"""

from __future__ import annotations

import gzip
import json
import warnings
import xml.etree.ElementTree as ElementTree
import zlib
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
FITS_MAGIC = b"SIMPLE  ="
FITS_BLOCK = 2880
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


class BadAnswerError(ValueError):
    """A downloaded answer that must not be cached (the message says what is wrong with it)."""


def _head(path: Path, n: int = 1024) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def is_html(head: bytes) -> bool:
    """Whether bytes start like an HTML document (leading whitespace and a BOM ignored)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_STARTS)


def check_not_html(path: Path, content_type: str | None, expected_suffix: str) -> None:
    """An HTML page (by ``Content-Type`` or by its first bytes) is refused unless HTML was asked for."""
    if expected_suffix.lower() in (".html", ".htm"):
        return
    if (content_type or "").split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml") \
            or is_html(_head(path)):
        snippet = _head(path, 300).decode("utf-8", "replace").strip().replace("\n", " ")
        raise BadAnswerError(f"the archive answered an HTML page (Content-Type {content_type or 'none'}), not the "
                             f"expected {expected_suffix or 'data'} file: {snippet[:200]!r}")


def check_length(path: Path, content_length: str | None, content_encoding: str | None) -> None:
    """The saved size equals ``Content-Length`` (skipped when the body was content-encoded)."""
    if not content_length or (content_encoding or "identity").lower() != "identity":
        return
    try:
        declared = int(content_length)
    except ValueError:
        return
    size = path.stat().st_size
    if size != declared:
        raise BadAnswerError(f"short answer: received {size} bytes, Content-Length announced {declared}")


def check_gzip_complete(path: Path) -> None:
    """Decompress the whole stream: a cut file lacks the trailer, a damaged one fails its CRC."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except EOFError:
        raise BadAnswerError("truncated gzip stream: it ends before its trailer (cut download)") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise BadAnswerError(f"damaged gzip stream: {exc}") from None


def fits_declared_size(path: Path) -> tuple[int, int]:
    """``(declared bytes, actual bytes)`` of a FITS file: the end of the last HDU's data, padded to 2880."""
    from astropy.io import fits
    from astropy.utils.exceptions import AstropyUserWarning

    actual = path.stat().st_size
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AstropyUserWarning)
        try:
            with fits.open(path, lazy_load_hdus=False, memmap=False, ignore_missing_end=True) as hdul:
                info = hdul.fileinfo(len(hdul) - 1)
                declared = int(info["datLoc"]) + int(info["datSpan"])
        except Exception as exc:  # astropy raises OSError, ValueError, VerifyError ... on a broken file
            raise BadAnswerError(f"not a readable FITS file: {type(exc).__name__}: {exc}") from None
    for warning in caught:
        if "truncated" in str(warning.message).lower():
            raise BadAnswerError(f"truncated FITS file: {warning.message}")
    declared = -(-declared // FITS_BLOCK) * FITS_BLOCK
    return declared, actual


def check_fits_size(path: Path) -> None:
    """The file holds every block its headers declare (a cut transfer loses the last HDU's data)."""
    declared, actual = fits_declared_size(path)
    if actual < declared:
        raise BadAnswerError(f"truncated FITS file: its headers declare {declared} bytes, the file has {actual}")


def _suffixes(name: str) -> list[str]:
    return [s.lower() for s in Path(name).suffixes]


def check_signature(path: Path, name: str) -> None:
    """The bytes carry the signature of the format the file name says (suffix), checked to the end."""
    suffixes = _suffixes(name)
    head = _head(path, 16)
    if not head:
        raise BadAnswerError("empty answer")
    if suffixes and suffixes[-1] in (".gz", ".tgz"):
        if not head.startswith(GZIP_MAGIC):
            raise BadAnswerError(f"{name} should be gzip-compressed but does not start with the gzip signature")
        check_gzip_complete(path)
        return
    if suffixes and suffixes[-1] == ".bz2":
        if not head.startswith(BZIP2_MAGIC):
            raise BadAnswerError(f"{name} should be bzip2-compressed but does not start with the bzip2 signature")
        return
    if head.startswith(GZIP_MAGIC):  # served compressed without saying so: still must be whole
        check_gzip_complete(path)
        return
    last = suffixes[-1] if suffixes else ""
    if last in (".fits", ".fit", ".fts"):
        if not head.startswith(FITS_MAGIC):
            raise BadAnswerError(f"{name} should be FITS but does not start with {FITS_MAGIC.decode()!r}")
        check_fits_size(path)
    elif last == ".json":
        try:
            with open(path, "rb") as fh:
                json.load(fh)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadAnswerError(f"{name} should be JSON but does not parse: {exc}") from None
    elif last in (".xml", ".vot", ".votable"):
        if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise BadAnswerError(f"{name} should be XML but does not start with '<'")


def transport_evidence(headers: dict[str, str]) -> str | None:
    """How the HTTP layer proved the body whole, or ``None`` (a body that ends when the connection closes).

    ``requests``/urllib3 raise on a body shorter than ``Content-Length`` or a chunked transfer without its
    last chunk, so either header means a body that arrived is whole.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    if (lower.get("content-length") or "").strip().isdigit():
        return "Content-Length"
    if "chunked" in (lower.get("transfer-encoding") or "").lower():
        return "chunked transfer end"
    return None


def format_evidence(path: Path, name: str) -> str | None:
    """The format's own end marker, where it has one (call after :func:`check_signature` passed)."""
    suffixes = _suffixes(name)
    last = suffixes[-1] if suffixes else ""
    head = _head(path, 16)
    if last in (".gz", ".tgz") or head.startswith(GZIP_MAGIC):
        return "gzip trailer"
    if last in (".fits", ".fit", ".fts"):
        return "FITS size declared by its headers"
    if last == ".json":
        return "JSON document parsed to its end"
    if last in (".xml", ".vot", ".votable"):
        try:  # a cut XML document lacks its closing root tag
            for _ in ElementTree.iterparse(path):
                pass
        except ElementTree.ParseError as exc:
            raise BadAnswerError(f"{name} is not a whole XML document (cut transfer?): {exc}") from None
        return "XML document closed"
    return None


def check_line_end(path: Path, name: str) -> None:
    """A text answer whose length nothing declared must end with a line break: else it was cut mid-line."""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 1))
        last = fh.read(1)
    if last not in (b"\n", b"\r"):
        raise BadAnswerError(f"{name} ends inside a line (no line break after its last line) and the server sent "
                             "no Content-Length: cut transfer")


def check_answer(path: Path, name: str, headers: dict[str, str]) -> str | None:
    """All generic checks of a saved answer; ``headers`` are the HTTP response headers (any case).

    Returns what proved the answer whole (``None``: nothing could, e.g. a text table served without
    ``Content-Length``; the caller then needs its own count, or must not keep the answer as verified).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    check_length(path, lower.get("content-length"), lower.get("content-encoding"))
    check_not_html(path, lower.get("content-type"), "".join(_suffixes(name)[-1:]))
    check_signature(path, name)
    evidence = transport_evidence(headers) or format_evidence(path, name)
    if evidence is None:
        check_line_end(path, name)
    return evidence
