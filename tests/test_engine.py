"""Losses, EMA and the Trainer end to end on real MNIST with a tiny MLP GAN."""

from __future__ import annotations

import json
import math
import time
import re
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn

from ganzoo.engine import TrainConfig, start_run
from ganzoo.engine.checkpoint import list_checkpoints
from ganzoo.engine.ema import EMA
from ganzoo.engine.lock import LOCK_FILE
from ganzoo.errors import DataError, GanzooError
from ganzoo.losses import (
    HingeLoss,
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    WassersteinLoss,
)
from ganzoo.plugins import get_zoo

TINY = {"g_hidden": 32, "d_hidden": 32, "latent_dim": 16, "batch_size": 32}
LOSSES = [NonSaturatingLoss, MinimaxLoss, WassersteinLoss, HingeLoss, LeastSquaresLoss]


def start_tiny(mnist: Path, run_dir: Path, **settings):
    return start_run("mlp", mnist, run_dir, settings={**TINY, **settings}, progress=False)


@pytest.fixture
def tiny_run(mnist_dir):
    """``tiny_run(run_dir, **settings)``: a Trainer for a new tiny MLP run on MNIST."""
    return lambda run_dir, **settings: start_tiny(mnist_dir, run_dir, **settings)


def generator_weights(trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.recipe.generators.state_dict().items()}


def read_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


# -- losses ---------------------------------------------------------------------------------------


def test_core_losses_are_registered():
    names = get_zoo().losses.names()
    for cls in LOSSES:
        assert cls.name in names
        assert get_zoo().losses.get(cls.name).load() is cls


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.name)
def test_d_loss_rewards_a_discriminator_that_separates(cls):
    loss = cls()
    # "real" and "fake" outputs of a confident discriminator (LSGAN regresses to 1 and 0)
    hi, lo = (1.0, 0.0) if cls is LeastSquaresLoss else (4.0, -4.0)
    full = lambda v: torch.full((16,), v)  # noqa: E731
    good = loss.d_loss(full(hi), full(lo))
    bad = loss.d_loss(full(lo), full(hi))
    unsure = loss.d_loss(full((hi + lo) / 2), full((hi + lo) / 2))
    assert good < unsure < bad
    # and the generator is happier when D believes its fakes
    assert loss.g_loss(full(hi)) < loss.g_loss(full(lo))
    for value in (good, bad, unsure):
        assert value.dim() == 0 and value.dtype == torch.float32


def test_bce_values():
    loss = NonSaturatingLoss()
    zero = torch.zeros(8)
    assert loss.d_loss(zero, zero).item() == pytest.approx(2 * math.log(2), rel=1e-6)
    assert loss.g_loss(zero).item() == pytest.approx(math.log(2), rel=1e-6)
    # non-saturating: the generator term still has a strong gradient when D rejects fakes
    logits = torch.full((8,), -6.0, requires_grad=True)
    loss.g_loss(logits).backward()
    assert logits.grad.abs().sum() > 0.9
    # the minimax term saturates there
    logits = torch.full((8,), -6.0, requires_grad=True)
    MinimaxLoss().g_loss(logits).backward()
    assert logits.grad.abs().sum() < 0.05


@pytest.mark.parametrize("cls", [NonSaturatingLoss, LeastSquaresLoss], ids=lambda c: c.name)
def test_label_smoothing_changes_d_loss_only_through_real_targets(cls):
    real, fake = torch.full((8,), 3.0), torch.full((8,), -3.0)
    plain, smooth = cls(), cls(label_smoothing=0.1)
    assert smooth.d_loss(real, fake) != plain.d_loss(real, fake)
    # one-sided: with confident real logits, smoothing makes D's loss larger
    assert smooth.d_loss(real, fake) > plain.d_loss(real, fake)
    # the generator loss is not smoothed
    assert torch.equal(smooth.g_loss(fake), plain.g_loss(fake))


@pytest.mark.parametrize("value", [-0.1, 0.5, 1.0])
def test_label_smoothing_out_of_range(value):
    with pytest.raises(GanzooError, match="label smoothing"):
        NonSaturatingLoss(label_smoothing=value)


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.name)
def test_losses_finite_in_float32_under_bf16_autocast(cls):
    torch.manual_seed(0)
    layer = nn.Linear(32, 1)
    x_real, x_fake = torch.randn(64, 32) * 30, torch.randn(64, 32) * 30  # large logits
    loss = cls(label_smoothing=0.1) if cls is not WassersteinLoss else cls()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        real, fake = layer(x_real).squeeze(1), layer(x_fake).squeeze(1)
        assert real.dtype == torch.bfloat16
        d, g = loss.d_loss(real, fake), loss.g_loss(fake)
    assert d.dtype == torch.float32 and g.dtype == torch.float32
    assert torch.isfinite(d) and torch.isfinite(g)
    (d + g).backward()
    assert torch.isfinite(layer.weight.grad).all()


# -- EMA ------------------------------------------------------------------------------------------


def test_ema_matches_hand_computed_lerp():
    torch.manual_seed(0)
    live = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    decay = 0.7  # the warm-up (1 + n) / (10 + n) reaches 0.7 at the 21st update
    ema = EMA(live, decay)
    assert not ema.module.training
    assert all(not p.requires_grad for p in ema.module.parameters())
    expected = {k: v.clone() for k, v in live.state_dict().items()}
    for update in range(1, 31):
        with torch.no_grad():
            for p in live.parameters():
                p.add_(torch.randn_like(p))
            live[1].running_mean.add_(1.0)  # a buffer: copied, not averaged
        ema.update()
        d = min(decay, (1 + update) / (10 + update))  # warm-up, then the configured decay
        for name, value in live.state_dict().items():
            if "running" in name or "num_batches" in name:
                expected[name] = value.clone()
            else:
                expected[name] = d * expected[name] + (1 - d) * value
        got = ema.module.state_dict()
        for name in expected:
            torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)
    assert ema.updates == 30


def test_ema_does_not_share_storage_with_live():
    live = nn.Linear(3, 3)
    ema = EMA(live, 0.5)
    with torch.no_grad():
        live.weight.fill_(7.0)
    assert not torch.equal(ema.module.weight, live.weight)


# -- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [{"steps": 0}, {"batch_size": 0}, {"lr_g": 0}, {"betas": (0.5, 1.0)},
                                 {"d_steps": 0}, {"ema": 1.0}, {"precision": "fp8"}, {"log_every": 0},
                                 {"keep_checkpoints": 0}, {"eval_every": 0}, {"eval_n": 1},
                                 {"lr_decay_steps": -1}, {"steps": 5, "lr_decay_steps": 6}])
def test_train_config_rejects_bad_values(bad):
    with pytest.raises(GanzooError, match="bad training setting"):
        TrainConfig(**bad)


# -- a whole run ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, mnist_dir):
    run_dir = tmp_path_factory.mktemp("engine") / "run"
    trainer = start_tiny(mnist_dir, run_dir, steps=30, log_every=10, sample_every=15, checkpoint_every=10)
    summary = trainer.fit()
    return run_dir, trainer, summary


def test_run_writes_log_with_finite_losses(finished_run):
    run_dir, _, _ = finished_run
    records = read_log(run_dir)
    assert [r["step"] for r in records] == [10, 20, 30]
    for record in records:
        for key in ("d_loss", "g_loss", "d_real_logit", "d_fake_logit"):
            assert math.isfinite(record[key]), record
        assert record["images_per_s"] > 0
    times = [r["time"] for r in records]  # wall-clock Unix seconds in every record
    assert times == sorted(times) and abs(times[-1] - time.time()) < 3600


def test_run_writes_samples_and_loss_curve(finished_run):
    run_dir, trainer, _ = finished_run
    samples = sorted(p.name for p in (run_dir / "samples").iterdir())
    assert samples == ["step_00000015.png", "step_00000030.png"]
    with Image.open(run_dir / "samples" / "step_00000030.png") as image:
        image.load()
        # 64 previews of 28x28 in an 8x8 grid with 2-pixel padding
        assert image.size == (8 * 30 + 2, 8 * 30 + 2)
        assert image.mode == "L"
    with Image.open(run_dir / "loss_curve.png") as image:
        image.load()
        assert image.format == "PNG"
    assert not [p for p in run_dir.rglob(".*") if p.name != LOCK_FILE], "temporary files left behind"


def test_run_keeps_only_the_newest_checkpoints(finished_run):
    run_dir, trainer, _ = finished_run
    assert trainer.config.keep_checkpoints == 2
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == ["step_00000020", "step_00000030"]
    assert [s for s, _ in list_checkpoints(run_dir)] == [20, 30]
    tensors = load_file(run_dir / "checkpoints" / "step_00000030" / "model.safetensors")
    assert any(k.startswith("recipe.generators.") for k in tensors)
    assert any(k.startswith("recipe.discriminators.") for k in tensors)
    assert any(k.startswith("ema.") for k in tensors)
    for key, value in trainer.recipe.state_dict().items():
        assert torch.equal(tensors[f"recipe.{key}"], value), key
    state = torch.load(run_dir / "checkpoints" / "step_00000030" / "trainer.pt", weights_only=True)
    assert state["step"] == 30
    assert state["batches"] == trainer.batches.state_dict()


def test_run_json_and_summary(finished_run, mnist_dir):
    run_dir, _, summary = finished_run
    record = json.loads((run_dir / "run.json").read_text())
    assert record["architecture"] == "mlp"
    assert record["model_config"]["g_hidden"] == 32
    assert record["model_config"]["image_size"] == 28 and record["model_config"]["channels"] == 1
    assert record["train_config"]["steps"] == 30
    assert record["train_config"]["batch_size"] == 32
    assert record["data"]["dataset"] == "mnist"
    assert Path(record["data"]["path"]) == mnist_dir.resolve()
    assert summary["steps"] == 30
    assert summary["images_seen"] == 30 * 32
    assert summary["precision"] == "fp32"


def test_same_seed_is_bit_identical_other_seed_differs(tiny_run, tmp_path):
    weights = []
    for i, seed in enumerate([0, 0, 1]):
        trainer = tiny_run(tmp_path / f"r{i}", steps=8, seed=seed, sample_every=1000, checkpoint_every=1000)
        trainer.fit()
        weights.append(generator_weights(trainer))
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key
    assert any(not torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cpu(tiny_run, tmp_path, precision):
    trainer = tiny_run(tmp_path / "run", steps=6, log_every=2, precision=precision,
                       sample_every=1000, checkpoint_every=1000)
    before = generator_weights(trainer)
    trainer.fit()
    records = read_log(tmp_path / "run")
    assert [r["step"] for r in records] == [2, 4, 6]
    assert all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in records)
    after = generator_weights(trainer)
    assert all(torch.isfinite(v).all() for v in after.values())
    assert all(v.dtype == torch.float32 for v in after.values()), "weights stay fp32 under autocast"
    assert any(not torch.equal(before[k], after[k]) for k in before), "the generator did not train"
    assert trainer.precision.scaler.is_enabled() == (precision == "fp16")


def test_two_discriminator_steps(tiny_run, tmp_path):
    trainer = tiny_run(tmp_path / "run", steps=5, d_steps=2, log_every=5,
                       sample_every=1000, checkpoint_every=1000)
    summary = trainer.fit()
    assert summary["images_seen"] == 5 * 32 * 2
    # 10 batches of 32 drawn from the sampler: 2 per generator step
    assert trainer.batches.state_dict() == {"epoch": 0, "position": 10 * 32}
    (record,) = read_log(tmp_path / "run")
    assert math.isfinite(record["d_loss"]) and math.isfinite(record["g_loss"])


def test_discriminator_learns_to_separate_real_from_generated(tiny_run, tmp_path):
    trainer = tiny_run(tmp_path / "run", steps=1, sample_every=1000, checkpoint_every=1000,
                       lr_d=1e-3, d_hidden=64)
    recipe = trainer.recipe
    for _ in range(40):  # discriminator steps only
        batch = trainer.data.batch(trainer.batches.next(), trainer.device)
        out = recipe.discriminator_loss(batch)
        trainer.precision.step(out["loss"], trainer.opt_d)
    with torch.no_grad():
        batch = trainer.data.batch(trainer.batches.next(), trainer.device)
        real = recipe.discriminator(batch["image"])
        fake = recipe.discriminator(recipe.generator.generate(len(real), seed=123))
    assert real.mean() > fake.mean() + 1.0
    assert (real > fake.median()).float().mean() > 0.9


# -- refusing bad runs ----------------------------------------------------------------------------


def test_start_run_refuses_non_empty_directory(tiny_run, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(GanzooError, match="not empty"):
        tiny_run(tmp_path / "run", steps=1)
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["notes.txt"]


def test_start_run_refuses_existing_run(tiny_run, tmp_path):
    tiny_run(tmp_path / "run", steps=1)
    before = (tmp_path / "run" / "run.json").read_bytes()
    with pytest.raises(GanzooError, match="--resume"):
        tiny_run(tmp_path / "run", steps=1)
    assert (tmp_path / "run" / "run.json").read_bytes() == before


def test_start_run_into_empty_existing_directory_is_fine(tiny_run, tmp_path):
    (tmp_path / "run").mkdir()
    tiny_run(tmp_path / "run", steps=1)
    assert (tmp_path / "run" / "run.json").is_file()


def test_unknown_setting_suggests_a_name(tiny_run, tmp_path):
    with pytest.raises(GanzooError, match="unknown setting 'g_hiden'.*did you mean 'g_hidden'"):
        tiny_run(tmp_path / "run", g_hiden=64)
    with pytest.raises(GanzooError, match="did you mean 'label_smoothing'"):
        tiny_run(tmp_path / "run", label_smothing=0.1)
    assert not (tmp_path / "run").exists(), "a refused run must not leave a directory"


def test_unknown_loss(tiny_run, tmp_path):
    with pytest.raises(GanzooError, match="unknown loss 'hinje'.*did you mean 'hinge'"):
        tiny_run(tmp_path / "run", loss="hinje")


@pytest.mark.parametrize("setting", [{"lr_g": "abc"}, {"betas": 5}, {"ema": None},
                                     {"g_hidden": 32.5}, {"steps": 2.5}])
def test_wrongly_typed_settings_are_refused_cleanly(tiny_run, tmp_path, setting):
    # values of the wrong type (as `--set lr_g=abc` gives) are one-line errors naming the setting
    key = next(iter(setting))
    with pytest.raises(GanzooError, match=key):
        tiny_run(tmp_path / "run", **setting)


def test_image_size_setting_reads_the_data_at_that_size(tiny_run, tmp_path):
    trainer = tiny_run(tmp_path / "run", image_size=32)  # MNIST padded 28 -> 32
    assert trainer.recipe.generator.image_shape == (1, 32, 32)
    assert trainer.data.image_shape == (1, 32, 32)


@pytest.mark.parametrize("setting", [{"channels": 3}, {"num_classes": 10}])
def test_model_settings_that_contradict_the_data(tiny_run, tmp_path, setting):
    key = next(iter(setting))
    expected = DataError if key != "num_classes" else GanzooError  # mlp has no num_classes
    with pytest.raises(expected, match=key):
        tiny_run(tmp_path / "run", **setting)
    assert not (tmp_path / "run").exists()


# -- metrics during training ----------------------------------------------------------------------


def test_chosen_metrics_are_logged_every_k_steps(tiny_run, tmp_path):
    trainer = tiny_run(tmp_path / "run", steps=6, log_every=3, sample_every=1000, checkpoint_every=1000,
                       eval_metrics="swd,classifier-score", eval_every=4, eval_n=64)
    trainer.fit()
    evaluations = [r for r in read_log(tmp_path / "run") if "eval_swd" in r]
    assert [r["step"] for r in evaluations] == [0, 4, 6]  # the baseline, every 4 steps, the end
    for record in evaluations:
        assert record["eval_swd"] > 0 and 1 <= record["eval_classifier-score"] <= 10
        assert record["eval_seconds"] >= 0
    assert evaluations[0]["eval_swd"] != evaluations[-1]["eval_swd"]  # the generator changed
    # The same generator gives the same figures: the samples and the real subset are seeded.
    assert trainer.evaluate()["eval_swd"] == evaluations[-1]["eval_swd"]
    losses = [r for r in read_log(tmp_path / "run") if "g_loss" in r]
    assert [r["step"] for r in losses] == [3, 6]


@pytest.mark.parametrize("settings, message", [
    ({"eval_metrics": "swdd"}, "unknown metric 'swdd'; did you mean 'swd'?"),
    ({"eval_metrics": "tstr"}, "tstr needs a class-conditional model"),
    ({"eval_metrics": "sr"}, "sr measures image-to-image models, and this generator samples from noise"),
])
def test_bad_training_metrics_fail_before_training(tiny_run, tmp_path, settings, message):
    with pytest.raises(GanzooError, match=re.escape(message)):
        tiny_run(tmp_path / "run", steps=2, **settings)


def test_learning_rates_decay_linearly_over_the_last_steps(tiny_run, tmp_path):
    trainer = tiny_run(tmp_path / "run", steps=6, lr_decay_steps=3, lr_g=1e-3, lr_d=4e-3,
                       sample_every=1000, checkpoint_every=1000)
    seen = []
    for _ in range(6):
        trainer.train_step()
        seen.append((trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]))
    factors = [1, 1, 1, 0.75, 0.5, 0.25]
    assert seen == [pytest.approx((1e-3 * f, 4e-3 * f)) for f in factors]
    constant = tiny_run(tmp_path / "constant", steps=3, lr_g=1e-3, sample_every=1000, checkpoint_every=1000)
    constant.train_step()
    assert constant.opt_g.param_groups[0]["lr"] == 1e-3 and constant.lr_factor(2) == 1.0
