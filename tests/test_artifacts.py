"""Pretrained directories: export, load, generate, and clean one-line errors for broken ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import metadata_load
from PIL import Image
from safetensors.torch import load_file, save_file

from ganzoo.card import render_card
from ganzoo.engine import start_run
from ganzoo.engine.checkpoint import latest_checkpoint
from ganzoo.errors import ArtifactError, GanzooError
from ganzoo.hub import export_run, load_pretrained
from ganzoo.plugins import get_zoo

FILES = ["README.md", "config.json", "model.safetensors", "samples.png"]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mnist_dir) -> Path:
    run = tmp_path_factory.mktemp("artifacts") / "run"
    start_run("mlp", mnist_dir, run, progress=False,
              settings={"steps": 12, "g_hidden": 32, "d_hidden": 32, "latent_dim": 16, "batch_size": 32,
                        "log_every": 6, "sample_every": 1000, "checkpoint_every": 6}).fit()
    return run


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory) -> Path:
    return export_run(run_dir, tmp_path_factory.mktemp("export") / "mlp-tiny")


@pytest.fixture
def broken(exported, tmp_path) -> Path:
    """A private copy of the exported model, to damage."""
    copy = tmp_path / "model"
    copy.mkdir()
    for name, data in snapshot(exported).items():
        (copy / name).write_bytes(data)
    return copy


# -- export ---------------------------------------------------------------------------------------


def test_export_writes_the_hub_layout(exported):
    assert sorted(p.name for p in exported.iterdir()) == FILES
    assert not [p for p in exported.parent.iterdir() if p.name.startswith(".")], "temporary dirs left"
    config = json.loads((exported / "config.json").read_text())
    assert config["architecture"] == "mlp"
    assert config["config"]["g_hidden"] == 32 and config["config"]["latent_dim"] == 16
    assert config["image_shape"] == [1, 28, 28]
    assert config["value_range"] == [-1, 1]
    assert config["latent_dim"] == 16 and config["num_classes"] is None
    assert config["dtype"] == "float32"
    assert config["plugin"]["name"] == "mlp"
    assert config["training"]["steps"] == 12
    assert config["dataset"]["name"] == "mnist"
    with Image.open(exported / "samples.png") as image:
        image.load()
        assert image.size == (8 * 30 + 2, 8 * 30 + 2)


def test_model_card(exported):
    card = (exported / "README.md").read_text()
    assert card.startswith("---\n")
    front, _, body = card[4:].partition("\n---\n")
    meta = metadata_load(exported / "README.md")
    assert meta["library_name"] == "ganzoo" and meta["license"] == "cc-by-sa-3.0"
    assert meta["datasets"] == ["ylecun/mnist"] and meta["tags"][:3] == ["ganzoo", "gan", "mlp"]
    assert "# mlp-tiny" in body
    assert "ganzoo sample mlp-tiny" in body


def test_weights_are_the_runs_ema(run_dir, exported):
    tensors = load_file(latest_checkpoint(run_dir) / "model.safetensors")
    ema = {k.removeprefix("ema.generator."): v for k, v in tensors.items() if k.startswith("ema.generator.")}
    live = {k.removeprefix("recipe.generators.generator."): v for k, v in tensors.items()
            if k.startswith("recipe.generators.generator.")}
    assert ema and ema.keys() == live.keys()
    assert any(not torch.equal(ema[k], live[k]) for k in ema), "EMA should differ from the live weights"

    generator = load_pretrained(exported)
    assert not generator.training
    assert all(not m.training for m in generator.modules())
    state = generator.state_dict()
    assert state.keys() == ema.keys()
    for key in ema:
        assert torch.equal(state[key], ema[key]), key
    # the file itself holds exactly those tensors
    assert load_file(exported / "model.safetensors").keys() == ema.keys()
    assert generator.source.kind == "directory"
    assert generator.pretrained_config["architecture"] == "mlp"


def test_load_straight_from_the_run(run_dir, exported):
    from_run = load_pretrained(run_dir)
    from_dir = load_pretrained(exported)
    assert from_run.source.kind == "run"
    for key, value in from_dir.state_dict().items():
        assert torch.equal(from_run.state_dict()[key], value)
    live = load_pretrained(run_dir, use_ema=False).state_dict()
    tensors = load_file(latest_checkpoint(run_dir) / "model.safetensors")
    for key, value in live.items():
        assert torch.equal(value, tensors[f"recipe.generators.generator.{key}"])


def test_export_without_ema(run_dir, tmp_path):
    out = export_run(run_dir, tmp_path / "live", use_ema=False)
    tensors = load_file(latest_checkpoint(run_dir) / "model.safetensors")
    for key, value in load_file(out / "model.safetensors").items():
        assert torch.equal(value, tensors[f"recipe.generators.generator.{key}"])


def test_generate_is_seeded(exported):
    generator = load_pretrained(exported)
    a, b = generator.generate(16, seed=3), generator.generate(16, seed=3)
    c = generator.generate(16, seed=4)
    assert a.shape == (16, 1, 28, 28)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert a.min() >= -1 and a.max() <= 1
    assert not generator.training, "generate must not leave the generator in training mode"
    # the same seed gives the same images after a fresh load too
    assert torch.equal(load_pretrained(exported).generate(16, seed=3), a)


def test_bundled_mlp_mnist_loads():
    entry = get_zoo().pretrained.get("mlp-mnist")
    assert entry.architecture == "mlp"
    generator = load_pretrained("mlp-mnist")
    assert generator.source.kind == "bundled"
    assert not generator.training
    images = generator.generate(8, seed=0)
    assert images.shape == (8, 1, 28, 28)
    assert torch.isfinite(images).all() and images.min() >= -1 and images.max() <= 1
    assert torch.equal(generator.generate(8, seed=0), images)


BUNDLED = sorted(e.name for e in get_zoo().pretrained if e.bundled is not None)


def test_the_zoo_bundles_its_models():
    assert {"mlp-mnist", "dcgan-mnist", "cgan-mnist", "dcgan-celeba"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_model_is_registered_small_and_samples(name, tmp_path):
    entry = get_zoo().pretrained.get(name)
    size = sum(f.stat().st_size for f in entry.path.iterdir())
    assert size < 16 * 2**20, f"{name} is {size} bytes; bundled models stay under 16 MB"
    assert {"config.json", "model.safetensors", "README.md", "samples.png"} <= {
        f.name for f in entry.path.iterdir()}
    generator = load_pretrained(name)
    if generator.latent_dim is None:  # image to image: translate a photo-like input
        from ganzoo.images import read_image

        source = read_image(entry.path / "samples.png")[None, :, :48, :48]
        images = generator.translate(source).float() / 127.5 - 1
        assert images.shape[:2] == source.shape[:2] and images.shape[-1] % source.shape[-1] == 0
    else:
        labels = None if generator.num_classes is None else torch.arange(4) % generator.num_classes
        images = generator.generate(4, seed=1, labels=labels)
        assert images.shape == (4, *generator.image_shape)
    assert torch.isfinite(images).all() and images.min() >= -1 and images.max() <= 1
    assert images.std() > 0.05  # not a collapsed constant image
    card = (entry.path / "README.md").read_text()
    assert card.startswith("---\n") and metadata_load(entry.path / "README.md")["library_name"] == "ganzoo"
    # The card is what config.json renders to (figures recorded with `ganzoo eval --record`),
    # compared as metadata and body: YAML key order differs between huggingface_hub versions.
    rendered = tmp_path / "README.md"
    rendered.write_text(render_card(name, json.loads((entry.path / "config.json").read_text())))
    assert metadata_load(rendered) == metadata_load(entry.path / "README.md")
    assert rendered.read_text().split("\n---\n", 1)[1] == card.split("\n---\n", 1)[1]
    if "celeba" in name:  # the CelebA terms require every card of a model trained on it to say so
        assert "non-commercial research" in card


def test_unknown_pretrained_name():
    with pytest.raises(GanzooError, match="did you mean 'mlp-mnist'"):
        load_pretrained("mlp-mnsit")


def test_export_carries_dataset_terms_and_notes_into_the_card(run_dir, tmp_path):
    out = export_run(run_dir, tmp_path / "carded", notes="Trained for 40 steps only.",
                     dataset={"name": "celeba64", "license_note": "non-commercial research only"})
    config = json.loads((out / "config.json").read_text())
    assert config["notes"] == "Trained for 40 steps only."
    assert config["dataset"]["name"] == "celeba64"
    assert config["dataset"]["license_note"] == "non-commercial research only"
    card = (out / "README.md").read_text()
    assert "Dataset terms: non-commercial research only." in card
    assert "## Notes" in card and "Trained for 40 steps only." in card


def test_export_refuses_a_non_empty_directory(run_dir, exported, tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    for name, data in snapshot(exported).items():
        (target / name).write_bytes(data)
    (target / "mine.txt").write_text("keep me")
    before = snapshot(target)
    with pytest.raises(ArtifactError, match="not empty.*--overwrite"):
        export_run(run_dir, target)
    assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"], "no temporary directory left"


def test_export_overwrite_replaces(run_dir, exported, tmp_path):
    """--overwrite replaces a pretrained directory whole (what else it may replace: test_hostile_runs)."""
    target = tmp_path / "taken"
    target.mkdir()
    (target / "config.json").write_text("{}")
    (target / "mine.txt").write_text("old")
    (target / "model.safetensors").write_bytes(b"old weights")
    out = export_run(run_dir, target, overwrite=True)
    assert out == target
    assert sorted(p.name for p in target.iterdir()) == FILES
    assert (target / "model.safetensors").read_bytes() == (exported / "model.safetensors").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"], "old or temporary dirs left"


def test_export_into_an_empty_directory(run_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    export_run(run_dir, tmp_path / "empty")
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == FILES


def test_export_of_a_run_without_checkpoint(mnist_dir, tmp_path):
    run = tmp_path / "run"
    start_run("mlp", mnist_dir, run, progress=False, settings={"steps": 1})
    with pytest.raises(ArtifactError, match="no checkpoint yet"):
        export_run(run, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- broken directories, through the real command line --------------------------------------------


def _garbage(model: Path) -> str:
    (model / "model.safetensors").write_bytes(b"\x00\x01garbage, not safetensors" * 40)
    return "model.safetensors"


def _truncated(model: Path) -> str:
    path = model / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return "model.safetensors"


def _unknown_architecture(model: Path) -> str:
    config = json.loads((model / "config.json").read_text())
    config["architecture"] = "nonexistent-arch"
    (model / "config.json").write_text(json.dumps(config))
    return "nonexistent-arch"


def _invalid_json(model: Path) -> str:
    (model / "config.json").write_text('{"architecture": "mlp", "config": {')
    return "config.json"


def _wrong_shapes(model: Path) -> str:
    config = json.loads((model / "config.json").read_text())
    config["config"]["g_hidden"] = 64  # the weights have 32
    (model / "config.json").write_text(json.dumps(config))
    return "shape"


def _missing_weights(model: Path) -> str:
    (model / "model.safetensors").unlink()
    return "model.safetensors"


def _missing_tensor(model: Path) -> str:
    tensors = load_file(model / "model.safetensors")
    tensors.pop(sorted(tensors)[0])
    save_file(tensors, model / "model.safetensors")
    return "missing"


def _bad_config_value(model: Path) -> str:
    config = json.loads((model / "config.json").read_text())
    config["config"]["g_hidden"] = 0
    (model / "config.json").write_text(json.dumps(config))
    return "g_hidden"


# config.json that is valid JSON of the wrong shape must be an ArtifactError, not a TypeError.


def _config_not_an_object(model: Path) -> str:
    (model / "config.json").write_text("5")
    return "config.json"


def _config_section_not_an_object(model: Path) -> str:
    config = json.loads((model / "config.json").read_text())
    config["config"] = [1]
    (model / "config.json").write_text(json.dumps(config))
    return "config.json"


def _fractional_size(model: Path) -> str:
    config = json.loads((model / "config.json").read_text())
    config["config"]["g_hidden"] = 32.5
    (model / "config.json").write_text(json.dumps(config))
    return "g_hidden"


BREAKAGES = [_garbage, _truncated, _unknown_architecture, _invalid_json, _wrong_shapes,
             _missing_weights, _missing_tensor, _bad_config_value,
             _config_not_an_object, _config_section_not_an_object, _fractional_size]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda f: f.__name__.strip("_"))
def test_broken_model_in_process_raises_artifact_error(broken, breakage):
    expected = breakage(broken)
    with pytest.raises(ArtifactError) as info:
        load_pretrained(broken)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


CLI_BREAKAGES = [_truncated, _unknown_architecture, _invalid_json, _wrong_shapes, _missing_weights]


@pytest.mark.parametrize("breakage", CLI_BREAKAGES, ids=lambda f: f.__name__.strip("_"))
def test_broken_model_on_the_command_line(ganzoo, one_line_error, broken, breakage, tmp_path):
    expected = breakage(broken)
    out = tmp_path / "out.png"
    earlier = breakage is not _missing_weights  # one case checks that no file appears at all
    if earlier:
        out.write_bytes(b"an earlier grid")
    line = one_line_error(ganzoo("sample", str(broken), "-o", "out.png", cwd=tmp_path))
    assert expected in line
    if breakage is _unknown_architecture:
        assert "install" in line
    if earlier:
        assert out.read_bytes() == b"an earlier grid", "the existing output was overwritten"
    else:
        assert not out.exists()
    expected_files = ["model", "out.png"] if earlier else ["model"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected_files, "stray files"


def test_sample_from_exported_directory_on_the_command_line(ganzoo, exported, tmp_path):
    result = ganzoo("sample", str(exported), "-n", "6", "--nrow", "3", "-o", "grid.png", "--seed", "1",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from ganzoo.images import make_grid

    expected = make_grid(load_pretrained(exported).generate(6, seed=1), nrow=3)
    with Image.open(tmp_path / "grid.png") as image:
        assert image.size == (3 * 30 + 2, 2 * 30 + 2)
        assert np.array_equal(np.asarray(image), np.asarray(expected))
