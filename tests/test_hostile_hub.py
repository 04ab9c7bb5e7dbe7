"""A misbehaving Hub, with the real huggingface_hub client against the loopback Hub server of
tests/hub_server.py: one that accepts connections and never answers, one that answers 500 to
everything, and repositories whose weights are regular git files (no LFS). Nothing waits past
its stated timeout, every failure is one line, and every cached file is verified before use."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ganzoo.hub import load_pretrained, resolve
from ganzoo.huggingface import ANSWER_TIMEOUT, ChecksumError, HubOptions, push_to_hub
from hub_server import WRITER_TOKEN as TOKEN
from hub_server import HubServer

BUNDLED = Path(__file__).resolve().parents[1] / "plugins" / "ganzoo_mlp" / "pretrained" / "mlp-mnist"


def pull(run_ganzoo, server: HubServer, tmp_path: Path, *args: str):
    env = {"HF_ENDPOINT": server.url, "HF_HOME": str(tmp_path / "hf-home"), "HF_TOKEN": TOKEN,
           "GANZOO_PLUGINS": None, "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    result = run_ganzoo(["pull", *args], env=env, cwd=tmp_path)
    return result, time.monotonic() - start


def test_a_hub_that_never_answers_fails_in_one_line_within_its_timeout(run_ganzoo, one_line_error, server,
                                                                       options, tmp_path):
    push_to_hub(BUNDLED, "zoo/mlp", options=options)
    server.mode = "hangs"
    result, seconds = pull(run_ganzoo, server, tmp_path, "hf-hub:zoo/mlp")
    line = one_line_error(result)
    assert f"accepted the connection but sent no answer within {ANSWER_TIMEOUT:g} s" in line
    assert "not in the Hugging Face cache" in line and "ganzoo pull hf-hub:zoo/mlp" in line
    assert seconds < ANSWER_TIMEOUT + 20  # the probe's timeout, not huggingface_hub's minutes of retries


def test_a_hub_answering_500_fails_at_once_or_falls_back_to_the_cache(run_ganzoo, one_line_error, server,
                                                                      options, tmp_path):
    push_to_hub(BUNDLED, "zoo/mlp", options=options)
    server.mode = "500s"
    result, seconds = pull(run_ganzoo, server, tmp_path, "hf-hub:zoo/mlp")
    assert "answered HTTP 500" in one_line_error(result) and "Retrying" not in result.stderr
    assert seconds < 20

    server.mode = "normal"
    assert pull(run_ganzoo, server, tmp_path, "hf-hub:zoo/mlp")[0].returncode == 0  # now cached
    server.mode = "500s"
    cached, _ = pull(run_ganzoo, server, tmp_path, "hf-hub:zoo/mlp")
    assert cached.returncode == 0, cached.stderr
    assert "answered HTTP 500" in cached.stderr and "using the cache" in cached.stderr


def test_regular_file_weights_are_checked_against_their_git_blob_id(server, options):
    server.regular_files = True
    push_to_hub(BUNDLED, "zoo/plain", options=options)
    assert not any(path.endswith("/info/lfs/objects/batch") for _, path in server.requests)
    generator = load_pretrained("hf-hub:zoo/plain", options=options)
    assert "checked against the Hub's ETag (git blob sha1)" in generator.source.describe()

    blob = (generator.source.path / "model.safetensors").resolve()
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF  # still parses as safetensors
    blob.write_bytes(bytes(data))
    offline = HubOptions(cache_dir=options.cache_dir, offline=True)
    with pytest.raises(ChecksumError, match=r"git blob sha1 .* corrupt or was changed and was not loaded; "
                                            r"run `ganzoo pull hf-hub:zoo/plain --force`"):
        load_pretrained("hf-hub:zoo/plain", options=offline)
    assert resolve("hf-hub:zoo/plain", options, pull=True, force=True).kind == "hub"
    load_pretrained("hf-hub:zoo/plain", options=offline)  # repaired


def test_a_changed_cached_config_is_refused(server, options):
    push_to_hub(BUNDLED, "zoo/mlp", options=options)
    snapshot = resolve("hf-hub:zoo/mlp", options).path
    blob = (snapshot / "config.json").resolve()
    config = json.loads(blob.read_text())
    config["config"]["latent_dim"] = 7  # a config that would build another network
    blob.write_text(json.dumps(config))
    with pytest.raises(ChecksumError, match="config.json of zoo/mlp in the Hugging Face cache has git blob sha1"):
        load_pretrained("hf-hub:zoo/mlp", options=HubOptions(cache_dir=options.cache_dir, offline=True))
