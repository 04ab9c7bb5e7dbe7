"""An in-memory Hugging Face Hub for tests, speaking the protocol the unmodified ``huggingface_hub`` client uses.

Standard library only. Point the client at ``HubServer.url`` with ``endpoint=`` (``HfApi``, ``hf_hub_download``,
``snapshot_download``). Run the client with ``HF_HUB_DISABLE_XET=1`` *and* ``huggingface_hub.constants.
HF_HUB_DISABLE_XET = True`` (the constant is read at import time): this server offers no Xet storage, so LFS
uploads must take the legacy path (preupload -> LFS batch -> PUT -> verify -> NDJSON commit). Also disable
telemetry (env + ``constants.HF_HUB_DISABLE_TELEMETRY``): otherwise the first request of a process makes the
client fetch ``/api/agent-harnesses`` from ``constants.ENDPOINT``, i.e. huggingface.co unless HF_ENDPOINT was set.

Only model repos exist (``/api/models/...``); dataset/space URLs answer 404 RepoNotFound. Downloads are served
straight from ``/resolve`` (no redirect): the real Hub redirects LFS files to a CDN on another host, where the
client stops following, keeps the metadata of the redirect response and drops the Authorization header;
serving the bytes directly gives the client the same headers and the same cache layout.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
LFS_SUFFIXES = (".bin", ".safetensors", ".pt", ".pth", ".ckpt", ".h5", ".onnx", ".npz", ".png", ".jpg", ".gz")
LFS_THRESHOLD = 10 * 1024 * 1024  # the real Hub sends text files above 10 MB through LFS too
LFS_JSON = "application/vnd.git-lfs+json"
WRITER_TOKEN = "hf_test_writer"
"""The token of user "alice" in the tests' Hub (conftest's ``server`` fixture)."""


def git_blob_sha1(data: bytes) -> str:
    """``git hash-object`` of ``data``: the ETag/oid the Hub gives regular (non-LFS) files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    return b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (
        hashlib.sha256(data).hexdigest().encode(), len(data))


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class HubError(Exception):
    """An error answer: status, the ``X-Error-Code`` header (mapped to typed errors by ``hf_raise_for_status``)."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


MODES = ("normal", "hangs", "500s")
"""How the server answers: normally; never (it accepts connections and reads requests, then waits
until stopped); or HTTP 500 to every request."""


class HubServer:
    """In-memory Hub on 127.0.0.1:<free port>. ``tokens`` maps bearer token -> user name.

    ``mode`` (one of ``MODES``, changeable at any time) makes it misbehave; ``regular_files``
    stores every uploaded file as a regular git file, weights included (no LFS), as a repository
    pushed without the LFS rules of ``.gitattributes`` has them."""

    def __init__(self, tokens: dict[str, str] | None = None):
        self.mode = "normal"
        self.regular_files = False
        self._stopped = threading.Event()
        self.tokens = dict(tokens or {})
        self.repos: dict[str, dict] = {}  # repo_id -> {private, branches, commits, lfs, created}
        self.requests: list[tuple[str, str]] = []  # (method, path without query) of every request
        self.unhandled: list[tuple[str, str]] = []  # the subset no route answered (404 "unknown endpoint")
        self.lock = threading.RLock()
        self._counter = itertools.count()
        self._httpd: ThreadingHTTPServer | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def start(self) -> "HubServer":
        hub = self

        class Handler(_Handler):
            server_hub = hub

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        # A short poll interval keeps stop() (shutdown() waits for the serve loop to notice) at ~10 ms, not 0.5 s.
        threading.Thread(target=self._httpd.serve_forever, args=(0.01,), name="hub-server", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()  # releases the requests a "hangs" server holds
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers for tests ------------------------------------------------------------------------------------------
    def file_bytes(self, repo_id: str, path: str, revision: str = "main") -> bytes:
        with self.lock:
            return self._files(self._repo(repo_id), revision)[path][0]

    def commits(self, repo_id: str) -> list[str]:
        with self.lock:
            return list(self._repo(repo_id)["commits"])  # dicts keep insertion order: oldest first

    def set_private(self, repo_id: str, private: bool) -> None:
        with self.lock:
            self._repo(repo_id)["private"] = private

    # -- state (call with the lock held) ----------------------------------------------------------------------------
    def _repo(self, repo_id: str) -> dict:
        if repo_id not in self.repos:
            raise KeyError(repo_id)
        return self.repos[repo_id]

    def _create_repo(self, repo_id: str, private: bool) -> None:
        self.repos[repo_id] = {"private": private, "branches": {}, "commits": {}, "lfs": {}, "created": _now()}
        # Like the real Hub: a new repo has one commit on "main" holding .gitattributes.
        self._commit(repo_id, "main", {".gitattributes": (GITATTRIBUTES, False)}, "initial commit")

    def _commit(self, repo_id: str, branch: str, files: dict, summary: str) -> str:
        repo = self.repos[repo_id]
        parent = repo["branches"].get(branch)
        oid = hashlib.sha1(f"{repo_id}\0{parent}\0{summary}\0{next(self._counter)}".encode()).hexdigest()
        repo["commits"][oid] = {"parent": parent, "files": files, "summary": summary, "date": _now()}
        repo["branches"][branch] = oid
        return oid

    def _resolve(self, repo: dict, revision: str) -> str:
        """Branch name or full commit id -> commit id; 404 RevisionNotFound otherwise."""
        if revision in repo["branches"]:
            return repo["branches"][revision]
        if revision in repo["commits"]:
            return revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def _files(self, repo: dict, revision: str) -> dict[str, tuple[bytes, bool]]:
        """path -> (bytes, stored_as_lfs) at a revision."""
        return repo["commits"][self._resolve(repo, revision)]["files"]

    def _last_commit(self, repo: dict, oid: str, path: str) -> dict:
        """The oldest ancestor of ``oid`` since which ``path`` is unchanged (``list_repo_tree(expand=True)``)."""
        entry = repo["commits"][oid]["files"].get(path)
        while (parent := repo["commits"][oid]["parent"]) and repo["commits"][parent]["files"].get(path) == entry:
            oid = parent
        return {"id": oid, "title": repo["commits"][oid]["summary"], "date": repo["commits"][oid]["date"]}


class _Handler(BaseHTTPRequestHandler):
    server_hub: HubServer
    server_version = "HubServer/1.0"

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    # -- plumbing ---------------------------------------------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        # httpx streams file uploads (LFS PUT, NDJSON commit) with Transfer-Encoding: chunked when it cannot tell
        # their length up front, so decode chunked bodies as well as Content-Length ones.
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes | dict | list = b"", headers: dict | None = None,
              content_type: str = "application/json", length: int | None = None) -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self, method: str) -> None:
        hub = self.server_hub
        split = urlsplit(self.path)
        with hub.lock:
            hub.requests.append((method, split.path))
        if hub.mode == "hangs":
            hub._stopped.wait()
            self.close_connection = True
            return
        if hub.mode == "500s":
            self._read_body()
            self._send(500, {"error": "Internal Error"}, {"X-Error-Message": "Internal Error"})
            return
        self.query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            self.body = self._read_body()
            # Split before unquoting: the client quotes revisions and tree paths with safe="" ("a/b" -> "a%2Fb").
            parts = [unquote(p) for p in split.path.strip("/").split("/")]
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
            self.user = hub.tokens.get(token) if token else None
            if token and self.user is None:
                # hf_raise_for_status special-cases this exact message: a plain 401, never "repo not found".
                raise HubError(401, "Invalid credentials in Authorization header")
            if not self._route(method, parts):
                with hub.lock:
                    hub.unhandled.append((method, split.path))
                raise HubError(404, f"unknown endpoint {method} {split.path}")
        except HubError as err:
            headers = dict(err.headers)
            if err.code:
                headers["X-Error-Code"] = err.code
            headers["X-Error-Message"] = err.message
            self._send(err.status, {"error": err.message}, headers)

    def _route(self, method: str, p: list[str]) -> bool:
        if p[:2] == ["api", "whoami-v2"] and method == "GET":
            self._whoami()
        elif p[:3] == ["api", "repos", "create"] and method == "POST":
            self._create_repo()
        elif p[:2] == ["api", "validate-yaml"] and method == "POST":  # create_commit, when README.md is committed
            self._send(200, {"errors": [], "warnings": []})
        elif p[:2] == ["api", "agent-harnesses"] and method == "GET":
            # build_hf_headers -> detect_agent fetches this from constants.ENDPOINT (daily, unless telemetry is off)
            self._send(200, {"standardEnvVars": [], "harnesses": {}})
        elif len(p) >= 4 and p[0] == "api" and p[1] in ("datasets", "spaces"):
            raise HubError(404, "Repository not found", "RepoNotFound")
        elif len(p) >= 4 and p[:2] == ["api", "models"]:
            repo_id, rest = f"{p[2]}/{p[3]}", p[4:]
            if not rest and method == "GET":
                self._model_info(repo_id, "main")
            elif rest[:1] == ["revision"] and len(rest) >= 2 and method == "GET":
                self._model_info(repo_id, "/".join(rest[1:]))
            elif rest[:1] == ["tree"] and len(rest) >= 2 and method == "GET":
                self._tree(repo_id, rest[1], "/".join(rest[2:]))
            elif rest[:1] == ["preupload"] and len(rest) >= 2 and method == "POST":
                self._preupload(repo_id, "/".join(rest[1:]))
            elif rest[:1] == ["commit"] and len(rest) >= 2 and method == "POST":
                self._create_commit(repo_id, "/".join(rest[1:]))
            elif rest[:1] == ["branch"] and len(rest) == 2 and method == "POST":
                self._create_branch(repo_id, rest[1])
            else:
                return False
        elif len(p) == 6 and p[1].endswith(".git") and p[2:5] == ["info", "lfs", "objects"] and method == "POST":
            repo_id = f"{p[0]}/{p[1][:-4]}"
            if p[5] == "batch":
                self._lfs_batch(repo_id)
            elif p[5] == "verify":
                self._lfs_verify(repo_id)
            else:
                return False
        elif len(p) == 4 and p[0] == "lfs-upload" and method == "PUT":
            self._lfs_upload(f"{p[1]}/{p[2]}", p[3])
        elif len(p) >= 5 and p[2] == "resolve" and method in ("GET", "HEAD"):
            self._resolve_file(f"{p[0]}/{p[1]}", p[3], "/".join(p[4:]))
        else:
            return False
        return True

    # -- access control ---------------------------------------------------------------------------------------------
    def _read_repo(self, repo_id: str) -> dict:
        """The repo if this caller may read it. Like the real Hub, a missing repo and a private one look the same:
        401 without a token, 404 with one, both ``X-Error-Code: RepoNotFound`` -> RepositoryNotFoundError (the
        client maps a bare 401 only for https:// URLs, so the code header is what makes it work here)."""
        repo = self.server_hub.repos.get(repo_id)
        if repo is None or (repo["private"] and self.user is None):
            msg = "Invalid username or password." if self.user is None else "Repository not found"
            raise HubError(401 if self.user is None else 404, msg, "RepoNotFound")
        return repo

    def _write_repo(self, repo_id: str) -> dict:
        repo = self._read_repo(repo_id)
        if self.user is None:
            raise HubError(401, "You must be authenticated to write to this repo")
        return repo

    def _json(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise HubError(400, "invalid JSON body") from None

    # -- endpoints --------------------------------------------------------------------------------------------------
    def _whoami(self) -> None:  # HfApi.whoami
        if self.user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        self._send(200, {"type": "user", "id": self.user, "name": self.user, "fullname": self.user, "orgs": [],
                         "auth": {"type": "access_token",
                                  "accessToken": {"displayName": "test", "role": "write"}}})

    def _create_branch(self, repo_id: str, branch: str) -> None:  # HfApi.create_branch
        hub = self.server_hub
        with hub.lock:
            repo = self._write_repo(repo_id)
            if branch in repo["branches"]:
                raise HubError(409, f"Reference already exists: refs/heads/{branch}")  # exist_ok=True swallows it
            start = self._json().get("startingPoint") or "main"
            repo["branches"][branch] = hub._resolve(repo, start)
        self._send(200, {})

    def _create_repo(self) -> None:  # HfApi.create_repo
        if self.user is None:
            raise HubError(401, "You must be authenticated to create a repo")
        data = self._json()
        if data.get("type", "model") != "model":
            raise HubError(400, "only model repos are supported by this test server")
        name, org = data.get("name", ""), data.get("organization")
        repo_id = name if "/" in name else f"{org or self.user}/{name}"
        private = data.get("visibility") == "private" or bool(data.get("private"))
        url = f"{self.server_hub.url}/{repo_id}"
        with self.server_hub.lock:
            if repo_id in self.server_hub.repos:
                # create_repo(exist_ok=True) swallows the 409 and then still reads "url" from this very body.
                self._send(409, {"error": "You already created this model repo", "url": url})
                return
            self.server_hub._create_repo(repo_id, private)
        self._send(200, {"url": url, "name": repo_id, "id": repo_id})

    def _model_info(self, repo_id: str, revision: str) -> None:  # HfApi.model_info / repo_info (snapshot_download)
        with self.server_hub.lock:
            repo = self._read_repo(repo_id)
            sha = self.server_hub._resolve(repo, revision)
            files, date = repo["commits"][sha]["files"], repo["commits"][sha]["date"]
            blobs = self.query.get("blobs") in ("True", "true", "1")
            siblings = [{"rfilename": path, **(self._blob_meta(*files[path], sibling=True) if blobs else {})}
                        for path in sorted(files)]
            info = {"_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id, "modelId": repo_id,
                    "author": repo_id.split("/")[0], "sha": sha, "lastModified": date, "createdAt": repo["created"],
                    "private": repo["private"], "gated": False, "disabled": False, "downloads": 0, "likes": 0,
                    "tags": [], "library_name": None, "siblings": siblings}
        self._send(200, info)

    @staticmethod
    def _blob_meta(data: bytes, is_lfs: bool, sibling: bool = False) -> dict:
        """oid/size (+ lfs) of a file as the tree listing (RepoFile) or model info siblings (blobs=True) give it."""
        pointer = lfs_pointer(data)
        meta = {"blobId" if sibling else "oid": git_blob_sha1(pointer if is_lfs else data), "size": len(data)}
        if is_lfs:
            meta["lfs"] = {"sha256" if sibling else "oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                           "pointerSize": len(pointer)}
        return meta

    def _tree(self, repo_id: str, revision: str, prefix: str) -> None:  # HfApi.list_repo_tree (snapshot_download)
        recursive = self.query.get("recursive") in ("True", "true", "1")
        expand = self.query.get("expand") in ("True", "true", "1")
        with self.server_hub.lock:
            repo = self._read_repo(repo_id)
            sha = self.server_hub._resolve(repo, revision)
            files = repo["commits"][sha]["files"]
            base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
            entries: dict[str, dict] = {}
            for path in sorted(files):
                if not path.startswith(base):
                    continue
                segments = path[len(base):].split("/")
                for depth in range(1, len(segments)):  # the folders on the way to this file
                    folder = base + "/".join(segments[:depth])
                    if depth == 1 or recursive:
                        entries.setdefault(folder, {"type": "directory", "path": folder, "size": 0,
                                                    "oid": hashlib.sha1(f"{sha}:{folder}".encode()).hexdigest()})
                if len(segments) == 1 or recursive:
                    entries[path] = {"type": "file", "path": path, **self._blob_meta(*files[path])}
            if base and not entries:
                raise HubError(404, f"{prefix} does not exist on {revision}", "EntryNotFound")
            if expand:
                for entry in entries.values():
                    entry["lastCommit"] = self.server_hub._last_commit(repo, sha, entry["path"])
        self._send(200, list(entries.values()))

    def _preupload(self, repo_id: str, revision: str) -> None:  # _commit_api._fetch_upload_modes
        with self.server_hub.lock:
            repo = self._write_repo(repo_id)
            head = self.server_hub._resolve(repo, revision)
            files = repo["commits"][head]["files"]
            answer = []
            for item in self._json().get("files", []):
                path, sample = item["path"], base64.b64decode(item.get("sample", ""))
                lfs = not self.server_hub.regular_files and (
                    path.endswith(LFS_SUFFIXES) or b"\0" in sample or item.get("size", 0) >= LFS_THRESHOLD)
                entry = {"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
                if path in files:  # create_commit drops an addition whose local oid equals this (no-op commit)
                    data, was_lfs = files[path]
                    entry["oid"] = hashlib.sha256(data).hexdigest() if was_lfs else git_blob_sha1(data)
                answer.append(entry)
        self._send(200, {"files": answer, "commitOid": head})

    def _lfs_batch(self, repo_id: str) -> None:  # lfs.post_lfs_batch_info (sends Accept: application/vnd.git-lfs+json)
        data = self._json()
        with self.server_hub.lock:
            store = self._write_repo(repo_id)["lfs"]
            if data.get("operation") != "upload":
                raise HubError(422, "only the upload operation is supported")
            objects = []
            for obj in data.get("objects", []):
                oid, size = obj["oid"], obj["size"]
                answer = {"oid": oid, "size": size, "authenticated": True}
                if oid not in store:
                    # No "header"/"chunk_size" => lfs_upload does one plain PUT (the "basic" transfer). The PUT
                    # carries no Authorization header, like a presigned S3 URL; the verify POST does.
                    answer["actions"] = {
                        "upload": {"href": f"{self.server_hub.url}/lfs-upload/{repo_id}/{oid}"},
                        "verify": {"href": f"{self.server_hub.url}/{repo_id}.git/info/lfs/objects/verify"},
                    }
                objects.append(answer)  # already stored: no "actions" -> _upload_lfs_files skips it
        self._send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, content_type=LFS_JSON)

    def _lfs_upload(self, repo_id: str, oid: str) -> None:  # lfs._upload_single_part
        if hashlib.sha256(self.body).hexdigest() != oid:
            raise HubError(400, f"sha256 of the uploaded content does not match {oid}")
        with self.server_hub.lock:
            if repo_id not in self.server_hub.repos:
                raise HubError(404, "Repository not found", "RepoNotFound")
            self.server_hub.repos[repo_id]["lfs"][oid] = self.body
        self._send(200, b"", content_type="text/plain")

    def _lfs_verify(self, repo_id: str) -> None:  # lfs.lfs_upload, after the PUT
        data = self._json()
        with self.server_hub.lock:
            stored = self._write_repo(repo_id)["lfs"].get(data.get("oid"))
        if stored is None or len(stored) != data.get("size"):
            raise HubError(404, f"object {data.get('oid')} not found")
        self._send(200, {"success": True}, content_type=LFS_JSON)

    def _create_commit(self, repo_id: str, branch: str) -> None:  # _commit_api._send_commit (NDJSON body)
        hub = self.server_hub
        with hub.lock:
            repo = self._write_repo(repo_id)
            if branch not in repo["branches"]:
                raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            head = repo["branches"][branch]
            files = dict(repo["commits"][head]["files"])
            summary = "commit"
            for line in self.body.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "header":
                    summary = value.get("summary") or summary
                    if value.get("parentCommit") not in (None, head):
                        raise HubError(412, "A commit has happened since. Please refresh and try again.")
                elif key == "file":
                    files[value["path"]] = (base64.b64decode(value["content"]), False)
                elif key == "lfsFile":
                    if value["oid"] not in repo["lfs"]:
                        raise HubError(422, f"LFS object {value['oid']} for {value['path']} was not uploaded")
                    files[value["path"]] = (repo["lfs"][value["oid"]], True)
                elif key == "deletedFile":
                    if files.pop(value["path"], None) is None:
                        raise HubError(404, f"A file with this name doesn't exist: {value['path']}", "EntryNotFound")
                elif key == "deletedFolder":
                    folder = value["path"].rstrip("/") + "/"
                    files = {p: f for p, f in files.items() if not p.startswith(folder)}
                else:
                    raise HubError(400, f"unsupported commit operation {key!r}")
            oid = hub._commit(repo_id, branch, files, summary)
        self._send(200, {"success": True, "commitOid": oid, "commitUrl": f"{hub.url}/{repo_id}/commit/{oid}",
                         "commitMessage": summary, "pullRequestUrl": None})

    def _resolve_file(self, repo_id: str, revision: str, path: str) -> None:  # file_download.get_hf_file_metadata
        with self.server_hub.lock:
            repo = self._read_repo(repo_id)
            sha = self.server_hub._resolve(repo, revision)
            entry = repo["commits"][sha]["files"].get(path)
        # X-Repo-Commit (even on the 404) lets hf_hub_download cache the revision -> commit and `.no_exist` markers.
        headers = {"X-Repo-Commit": sha}
        if entry is None:
            raise HubError(404, "Entry not found", "EntryNotFound", headers)
        data, is_lfs = entry
        # The cache names blobs by this ETag: git blob sha1 for regular files, sha256 for LFS files (sent as
        # X-Linked-Etag / X-Linked-Size, which the client prefers, as on the real Hub's redirect response).
        etag = hashlib.sha256(data).hexdigest() if is_lfs else git_blob_sha1(data)
        headers.update({"ETag": f'"{etag}"', "Accept-Ranges": "bytes"})
        if is_lfs:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))})
        status, body = 200, data
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and "," not in rng:  # http_get resumes a `.incomplete` download with a Range
            start_s, _, end_s = rng[len("bytes="):].partition("-")
            start = int(start_s) if start_s else max(len(data) - int(end_s), 0)
            end = int(end_s) if start_s and end_s else len(data) - 1
            if start >= len(data):
                raise HubError(416, "Range not satisfiable", None, {**headers, "Content-Range": f"bytes */{len(data)}"})
            status, body = 206, data[start:min(end, len(data) - 1) + 1]
            headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{len(data)}"
        self._send(status, body, headers, content_type="application/octet-stream")
