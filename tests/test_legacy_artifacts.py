"""Runs and pretrained directories written before the plugin-API refactor (tests/fixtures/legacy,
written by commit dbf5981) still load, resume and export; the checkpoint key layout lives in
ganzoo.engine.checkpoint and follows the recipe's export_name."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine import resume_run
from ganzoo.hub import export_run, load_pretrained

LEGACY = Path(__file__).parent / "fixtures" / "legacy"


def test_a_legacy_pretrained_directory_and_run_give_the_same_generator(tmp_path):
    run = shutil.copytree(LEGACY / "mlp-run", tmp_path / "run")
    from_dir = load_pretrained(LEGACY / "mlp-pretrained")
    from_run = load_pretrained(run)
    assert from_dir.image_shape == (1, 28, 28) and from_dir.latent_dim == 4
    for (name, a), (_, b) in zip(from_dir.state_dict().items(), from_run.state_dict().items()):
        assert torch.equal(a, b), name
    assert torch.equal(from_dir.generate(3, seed=0), from_run.generate(3, seed=0))


def test_a_legacy_run_resumes_and_exports(tmp_path, mnist_dir):
    run = shutil.copytree(LEGACY / "mlp-run", tmp_path / "run")
    trainer = resume_run(run, steps=3, data=mnist_dir, progress=False)
    assert trainer.step == 2
    trainer.fit()
    assert [step for step, _ in ckpt.list_checkpoints(run)] == [2, 3]
    state = ckpt.load_checkpoint_state(run / "checkpoints" / "step_00000003")
    assert ckpt.export_name(state) == "generator"
    exported = export_run(run, tmp_path / "exported")
    images = load_pretrained(exported).generate(2, seed=0)
    assert images.shape == (2, 1, 28, 28)
    legacy = load_pretrained(LEGACY / "mlp-pretrained").generate(2, seed=0)
    assert not torch.equal(images, legacy)  # one more step trained


def test_generator_weights_follow_the_export_name_and_the_ema():
    w = torch.ones(2)
    tensors = ckpt.pack_weights({"generators.pair.w": w, "discriminators.d.w": w * 2},
                                {"pair.w": w * 3})
    assert set(tensors) == {"recipe.generators.pair.w", "recipe.discriminators.d.w", "ema.pair.w"}
    assert torch.equal(ckpt.generator_weights(tensors, "pair")["w"], w * 3)
    assert torch.equal(ckpt.generator_weights(tensors, "pair", use_ema=False)["w"], w)
    assert ckpt.generator_weights(tensors, "generator") == {}
    no_ema = ckpt.pack_weights({"generators.pair.w": w}, None)
    assert torch.equal(ckpt.generator_weights(no_ema, "pair")["w"], w)
    assert ckpt.export_name({}) == "generator" and ckpt.export_name({"export_name": "pair"}) == "pair"
