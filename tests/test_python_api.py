"""The Python API in the shape of timm's and huggingface_hub's: list_models, create_model,
load_pretrained, Generator.from_pretrained / save_pretrained / push_to_hub (against the loopback
Hub server), save_image on tensors, and generate with a bf16 model."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.errors import GanzooError, UnknownNameError
from ganzoo.images import save_image
from ganzoo.interfaces import Generator


def test_list_models_names_architectures_and_pretrained_models():
    assert {"dcgan", "mlp", "cgan", "srgan", "cyclegan"} <= set(ganzoo.list_models())
    assert ganzoo.list_models("dcgan*", pretrained=True) == ["dcgan-celeba", "dcgan-mnist"]
    assert ganzoo.list_models("nothing*") == []


def test_create_model_builds_untrained_generators_like_timm():
    g = ganzoo.create_model("dcgan", g_width=8, d_width=8, image_size=32, channels=1)
    assert g.image_shape == (1, 32, 32) and g.pretrained_config["architecture"] == "dcgan"
    bundled = ganzoo.load_pretrained("mlp-mnist")
    untrained = ganzoo.create_model("mlp-mnist")  # its architecture and config, random weights
    assert type(untrained) is type(bundled)
    assert untrained.state_dict().keys() == bundled.state_dict().keys()
    assert not all(torch.equal(a, b) for a, b in zip(untrained.state_dict().values(), bundled.state_dict().values()))
    trained = ganzoo.create_model("mlp-mnist", pretrained=True)
    assert torch.equal(trained.generate(4, seed=1), bundled.generate(4, seed=1))
    with pytest.raises(GanzooError, match="dcgan is an architecture, not a trained model; .*dcgan-celeba, dcgan-mnist"):
        ganzoo.create_model("dcgan", pretrained=True)
    with pytest.raises(GanzooError, match="takes no config"):
        ganzoo.create_model("mlp-mnist", pretrained=True, g_hidden=8)
    with pytest.raises(UnknownNameError, match="unknown model 'dcgna'"):
        ganzoo.create_model("dcgna")
    with pytest.raises(GanzooError, match="DCGAN has no setting 'no_such_setting'; known: latent_dim"):
        ganzoo.create_model("dcgan", no_such_setting=1)


def test_from_pretrained_save_pretrained_round_trip(tmp_path):
    from ganzoo_dcgan.models import DCGANGenerator

    g = DCGANGenerator.from_pretrained("dcgan-mnist")
    assert isinstance(g, Generator) and g.source.kind == "bundled"
    out = g.save_pretrained(tmp_path / "copy")
    assert {p.name for p in out.iterdir()} >= {"config.json", "model.safetensors", "README.md", "samples.png"}
    again = ganzoo.load_pretrained(out)
    assert torch.equal(again.generate(3, seed=2), g.generate(3, seed=2))
    config = json.loads((out / "config.json").read_text())
    assert config["training"] == g.pretrained_config["training"] and "evaluation" not in config
    with pytest.raises(GanzooError, match="is a MLPGenerator, not a DCGANGenerator"):
        DCGANGenerator.from_pretrained("mlp-mnist")
    with pytest.raises(GanzooError, match="pass --overwrite|exists and is not empty"):
        g.save_pretrained(out)
    created = ganzoo.create_model("dcgan", g_width=4, d_width=4, image_size=28, channels=1, latent_dim=3)
    assert ganzoo.load_pretrained(created.save_pretrained(tmp_path / "created")).latent_dim == 3


def test_push_to_hub_and_load_with_hub_keywords(tmp_path):
    from hub_server import HubServer

    with HubServer(tokens={"hf_w": "alice"}) as hub:
        g = ganzoo.load_pretrained("mlp-mnist")
        commit = g.push_to_hub("alice/mlp", token="hf_w", endpoint=hub.url)
        assert commit == hub.commits("alice/mlp")[-1]
        cache = tmp_path / "cache"
        pulled = ganzoo.load_pretrained("hf-hub:alice/mlp", revision=commit, cache_dir=cache, endpoint=hub.url)
        assert torch.equal(pulled.generate(2, seed=0), g.generate(2, seed=0))
        hub.mode = "hangs"  # local_files_only never asks the Hub
        offline = ganzoo.load_pretrained("hf-hub:alice/mlp", revision=commit, cache_dir=cache, local_files_only=True)
        assert offline.source.kind == "cache"
        with pytest.raises(GanzooError, match="already names a revision"):
            ganzoo.load_pretrained(f"hf-hub:alice/mlp@{commit}", revision="main")


def test_save_image_takes_tensors_and_writes_the_format_of_the_extension(tmp_path):
    g = ganzoo.load_pretrained("dcgan-mnist")
    images = g.generate(6, seed=0)
    grid = save_image(images, tmp_path / "grid.jpg", nrow=3)
    with Image.open(grid) as opened:
        assert opened.format == "JPEG" and opened.size == (2 + 3 * 34, 2 + 2 * 34)
    one = save_image(images[0], tmp_path / "one.webp")
    with Image.open(one) as opened:
        assert opened.format == "WEBP" and opened.size == (32, 32)
    uint8 = save_image(torch.full((3, 4, 5), 255, dtype=torch.uint8), tmp_path / "white.png")
    with Image.open(uint8) as opened:
        assert opened.getpixel((0, 0)) == (255, 255, 255)
    with pytest.raises(GanzooError, match="give a file ending in .jpeg, .jpg, .png, .webp"):
        save_image(images, tmp_path / "grid.gif")
    with pytest.raises(ValueError, match="1 or 3 channels"):
        save_image(torch.zeros(2, 2), tmp_path / "bad.png")


def test_generate_casts_the_noise_to_a_bf16_model():
    g = ganzoo.load_pretrained("dcgan-mnist").to(torch.bfloat16)
    images = g.generate(2, seed=0)
    assert images.dtype == torch.bfloat16 and images.shape == (2, 1, 32, 32)
