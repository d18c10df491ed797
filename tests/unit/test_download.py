"""The network layer: base-URL precedence, retries/backoff, rate limit, POST forms, streaming, redaction."""

from __future__ import annotations

import json
import logging
import time

import pytest

from astrobio_hf.data import download
from astrobio_hf.data.download import DownloadError, HttpClient, MissingTokenError, Secrets
from tests.helpers.http_server import LoopbackArchive

TOKEN = "tok-Secret-12345"


def test_base_url_precedence(monkeypatch):
    monkeypatch.delenv("ASTROBIO_GTDB_URL", raising=False)
    assert download.resolve_base_url("gtdb", None, "https://default/") == "https://default"
    monkeypatch.setenv("ASTROBIO_GTDB_URL", "http://env.example/")
    assert download.resolve_base_url("gtdb", None, "https://default") == "http://env.example"
    assert download.resolve_base_url("gtdb", "http://kwarg", "https://default") == "http://kwarg"
    assert download.env_var_for("nasa_exoplanet_archive") == "ASTROBIO_NASA_EXOPLANET_ARCHIVE_URL"


def test_redaction_of_urls_and_text():
    url = download.redact_url("https://u:pw@host/x?query=SELECT+1&api_key=abcdef", {"token": "zzzzzz", "n": 2})
    assert "abcdef" not in url and "zzzzzz" not in url and "pw" not in url
    assert "api_key=REDACTED" in url and "token=REDACTED" in url and "n=2" in url and "query=SELECT" in url
    text = "Max retries exceeded with url: /efetch.fcgi?db=nucleotide&api_key=deadbeef (Caused by ...)"
    assert "deadbeef" not in download.redact_text(text)


def test_read_token(monkeypatch):
    monkeypatch.delenv("ASTROBIO_TEST_TOKEN", raising=False)
    assert download.read_token("ASTROBIO_TEST_TOKEN") is None
    with pytest.raises(MissingTokenError, match="ASTROBIO_TEST_TOKEN"):
        download.read_token("ASTROBIO_TEST_TOKEN", required=True, service="MAST")
    monkeypatch.setenv("ASTROBIO_TEST_TOKEN", TOKEN)
    assert download.read_token("ASTROBIO_TEST_TOKEN") == TOKEN
    assert TOKEN not in download.redact_text(f"header was token {TOKEN}")


def test_retry_on_503_honours_retry_after_then_succeeds(caplog):
    with LoopbackArchive() as server:
        server.add("/data", b"ok", fail_first=[(503, {"Retry-After": "1"})])
        client = HttpClient("test", min_interval_s=0.0, backoff_s=5.0)
        caplog.set_level(logging.INFO, logger="astrobio_hf.data.download")
        start = time.monotonic()
        response = client.get(server.url("/data"), params={"q": "1"})
        elapsed = time.monotonic() - start
    assert response.content == b"ok"
    assert [r.status for r in server.requests] == [503, 200]
    assert 1.0 <= elapsed < 4.0  # waited Retry-After (1 s), not the 5 s backoff
    assert "HTTP 503" in caplog.text and "retry 1/4" in caplog.text


def test_exponential_backoff_on_429_and_give_up():
    with LoopbackArchive() as server:
        server.add("/busy", b"never", fail_first=[(429, {})] * 5)
        client = HttpClient("test", min_interval_s=0.0, max_retries=2, backoff_s=0.1)
        start = time.monotonic()
        with pytest.raises(DownloadError, match="failed after 3 attempts") as info:
            client.get(server.url("/busy"))
        elapsed = time.monotonic() - start
    assert len(server.requests) == 3
    assert elapsed >= 0.1 + 0.2  # backoff 0.1 * 2**0 then 0.1 * 2**1
    assert info.value.status == 429


def test_4xx_is_a_clear_error_without_the_token(caplog):
    caplog.set_level(logging.DEBUG)  # urllib3 logs full URLs at DEBUG: they must be scrubbed too
    with LoopbackArchive() as server:
        client = HttpClient("ncbi_genbank", min_interval_s=0.0, secrets=Secrets(params={"api_key": TOKEN}))
        with pytest.raises(DownloadError) as info:
            client.get(server.url("/missing"), params={"id": "NC_005816"})
    message = str(info.value)
    assert "HTTP 404" in message and "/missing" in message and "id=NC_005816" in message
    assert TOKEN not in message and TOKEN not in repr(info.value.__context__ or "")
    assert server.requests[0].query["api_key"] == [TOKEN]  # it was sent ...
    assert TOKEN not in caplog.text  # ... and never logged
    assert "api_key=REDACTED" in caplog.text


def test_post_form_like_mast_and_secret_header():
    request = {"service": "Mast.Caom.Filtered", "format": "json", "params": {"columns": "*"}}
    with LoopbackArchive() as server:
        server.add("/api/v0/invoke", lambda r: json.dumps({"status": "COMPLETE", "data": []}).encode(), method="POST",
                   content_type="application/json")
        client = HttpClient("jwst_mast", min_interval_s=0.0, secrets=Secrets(headers={"Authorization": f"token {TOKEN}"}))
        response = client.post(server.url("/api/v0/invoke"), data={"request": json.dumps(request)})
    assert response.json()["status"] == "COMPLETE"
    seen = server.requests[0]
    assert seen.method == "POST" and json.loads(seen.form["request"][0]) == request
    assert seen.headers["Authorization"] == f"token {TOKEN}"
    assert TOKEN not in repr(client._secrets)


def test_download_streams_to_file_atomically(tmp_path, capsys):
    payload = bytes(range(256)) * 5000
    with LoopbackArchive() as server:
        server.add("/big.bin", payload)
        client = HttpClient("test", min_interval_s=0.0, max_retries=0)
        dest = client.download(server.url("/big.bin"), tmp_path / "sub" / "big.bin")
        assert dest.read_bytes() == payload
        assert "[progress] test: downloaded big.bin: 1.3 MB in " in capsys.readouterr().err
        with pytest.raises(DownloadError):
            client.download(server.url("/nope.bin"), tmp_path / "nope.bin")
    assert not (tmp_path / "nope.bin").exists()
    assert not list(tmp_path.rglob("*.part"))


def test_rate_limit_spaces_requests_to_one_host():
    with LoopbackArchive() as server:
        server.add("/a", b"1")
        client = HttpClient("test", min_interval_s=0.3)
        start = time.monotonic()
        for _ in range(3):
            client.get(server.url("/a"))
        elapsed = time.monotonic() - start
    assert elapsed >= 0.6 - 0.01  # three requests, two enforced gaps


def test_offline_mode_blocks_remote_hosts_only(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    client = HttpClient("test", min_interval_s=0.0, max_retries=0)
    with pytest.raises(DownloadError, match="offline mode"):
        client.get("https://exoplanetarchive.ipac.caltech.edu/TAP/sync")
    with LoopbackArchive() as server:
        server.add("/ok", b"fine")
        assert client.get(server.url("/ok")).content == b"fine"


def test_request_fingerprint_ignores_secrets_and_is_stable():
    a = download.request_fingerprint("GET", "http://h/x", {"q": "1", "api_key": "one"})
    b = download.request_fingerprint("GET", "http://h/x", {"q": "1", "api_key": "two"})
    c = download.request_fingerprint("GET", "http://h/x", {"q": "2"})
    assert a == b != c
