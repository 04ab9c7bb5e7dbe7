"""The in-memory Hub of tests/hub_server.py, driven by the unmodified huggingface_hub client over loopback."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from pathlib import Path

import pytest
from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

from hub_server import HubServer, git_blob_sha1

TOKEN = "hf_test_token"
REPO = "alice/tiny-gan"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))


@pytest.fixture(autouse=True)
def _hf_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # conftest.py sets HF_HUB_DISABLE_XET=1 and HF_HUB_DISABLE_TELEMETRY=1 before huggingface_hub is
    # imported (both are read into `constants` at import). They matter: this server has no Xet storage
    # (uploads would fail on /api/models/<repo>/xet-write-token/main), and with telemetry on the first
    # request of a process fetches the agent registry from constants.ENDPOINT. Checked, not assumed:
    assert constants.HF_HUB_DISABLE_XET and constants.HF_HUB_DISABLE_TELEMETRY
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def hub():
    with HubServer({TOKEN: "alice"}) as server:
        yield server


@pytest.fixture
def api(hub: HubServer) -> HfApi:
    return HfApi(endpoint=hub.url, token=TOKEN)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "upload"
    (root / "samples").mkdir(parents=True)
    (root / "config.json").write_text('{"latent_dim": 64}\n')
    (root / "README.md").write_text("# tiny GAN\n")
    (root / "model.safetensors").write_bytes(os.urandom(300_000))
    (root / "samples" / "grid.png").write_bytes(PNG)
    return root


@pytest.fixture
def uploaded(hub: HubServer, api: HfApi, folder: Path) -> str:
    """REPO created and ``folder`` uploaded to it; returns the commit id."""
    api.create_repo(REPO, private=False)
    return api.upload_folder(repo_id=REPO, folder_path=folder, commit_message="upload").oid


def download(hub: HubServer, cache: Path, filename: str, **kwargs) -> bytes:
    kwargs.setdefault("token", TOKEN)
    return Path(hf_hub_download(REPO, filename, endpoint=hub.url, cache_dir=cache, **kwargs)).read_bytes()


def test_create_repo_exist_ok(hub: HubServer, api: HfApi) -> None:
    url = api.create_repo(REPO, private=False)
    assert url.repo_id == REPO and url.startswith(hub.url)
    assert api.create_repo(REPO, exist_ok=True).repo_id == REPO  # the 409 body carries the url it reads
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo(REPO)
    assert err.value.response.status_code == 409
    assert len(hub.commits(REPO)) == 1 and hub.file_bytes(REPO, ".gitattributes")  # initial commit, like the Hub
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=hub.url, token=False).create_repo("alice/other")
    assert err.value.response.status_code == 401


def test_upload_folder_goes_through_lfs(hub: HubServer, folder: Path, uploaded: str) -> None:
    assert uploaded == hub.commits(REPO)[-1] and len(hub.commits(REPO)) == 2
    for path in ("config.json", "README.md", "model.safetensors", "samples/grid.png"):
        assert hub.file_bytes(REPO, path) == (folder / path).read_bytes()
    posts = [path for method, path in hub.requests if method == "POST"]
    assert f"/{REPO}.git/info/lfs/objects/batch" in posts
    assert posts.count(f"/{REPO}.git/info/lfs/objects/verify") == 2  # the two binaries; text files went inline
    puts = sorted(path.rsplit("/", 1)[1] for method, path in hub.requests if method == "PUT")
    assert puts == sorted(hashlib.sha256((folder / p).read_bytes()).hexdigest()
                          for p in ("model.safetensors", "samples/grid.png"))
    assert hub.unhandled == []


def test_download_cache_layout_and_metadata(hub: HubServer, api: HfApi, folder: Path, uploaded: str,
                                            tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for path in ("config.json", "README.md", "model.safetensors", "samples/grid.png"):
        assert download(hub, cache, path) == (folder / path).read_bytes()
    storage = cache / "models--alice--tiny-gan"
    weights = (folder / "model.safetensors").read_bytes()
    assert (storage / "blobs" / hashlib.sha256(weights).hexdigest()).read_bytes() == weights  # LFS: sha256
    config = (folder / "config.json").read_bytes()
    assert (storage / "blobs" / git_blob_sha1(config)).read_bytes() == config  # regular file: git blob sha1
    assert (storage / "snapshots" / uploaded / "model.safetensors").read_bytes() == weights
    assert (storage / "refs" / "main").read_text() == uploaded

    hub.requests.clear()
    assert download(hub, cache, "model.safetensors", local_files_only=True) == weights
    assert hub.requests == []

    snap = Path(snapshot_download(REPO, endpoint=hub.url, cache_dir=tmp_path / "snap", token=TOKEN,
                                  allow_patterns=["*.json", "*.safetensors"]))
    assert snap.name == uploaded
    assert sorted(p.name for p in snap.iterdir()) == ["config.json", "model.safetensors"]
    assert (snap / "model.safetensors").read_bytes() == weights
    # repo_info at the revision (newer clients then list the tree at the commit; tree listing is tested below)
    assert ("GET", f"/api/models/{REPO}/revision/main") in hub.requests

    info = api.model_info(REPO)
    assert info.sha == uploaded and info.id == REPO and info.private is False
    assert {s.rfilename for s in info.siblings} == {".gitattributes", "config.json", "README.md",
                                                     "model.safetensors", "samples/grid.png"}
    assert api.repo_info(REPO, revision=uploaded).sha == uploaded

    tree = {entry.path: entry for entry in api.list_repo_tree(REPO, recursive=True)}
    assert isinstance(tree["samples"], RepoFolder)
    model = tree["model.safetensors"]
    assert isinstance(model, RepoFile) and model.size == len(weights)
    assert model.lfs is not None and model.lfs.sha256 == hashlib.sha256(weights).hexdigest()
    assert tree["config.json"].lfs is None and tree["config.json"].blob_id == git_blob_sha1(config)
    top = {entry.path for entry in api.list_repo_tree(REPO)}
    assert "samples" in top and "samples/grid.png" not in top
    assert [e.path for e in api.list_repo_tree(REPO, path_in_repo="samples")] == ["samples/grid.png"]
    assert hub.unhandled == []


def test_errors_map_to_typed_exceptions(hub: HubServer, api: HfApi, uploaded: str, tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/missing", "config.json", endpoint=hub.url, cache_dir=tmp_path / "a", token=TOKEN)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/missing")
    with pytest.raises(RevisionNotFoundError):
        download(hub, tmp_path / "b", "config.json", revision="no-such-branch")
    with pytest.raises(EntryNotFoundError):
        download(hub, tmp_path / "c", "missing.bin")

    # Private repo without a token: the Hub answers 401 + X-Error-Code RepoNotFound (it does not reveal that the
    # repo exists), which the client raises as RepositoryNotFoundError (not GatedRepoError).
    hub.set_private(REPO, True)
    with pytest.raises(RepositoryNotFoundError) as err:
        download(hub, tmp_path / "d", "config.json", token=False)
    assert err.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).model_info(REPO)
    with pytest.raises(RepositoryNotFoundError):
        snapshot_download(REPO, endpoint=hub.url, cache_dir=tmp_path / "e", token=False)
    assert download(hub, tmp_path / "d", "config.json") == hub.file_bytes(REPO, "config.json")
    assert api.model_info(REPO).private is True
    # Surprise worth knowing: once a file is cached, a failed HEAD (here 401) silently falls back to the cache.
    assert download(hub, tmp_path / "d", "config.json", token=False) == hub.file_bytes(REPO, "config.json")

    # An unknown token is a plain 401 "Invalid credentials", not a missing repo.
    with pytest.raises(HfHubHTTPError) as err:
        download(hub, tmp_path / "f", "config.json", token="wrong")
    assert err.value.response.status_code == 401 and not isinstance(err.value, RepositoryNotFoundError)


def test_second_commit_keeps_old_revision(hub: HubServer, api: HfApi, folder: Path, uploaded: str,
                                          tmp_path: Path) -> None:
    old, new = (folder / "model.safetensors").read_bytes(), os.urandom(300_000)
    second = api.upload_file(path_or_fileobj=new, path_in_repo="model.safetensors", repo_id=REPO).oid
    assert hub.commits(REPO)[-2:] == [uploaded, second]
    assert hub.file_bytes(REPO, "model.safetensors") == new
    assert hub.file_bytes(REPO, "model.safetensors", revision=uploaded) == old
    cache = tmp_path / "cache"
    assert download(hub, cache, "model.safetensors") == new
    assert download(hub, cache, "model.safetensors", revision=uploaded) == old
    assert api.model_info(REPO).sha == second
    # Re-uploading identical content is a no-op for the client (preupload returns the remote oid): no new commit.
    api.upload_file(path_or_fileobj=new, path_in_repo="model.safetensors", repo_id=REPO)
    assert hub.commits(REPO)[-1] == second
    api.delete_file("README.md", repo_id=REPO)
    assert "README.md" not in {s.rfilename for s in api.model_info(REPO).siblings}


def _request(hub: HubServer, method: str, path: str, body=None, headers=None, chunked: bool = False):
    """One raw request with the standard library (independent of the HTTP stack huggingface_hub uses)."""
    connection = http.client.HTTPConnection(hub.url.removeprefix("http://"), timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def test_raw_protocol_edges(hub: HubServer, uploaded: str) -> None:
    weights = hub.file_bytes(REPO, "model.safetensors")
    path = f"/{REPO}/resolve/main/model.safetensors"
    status, headers, content = _request(hub, "HEAD", path)
    assert headers["X-Repo-Commit"] == uploaded
    assert headers["X-Linked-Etag"] == f'"{hashlib.sha256(weights).hexdigest()}"'
    assert int(headers["Content-Length"]) == len(weights) and content == b""
    status, _, content = _request(hub, "GET", path, headers={"Range": "bytes=100-"})
    assert status == 206 and content == weights[100:]
    # LFS PUT: the sha256 is checked; a streamed (Transfer-Encoding: chunked) body is decoded.
    assert _request(hub, "PUT", f"/lfs-upload/{REPO}/{'0' * 64}", body=b"x")[0] == 400
    blob = os.urandom(5000)
    status, _, _ = _request(hub, "PUT", f"/lfs-upload/{REPO}/{hashlib.sha256(blob).hexdigest()}",
                            body=iter([blob[:1000], blob[1000:]]),
                            headers={"Transfer-Encoding": "chunked"}, chunked=True)
    assert status == 200
    assert _request(hub, "GET", f"/api/spaces/{REPO}")[1]["X-Error-Code"] == "RepoNotFound"
    assert _request(hub, "GET", "/api/nothing-here")[0] == 404
    assert hub.unhandled == [("GET", "/api/nothing-here")]
    assert _request(hub, "GET", "/api/whoami-v2")[0] == 401
    status, _, content = _request(hub, "GET", "/api/whoami-v2", headers={"Authorization": f"Bearer {TOKEN}"})
    assert json.loads(content)["name"] == "alice"
