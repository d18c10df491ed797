"""Share checkpoints through a private Hugging Face Hub repository (huggingface.co, or a self-hosted/enterprise hub).

`push_model(dir, "ORG/NAME")` creates the repository PRIVATE first (explicitly: the Hub ignores a `private` flag for a
repository that already exists, and so does `TrainingArguments.hub_private_repo`), checks that the hub really reports
it private, then uploads the saved folder (weights, config, tokenizer files, README.md model card) in one commit and
returns the repository URL.

Privacy policy for an existing PUBLIC repository: refuse with `HubPrivacyError` before uploading anything, unless the
caller asks for `make_private=True` (CLI: `--make-private`), which switches it to private with
`update_repo_settings` and re-checks before uploading. A public repo may already be mirrored, so flipping it silently
would hide that the earlier content was public.

The endpoint comes from `endpoint=` or `HF_ENDPOINT`; the token from `token=` or `HF_TOKEN` (or a stored
`hf auth login`). The token is never printed, logged or written: errors name the variable, not its value, and files
that contain a secret's value are refused before upload.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .model_card import CARD_FILENAME, secret_env_values, write_model_card

logger = logging.getLogger(__name__)

DEFAULT_COMMIT_MESSAGE = "Upload model with astrobio-hf"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors",
                "pytorch_model.bin", "pytorch_model.bin.index.json")
# Never uploaded: trainer state that is not part of a checkpoint (`trainer_state.json` names local checkpoint
# folders), and `training_args.bin`, a pickle of TrainingArguments that holds `hub_token` and local paths.
IGNORE_PATTERNS = ("training_args.bin", "trainer_state.json", "checkpoint-*", "checkpoint-*/*", "optimizer.pt", "optimizer.bin",
                   "scheduler.pt", "rng_state*.pth", "runs/*", "wandb/*", "*.lock", ".cache/*")
_SECRET_SCAN_MAX_BYTES = 16 * 1024 * 1024  # weights beyond this are binary tensors, not text that can hold a token


class HubError(RuntimeError):
    """A hub operation failed; the message says what to do and never contains the token."""


class HubAuthError(HubError):
    """The hub rejected the token (401) or refused the operation for it (403)."""


class HubRepoNotFoundError(HubError):
    """The repository does not exist, or the token cannot see it."""


class HubPrivacyError(HubError):
    """The repository is (or would end up) public."""


def hub_endpoint(endpoint: str | None = None) -> str:
    """The hub to talk to: `endpoint`, else HF_ENDPOINT, else huggingface_hub's default."""
    from huggingface_hub import constants

    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def hub_token(token: str | None = None) -> str | None:
    """The token: `token`, else HF_TOKEN, else one stored by `hf auth login`; None when there is none."""
    if token:
        return token
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    from huggingface_hub import get_token

    return get_token()


@contextlib.contextmanager
def hub_errors(endpoint: str, repo_id: str, action: str) -> Iterator[None]:
    """Turn huggingface_hub/httpx errors into `HubError`s with a clear message that names no secret."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    try:
        yield
    except RepositoryNotFoundError as exc:
        raise HubRepoNotFoundError(
            f"{action}: no repository {repo_id} at {endpoint}, or the token (HF_TOKEN) cannot see it "
            "(private repositories need a token with read access)."
        ) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:
            raise HubAuthError(
                f"{action}: the hub at {endpoint} rejected the token (HF_TOKEN): it is invalid or expired. "
                "Set HF_TOKEN to a valid access token (the token is never printed)."
            ) from exc
        if status == 403:
            raise HubAuthError(
                f"{action}: the hub at {endpoint} refused this operation on {repo_id} for the token (HF_TOKEN): "
                f"it needs write access to the namespace {repo_id.split('/')[0]}."
            ) from exc
        raise HubError(f"{action}: the hub at {endpoint} answered HTTP {status}: {_first_line(exc)}") from exc
    except OfflineModeIsEnabled as exc:
        raise HubError(f"{action}: HF_HUB_OFFLINE is set; unset it to reach the hub at {endpoint}.") from exc
    except Exception as exc:
        if _is_connection_error(exc):
            raise HubError(f"{action}: cannot reach the hub at {endpoint} ({exc.__class__.__name__}); "
                           "check HF_ENDPOINT.") from exc
        raise


def _is_connection_error(exc: BaseException) -> bool:
    """httpx transport errors (connect, timeout, ...) and plain socket errors."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return isinstance(exc, ConnectionError) or bool(names & {"TransportError", "ConnectError", "TimeoutException"})


def push_model(model_dir: str | Path, repo_id: str, *, private: bool = True, token: str | None = None,
               endpoint: str | None = None, commit_message: str = DEFAULT_COMMIT_MESSAGE,
               make_private: bool = False) -> str:
    """Push a `save_pretrained` folder to `repo_id` on the hub, as a private repository; returns the repo URL.

    `private=False` creates a public repository instead (an explicit choice; the CLI never does this). A card is
    written into the folder first when it has no README.md. See the module docstring for the privacy policy.
    """
    from huggingface_hub import HfApi

    model_dir = Path(model_dir)
    _check_model_dir(model_dir)
    if "/" not in repo_id or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise HubError(f"repository id {repo_id!r} must look like ORG/NAME")
    endpoint = hub_endpoint(endpoint)
    token = hub_token(token)
    if token is None:
        raise HubAuthError(f"no token for the hub at {endpoint}: set HF_TOKEN (or run `hf auth login`).")

    if not (model_dir / CARD_FILENAME).is_file():
        logger.info("no %s in %s: writing a model card from its config", CARD_FILENAME, model_dir)
        write_model_card(model_dir)
    files = _files_to_upload(model_dir)
    _refuse_files_with_secrets(model_dir, files, token)
    _refuse_files_with_local_paths(model_dir, files)

    api = HfApi(endpoint=endpoint, token=token, library_name="astrobio-hf")
    with hub_errors(endpoint, repo_id, "creating the repository"):
        url = api.create_repo(repo_id, private=private, exist_ok=True)
    if private:
        _ensure_private(api, endpoint, repo_id, make_private)
    with hub_errors(endpoint, repo_id, "uploading"):
        api.upload_folder(folder_path=str(model_dir), repo_id=repo_id, commit_message=commit_message,
                          ignore_patterns=list(IGNORE_PATTERNS), delete_patterns=["*"])
    return str(url)


_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]*[A-Za-z0-9_]$")


class ModelSourceError(FileNotFoundError):
    """--model names neither a saved model folder nor a hub repository id."""


def check_model_source(source: str | Path) -> None:
    """Refuse, naming the path, a `--model` that is a file, a folder without config.json (saying which of its
    sub-folders are models), or a path that does not exist and cannot be a hub repo id (``ORG/NAME``)."""
    path = Path(source).expanduser()
    if path.is_file():
        raise ModelSourceError(f"--model {source} is a file; give the folder written by save_pretrained")
    if path.is_dir():
        if (path / "config.json").is_file():
            return
        inside = sorted(str(c.parent) for c in path.glob("*/config.json"))
        hint = f"; the model folders inside it: {', '.join(inside)}" if inside else ""
        raise ModelSourceError(f"--model {source} has no config.json, so it is not a saved model folder{hint}")
    if str(source).startswith((".", "/", "~")) or not _REPO_ID.match(str(source)):
        parent = next((p for p in path.absolute().parents if p.is_dir()), None)
        raise ModelSourceError(f"--model {source}: no such folder (and not a hub repository id ORG/NAME)"
                               + (f"; the nearest existing folder is {parent}" if parent else ""))


def load_model(repo_or_dir: str | Path, *, model_class: Any = None, token: str | bool | None = None,
               revision: str | None = None, **kwargs: Any) -> Any:
    """`from_pretrained` for a local folder or a (private) hub repository, with clear errors for a missing repo or
    a rejected token. `model_class` defaults to transformers' `AutoModel`; `token=False` loads anonymously."""
    from huggingface_hub import constants
    from transformers import AutoModel

    from .. import models  # noqa: F401  (registers our model types with the Auto classes)

    model_class = model_class or AutoModel
    source = str(repo_or_dir)
    check_model_source(source)
    if Path(source).is_dir():
        return model_class.from_pretrained(source, **kwargs)
    env_endpoint = os.environ.get("HF_ENDPOINT")
    if env_endpoint and env_endpoint.rstrip("/") != constants.ENDPOINT.rstrip("/"):
        raise HubError("HF_ENDPOINT was set after huggingface_hub was imported, so downloads would go to "
                       f"{constants.ENDPOINT}; set HF_ENDPOINT before starting Python.")
    endpoint = constants.ENDPOINT.rstrip("/")
    with hub_errors(endpoint, source, "loading"):
        try:
            return model_class.from_pretrained(source, token=False if token is False else hub_token(token or None),
                                               revision=revision, **kwargs)
        except OSError as exc:
            cause = _hub_cause(exc)
            if cause is None:
                raise
            raise cause from exc


def _hub_cause(exc: BaseException) -> BaseException | None:
    """The huggingface_hub error that transformers wrapped into an OSError, if any."""
    from huggingface_hub.errors import HfHubHTTPError

    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, HfHubHTTPError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _check_model_dir(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise HubError(f"{model_dir} is not a directory: pass the folder written by save_pretrained")
    if not (model_dir / "config.json").is_file():
        raise HubError(f"{model_dir} has no config.json: it is not a save_pretrained folder")
    if not any((model_dir / name).is_file() for name in WEIGHT_FILES) and not any(model_dir.glob("*.safetensors")):
        raise HubError(f"{model_dir} has no weights (expected one of {', '.join(WEIGHT_FILES)})")


def _files_to_upload(model_dir: Path) -> list[str]:
    """The relative paths `upload_folder` will send, with the same ignore rules."""
    from huggingface_hub.utils import filter_repo_objects
    from huggingface_hub.utils._paths import DEFAULT_IGNORE_PATTERNS

    paths = sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file())
    return list(filter_repo_objects(paths, ignore_patterns=[*IGNORE_PATTERNS, *DEFAULT_IGNORE_PATTERNS]))


def _refuse_files_with_secrets(model_dir: Path, files: list[str], token: str) -> None:
    """Refuse to upload a file that contains the token or another secret's value (configs, cards, tokenizers)."""
    secrets = {label: value.encode() for label, value in secret_env_values([token]).items()}
    for rel in files:
        path = model_dir / rel
        if path.stat().st_size > _SECRET_SCAN_MAX_BYTES:
            continue
        data = path.read_bytes()
        for label, value in secrets.items():
            if value in data:
                raise HubError(f"{path} contains the value of {label}; refusing to upload it. "
                               "Remove the secret from that file and push again.")


def _refuse_files_with_local_paths(model_dir: Path, files: list[str]) -> None:
    """Refuse to upload a text file that names an absolute path of this machine (card, run_info.json, results)."""
    from .model_card import find_local_paths

    for rel in files:
        path = model_dir / rel
        if path.suffix not in (".md", ".json", ".txt", ".yaml", ".yml", ".csv") or path.stat().st_size > 4 * 2**20:
            continue
        hits = find_local_paths(path.read_text(errors="replace"), [model_dir.resolve().parent])
        if hits:
            raise HubError(f"{path} names the local path {hits[0]!r}; refusing to upload it (record paths relative "
                           "to the model folder)")


def _ensure_private(api: Any, endpoint: str, repo_id: str, make_private: bool) -> None:
    """Check, before any upload, that the hub reports the repository private; apply the policy if it is public."""
    with hub_errors(endpoint, repo_id, "checking the repository"):
        info = api.repo_info(repo_id)
    if info.private:
        return
    if not make_private:
        raise HubPrivacyError(
            f"{repo_id} already exists at {endpoint} and is PUBLIC; nothing was uploaded. Make it private on the "
            "hub, or pass --make-private (make_private=True) to switch it to private before uploading.")
    with hub_errors(endpoint, repo_id, "making the repository private"):
        api.update_repo_settings(repo_id, private=True)
        info = api.repo_info(repo_id)
    if not info.private:
        raise HubPrivacyError(f"the hub at {endpoint} still reports {repo_id} as public after the change; "
                              "nothing was uploaded.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


__all__ = ["check_model_source", "ModelSourceError",
           "push_model", "load_model", "hub_endpoint", "hub_token", "hub_errors", "HubError", "HubAuthError",
           "HubRepoNotFoundError", "HubPrivacyError", "IGNORE_PATTERNS"]
