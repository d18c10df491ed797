"""Private-hub round trip against the loopback Hub server (tests/helpers/hub_server.py).

Every hub client runs in a subprocess whose environment points HF_ENDPOINT at the loopback server, sets HF_TOKEN
and HF_HUB_DISABLE_XET=1 before huggingface_hub is imported, drops the offline switches (for that process only), and
carries a `sitecustomize` guard that makes any non-loopback connection fail loudly. Independent subprocesses run
concurrently to keep the file fast on 2 cores.

Checked: `astrobio-hf push` creates the repo private before any upload and prints its URL; `from_pretrained(repo_id)`
gives back the exact state dict (a tiny AstroMultimodalModel, and an AstroLLM with its tokenizer); a wrong token and a
missing repo give clear errors; the token never shows in output or in stored files; an existing public repo is
refused (nothing uploaded) unless `make_private=True`; `Dataset.push_to_hub(private=True)` loads back with
`load_dataset(repo_id)`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from astrobio_hf.models.presets import build_model
from astrobio_hf.sharing.model_card import save_with_card
from astrobio_hf.text.tokenizer import train_bpe_tokenizer
from tests.helpers.hub_server import GUARD_MARKER, LoopbackHub

pytestmark = pytest.mark.timeout(300)

TOKEN = "hf_loopback_write_token_0123456789abcdef"
WRONG_TOKEN = "hf_this_token_is_not_known_to_the_hub_987654"
ORG = "astro-org"
PYTHON = sys.executable
CLI = str(Path(sys.executable).with_name("astrobio-hf"))
# Test text for the tiny tokenizer (templated sentences, not data).
TOKENIZER_TEXT = [
    "TRAPPIST-1 e orbits an M8 dwarf at 0.029 AU and receives 0.66 times Earth's insolation.",
    "Kepler-442 b has a radius of 1.34 Earth radii and an equilibrium temperature near 233 K.",
    "Proxima Centauri b lies inside the conservative habitable zone of its host star.",
] * 4

# One Python process for every client step after the first push (imports cost ~10 s of CPU each on this machine):
# more `astrobio-hf push` runs through the same `cli.main` the console script calls (each with its own captured
# stdout/stderr and HF_TOKEN), then, once the test says the first push is done, the loads.
CLIENT_SCRIPT = r"""
import contextlib, io, json, os, sys, tempfile, time
from pathlib import Path
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer
from astrobio_hf.cli import main
from astrobio_hf.sharing.hub import HubError, load_model, push_model

out, multimodal_dir, llm_dir, org, wrong_token, text = sys.argv[1:7]
out = Path(out)
good_token = os.environ["HF_TOKEN"]
result = {"cli": {}}

def cli(name, argv, token):
    os.environ["HF_TOKEN"] = token
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(argv)
    os.environ["HF_TOKEN"] = good_token
    result["cli"][name] = {"rc": rc, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}

cli("push_llm", ["push", "--model", llm_dir, "--repo", f"{org}/llm-tiny"], good_token)
cli("wrong_token", ["push", "--model", multimodal_dir, "--repo", f"{org}/not-created"], wrong_token)
cli("public", ["push", "--model", multimodal_dir, "--repo", f"{org}/was-public"], good_token)

def error_of(fn):
    try:
        fn()
    except HubError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None

# Failures first, each with an empty cache so nothing can be served from a cache.
result["missing"] = error_of(lambda: load_model(f"{org}/no-such-model", cache_dir=tempfile.mkdtemp()))
result["llm_wrong_token"] = error_of(lambda: load_model(f"{org}/llm-tiny", token=wrong_token,
                                                        cache_dir=tempfile.mkdtemp()))
llm = load_model(f"{org}/llm-tiny", model_class=AutoModelForCausalLM)
result["llm_class"] = type(llm).__name__

def save_state(model, name):
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, str(out / name))

save_state(llm, "llm.safetensors")
tokenizer = AutoTokenizer.from_pretrained(f"{org}/llm-tiny")
result["tokenizer_ids"] = tokenizer(text)["input_ids"]

deadline = time.time() + 200
while not (out / "first_push_done").exists():  # written by the test when the console-script push has finished
    if time.time() > deadline:
        raise SystemExit("the first push never finished")
    time.sleep(0.2)
result["anonymous"] = error_of(lambda: load_model(f"{org}/multimodal-tiny", token=False,
                                                  cache_dir=tempfile.mkdtemp()))
result["wrong_token"] = error_of(lambda: load_model(f"{org}/multimodal-tiny", token=wrong_token,
                                                    cache_dir=tempfile.mkdtemp()))
multimodal = load_model(f"{org}/multimodal-tiny")
result["multimodal_class"] = type(multimodal).__name__
save_state(multimodal, "multimodal.safetensors")
# The repo the CLI refused to touch because it was public: switch it private, then upload.
result["make_private_url"] = push_model(multimodal_dir, f"{org}/was-public", make_private=True)
(out / "result.json").write_text(json.dumps(result))
"""

DATASET_SCRIPT = r"""
import json, sys, tempfile
import datasets
# The parquet-export lookup would go to a "datasets-server." host derived from HF_ENDPOINT: not on a loopback hub.
datasets.config.USE_PARQUET_EXPORT = False
from datasets import Dataset, load_dataset
from datasets.exceptions import DatasetNotFoundError

repo = sys.argv[2]
# A small labelled synthetic table shaped like the multimodal records (not real planets).
rows = {
    "planet_name": ["synthetic-a", "synthetic-b", "synthetic-c"],
    "planet_params": [[365.25, 1.0, 1.0], [12.3, 0.07, 1.4], [4000.0, 5.2, 11.2]],
    "provenance": [[{"source": "generated", "release": "test", "file": "-"}]] * 3,
    "habitability": [1, 0, 0],
}
pushed = Dataset.from_dict(rows)
pushed.push_to_hub(repo, private=True)
result = {"pushed": pushed.to_dict()}
try:
    load_dataset(repo, split="train", token=False, cache_dir=tempfile.mkdtemp())
    result["anonymous"] = None
except DatasetNotFoundError as exc:
    result["anonymous"] = str(exc)
result["loaded"] = load_dataset(repo, split="train", cache_dir=tempfile.mkdtemp()).to_dict()
open(sys.argv[1], "w").write(json.dumps(result))
"""


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 240) -> subprocess.CompletedProcess:
    stdout, stderr = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _create_public_repo(hub: LoopbackHub, name: str) -> None:
    """Create a PUBLIC repo over the API, as someone else might have (plain urllib: the test process is offline)."""
    request = urllib.request.Request(
        f"{hub.endpoint}/api/repos/create", method="POST",
        data=json.dumps({"name": name, "organization": ORG, "visibility": "public"}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    """Save two tiny checkpoints, run every hub client against one loopback hub, and keep all the results."""
    root = tmp_path_factory.mktemp("hub")
    torch.manual_seed(0)
    multimodal = build_model("astro-multimodal-tiny")
    multimodal_dir = root / "multimodal"
    save_with_card(multimodal, multimodal_dir, metrics={"eval_accuracy": 0.5},
                   data_sources=[{"source": "test fixture", "generated": True, "note": "randomly initialised"}])
    llm = build_model("astro-llm-tiny")
    tokenizer = train_bpe_tokenizer(TOKENIZER_TEXT, vocab_size=300, min_frequency=1)
    llm_dir = root / "llm"
    save_with_card(llm, llm_dir, tokenizer=tokenizer)

    with LoopbackHub(tokens={TOKEN: "astro-user"}, max_lifetime_s=280) as hub:
        env = hub.client_env(TOKEN)
        wrong_env = hub.client_env(WRONG_TOKEN)
        for e in (env, wrong_env):
            e["HF_HOME"] = tempfile.mkdtemp(dir=root)  # no stored login, no shared cache
        _create_public_repo(hub, "was-public")
        out = root / "out"
        out.mkdir()
        # Concurrently: the console-script push, the client process (more pushes, then loads), the dataset round trip.
        push = _start([CLI, "push", "--model", str(multimodal_dir), "--repo", f"{ORG}/multimodal-tiny"], env)
        client = _start([PYTHON, "-c", CLIENT_SCRIPT, str(out), str(multimodal_dir), str(llm_dir), ORG, WRONG_TOKEN,
                         TOKENIZER_TEXT[0]], env)
        dataset = _start([PYTHON, "-c", DATASET_SCRIPT, str(out / "dataset.json"), f"{ORG}/planets"], env)
        runs = {"push": _finish(push)}
        (out / "first_push_done").write_text("")
        runs["dataset"] = _finish(dataset)
        runs["client"] = _finish(client)
        result = json.loads((out / "result.json").read_text()) if runs["client"].returncode == 0 else {}
        for name, call in result.get("cli", {}).items():
            runs[name] = subprocess.CompletedProcess(["astrobio-hf", name], call["rc"], call["stdout"],
                                                     call["stderr"])
        yield {"hub": hub, "runs": runs, "result": result, "out": out, "multimodal": multimodal, "llm": llm,
               "tokenizer": tokenizer, "multimodal_dir": multimodal_dir}


def _ok(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, f"{run.args[:3]} failed:\n{run.stderr[-4000:]}"
    return run


def _assert_same_state(original: torch.nn.Module, loaded_file: Path) -> None:
    expected = original.state_dict()
    loaded = load_file(str(loaded_file))
    assert sorted(loaded) == sorted(expected)
    for name, tensor in expected.items():
        assert loaded[name].dtype == tensor.dtype, name
        assert torch.equal(loaded[name], tensor), f"{name} differs after the round trip"


def test_push_prints_url_and_repo_is_private_before_any_upload(session):
    hub = session["hub"]
    run = _ok(session["runs"]["push"])
    assert run.stdout.strip().splitlines()[-1] == f"{hub.endpoint}/{ORG}/multimodal-tiny"
    events = hub.events_for(f"{ORG}/multimodal-tiny")
    assert events[0].kind == "create_repo" and events[0].detail == {"private": True}
    assert [e.kind for e in events if e.kind == "create_repo"] == ["create_repo"]
    assert {"preupload", "lfs_upload", "commit"} <= {e.kind for e in events[1:]}
    assert hub.repo(f"{ORG}/multimodal-tiny").private
    # What the hub stores is what was saved: weights byte for byte, config and card.
    for name in ("model.safetensors", "config.json", "README.md"):
        assert hub.file_bytes(f"{ORG}/multimodal-tiny", name) == (session["multimodal_dir"] / name).read_bytes()


def test_from_pretrained_round_trip_is_bit_exact(session):
    _ok(session["runs"]["client"])
    assert session["result"]["multimodal_class"] == "AstroMultimodalModel"
    _assert_same_state(session["multimodal"], session["out"] / "multimodal.safetensors")


def test_llm_with_tokenizer_round_trip(session):
    hub, result = session["hub"], session["result"]
    run = _ok(session["runs"]["push_llm"])
    assert run.stdout.strip().splitlines()[-1] == f"{hub.endpoint}/{ORG}/llm-tiny"
    assert hub.repo(f"{ORG}/llm-tiny").private
    stored = set(hub.repo(f"{ORG}/llm-tiny").head.files)
    assert {"tokenizer.json", "tokenizer_config.json", "model.safetensors", "config.json", "README.md"} <= stored
    assert result["llm_class"] == "AstroLLMForCausalLM"
    _assert_same_state(session["llm"], session["out"] / "llm.safetensors")
    assert result["tokenizer_ids"] == session["tokenizer"](TOKENIZER_TEXT[0])["input_ids"]


def test_wrong_token_gives_clear_error_without_the_token(session):
    hub, run, result = session["hub"], session["runs"]["wrong_token"], session["result"]
    assert run.returncode == 1
    assert f"the hub at {hub.endpoint} rejected the token (HF_TOKEN)" in run.stderr
    assert "Traceback" not in run.stderr
    assert ("model", f"{ORG}/not-created") not in hub.repos
    for key in ("wrong_token", "llm_wrong_token"):
        assert result[key].startswith(f"HubAuthError: loading: the hub at {hub.endpoint} rejected the token")


def test_missing_or_invisible_repo_gives_clear_error(session):
    hub, result = session["hub"], session["result"]
    assert result["missing"].startswith(f"HubRepoNotFoundError: loading: no repository {ORG}/no-such-model at "
                                        f"{hub.endpoint}")
    # Private means private: without a token the repo is invisible.
    assert result["anonymous"].startswith(f"HubRepoNotFoundError: loading: no repository {ORG}/multimodal-tiny")


def test_existing_public_repo_is_refused_then_made_private_on_request(session):
    hub, run, result = session["hub"], session["runs"]["public"], session["result"]
    assert run.returncode == 1
    assert f"{ORG}/was-public already exists at {hub.endpoint} and is PUBLIC; nothing was uploaded" in run.stderr
    assert result["make_private_url"] == f"{hub.endpoint}/{ORG}/was-public"
    kinds = [e.kind for e in hub.events_for(f"{ORG}/was-public")]
    assert kinds[0] == "create_repo" and hub.events_for(f"{ORG}/was-public")[0].detail == {"private": False}
    # Nothing reached the repo while it was public: the only upload follows the switch to private.
    assert kinds.count("preupload") == 1 and kinds.count("commit") == 1
    assert kinds.index("update_settings") < kinds.index("preupload") < kinds.index("commit")
    assert hub.repo(f"{ORG}/was-public").private


def test_dataset_push_to_hub_private_and_load_dataset(session):
    hub = session["hub"]
    _ok(session["runs"]["dataset"])
    result = json.loads((session["out"] / "dataset.json").read_text())
    events = hub.events_for(f"{ORG}/planets", "dataset")
    assert events[0].kind == "create_repo" and events[0].detail == {"private": True}
    assert {"lfs_batch", "lfs_upload", "lfs_verify", "commit"} <= {e.kind for e in events}
    assert hub.repo(f"{ORG}/planets", "dataset").private
    assert "data/train-00000-of-00001.parquet" in hub.repo(f"{ORG}/planets", "dataset").head.files
    assert result["loaded"] == result["pushed"]
    assert result["anonymous"] is not None and f"{ORG}/planets" in result["anonymous"]


def test_every_client_request_hit_an_implemented_route(session):
    """huggingface_hub, transformers and datasets only used routes the loopback hub implements, without errors."""
    assert session["hub"].unhandled == []
    assert session["hub"].errors == []


def test_token_never_leaves_the_environment(session):
    hub = session["hub"]
    for name, run in session["runs"].items():
        for stream in (run.stdout, run.stderr):
            assert TOKEN not in stream and WRONG_TOKEN not in stream, f"a token was printed by {name}"
            assert GUARD_MARKER not in stream, f"{name} tried to reach a non-loopback address"
    for repo in hub.repos.values():
        for path in repo.head.files:
            data = hub.file_bytes(repo.repo_id, path, repo.repo_type)
            assert TOKEN.encode() not in data, f"the token was uploaded in {repo.repo_id}/{path}"


def test_push_refuses_a_folder_that_contains_the_token(tmp_path, monkeypatch):
    """Checked before any network call: a config that embeds the token is never uploaded."""
    from astrobio_hf.sharing.hub import HubError, push_model

    model_dir = tmp_path / "leaky"
    save_with_card(build_model("astro-datacube-tiny"), model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**config, "note": f"pushed with {TOKEN}"}))
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # never reached: the check comes first
    with pytest.raises(HubError, match="config.json contains the value of HF_TOKEN") as info:
        push_model(model_dir, f"{ORG}/leaky")
    assert TOKEN not in str(info.value)


def test_push_rejects_a_folder_that_is_not_a_checkpoint(tmp_path, monkeypatch):
    from astrobio_hf.sharing.hub import HubError, push_model

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(HubError, match="has no config.json"):
        push_model(tmp_path, f"{ORG}/x")
    save_with_card(build_model("astro-datacube-tiny"), tmp_path / "m")
    with pytest.raises(HubError, match="must look like ORG/NAME"):
        push_model(tmp_path / "m", "no-namespace")


def test_push_in_offline_mode_says_so(tmp_path, monkeypatch):
    """The test process itself is offline (HF_HUB_OFFLINE=1): the push fails before any request, and says why."""
    from astrobio_hf.sharing.hub import HubError, push_model

    save_with_card(build_model("astro-datacube-tiny"), tmp_path / "m")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set; unset it to reach the hub at http://127.0.0.1:9"):
        push_model(tmp_path / "m", f"{ORG}/offline")


def test_loopback_hub_stops_by_itself():
    with LoopbackHub(max_lifetime_s=1.5) as hub:
        url = f"{hub.endpoint}/api/models/{ORG}/none"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url, timeout=5)
        assert info.value.code == 404 and info.value.headers["X-Error-Code"] == "RepoNotFound"
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=1)
            except urllib.error.HTTPError:
                time.sleep(0.1)  # still serving
            except OSError:  # refused or reset: shut down
                break
        else:
            pytest.fail("the loopback hub was still serving after its lifetime")
