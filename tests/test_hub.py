"""Push to and pull from the Hugging Face Hub with the real huggingface_hub client, against the
Hub-protocol server of tests/hub_server.py on 127.0.0.1 (nothing else is reachable: see the
network guard in conftest.py)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from huggingface_hub import HfApi, metadata_load
from safetensors.torch import load_file

from ganzoo.errors import ArtifactError, UnknownNameError
from ganzoo.hub import load_pretrained, resolve
from ganzoo.huggingface import ChecksumError, HubError, HubOptions, HubRef, NotCachedError, push_to_hub, sha256_of
from hub_server import WRITER_TOKEN, HubServer

TOKEN = WRITER_TOKEN
BUNDLED = Path(__file__).resolve().parents[1] / "plugins" / "ganzoo_mlp" / "pretrained" / "mlp-mnist"
EVALUATION = [{"metric": "classifier-score", "name": "classifier score", "value": 7.5, "dataset": "mnist",
               "split": "test", "protocol": {"n_fake": 10000, "seed": 0, "classifier": "ganzoo mnist-cnn"}}]


@pytest.fixture
def trained(tmp_path: Path) -> Path:
    """The bundled (trained) mlp-mnist, with a measured metric added to its config.json."""
    directory = tmp_path / "mlp-mnist"
    shutil.copytree(BUNDLED, directory)
    config = json.loads((directory / "config.json").read_text())
    config["evaluation"] = EVALUATION
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    return directory


@pytest.fixture
def hub_env(server: HubServer, tmp_path: Path) -> dict[str, str | None]:
    """Environment for ``ganzoo`` subprocesses: the test Hub, an empty HF_HOME, the token."""
    return {"HF_ENDPOINT": server.url, "HF_HOME": str(tmp_path / "hf-home"), "HF_TOKEN": TOKEN,
            "GANZOO_PLUGINS": None, "OMP_NUM_THREADS": "1"}


def _weights_equal(generator, path: Path) -> bool:
    expected = load_file(path)
    state = generator.state_dict()
    return set(state) == set(expected) and all((state[k] == expected[k]).all() for k in expected)


def test_push_then_pull_round_trips_weights_and_card(server, options, trained):
    commit = push_to_hub(trained, "zoo/mlp-mnist", options=options)
    assert commit == server.commits("zoo/mlp-mnist")[-1]
    assert server.file_bytes("zoo/mlp-mnist", "model.safetensors") == (trained / "model.safetensors").read_bytes()
    assert any(path.endswith("/info/lfs/objects/batch") for _, path in server.requests), "weights went through LFS"

    generator = load_pretrained("hf-hub:zoo/mlp-mnist", options=options)
    assert generator.source.kind == "hub" and commit[:12] in generator.source.describe()
    assert "the Hub's ETag" in generator.source.describe()
    assert _weights_equal(generator, trained / "model.safetensors")

    snapshot = generator.source.path
    assert sorted(p.name for p in snapshot.iterdir()) == ["README.md", "config.json", "model.safetensors", "samples.png"]
    assert json.loads((snapshot / "config.json").read_text()) == json.loads((trained / "config.json").read_text())
    card = metadata_load(snapshot / "README.md")
    assert card["library_name"] == "ganzoo"
    assert {"ganzoo", "gan", "mlp"} <= set(card["tags"])
    result = card["model-index"][0]["results"][0]
    assert result["dataset"] == {"name": "mnist", "type": "ylecun/mnist", "split": "test"}
    assert result["metrics"][0]["value"] == 7.5 and result["metrics"][0]["args"] == EVALUATION[0]["protocol"]
    assert "ganzoo sample hf-hub:zoo/mlp-mnist" in (snapshot / "README.md").read_text()

    # Second time: served from the cache (the Hub only confirms the ETag); offline: no request at all.
    assert load_pretrained("hf-hub:zoo/mlp-mnist", options=options).source.kind == "cache"
    asked = len(server.requests)
    offline = HubOptions(endpoint=server.url, cache_dir=options.cache_dir, offline=True)
    again = load_pretrained("hf-hub:zoo/mlp-mnist", options=offline)
    assert again.source.kind == "cache" and _weights_equal(again, trained / "model.safetensors")
    assert len(server.requests) == asked


def test_push_to_a_branch_and_pull_revisions(server, options, trained):
    first = push_to_hub(trained, "zoo/mlp", options=options)
    push_to_hub(trained, "zoo/mlp", revision="dev", options=options)
    other = trained.parent / "other"
    shutil.copytree(trained, other)
    config = json.loads((other / "config.json").read_text())
    config["notes"] = "second version"
    (other / "config.json").write_text(json.dumps(config))
    second = push_to_hub(other, "zoo/mlp", options=options)
    assert second != first
    notes = lambda spec: json.loads((resolve(spec, options).path / "config.json").read_text()).get("notes")  # noqa: E731
    assert notes(f"hf-hub:zoo/mlp@{first}") != "second version"
    assert notes("hf-hub:zoo/mlp") == "second version"
    # The dev branch started from main's first commit; re-uploading identical files commits nothing.
    assert resolve("hf-hub:zoo/mlp@dev", options).path.name == first


def test_corrupted_cache_blob_is_detected_and_not_loaded(options, trained):
    push_to_hub(trained, "zoo/mlp", options=options)
    source = resolve("hf-hub:zoo/mlp", options)
    blob = (source.path / "model.safetensors").resolve()
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last tensor: still parses as safetensors
    blob.write_bytes(bytes(data))
    offline = HubOptions(cache_dir=options.cache_dir, offline=True)
    with pytest.raises(ChecksumError, match=r"corrupt or was changed and was not loaded; run `ganzoo pull hf-hub:zoo/mlp --force`"):
        load_pretrained("hf-hub:zoo/mlp", options=offline)
    repaired = resolve("hf-hub:zoo/mlp", options, pull=True, force=True)
    assert repaired.kind == "hub" and sha256_of(blob) == blob.name
    assert _weights_equal(load_pretrained("hf-hub:zoo/mlp", options=offline), trained / "model.safetensors")


def test_hub_errors_are_one_clear_line(server, options, trained):
    with pytest.raises(HubError, match="zoo/none was not found at .*or it is private.*hf auth login"):
        resolve("hf-hub:zoo/none", options)
    push_to_hub(trained, "zoo/secret", private=True, options=options)
    anonymous = HubOptions(endpoint=server.url, cache_dir=options.cache_dir)
    with pytest.raises(HubError, match="zoo/secret was not found .*or it is private and no valid token"):
        resolve("hf-hub:zoo/secret", anonymous)
    assert resolve("hf-hub:zoo/secret", options).kind == "hub"
    with pytest.raises(HubError, match="revision 'v9' does not exist in Hub repository zoo/secret"):
        resolve("hf-hub:zoo/secret@v9", options)

    api = HfApi(endpoint=server.url, token=TOKEN)
    api.create_repo("zoo/half")
    api.upload_file(path_or_fileobj=trained / "config.json", path_in_repo="config.json", repo_id="zoo/half")
    with pytest.raises(HubError, match="zoo/half has no model.safetensors: it is not a ganzoo model"):
        resolve("hf-hub:zoo/half", options)

    with pytest.raises(NotCachedError, match="not in the Hugging Face cache .*offline.*ganzoo pull hf-hub:zoo/never"):
        resolve("hf-hub:zoo/never", HubOptions(cache_dir=options.cache_dir, offline=True))
    with pytest.raises(Exception, match="not a Hub model reference"):
        HubRef.parse("hf-hub:no-slash")
    with pytest.raises(UnknownNameError, match="a Hub repository is written hf-hub:zoo/mlp"):
        resolve("zoo/mlp", options)


def test_incomplete_cached_snapshot(options, trained):
    push_to_hub(trained, "zoo/mlp", options=options)
    snapshot = resolve("hf-hub:zoo/mlp", options).path
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(HubError, match="cached snapshot of zoo/mlp .* is incomplete: it has no model.safetensors"):
        resolve("hf-hub:zoo/mlp", HubOptions(cache_dir=options.cache_dir, offline=True))
    assert resolve("hf-hub:zoo/mlp", options).kind == "hub"  # online, the missing file is fetched again


def test_nothing_but_model_files_is_downloaded(server, options, trained):
    push_to_hub(trained, "zoo/mlp", options=options)
    api = HfApi(endpoint=server.url, token=TOKEN)
    api.upload_file(path_or_fileobj=b"import os; os.system('echo pwned')", path_in_repo="modeling.py", repo_id="zoo/mlp")
    api.upload_file(path_or_fileobj=b"\x80\x04K\x01.", path_in_repo="pytorch_model.bin", repo_id="zoo/mlp")
    snapshot = resolve("hf-hub:zoo/mlp", options).path
    assert sorted(p.name for p in snapshot.iterdir()) == ["README.md", "config.json", "model.safetensors", "samples.png"]
    fetched = {path.rsplit("/", 1)[-1] for method, path in server.requests if "/resolve/" in path}
    assert fetched == {"README.md", "config.json", "model.safetensors", "samples.png"}


def test_unknown_architecture_names_the_plugin_to_install(options, trained):
    config = json.loads((trained / "config.json").read_text())
    config["architecture"] = "stylegan9"
    config["plugin"] = {"name": "stylegan9", "distribution": "ganzoo-stylegan9"}
    (trained / "config.json").write_text(json.dumps(config))
    push_to_hub(trained, "zoo/style", options=options)
    with pytest.raises(ArtifactError, match="architecture 'stylegan9', which no installed plugin provides; pip install ganzoo-stylegan9"):
        load_pretrained("hf-hub:zoo/style", options=options)


def test_push_errors(server, options, trained, tmp_path):
    with pytest.raises(HubError, match="refused to write zoo/mlp .*write token"):
        push_to_hub(trained, "zoo/mlp", options=HubOptions(endpoint=server.url, token="hf_wrong"))
    with pytest.raises(ArtifactError, match="config.json is missing"):
        push_to_hub(tmp_path, "zoo/mlp", options=options)
    with pytest.raises(HubError, match="offline"):
        push_to_hub(trained, "zoo/mlp", options=HubOptions(endpoint=server.url, token=TOKEN, offline=True))
    with pytest.raises(Exception, match="ORG/NAME"):
        push_to_hub(trained, "just-a-name", options=options)
    assert not any("/commit/" in path for _, path in server.requests), "nothing was committed"


# The command line, in subprocesses configured through the environment as users do it.

def test_cli_push_pull_sample_info_offline(ganzoo_env, trained, tmp_path, one_line_error, server):
    run = ganzoo_env
    pushed = run("push", trained, "--repo-id", "zoo/mlp-mnist", "--private")
    assert pushed.returncode == 0, pushed.stderr
    assert "pushed" in pushed.stdout and "hf-hub:zoo/mlp-mnist" in pushed.stdout

    pulled = run("pull", "hf-hub:zoo/mlp-mnist")
    assert pulled.returncode == 0, pulled.stderr
    assert "downloaded Hugging Face Hub zoo/mlp-mnist@" in pulled.stdout

    sampled = run("sample", "hf-hub:zoo/mlp-mnist", "-n", "4", "-o", "grid.png", "--offline")
    assert sampled.returncode == 0, sampled.stderr
    assert "from the Hugging Face cache zoo/mlp-mnist@" in sampled.stdout and (tmp_path / "grid.png").is_file()

    info = run("info", "hf-hub:zoo/mlp-mnist", "--offline")
    assert info.returncode == 0, info.stderr
    assert re.search(r"classifier-score\s+7.5\s+on mnist \(test\)", info.stdout), info.stdout
    assert "n_fake=10000" in info.stdout

    assert "private" in one_line_error(run("pull", "hf-hub:zoo/mlp-mnist", "--force", env={"HF_TOKEN": None}))
    assert "not in the Hugging Face cache" in one_line_error(run("sample", "hf-hub:zoo/other", "--offline"))


@pytest.fixture
def ganzoo_env(run_ganzoo, hub_env, tmp_path):
    def run(*args, env=None):
        return run_ganzoo(list(args), env={**hub_env, **(env or {})}, cwd=tmp_path)

    return run


def test_registered_model_pulls_its_pinned_revision_and_checks_sha256(ganzoo_env, make_plugin, trained, options,
                                                                     one_line_error, monkeypatch):
    commit = push_to_hub(trained, "zoo/pinned", options=options)
    push_to_hub(trained.parent / trained.name, "zoo/pinned", revision="later", options=options)
    digest = sha256_of(trained / "model.safetensors")
    source = (
        "from ganzoo import hookimpl\n"
        "@hookimpl\n"
        "def register_pretrained(register):\n"
        f"    register('toy-pinned', architecture='mlp', repo_id='zoo/pinned', revision='{commit}', sha256='{digest}')\n"
        f"    register('toy-tampered', architecture='mlp', repo_id='zoo/pinned', revision='{commit}', sha256='{'0' * 64}')\n"
    )
    site = make_plugin("pinned", source)
    env = {"PYTHONPATH": f"{site}:{__import__('os').environ['PYTHONPATH']}"}

    pulled = ganzoo_env("pull", "toy-pinned", env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert f"zoo/pinned@{commit[:12]}" in pulled.stdout and "checked against the registered sha256" in pulled.stdout
    sampled = ganzoo_env("sample", "toy-pinned", "-n", "4", "-o", "pinned.png", "--offline", env=env)
    assert sampled.returncode == 0 and "Hugging Face cache zoo/pinned@" in sampled.stdout

    error = one_line_error(ganzoo_env("pull", "toy-tampered", env=env))
    assert "expected 000000000000..." in error and "was not loaded" in error
    assert "not loaded" in one_line_error(ganzoo_env("sample", "toy-tampered", "--offline", env=env))


def test_bundled_model_when_the_hub_is_unreachable_offline_or_lacks_it(run_ganzoo, server, tmp_path):
    home = str(tmp_path / "hf-home")
    start = time.monotonic()
    closed = run_ganzoo(["pull", "dcgan-celeba"], env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": home})
    assert closed.returncode == 0, closed.stderr
    assert "cannot be used" in closed.stderr and "Retrying" not in closed.stderr
    from ganzoo.plugins import get_zoo

    pinned = get_zoo().pretrained.get("dcgan-celeba").sha256
    assert "using the bundled copy" in closed.stdout and f"sha256 {pinned[:12]}... checked" in closed.stdout

    offline = run_ganzoo(["pull", "dcgan-celeba"], env={"HF_ENDPOINT": server.url, "HF_HOME": home, "HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0 and "offline" in offline.stderr and "using the bundled copy" in offline.stdout
    assert server.requests == []  # offline means not one request

    missing = run_ganzoo(["pull", "dcgan-celeba"], env={"HF_ENDPOINT": server.url, "HF_HOME": home})
    assert missing.returncode == 0 and "ganzoo/dcgan-celeba was not found" in missing.stderr
    assert "using the bundled copy" in missing.stdout
    assert time.monotonic() - start < 60


def test_zoo_model_published_on_the_hub_is_pulled_and_verified(run_ganzoo, server, tmp_path):
    push_to_hub(BUNDLED, "ganzoo/mlp-mnist", options=HubOptions(endpoint=server.url, token=TOKEN))
    env = {"HF_ENDPOINT": server.url, "HF_HOME": str(tmp_path / "hf-home")}
    pulled = run_ganzoo(["pull", "mlp-mnist"], env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert "downloaded Hugging Face Hub ganzoo/mlp-mnist@" in pulled.stdout
    assert "checked against the registered sha256" in pulled.stdout
    sampled = run_ganzoo(["sample", "mlp-mnist", "-n", "4", "-o", str(tmp_path / "d.png")], env=env)
    assert "from the Hugging Face cache ganzoo/mlp-mnist@" in sampled.stdout


def test_corrupt_bundled_copy_is_refused(make_plugin, plugin_sys_path, tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    shutil.copytree(BUNDLED, copy)
    source = (
        "from ganzoo import hookimpl\n"
        "@hookimpl\n"
        "def register_pretrained(register):\n"
        f"    register('toy-bundled', {str(copy)!r}, architecture='mlp', sha256='{sha256_of(BUNDLED / 'model.safetensors')}')\n"
    )
    plugin_sys_path(make_plugin("bundled", source))
    assert load_pretrained("toy-bundled").source.kind == "bundled"
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-4] ^= 0x01
    (copy / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="bundled model.safetensors of toy-bundled .*reinstall"):
        load_pretrained("toy-bundled")


def test_every_bundled_zoo_model_matches_its_registered_sha256():
    from ganzoo.plugins import get_zoo

    entries = [e for e in get_zoo().pretrained if e.bundled is not None]
    assert {e.name for e in entries} >= {"mlp-mnist", "dcgan-mnist", "cgan-mnist", "dcgan-celeba"}
    for entry in entries:
        assert entry.repo_id == f"ganzoo/{entry.name}" and entry.sha256, entry.name
        assert sha256_of(entry.bundled / "model.safetensors") == entry.sha256, entry.name
