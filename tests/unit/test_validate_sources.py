"""`astrobio-hf validate-sources` and the `data_scripts/` scripts.

Endpoints are loopback servers (`LoopbackArchive`) reached through `ASTROBIO_<SOURCE>_URL`; a closed loopback port
plays an unreachable archive. Samples are the real files of ../shared/data/real (read in place) and malformed files
written to tmp_path. The data scripts run in one subprocess (imports cost ~10 s of CPU each on this machine) that
executes each script file as `__main__` exactly as `python data_scripts/<name>.py` does, against a loopback hub.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from astrobio_hf.cli import main
from astrobio_hf.data import validate
from astrobio_hf.data.validate import TokenVar
from tests.helpers.http_server import LoopbackArchive
from tests.helpers.hub_server import GUARD_MARKER, LoopbackHub

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "data_scripts"
SECRET = "mast-secret-value-0123456789"
HUB_TOKEN = "hf_loopback_dataset_token_0123456789abcd"


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["validate-sources", *argv])
    out = capsys.readouterr()
    return rc, out.out + out.err


def by_source(text: str) -> dict[str, dict]:
    return {r["source"]: r for r in json.loads(text)}


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_reachable_ok_unreachable_and_404_fail(capsys, monkeypatch):
    with LoopbackArchive() as server:
        server.add("/TAP/sync", b"pl_name\nWASP-39 b\n", content_type="text/csv")
        monkeypatch.setenv("ASTROBIO_NASA_EXOPLANET_ARCHIVE_URL", server.url("/TAP"))
        monkeypatch.setenv("ASTROBIO_EXOPLANETS_ORG_URL", f"http://127.0.0.1:{closed_port()}")
        monkeypatch.setenv("ASTROBIO_GTDB_URL", server.url("/releases"))  # no route there: 404
        rc, out = run_cli(capsys, "--source", "nasa_exoplanet_archive", "exoplanets_org", "gtdb", "--json",
                          "--timeout", "3")
        requests_seen = list(server.requests)
    assert rc == 1
    reports = by_source(out)
    nasa = reports["nasa_exoplanet_archive"]
    assert nasa["ok"] and nasa["endpoint"]["status"] == "ok" and nasa["endpoint"]["http_status"] == 200
    # exactly one light request per source: the TOP-1 TAP query, and the GTDB release folder
    # (the probes run concurrently: order is not fixed)
    assert sorted((r.method, r.path) for r in requests_seen) == [("GET", "/TAP/sync"), ("GET", "/releases/latest/")]
    tap = next(r for r in requests_seen if r.path == "/TAP/sync")
    assert tap.query["query"] == ["select top 1 pl_name from pscomppars"] and tap.query["format"] == ["csv"]
    org = reports["exoplanets_org"]
    assert not org["ok"] and org["endpoint"]["status"] == "fail"
    assert "Connection refused" in org["endpoint"]["detail"] and "127.0.0.1" in org["endpoint"]["detail"]
    gtdb = reports["gtdb"]
    assert gtdb["endpoint"]["status"] == "fail" and gtdb["endpoint"]["http_status"] == 404
    assert "ASTROBIO_GTDB_URL" in gtdb["endpoint"]["detail"]

    # the table says the same, and a run over the reachable source alone exits 0
    with LoopbackArchive() as server:
        server.add("/TAP/sync", b"pl_name\nWASP-39 b\n", content_type="text/csv")
        monkeypatch.setenv("ASTROBIO_NASA_EXOPLANET_ARCHIVE_URL", server.url("/TAP"))
        rc, out = run_cli(capsys, "--source", "nasa_exoplanet_archive", "--timeout", "3")
    assert rc == 0
    assert "nasa_exoplanet_archive  ok" in out and "HTTP 200" in out and "1/1 sources ok" in out


def test_offline_skips_every_probe(capsys, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("validate-sources sent a request in offline mode")

    with LoopbackArchive() as server:
        monkeypatch.setenv("ASTROBIO_UNIPROT_URL", server.url())
        rc, out = run_cli(capsys, "--offline", "--source", "uniprot", "subaru_smoka", "--json")
        assert server.requests == []
    assert rc == 0
    reports = by_source(out)
    assert reports["uniprot"]["endpoint"]["status"] == "skipped" and "--offline" in reports["uniprot"]["endpoint"][
        "detail"]
    assert reports["subaru_smoka"]["endpoint"]["status"] == "n/a"  # no public API
    assert reports["uniprot"]["sample"]["status"] == "no sample"

    # HF_DATASETS_OFFLINE (set by conftest) alone skips a real archive host, without touching the network
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("ASTROBIO_UNIPROT_URL")
    monkeypatch.setattr(validate.requests, "get", no_network)
    rc, out = run_cli(capsys, "--source", "uniprot", "--json")
    assert rc == 0
    endpoint = by_source(out)["uniprot"]["endpoint"]
    assert endpoint["status"] == "skipped" and endpoint["url"].startswith("https://rest.uniprot.org/uniprotkb/search")


def test_tokens_reported_without_their_value(capsys, monkeypatch):
    monkeypatch.setenv("MAST_API_TOKEN", SECRET)
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    monkeypatch.delenv("NCBI_EMAIL", raising=False)
    rc, out = run_cli(capsys, "--offline", "--source", "jwst_mast", "ncbi_genbank", "eso_archive", "--json")
    assert rc == 0 and SECRET not in out
    reports = by_source(out)
    assert reports["jwst_mast"]["token"]["status"] == "ok"
    assert reports["jwst_mast"]["token"]["env"] == [
        {"name": "MAST_API_TOKEN", "required": False, "set": True, "purpose": validate.TOKENS["jwst_mast"][0].purpose}]
    ncbi = reports["ncbi_genbank"]["token"]
    assert ncbi["status"] == "not set" and [e["set"] for e in ncbi["env"]] == [False, False]
    assert "NCBI_API_KEY: not set (optional" in ncbi["detail"]
    assert reports["eso_archive"]["token"]["status"] == "n/a"
    rc, out = run_cli(capsys, "--offline", "--source", "jwst_mast")
    assert SECRET not in out and "MAST_API_TOKEN: set (optional" in out


def test_repeated_source_options_and_a_partly_set_ncbi_identity(capsys, monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", SECRET)
    monkeypatch.delenv("NCBI_EMAIL", raising=False)
    rc, out = run_cli(capsys, "--offline", "--source", "ncbi_genbank", "--source", "gtdb", "--json")
    reports = by_source(out)
    assert sorted(reports) == ["gtdb", "ncbi_genbank"] and SECRET not in out
    ncbi = reports["ncbi_genbank"]["token"]
    assert ncbi["status"] == "ok" and "NCBI_API_KEY: set" in ncbi["detail"] and "NCBI_EMAIL: not set" in ncbi["detail"]


def test_missing_required_token_fails(capsys, monkeypatch):
    monkeypatch.setitem(validate.TOKENS, "gtdb", (TokenVar("ASTROBIO_TEST_REQUIRED_TOKEN", True, "test"),))
    monkeypatch.delenv("ASTROBIO_TEST_REQUIRED_TOKEN", raising=False)
    rc, out = run_cli(capsys, "--offline", "--source", "gtdb", "--json")
    assert rc == 1 and by_source(out)["gtdb"]["token"]["status"] == "fail"
    monkeypatch.setenv("ASTROBIO_TEST_REQUIRED_TOKEN", "value-not-shown-42")
    rc, out = run_cli(capsys, "--offline", "--source", "gtdb", "--json")
    assert rc == 0 and "value-not-shown-42" not in out


def test_token_names_match_the_builders():
    from astrobio_hf.data.sources import mast, ncbi_genbank

    assert {v.name for v in validate.TOKENS["jwst_mast"]} == {mast.TOKEN_ENV}
    assert [v.name for v in validate.TOKENS["ncbi_genbank"]] == [ncbi_genbank.API_KEY_ENV, ncbi_genbank.EMAIL_ENV]


def test_sample_parse_on_real_folders(capsys, real_data_dir):
    sources = ["exoplanets_org", "keck_koa", "kepler_k2_mast", "gemini_archive", "subaru_smoka", "gtdb"]
    rc, out = run_cli(capsys, "--offline", "--data-dir", str(real_data_dir), "--source", *sources, "--json")
    assert rc == 0
    samples = {k: r["sample"] for k, r in by_source(out).items()}
    assert all(s["status"] == "ok" for s in samples.values()), samples
    got = {k: (Path(s["file"]).resolve().relative_to(real_data_dir.resolve()).as_posix(), s["rows"]) for k, s in samples.items()}
    assert got == {
        "exoplanets_org": ("exoplanets_org/exoplanet_orbit_database.csv", 1),  # HD 209458 b
        # PH957_e.fits (first in order) is the error companion: 0 records, so the flux file is the sample
        "keck_koa": ("keck_koa/PH957_f.fits", 1),
        "kepler_k2_mast": ("kepler_k2/kplr011442793-2009350155506_llc.fits", 4370),  # alias folder, Q3 cadences
        "gemini_archive": ("gemini/gemini.xml", 4),  # alias folder; 4 DataLink rows
        "subaru_smoka": ("subaru_smoka/thar_mmf2_a_H_20210317.fits", 1),
        "gtdb": ("gtdb/ar122_metadata_r202.first5.tsv", 4),
    }


def test_no_sample_without_folder(capsys, tmp_path):
    rc, out = run_cli(capsys, "--offline", "--data-dir", str(tmp_path), "--source", "tess_mast", "ensembl", "--json")
    assert rc == 0
    reports = by_source(out)
    assert reports["tess_mast"]["sample"]["status"] == "no sample"
    assert "tess_mast, tess" in reports["tess_mast"]["sample"]["detail"]
    (tmp_path / "ensembl").mkdir()
    (tmp_path / "ensembl" / "notes.md").write_text("not an annotation file\n")
    rc, out = run_cli(capsys, "--offline", "--data-dir", str(tmp_path), "--source", "ensembl", "--json")
    assert rc == 0 and "no native file" in by_source(out)["ensembl"]["sample"]["detail"]


def test_malformed_samples_fail_with_the_builders_error(capsys, tmp_path, real_data_dir):
    (tmp_path / "exoplanets_org").mkdir()
    bad_csv = tmp_path / "exoplanets_org" / "exoplanets.csv"
    bad_csv.write_text("FOO;BAR\n1;2\n")  # wrong delimiter and no catalogue column
    (tmp_path / "kepler_k2").mkdir()
    real_fits = real_data_dir / "kepler_k2" / "kplr011442793-2010009091648_llc.fits"
    truncated = tmp_path / "kepler_k2" / real_fits.name
    truncated.write_bytes(real_fits.read_bytes()[:40_000])  # header intact, LIGHTCURVE data cut short
    rc, out = run_cli(capsys, "--offline", "--data-dir", str(tmp_path), "--source", "exoplanets_org",
                      "kepler_k2_mast")
    assert rc == 1
    assert "exoplanets_org  skipped      n/a          fail         FAIL" in out
    assert f"sample: exoplanets_org: {bad_csv}, line 1 (header)" in out
    assert f"sample: kepler_k2_mast: {truncated}, HDU 1 'LIGHTCURVE'" in out
    assert "0/2 sources ok; failed: exoplanets_org, kepler_k2_mast" in out


def test_bad_arguments_exit_2(capsys, tmp_path):
    assert run_cli(capsys, "--source", "not_a_source")[0] == 2
    assert run_cli(capsys, "--data-dir", str(tmp_path / "missing"))[0] == 2


# --------------------------------------------------------------------------- data_scripts

DRIVER = r"""
import contextlib, io, json, runpy, sys
from pathlib import Path

calls = json.loads(sys.argv[1])
results = {}
for name, script, argv in calls:
    sys.argv = [script, *argv]
    sys.path.insert(0, str(Path(script).parent))  # what `python script.py` puts first on sys.path
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.path.pop(0)
    results[name] = {"rc": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
print(json.dumps(results))
"""


def create_public_dataset_repo(hub: LoopbackHub, repo_id: str) -> None:
    """A PUBLIC dataset repo made over the API, as someone else might have (plain urllib: this process is offline)."""
    org, name = repo_id.split("/")
    request = urllib.request.Request(
        f"{hub.endpoint}/api/repos/create", method="POST",
        data=json.dumps({"name": name, "organization": org, "type": "dataset", "visibility": "public"}).encode(),
        headers={"Authorization": f"Bearer {HUB_TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.mark.timeout(240)
def test_data_scripts_help_and_real_calls(tmp_path, real_data_dir):
    import datasets

    keck = str(real_data_dir / "keck_koa")
    cache = str(tmp_path / "cache")
    # A saved dataset for --from-disk: two real PSCompPars values (WASP-39 b, TRAPPIST-1 e periods in days), and a
    # side file that push_dataset uploads beside the data.
    saved = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(
        {"pl_name": ["WASP-39 b", "TRAPPIST-1 e"], "pl_orbper": [4.0552941, 6.099043]})}).save_to_disk(str(saved))
    (saved / "multimodal_report.json").write_text(json.dumps({"note": "side file of the push test"}))
    prepare, validate_script, push = (str(SCRIPTS / n) for n in ("prepare.py", "validate_sources.py",
                                                                   "push_dataset.py"))
    calls = [
        ["prepare_help", prepare, ["--help"]],
        ["validate_help", validate_script, ["--help"]],
        ["push_help", push, ["--help"]],
        ["prepare", prepare, ["--source", "keck_koa", "--data-dir", keck, "--cache-dir", cache, "--json"]],
        ["validate", validate_script, ["--offline", "--data-dir", str(real_data_dir), "--source", "keck_koa",
                                       "--json"]],
        ["push", push, ["--source", "keck_koa", "--data-dir", keck, "--cache-dir", cache,
                        "--repo", "astro-org/keck-koa"]],
        ["push_disk", push, ["--from-disk", str(saved), "--repo", "astro-org/saved"]],
        ["push_public", push, ["--from-disk", str(saved), "--repo", "astro-org/was-public"]],
    ]
    with LoopbackHub(tokens={HUB_TOKEN: "astro-org"}) as hub:
        create_public_dataset_repo(hub, "astro-org/was-public")
        env = hub.client_env(HUB_TOKEN) | {"HF_HOME": str(tmp_path / "hf_home")}  # no stored login, no shared cache
        proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(calls)], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=220)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert GUARD_MARKER not in proc.stderr
        runs = json.loads(proc.stdout.strip().splitlines()[-1])
        repo = hub.repo("astro-org/keck-koa", "dataset")
        events = hub.events_for("astro-org/keck-koa", "dataset")
        files = dict(repo.head.files)
        saved_files = dict(hub.repo("astro-org/saved", "dataset").head.files)
        side = hub.file_bytes("astro-org/saved", "multimodal_report.json", "dataset")
        card = hub.file_bytes("astro-org/keck-koa", "README.md", "dataset").decode()
        public = hub.repo("astro-org/was-public", "dataset")
        public_kinds = [e.kind for e in hub.events_for("astro-org/was-public", "dataset")]
        assert not hub.errors and not hub.unhandled
    everything = json.dumps(runs)
    assert HUB_TOKEN not in everything

    for name, flags in (("prepare_help", ["--source", "--data-dir", "--cache-dir", "--skip-bad-files", "--config",
                                          "--dataset"]),
                        ("validate_help", ["--offline", "--data-dir", "--source", "--timeout", "--json"]),
                        ("push_help", ["--repo", "--from-disk", "--source", "--make-private"])):
        assert runs[name]["rc"] == 0 and all(f in runs[name]["stdout"] for f in flags), runs[name]

    assert runs["prepare"]["rc"] == 0, runs["prepare"]["stderr"][-2000:]
    prepared = json.loads(runs["prepare"]["stdout"])
    assert prepared["source"] == "keck_koa" and prepared["rows"] == 1 and not prepared["from_cache"]

    assert runs["validate"]["rc"] == 0, runs["validate"]
    sample = json.loads(runs["validate"]["stdout"])[0]["sample"]
    assert sample["status"] == "ok" and sample["rows"] == 1

    assert runs["push"]["rc"] == 0, runs["push"]["stderr"][-2000:]
    assert runs["push"]["stdout"].strip() == f"{hub.endpoint}/datasets/astro-org/keck-koa"
    assert repo.private
    assert events[0].kind == "create_repo" and events[0].detail == {"private": True}, events[:2]
    assert [e.kind for e in events].count("create_repo") == 1 and "commit" in {e.kind for e in events}
    assert any(p.startswith("data/train-") and p.endswith(".parquet") for p in files), sorted(files)
    # the card keeps the metadata push_to_hub wrote (the hub reads dataset_info / configs) and adds the prose
    assert "dataset_info:" in card and "configs:" in card and "license: other" in card
    assert "## Columns" in card and "## Licence and acknowledgement" in card and "W. M. Keck" in card

    assert runs["push_disk"]["rc"] == 0, runs["push_disk"]["stderr"][-2000:]
    assert hub.repo("astro-org/saved", "dataset").private
    assert any(p.startswith("data/train-") and p.endswith(".parquet") for p in saved_files), sorted(saved_files)
    assert json.loads(side) == {"note": "side file of the push test"}

    # an existing public repository is refused and nothing reaches it
    assert runs["push_public"]["rc"] == 1
    assert "PUBLIC" in runs["push_public"]["stderr"] and "--make-private" in runs["push_public"]["stderr"]
    assert not public.private and public_kinds == ["create_repo"]
    assert set(public.head.files) == {".gitattributes"}


def test_offline_with_nothing_checked_says_skipped_not_ok(capsys, monkeypatch):
    for var in ("NCBI_API_KEY", "MAST_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    rc, out = run_cli(capsys, "--offline", "--source", "uniprot", "gtdb")
    assert rc == 0
    assert "2/2 sources skipped: nothing was checked" in out and "sources ok" not in out
    rc, out = run_cli(capsys, "--offline", "--source", "uniprot", "--json")
    assert json.loads(out)[0]["result"] == "skipped"
