"""Fine-tuning: ``export --with-discriminator`` keeps D beside G (older readers load G as before),
``train --init-from`` starts a new run from a run, a pretrained directory or a registered name
(G, and D where present), FreezeD keeps the first D blocks frozen, and misfits are one line."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from ganzoo.engine import resume_run, start_run
from ganzoo.engine.finetune import discriminator_blocks
from ganzoo.errors import GanzooError
from ganzoo.hub import export_run, load_pretrained

TINY = {"g_width": 4, "d_width": 4, "latent_dim": 8, "image_size": 32, "batch_size": 8, "steps": 4,
        "checkpoint_every": 2, "sample_every": 100}


@pytest.fixture(scope="module")
def source(tmp_path_factory, mnist_dir):
    root = tmp_path_factory.mktemp("finetune")
    start_run("dcgan", mnist_dir, root / "run", settings=TINY, progress=False).fit()
    export_run(root / "run", root / "model", with_discriminator=True, use_ema=False)
    return root


def _state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_export_with_discriminator_keeps_the_generator_loadable(source):
    model = source / "model"
    config = json.loads((model / "config.json").read_text())
    assert config["discriminator"] == "discriminator.safetensors"
    d = load_file(model / "discriminator.safetensors")
    assert all(k.startswith("discriminator.") for k in d)
    assert load_pretrained(model).latent_dim == 8  # the generator loads as it always did


@pytest.mark.parametrize("kind", ["model", "run"])
def test_init_from_copies_g_and_d_and_the_config(source, tmp_path, mnist_dir, kind):
    trainer = start_run("dcgan", mnist_dir, tmp_path / "tuned", progress=False,
                        settings={"init_from": str(source / kind), "steps": 2, "batch_size": 8})
    assert trainer.recipe.generator.latent_dim == 8  # the source's config, not DCGAN's defaults
    expected = load_file(source / "model" / "discriminator.safetensors")
    got = trainer.recipe.discriminators.state_dict()
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    g = load_file(source / "model" / "model.safetensors")
    if kind == "model":
        assert all(torch.equal(trainer.recipe.generator.state_dict()[k], g[k]) for k in g)
    trainer.fit()


def test_freeze_d_keeps_the_first_blocks_and_survives_a_resume(source, tmp_path, mnist_dir):
    run = tmp_path / "frozen"
    trainer = start_run("dcgan", mnist_dir, run, progress=False,
                        settings={"init_from": str(source / "model"), "freeze_d": 2, "steps": 2, "batch_size": 8,
                                  "checkpoint_every": 2})
    d = trainer.recipe.discriminator
    blocks = discriminator_blocks(d)
    assert len(blocks) == 4  # conv1, conv2+BN, conv3+BN (32x32: three stages), head
    frozen = [p for block in blocks[:2] for m in block for p in m.parameters(recurse=False)]
    before = [p.clone() for p in frozen]
    later = [p.clone() for m in blocks[2] for p in m.parameters(recurse=False)]
    trainer.fit()
    assert all(torch.equal(a, b) for a, b in zip(before, frozen))
    assert not all(torch.equal(a, b) for a, b in zip(later, [p for m in blocks[2] for p in m.parameters(recurse=False)]))
    resumed = resume_run(run, steps=4, progress=False)
    assert not any(p.requires_grad for block in discriminator_blocks(resumed.recipe.discriminator)[:2]
                   for m in block for p in m.parameters(recurse=False))
    resumed.fit()


def test_misfits_are_one_line(source, tmp_path, mnist_dir, ganzoo, one_line_error):
    with pytest.raises(GanzooError, match="does not fit the networks built from the run's settings.*is \\[8, 16, 4, 4\\]"):
        start_run("dcgan", mnist_dir, tmp_path / "a", progress=False,
                  settings={"init_from": str(source / "model"), "g_width": 8, "batch_size": 8})
    with pytest.raises(GanzooError, match="freeze_d=4 would freeze all 4 blocks"):
        start_run("dcgan", mnist_dir, tmp_path / "b", progress=False,
                  settings={"init_from": str(source / "model"), "freeze_d": 4, "batch_size": 8})
    line = one_line_error(ganzoo("train", "mlp", "--data", mnist_dir, "-o", "c", "--init-from", source / "model"))
    assert "is a 'dcgan' model; train dcgan to fine-tune it" in line
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
