"""A loopback server that speaks the part of the Hugging Face Hub HTTP API that huggingface_hub 2.4 uses.

No self-hosted Hub is installable from PyPI, so push/pull tests run against this: ``ThreadingHTTPServer`` on
127.0.0.1 with an ephemeral port, in a daemon thread, with a lifetime limit (it shuts itself down) and a request-size
limit. Request and response shapes follow huggingface_hub 2.4's client code (``hf_api.py``, ``_commit_api.py``,
``lfs.py``, ``file_download.py``, ``hf_file_system.py``, ``utils/_http.py``):

- ``POST /api/repos/create`` (records ``visibility``/``private``; 409 when the repo exists)
- ``PUT /api/{type}s/{repo}/settings`` (``visibility``/``private``)
- ``POST /api/validate-yaml`` (parses the README front matter with PyYAML)
- ``POST /api/{type}s/{repo}/preupload/{rev}`` (``uploadMode`` "lfs" from the repo's ``.gitattributes`` patterns,
  size >= 10 MiB or a binary sample, else "regular"; ``shouldIgnore`` from ``gitIgnore``; ``oid`` of the file at rev)
- ``POST /{prefix}{repo}.git/info/lfs/objects/batch`` (basic transfer: upload + verify actions served here),
  ``PUT /lfs-upload/{oid}`` (checks sha256 and size), ``POST /{prefix}{repo}.git/info/lfs/objects/verify``
- ``POST /api/{type}s/{repo}/commit/{rev}`` (ndjson: header, base64 ``file``, ``lfsFile`` pointers,
  ``deletedFile``/``deletedFolder``; ``parentCommit`` checked, 412 when stale)
- ``GET /api/{type}s/{repo}[/revision/{rev}]`` (repo info: ``sha``, ``private``, ``siblings``, ``cardData``)
- ``GET /api/{type}s/{repo}/tree/{rev}[/{path}]`` (``recursive``, ``expand``, Link-header pagination)
- ``POST /api/{type}s/{repo}/paths-info/{rev}``
- ``HEAD/GET /{prefix}{repo}/resolve/{rev}/{path}`` (``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag``/``-Size`` for
  LFS files, ``Content-Length``, ``Range``)
- errors as the Hub sends them: 404 + ``X-Error-Code: RepoNotFound | RevisionNotFound | EntryNotFound``; 401 +
  ``X-Error-Message: Invalid credentials in Authorization header`` for an unknown token (the token is never echoed).

Access model (one user): every token in ``tokens`` may read and write every repo; private repos are invisible
(RepoNotFound) without a valid token, as on the Hub. ``events`` lists what happened in order (repo creation with
its privacy, uploads, commits) so tests can check, e.g., that a repo was private before any byte was uploaded.
Requests to routes this server does not implement get a 404 and are listed in ``unhandled``; exceptions inside the
server get a 500 and are listed in ``errors``.

    with LoopbackHub(tokens={"hf_write_token": "astro-user"}) as hub:
        env = hub.client_env("hf_write_token")   # HF_ENDPOINT, HF_TOKEN, HF_HUB_DISABLE_XET=1, offline vars unset
        subprocess.run([...], env=env)
        assert hub.repo("astro-user/tiny").private
"""

from __future__ import annotations

import base64
import datetime as _dt
import fnmatch
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

REPO_TYPES = ("model", "dataset", "space")
URL_PREFIXES = {"dataset": "datasets/", "space": "spaces/"}
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024  # the Hub sends files of 10 MiB or more through LFS
TREE_PAGE_SIZE = 1000  # the Hub's page size for the tree endpoint
# The patterns of the `.gitattributes` the Hub writes into every new repository (a subset of its list).
DEFAULT_LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*", "*.mlmodel",
    "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt",
    "*.pth", "*.rar", "*.safetensors", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst",
    "*tfevents*",
)
GUARD_MARKER = "loopback-guard: blocked"
# `sitecustomize` put on the PYTHONPATH of client subprocesses: any attempt to resolve or connect to a host that is
# not the loopback fails loudly (and is printed with GUARD_MARKER), so a test cannot pass while something leaks out.
_LOOPBACK_GUARD = f"""
import socket as _socket
import sys as _sys

_ALLOWED = {{"127.0.0.1", "localhost", "::1", None}}
_getaddrinfo = _socket.getaddrinfo
_connect = _socket.socket.connect


def _refuse(host):
    _sys.stderr.write("{GUARD_MARKER} " + repr(host) + "\\n")
    raise OSError("loopback guard: " + repr(host) + " is not a loopback address")


def _guarded_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _ALLOWED:
        _refuse(name)
    return _getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self, address):
    if self.family in (_socket.AF_INET, _socket.AF_INET6) and address[0] not in _ALLOWED:
        _refuse(address[0])
    return _connect(self, address)


_socket.getaddrinfo = _guarded_getaddrinfo
_socket.socket.connect = _guarded_connect
"""
DEFAULT_GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in DEFAULT_LFS_PATTERNS).encode()


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: what the Hub reports as ``oid``/``ETag`` for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file stored in git in place of an LFS file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True)
class StoredFile:
    """One file of one commit: regular content, or an LFS pointer to ``LoopbackHub.lfs_objects``."""

    size: int
    git_oid: str  # git blob id (of the content, or of the LFS pointer)
    content: bytes | None = None  # regular files
    sha256: str | None = None  # LFS files
    last_commit: str = ""

    @property
    def is_lfs(self) -> bool:
        return self.sha256 is not None

    @property
    def etag(self) -> str:
        return self.sha256 if self.sha256 is not None else self.git_oid


@dataclass
class Commit:
    oid: str
    title: str
    date: str
    parent: str | None
    files: dict[str, StoredFile]


@dataclass
class Repo:
    """A repository: its privacy, branches and commits."""

    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        """A branch name or a full commit id -> the commit, or None."""
        oid = self.branches.get(revision, revision)
        return self.commits.get(oid)

    @property
    def head(self) -> Commit:
        return self.commits[self.branches["main"]]


class HubHTTPError(Exception):
    """Raised inside a handler to answer with an error the way the Hub does."""

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.error_code = status, message, error_code


@dataclass
class Event:
    """Something the server did, in order: ``kind`` is create_repo, update_settings, preupload, lfs_batch,
    lfs_upload, lfs_verify or commit."""

    kind: str
    repo: str  # "{type}s/{repo_id}"
    detail: dict[str, Any] = field(default_factory=dict)


class LoopbackHub:
    """The server; use it as a context manager. See the module docstring for what it implements."""

    def __init__(self, tokens: dict[str, str] | None = None, *, max_lifetime_s: float = 300.0,
                 max_body_bytes: int = 256 * 1024 * 1024) -> None:
        self.tokens = dict(tokens or {})
        self.max_lifetime_s = max_lifetime_s
        self.max_body_bytes = max_body_bytes
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.events: list[Event] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.unhandled: list[tuple[str, str]] = []
        self.errors: list[str] = []  # exceptions inside this server (bugs), answered with HTTP 500
        self._pending_uploads: dict[str, tuple[str, str, int]] = {}  # nonce -> (repo key, sha256, size)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._timer: threading.Timer | None = None
        self._guard_dir: str | None = None
        self._stop_lock = threading.Lock()
        self._stopped = False

    # ----- public helpers for tests -----
    @property
    def endpoint(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client_env(self, token: str | None, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for a client subprocess: ``base`` (default: this process's environment) without the offline
        switches and any inherited token, plus this endpoint, the token, no Xet (this server speaks plain LFS), and
        no telemetry or download counters (they would leave the loopback)."""
        env = dict(os.environ if base is None else base)
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN",
                     "HUGGING_FACE_HUB_TOKEN"):
            env.pop(name, None)
        env |= {
            "HF_ENDPOINT": self.endpoint,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        }
        if token is not None:
            env["HF_TOKEN"] = token
        if self._guard_dir is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (self._guard_dir, env.get("PYTHONPATH")) if p)
        return env

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        with self._lock:
            return self.repos[(repo_type, repo_id)]

    def events_for(self, repo_id: str, repo_type: str = "model") -> list[Event]:
        key = f"{repo_type}s/{repo_id}"
        with self._lock:
            return [e for e in self.events if e.repo == key]

    def file_bytes(self, repo_id: str, path: str, repo_type: str = "model", revision: str = "main") -> bytes:
        """The content of a file as stored (LFS files resolved)."""
        with self._lock:
            commit = self.repo(repo_id, repo_type).resolve(revision)
            assert commit is not None
            return self._content(commit.files[path])

    # ----- lifecycle -----
    def __enter__(self) -> LoopbackHub:
        hub = self
        self._guard_dir = tempfile.mkdtemp(prefix="loopback-guard-")
        Path(self._guard_dir, "sitecustomize.py").write_text(_LOOPBACK_GUARD)

        class Handler(_HubRequestHandler):
            server_hub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="loopback-hub").start()
        # Bounded: the server stops by itself even if a test forgets to (or dies before it can).
        self._timer = threading.Timer(self.max_lifetime_s, self._stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._stop()
        if self._guard_dir is not None:
            shutil.rmtree(self._guard_dir, ignore_errors=True)

    def _stop(self) -> None:
        """Stop serving and close the listening socket (idempotent: the lifetime timer or __exit__)."""
        with self._stop_lock:
            if self._server is not None and not self._stopped:
                self._stopped = True
                self._server.shutdown()
                self._server.server_close()

    # ----- state helpers (called with the lock held) -----
    def _content(self, stored: StoredFile) -> bytes:
        if stored.sha256 is not None:
            return self.lfs_objects[stored.sha256]
        assert stored.content is not None
        return stored.content

    def _new_commit(self, repo: Repo, title: str, files: dict[str, StoredFile], parent: str | None) -> Commit:
        seed = json.dumps([parent, title, sorted((p, f.git_oid) for p, f in files.items()), secrets.token_hex(8)])
        oid = hashlib.sha1(seed.encode()).hexdigest()
        files = {p: (f if f.last_commit else StoredFile(f.size, f.git_oid, f.content, f.sha256, oid))
                 for p, f in files.items()}
        commit = Commit(oid, title, _now(), parent, files)
        repo.commits[oid] = commit
        repo.branches["main"] = oid
        return commit


class _HubRequestHandler(BaseHTTPRequestHandler):
    """Routes one request to the Hub API handlers below."""

    server_hub: LoopbackHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    # ----- plumbing -----
    def _read_body(self) -> bytes:
        hub = self.server_hub
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > hub.max_body_bytes:
                    raise HubHTTPError(413, "request body too large for the loopback hub")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > hub.max_body_bytes:
            raise HubHTTPError(413, "request body too large for the loopback hub")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json", head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
        with self.server_hub._lock:
            self.server_hub.requests.append((self.command, self.path.split("?")[0], status))

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self._send(status, json.dumps(payload).encode(), headers, content_type)

    def _error(self, err: HubHTTPError) -> None:
        if err.status == 413:
            self.close_connection = True  # the rest of the body was not read
        headers = {"X-Error-Message": err.message}
        if err.error_code:
            headers["X-Error-Code"] = err.error_code
        self._send(err.status, json.dumps({"error": err.message}).encode(), headers, head=self.command == "HEAD")

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
            split = urllib.parse.urlsplit(self.path)
            segments = [urllib.parse.unquote(s) for s in split.path.split("/")[1:]]
            query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            self._route(segments, query, body)
        except HubHTTPError as err:
            self._error(err)
        except (ValueError, KeyError, json.JSONDecodeError) as exc:
            self._error(HubHTTPError(400, f"bad request: {exc}"))
        except Exception as exc:  # a bug in this server: answer 500 and keep it for the test to report
            self.server_hub.errors.append(f"{self.command} {self.path}: {exc!r}")
            self._error(HubHTTPError(500, f"loopback hub error: {exc!r}"))

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    # ----- auth and lookup -----
    def _user(self) -> str | None:
        """The user of a valid bearer token; None without a token; 401 for an unknown token (never echoed)."""
        auth = self.headers.get("Authorization") or ""
        if not auth:
            return None
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        user = self.server_hub.tokens.get(token)
        if user is None:
            raise HubHTTPError(401, "Invalid credentials in Authorization header")
        return user

    def _require_user(self) -> str:
        user = self._user()
        if user is None:
            raise HubHTTPError(401, "You must be authenticated to do this (no token was sent)")
        return user

    def _repo(self, repo_type: str, repo_id: str) -> Repo:
        """The repo if it exists and the caller may see it; RepoNotFound otherwise (private repos hide)."""
        user = self._user()
        repo = self.server_hub.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and user is None):
            raise HubHTTPError(404, "Repository not found", "RepoNotFound")
        return repo

    @staticmethod
    def _commit(repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HubHTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    # ----- routing -----
    def _route(self, seg: list[str], query: dict[str, list[str]], body: bytes) -> None:
        method, hub = self.command, self.server_hub
        with hub._lock:
            if seg[:1] == ["api"]:
                return self._route_api(seg[1:], query, body)
            if method == "PUT" and seg[:1] == ["lfs-upload"] and len(seg) == 2:
                return self._lfs_upload(seg[1], query, body)
            repo_type = "model"
            rest = seg
            if seg and seg[0] in ("datasets", "spaces"):
                repo_type, rest = seg[0][:-1], seg[1:]
            if (method == "POST" and len(rest) == 6 and rest[1].endswith(".git")
                    and rest[2:5] == ["info", "lfs", "objects"]):
                repo_id = f"{rest[0]}/{rest[1][:-len('.git')]}"
                if rest[5] == "batch":
                    return self._lfs_batch(repo_type, repo_id, body)
                if rest[5] == "verify":
                    return self._lfs_verify(repo_type, repo_id, body)
            if method in ("GET", "HEAD") and len(rest) >= 5 and rest[2] == "resolve":
                return self._resolve(repo_type, f"{rest[0]}/{rest[1]}", rest[3], "/".join(rest[4:]))
            self._unhandled()

    def _route_api(self, seg: list[str], query: dict[str, list[str]], body: bytes) -> None:
        method = self.command
        if seg == ["repos", "create"] and method == "POST":
            return self._create_repo(json.loads(body))
        if seg == ["validate-yaml"] and method == "POST":
            return self._validate_yaml(json.loads(body))
        if len(seg) >= 3 and seg[0] in ("models", "datasets", "spaces"):
            repo_type, repo_id, rest = seg[0][:-1], f"{seg[1]}/{seg[2]}", seg[3:]
            if not rest and method == "GET":
                return self._repo_info(repo_type, repo_id, "main")
            if rest[:1] == ["revision"] and len(rest) == 2 and method == "GET":
                return self._repo_info(repo_type, repo_id, rest[1])
            if rest == ["settings"] and method == "PUT":
                return self._update_settings(repo_type, repo_id, json.loads(body))
            if rest[:1] == ["preupload"] and len(rest) == 2 and method == "POST":
                return self._preupload(repo_type, repo_id, rest[1], json.loads(body))
            if rest[:1] == ["commit"] and len(rest) == 2 and method == "POST":
                return self._commit_files(repo_type, repo_id, rest[1], query, body)
            if rest[:1] == ["tree"] and len(rest) >= 2 and method == "GET":
                return self._tree(repo_type, repo_id, rest[1], "/".join(rest[2:]), query)
            if rest[:1] == ["paths-info"] and len(rest) == 2 and method == "POST":
                return self._paths_info(repo_type, repo_id, rest[1], body)
        self._unhandled()

    def _unhandled(self) -> None:
        self.server_hub.unhandled.append((self.command, self.path))
        raise HubHTTPError(404, f"route not implemented by the loopback hub: {self.command} {self.path}")

    # ----- repositories -----
    def _create_repo(self, payload: dict[str, Any]) -> None:
        hub, user = self.server_hub, self._require_user()
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES:
            raise HubHTTPError(400, f"Invalid repo type {repo_type!r}")
        name = payload.get("name") or ""
        if not name or "/" in name:
            raise HubHTTPError(400, f"Invalid repo name {name!r}")
        repo_id = f"{payload.get('organization') or user}/{name}"
        url = f"{hub.endpoint}/{URL_PREFIXES.get(repo_type, '')}{repo_id}"
        if (repo_type, repo_id) in hub.repos:
            self._json(409, {"error": f"You already created this {repo_type} repo", "url": url},
                       {"X-Error-Message": f"You already created this {repo_type} repo"})
            return
        private = payload.get("visibility") == "private" or payload.get("private") is True
        repo = Repo(repo_type, repo_id, private, _now())
        # Like the Hub: a new repo starts with one commit holding the default .gitattributes.
        gitattributes = StoredFile(len(DEFAULT_GITATTRIBUTES), git_blob_sha1(DEFAULT_GITATTRIBUTES),
                                   DEFAULT_GITATTRIBUTES)
        hub._new_commit(repo, "initial commit", {".gitattributes": gitattributes}, None)
        hub.repos[(repo_type, repo_id)] = repo
        hub.events.append(Event("create_repo", f"{repo_type}s/{repo_id}", {"private": private}))
        self._json(200, {"url": url, "name": repo_id, "id": secrets.token_hex(12)})

    def _update_settings(self, repo_type: str, repo_id: str, payload: dict[str, Any]) -> None:
        self._require_user()
        repo = self._repo(repo_type, repo_id)
        if "visibility" in payload:
            repo.private = payload["visibility"] == "private"
        elif "private" in payload:
            repo.private = bool(payload["private"])
        self.server_hub.events.append(Event("update_settings", f"{repo_type}s/{repo_id}", {"private": repo.private}))
        self._json(200, {})

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit(repo, revision)
        siblings = []
        for path, f in sorted(commit.files.items()):
            sibling: dict[str, Any] = {"rfilename": path, "size": f.size, "blobId": f.git_oid}
            if f.is_lfs:
                sibling["lfs"] = {"size": f.size, "sha256": f.sha256,
                                  "pointerSize": len(lfs_pointer(f.sha256 or "", f.size))}
            siblings.append(sibling)
        info: dict[str, Any] = {
            "_id": hashlib.sha1(f"{repo_type}/{repo_id}".encode()).hexdigest()[:24],
            "id": repo_id, "author": repo_id.split("/")[0], "sha": commit.oid, "lastModified": commit.date,
            "createdAt": repo.created_at, "private": repo.private, "gated": False, "disabled": False,
            "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
        }
        card_data = self._card_data(commit)
        if card_data is not None:
            info["cardData"] = card_data
            info["tags"] = list(card_data.get("tags") or [])
            if repo_type == "model" and card_data.get("library_name"):
                info["library_name"] = card_data["library_name"]
        self._json(200, info)

    def _card_data(self, commit: Commit) -> dict[str, Any] | None:
        readme = commit.files.get("README.md")
        if readme is None:
            return None
        metadata, _ = _front_matter(self.server_hub._content(readme).decode("utf-8", errors="replace"))
        return metadata if isinstance(metadata, dict) else None

    def _validate_yaml(self, payload: dict[str, Any]) -> None:
        try:
            metadata, present = _front_matter(payload.get("content") or "")
        except yaml.YAMLError as exc:
            self._json(400, {"errors": [{"message": f"Invalid YAML in the README metadata: {exc}"}]},
                       {"X-Error-Message": "Invalid YAML in the README metadata"})
            return
        if present and metadata is not None and not isinstance(metadata, dict):
            self._json(400, {"errors": [{"message": "README metadata must be a YAML mapping"}]},
                       {"X-Error-Message": "README metadata must be a YAML mapping"})
            return
        warnings = [] if metadata else [{"message": "Empty or missing yaml metadata in repo card"}]
        self._json(200, {"errors": [], "warnings": warnings})

    # ----- upload: preupload, LFS, commit -----
    def _preupload(self, repo_type: str, repo_id: str, revision: str, payload: dict[str, Any]) -> None:
        self._require_user()
        repo = self._repo(repo_type, repo_id)
        commit = self._commit(repo, revision)
        lfs_patterns = _lfs_patterns(self.server_hub._content(commit.files[".gitattributes"])
                                     if ".gitattributes" in commit.files else b"")
        ignore_patterns = [line.strip() for line in (payload.get("gitIgnore") or "").splitlines()
                           if line.strip() and not line.strip().startswith("#")]
        answer = []
        for entry in payload["files"]:
            path, size = entry["path"], int(entry["size"])
            sample = base64.b64decode(entry.get("sample") or "")
            lfs = size >= LFS_SIZE_THRESHOLD or b"\0" in sample or _matches(path, lfs_patterns)
            existing = commit.files.get(path)
            answer.append({"path": path, "uploadMode": "lfs" if lfs else "regular",
                           "shouldIgnore": _matches(path, ignore_patterns),
                           "oid": None if existing is None else (existing.sha256 or existing.git_oid)})
        self.server_hub.events.append(Event("preupload", f"{repo_type}s/{repo_id}",
                                            {"paths": [e["path"] for e in payload["files"]]}))
        self._json(200, {"files": answer, "commitOid": commit.oid})

    def _lfs_batch(self, repo_type: str, repo_id: str, body: bytes) -> None:
        hub = self.server_hub
        self._require_user()
        self._repo(repo_type, repo_id)
        payload = json.loads(body)
        if payload.get("operation") != "upload":
            raise HubHTTPError(422, "this hub serves LFS downloads through /resolve, not the batch API")
        if "basic" not in (payload.get("transfers") or ["basic"]):
            raise HubHTTPError(422, "only the 'basic' LFS transfer is supported")
        base = f"{hub.endpoint}/{URL_PREFIXES.get(repo_type, '')}{repo_id}.git/info/lfs/objects"
        objects = []
        for obj in payload["objects"]:
            oid, size = str(obj["oid"]), int(obj["size"])
            if len(oid) != 64 or any(c not in "0123456789abcdef" for c in oid):
                objects.append({"oid": oid, "size": size, "error": {"code": 422, "message": "oid is not a sha256"}})
                continue
            entry: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if oid not in hub.lfs_objects:
                nonce = secrets.token_urlsafe(16)  # a one-time upload URL, like a presigned S3 URL
                hub._pending_uploads[nonce] = (f"{repo_type}s/{repo_id}", oid, size)
                entry["actions"] = {
                    "upload": {"href": f"{hub.endpoint}/lfs-upload/{oid}?nonce={nonce}", "header": {}},
                    "verify": {"href": f"{base}/verify", "header": {}},
                }
            objects.append(entry)
        hub.events.append(Event("lfs_batch", f"{repo_type}s/{repo_id}", {"oids": [o["oid"] for o in objects]}))
        self._json(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                   content_type="application/vnd.git-lfs+json")

    def _lfs_upload(self, oid: str, query: dict[str, list[str]], body: bytes) -> None:
        hub = self.server_hub
        nonce = (query.get("nonce") or [""])[0]
        pending = hub._pending_uploads.get(nonce)
        if pending is None or pending[1] != oid:
            raise HubHTTPError(403, "unknown or expired upload URL")
        repo_key, _, size = pending
        if len(body) != size or hashlib.sha256(body).hexdigest() != oid:
            raise HubHTTPError(400, "uploaded content does not match the announced sha256/size")
        del hub._pending_uploads[nonce]
        hub.lfs_objects[oid] = body
        hub.events.append(Event("lfs_upload", repo_key, {"oid": oid, "size": size}))
        self._send(200, b"", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'}, content_type="text/plain")

    def _lfs_verify(self, repo_type: str, repo_id: str, body: bytes) -> None:
        self._require_user()
        self._repo(repo_type, repo_id)
        payload = json.loads(body)
        stored = self.server_hub.lfs_objects.get(payload["oid"])
        if stored is None or len(stored) != int(payload["size"]):
            raise HubHTTPError(404, f"LFS object {payload['oid']} was not uploaded")
        self.server_hub.events.append(Event("lfs_verify", f"{repo_type}s/{repo_id}", {"oid": payload["oid"]}))
        self._json(200, {"success": True})

    def _commit_files(self, repo_type: str, repo_id: str, revision: str, query: dict[str, list[str]],
                      body: bytes) -> None:
        hub = self.server_hub
        self._require_user()
        repo = self._repo(repo_type, repo_id)
        if query.get("create_pr", ["0"])[0] == "1":
            raise HubHTTPError(400, "pull requests are not supported by the loopback hub")
        if revision != "main":
            raise HubHTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubHTTPError(400, "the commit payload must start with a header line")
        header = lines[0]["value"]
        parent = repo.head
        if header.get("parentCommit") and not parent.oid.startswith(header["parentCommit"]):
            raise HubHTTPError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(parent.files)
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            path = value["path"]
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubHTTPError(400, f"{path}: only base64 file content is supported")
                data = base64.b64decode(value["content"])
                files[path] = StoredFile(len(data), git_blob_sha1(data), content=data)
            elif key == "lfsFile":
                oid = value["oid"]
                if oid not in hub.lfs_objects:
                    raise HubHTTPError(422, f"{path}: LFS object {oid} was never uploaded")
                size = len(hub.lfs_objects[oid])
                files[path] = StoredFile(size, git_blob_sha1(lfs_pointer(oid, size)), sha256=oid)
            elif key == "deletedFile":
                if path not in files:
                    raise HubHTTPError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del files[path]
            elif key == "deletedFolder":
                prefix = path.rstrip("/") + "/"
                files = {p: f for p, f in files.items() if not p.startswith(prefix)}
            else:
                raise HubHTTPError(400, f"unknown commit operation {key!r}")
        commit = hub._new_commit(repo, header.get("summary") or "commit", files, parent.oid)
        hub.events.append(Event("commit", f"{repo_type}s/{repo_id}",
                                {"oid": commit.oid, "paths": [ln["value"]["path"] for ln in lines[1:]]}))
        prefix = URL_PREFIXES.get(repo_type, "")
        self._json(200, {"success": True, "commitOid": commit.oid, "pullRequestUrl": None,
                         "commitUrl": f"{hub.endpoint}/{prefix}{repo_id}/commit/{commit.oid}"})

    # ----- reading: tree, paths-info, resolve -----
    def _entries(self, commit: Commit, expand: bool) -> dict[str, dict[str, Any]]:
        """Every file and directory of a commit as tree entries, keyed by path."""
        entries: dict[str, dict[str, Any]] = {}
        for path, f in commit.files.items():
            entry: dict[str, Any] = {"type": "file", "oid": f.git_oid, "size": f.size, "path": path}
            if f.is_lfs:
                entry["lfs"] = {"oid": f.sha256, "size": f.size,
                                "pointerSize": len(lfs_pointer(f.sha256 or "", f.size))}
            if expand:
                last = commit if not f.last_commit else self._find_commit(f.last_commit) or commit
                entry["lastCommit"] = {"id": last.oid, "title": last.title, "date": last.date}
            entries[path] = entry
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if folder not in entries:
                    tree_id = hashlib.sha1(f"{commit.oid}:{folder}".encode()).hexdigest()
                    entries[folder] = {"type": "directory", "oid": tree_id, "size": 0, "path": folder}
                    if expand:
                        entries[folder]["lastCommit"] = {"id": commit.oid, "title": commit.title, "date": commit.date}
        return entries

    def _find_commit(self, oid: str) -> Commit | None:
        for repo in self.server_hub.repos.values():
            if oid in repo.commits:
                return repo.commits[oid]
        return None

    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str, query: dict[str, list[str]]) -> None:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit(repo, revision)
        recursive = (query.get("recursive") or ["False"])[0].lower() in ("1", "true")
        expand = (query.get("expand") or ["False"])[0].lower() in ("1", "true")
        entries = self._entries(commit, expand)
        path = path.strip("/")
        if path and (path not in entries or entries[path]["type"] != "directory"):
            if path in entries:  # the tree of a file is the file itself
                self._json(200, [entries[path]])
                return
            raise HubHTTPError(404, f"{path} does not exist on {revision}", "EntryNotFound")
        prefix = path + "/" if path else ""
        listed = sorted((e for p, e in entries.items() if p.startswith(prefix)
                         and (recursive or "/" not in p[len(prefix):])), key=lambda e: e["path"])
        cursor = int((query.get("cursor") or ["0"])[0])
        page = listed[cursor:cursor + TREE_PAGE_SIZE]
        headers = {}
        if cursor + TREE_PAGE_SIZE < len(listed):
            params = {k: v[0] for k, v in query.items() if k != "cursor"} | {"cursor": str(cursor + TREE_PAGE_SIZE)}
            next_url = f"{self.server_hub.endpoint}{self.path.split('?')[0]}?{urllib.parse.urlencode(params)}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        self._json(200, page, headers)

    def _paths_info(self, repo_type: str, repo_id: str, revision: str, body: bytes) -> None:
        repo = self._repo(repo_type, repo_id)
        commit = self._commit(repo, revision)
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
        expand = (form.get("expand") or ["False"])[0].lower() in ("1", "true")
        entries = self._entries(commit, expand)
        self._json(200, [entries[p.strip("/")] for p in form.get("paths", []) if p.strip("/") in entries])

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        head = self.command == "HEAD"
        repo = self._repo(repo_type, repo_id)
        commit = self._commit(repo, revision)
        stored = commit.files.get(path)
        if stored is None:
            self._send(404, b'{"error": "Entry not found"}',
                       {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found",
                        "X-Repo-Commit": commit.oid}, head=head)
            return
        data = self.server_hub._content(stored)
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{stored.etag}"', "Accept-Ranges": "bytes"}
        if stored.is_lfs:
            headers |= {"X-Linked-Etag": f'"{stored.etag}"', "X-Linked-Size": str(stored.size)}
        status = 200
        range_header = self.headers.get("Range")
        if range_header and range_header.startswith("bytes=") and "," not in range_header:
            start_s, _, end_s = range_header[len("bytes="):].partition("-")
            if start_s:
                start, end = int(start_s), min(int(end_s) if end_s else len(data) - 1, len(data) - 1)
            else:  # suffix range: the last N bytes
                start, end = max(len(data) - int(end_s), 0), len(data) - 1
            if start >= len(data) and len(data) > 0:
                self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"}, head=head)
                return
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        self._send(status, data, headers, content_type="application/octet-stream", head=head)


def _front_matter(text: str) -> tuple[Any, bool]:
    """The YAML metadata block at the top of a README (value, whether a block was present)."""
    if not text.startswith("---"):
        return None, False
    lines = text.splitlines()
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return yaml.safe_load("\n".join(lines[1:i])), True
    raise yaml.YAMLError("the metadata block opened with '---' is never closed")


def _lfs_patterns(gitattributes: bytes) -> list[str]:
    patterns = []
    for line in gitattributes.decode("utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def _matches(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """gitattributes/gitignore-style matching, simplified: a pattern without '/' matches the basename anywhere,
    one with '/' matches the whole path ('**' as '*')."""
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        pattern = pattern.lstrip("/")
        if "/" in pattern.rstrip("/"):
            if fnmatch.fnmatch(path, pattern.replace("**", "*")):
                return True
        elif fnmatch.fnmatch(name, pattern.rstrip("/")) or (
                pattern.endswith("/") and any(fnmatch.fnmatch(p, pattern[:-1]) for p in path.split("/")[:-1])):
            return True
    return False


__all__ = ["LoopbackHub", "GUARD_MARKER", "Repo", "Commit", "StoredFile", "Event", "git_blob_sha1", "lfs_pointer"]
