"""Every adversarial loss trains a real (tiny) DCGAN on real MNIST; loss-specific training
defaults; the WGAN-GP and R1 penalties (exact, and exact under bf16 autocast); R1 and DiffAugment
options end to end."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.engine import start_run
from ganzoo.errors import GanzooError
from ganzoo.losses import (
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    RelativisticAverageLoss,
    gradient_penalty,
    r1_penalty,
)
from ganzoo.plugins import get_zoo

LOSS_NAMES = ["bce", "minimax", "wgan", "wgan-gp", "hinge", "lsgan", "ragan"]
TINY_DCGAN = {"image_size": 32, "g_width": 8, "d_width": 8, "latent_dim": 16, "batch_size": 16}
SUBSET = 2048
"""MNIST training images in the small real subset the runs here train on."""


@pytest.fixture(scope="module")
def mnist_subset(tmp_path_factory, write_mnist_subset) -> Path:
    """The first ``SUBSET`` real MNIST training digits (and labels) as an MNIST directory."""
    return write_mnist_subset(tmp_path_factory.mktemp("mnist-subset"), SUBSET)


@pytest.fixture
def dcgan_run(mnist_subset, tmp_path):
    """``dcgan_run(**settings)``: a Trainer for a new tiny 32x32 DCGAN run on the MNIST subset."""
    counter = iter(range(1000))

    def make(**settings):
        run_dir = tmp_path / f"run{next(counter)}"
        trainer = start_run("dcgan", mnist_subset, run_dir, settings={**TINY_DCGAN, **settings},
                            progress=False)
        return trainer, run_dir

    return make


def read_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def generator_parameters(trainer) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in trainer.recipe.generators.named_parameters()}


def assert_all_finite(records: list[dict]) -> None:
    assert records, "nothing was logged"
    for record in records:
        for key, value in record.items():
            assert isinstance(value, (int, float)) and math.isfinite(value), (key, record)


def run_steps(trainer, run_dir: Path) -> list[dict]:
    trainer.fit()
    return read_log(run_dir)


# -- every loss trains a DCGAN on real data -------------------------------------------------------


def test_every_listed_loss_is_registered():
    assert set(LOSS_NAMES) <= set(get_zoo().losses.names())


@pytest.mark.slow
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_trains_dcgan_on_mnist(dcgan_run, name):
    d_steps = get_zoo().losses.get(name).load().training_defaults.get("d_steps", 1)
    steps = -(-200 // d_steps)  # >= 200 discriminator steps: 200 generator steps, or 40 with 5 D steps
    log_every = steps // 4
    trainer, run_dir = dcgan_run(loss=name, steps=steps, log_every=log_every,
                                 sample_every=steps, checkpoint_every=steps)
    assert trainer.config.d_steps == d_steps
    before = generator_parameters(trainer)
    summary = trainer.fit()
    assert summary["steps"] * summary["d_steps"] >= 200
    records = read_log(run_dir)
    assert [r["step"] for r in records] == [log_every * i for i in range(1, 5)]
    assert_all_finite(records)
    for record in records:
        assert {"d_loss", "g_loss", "d_real_logit", "d_fake_logit"} <= set(record)
        assert ("d_gp" in record) == (name == "wgan-gp")
        assert "d_r1" not in record
    after = generator_parameters(trainer)
    assert all(torch.isfinite(p).all() for p in after.values())
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert not unchanged, f"generator parameters that did not train: {unchanged}"
    if name == "wgan":
        for p in trainer.recipe.discriminators.parameters():
            assert p.abs().max() <= 0.01 + 1e-9


# -- loss-specific training defaults --------------------------------------------------------------


def test_wgan_defaults_and_clipping(dcgan_run):
    trainer, run_dir = dcgan_run(loss="wgan", steps=2, log_every=1, sample_every=100,
                                 checkpoint_every=100)
    cfg = trainer.config
    assert cfg.optimizer == "rmsprop" and cfg.weight_clip == 0.01 and cfg.d_steps == 5
    assert cfg.lr_g == 5e-5 and cfg.lr_d == 5e-5
    assert isinstance(trainer.opt_d, torch.optim.RMSprop) and isinstance(trainer.opt_g, torch.optim.RMSprop)
    assert trainer.opt_d.param_groups[0]["lr"] == 5e-5 and trainer.opt_g.param_groups[0]["lr"] == 5e-5
    assert trainer.recipe.options.gp_weight == 0
    # DCGAN's initialisation puts BatchNorm weights near 1 and conv weights beyond 0.01
    assert max(p.abs().max().item() for p in trainer.recipe.discriminators.parameters()) > 0.5
    records = run_steps(trainer, run_dir)
    assert_all_finite(records)
    params = list(trainer.recipe.discriminators.parameters())
    assert params
    for p in params:
        assert p.min() >= -0.01 and p.max() <= 0.01
    record = json.loads((run_dir / "run.json").read_text())
    assert record["train_config"]["optimizer"] == "rmsprop"
    assert record["model_config"]["d_batchnorm"] is True  # only wgan-gp turns BatchNorm off


def test_wgan_gp_defaults(dcgan_run):
    trainer, run_dir = dcgan_run(loss="wgan-gp", steps=1)
    cfg = trainer.config
    assert cfg.gp_weight == 10.0 and cfg.d_steps == 5 and cfg.betas == (0.0, 0.9)
    assert cfg.optimizer == "adam" and cfg.lr_g == 1e-4 and cfg.lr_d == 1e-4 and cfg.weight_clip == 0
    assert trainer.recipe.options.gp_weight == 10.0
    assert isinstance(trainer.opt_d, torch.optim.Adam)
    assert trainer.opt_d.param_groups[0]["betas"] == (0.0, 0.9)
    assert trainer.opt_g.param_groups[0]["betas"] == (0.0, 0.9)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["model_config"]["d_batchnorm"] is False
    assert record["train_config"]["betas"] == [0.0, 0.9]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in trainer.recipe.discriminator.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in trainer.recipe.generator.modules())


def test_user_settings_override_loss_defaults(dcgan_run):
    trainer, _ = dcgan_run(loss="wgan", d_steps=2, lr_d=1e-4)
    assert trainer.config.d_steps == 2 and trainer.config.lr_d == 1e-4
    assert trainer.config.optimizer == "rmsprop" and trainer.config.weight_clip == 0.01
    assert trainer.config.lr_g == 5e-5
    trainer, run_dir = dcgan_run(loss="wgan-gp", d_batchnorm=True, gp_weight=5.0, betas=(0.5, 0.99))
    assert trainer.config.gp_weight == 5.0 and trainer.recipe.options.gp_weight == 5.0
    assert trainer.config.betas == (0.5, 0.99)
    assert json.loads((run_dir / "run.json").read_text())["model_config"]["d_batchnorm"] is True
    assert any(isinstance(m, nn.BatchNorm2d) for m in trainer.recipe.discriminator.modules())


def test_loss_defaults_override_the_architecture_defaults(dcgan_run):
    # DCGAN asks for Adam betas (0.5, 0.999) and lr 2e-4; the loss's own needs come first
    trainer, _ = dcgan_run(loss="wgan-gp")
    assert trainer.config.betas == (0.0, 0.9) and trainer.config.lr_d == 1e-4
    trainer, _ = dcgan_run(loss="hinge")
    assert trainer.config.betas == (0.5, 0.999) and trainer.config.lr_d == 2e-4
    assert trainer.config.d_steps == 1 and trainer.config.optimizer == "adam"


# -- penalties ------------------------------------------------------------------------------------


def linear_critic(weight: torch.Tensor, bias: float = 0.0):
    """D(x) = <w, x> + b per sample: its input gradient is ``w`` everywhere."""
    return lambda x: (weight * x).flatten(1).sum(dim=1) + bias


def random_images(n: int = 6, shape=(1, 8, 8), seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *shape, generator=g) * 2 - 1


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    w = torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(1))
    w = w / w.norm()
    real, fake = random_images(seed=1), random_images(seed=2)
    gp = gradient_penalty(linear_critic(w, bias=0.3), real, fake)
    assert gp.dtype == torch.float32 and gp.dim() == 0
    assert gp.item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("scale", [0.5, 2.0, 3.0])
def test_gradient_penalty_is_positive_otherwise(scale):
    w = torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(1))
    w = scale * w / w.norm()
    real, fake = random_images(seed=1), random_images(seed=2)
    gp = gradient_penalty(linear_critic(w), real, fake)
    assert gp.item() == pytest.approx((scale - 1) ** 2, rel=1e-5)  # (||w|| - 1)^2 at every x_hat


def test_gradient_penalty_of_a_nonlinear_critic_is_positive_and_differentiable():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(256, 1))
    gp = gradient_penalty(lambda x: critic(x).squeeze(1), random_images(seed=1), random_images(seed=2))
    assert gp.item() > 0
    gp.backward()  # the penalty trains the critic: gradients reach its weights
    weights = [critic[0].weight, critic[3].weight]  # biases of the last layer cannot matter
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in weights)
    assert all(w.grad.abs().sum() > 0 for w in weights)


def test_r1_penalty_is_the_squared_gradient_norm_of_a_linear_critic():
    w = torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(3))
    real = random_images(seed=4)
    r1 = r1_penalty(linear_critic(w, bias=-1.0), real)
    assert r1.dtype == torch.float32 and r1.dim() == 0
    assert r1.item() == pytest.approx((w ** 2).sum().item(), rel=1e-6)


def test_r1_penalty_matches_hand_computed_gradients():
    # D(x) = sum_i a_i x_i^2 per sample: grad = 2 a x, so R1 = mean over samples of ||2 a x||^2
    a = torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(5))
    real = random_images(seed=6)
    r1 = r1_penalty(lambda x: (a * x * x).flatten(1).sum(1), real)
    expected = (2 * a * real).flatten(1).pow(2).sum(1).mean()
    assert r1.item() == pytest.approx(expected.item(), rel=1e-5)


CRITICS = {
    # a DCGAN-style critic: convolutions only
    "conv": lambda: nn.Sequential(
        nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(16, 1, 4, 1, 0), nn.Flatten(),
    ),
    # a linear head (as in the MLP and projection discriminators): matmuls in the gradient's graph
    "linear-head": lambda: nn.Sequential(
        nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 1),
    ),
}


def small_critic(kind: str = "linear-head") -> nn.Module:
    torch.manual_seed(0)
    return CRITICS[kind]()


@pytest.mark.parametrize("kind", list(CRITICS))
@pytest.mark.parametrize("penalty", ["gp", "r1"])
def test_penalties_stay_correct_under_bf16_autocast(penalty, kind):
    critic = small_critic(kind)
    real, fake = random_images(8, (3, 16, 16), seed=7), random_images(8, (3, 16, 16), seed=8)
    discriminate = lambda x: critic(x).squeeze(1)  # noqa: E731

    def compute():
        torch.manual_seed(123)  # the same interpolation weights for the gradient penalty
        if penalty == "gp":
            return gradient_penalty(discriminate, real, fake)
        return r1_penalty(discriminate, real)

    reference = compute()
    assert reference.item() > 1e-4
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = critic(real)
        under_autocast = compute()
    # autocast really is on for this critic and changes what it computes
    assert logits.dtype == torch.bfloat16
    assert not torch.allclose(logits.float(), critic(real), rtol=1e-4, atol=0)
    assert under_autocast.dtype == torch.float32
    # the backward ops recorded by the penalty (mm of a Linear head too) must run in float32
    torch.testing.assert_close(under_autocast, reference, rtol=1e-5, atol=1e-7)
    # its gradient for the critic's weights is the float32 one too
    grads = []
    for ctx in (torch.autocast("cpu", enabled=False), torch.autocast("cpu", dtype=torch.bfloat16)):
        critic.zero_grad()
        with ctx:
            value = compute()
        value.backward()
        grads.append(critic[0].weight.grad.clone())
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("kind", list(CRITICS))
def test_penalties_accept_bf16_images(kind):
    """Under bf16 training the generator's fakes are bf16; the penalty still runs in float32."""
    critic = small_critic(kind)
    real, fake = random_images(4, (3, 16, 16), seed=1), random_images(4, (3, 16, 16), seed=2)
    discriminate = lambda x: critic(x).squeeze(1)  # noqa: E731
    torch.manual_seed(5)
    reference = gradient_penalty(discriminate, real, fake.bfloat16().float())
    torch.manual_seed(5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = gradient_penalty(discriminate, real, fake.bfloat16())
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, reference, rtol=1e-5, atol=1e-7)


# -- loss values ----------------------------------------------------------------------------------


def test_label_smoothing_changes_bce_d_loss():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-2.0, 1.0, 0.0])
    plain, smooth = NonSaturatingLoss().d_loss(real, fake), NonSaturatingLoss(0.1).d_loss(real, fake)
    assert smooth.item() != pytest.approx(plain.item())
    t = 0.9
    expected = (-(t * F.logsigmoid(real) + (1 - t) * F.logsigmoid(-real)).mean()
                - F.logsigmoid(-fake).mean())
    assert smooth.item() == pytest.approx(expected.item(), rel=1e-6)


def test_label_smoothing_changes_lsgan_d_loss():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-2.0, 1.0, 0.0])
    plain, smooth = LeastSquaresLoss().d_loss(real, fake), LeastSquaresLoss(0.2).d_loss(real, fake)
    assert smooth.item() != pytest.approx(plain.item())
    expected = 0.5 * ((real - 0.8).pow(2).mean() + fake.pow(2).mean())
    assert smooth.item() == pytest.approx(expected.item(), rel=1e-6)
    assert plain.item() == pytest.approx(0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean()).item())


def test_minimax_g_loss_is_mean_log_one_minus_d():
    x = torch.linspace(-6, 6, 25)
    expected = torch.log(1 - torch.sigmoid(x.double())).mean()
    assert MinimaxLoss().g_loss(x).item() == pytest.approx(expected.item(), rel=1e-6)
    # stays finite where 1 - sigmoid(x) underflows in float32
    assert torch.isfinite(MinimaxLoss().g_loss(torch.tensor([100.0, -100.0])))
    # the discriminator side is the BCE one
    real, fake = torch.randn(5), torch.randn(5)
    assert torch.equal(MinimaxLoss().d_loss(real, fake), NonSaturatingLoss().d_loss(real, fake))


# -- options end to end ---------------------------------------------------------------------------


def test_r1_option_trains_and_logs_d_r1(dcgan_run):
    trainer, run_dir = dcgan_run(r1_weight=10.0, steps=4, log_every=2, sample_every=100,
                                 checkpoint_every=100)
    assert trainer.recipe.options.r1_weight == 10.0
    records = run_steps(trainer, run_dir)
    assert_all_finite(records)
    assert all("d_r1" in r and r["d_r1"] >= 0 for r in records)
    assert all("d_gp" not in r for r in records)


def test_lazy_r1_runs_on_one_step_in_r1_every_at_that_weight(dcgan_run):
    from ganzoo.adversarial import discriminator_terms

    trainer, _ = dcgan_run(r1_weight=2.0, r1_every=3, steps=7, sample_every=100, checkpoint_every=100)
    assert trainer.recipe.options.r1_every == 3
    due = ["d_r1" in trainer.train_step() for _ in range(7)]
    assert due == [True, False, False, True, False, False, True]  # by step: the same after a resume

    recipe, batch = trainer.recipe, trainer._next_batch()
    options = recipe.options
    fake = recipe.generator(recipe.generator.sample_latent(len(batch["image"])))
    torch.manual_seed(0)
    plain = discriminator_terms(recipe.loss, replace(options, r1_weight=0.0), batch["image"], fake,
                                recipe.discriminator)
    torch.manual_seed(0)
    lazy = discriminator_terms(recipe.loss, replace(options, r1_due=True), batch["image"], fake, recipe.discriminator)
    expected = plain["loss"] + 0.5 * 2.0 * 3 * lazy["r1"]  # weighted by r1_every: the same strength on average
    assert torch.isclose(lazy["loss"], expected, rtol=1e-4)
    with pytest.raises(GanzooError, match="r1_every must be >= 1"):
        dcgan_run(r1_weight=1.0, r1_every=0)


def test_the_log_averages_a_figure_over_the_steps_that_have_it(dcgan_run):
    settings = dict(r1_weight=2.0, r1_every=3, steps=6, log_every=6, sample_every=100, checkpoint_every=100)
    by_hand, _ = dcgan_run(**settings)
    r1 = [out["d_r1"].item() for out in (by_hand.train_step() for _ in range(6)) if "d_r1" in out]
    assert len(r1) == 2
    trainer, run_dir = dcgan_run(**settings)
    (record,) = run_steps(trainer, run_dir)
    assert record["d_r1"] == pytest.approx(sum(r1) / 2, rel=1e-5)  # not diluted by the steps without R1


def test_diffaugment_option_trains(dcgan_run):
    from ganzoo.augment import DiffAugment

    trainer, run_dir = dcgan_run(diffaugment="color,translation,cutout", steps=4, log_every=2,
                                 sample_every=100, checkpoint_every=100)
    assert isinstance(trainer.recipe.options.augment, DiffAugment)
    assert trainer.recipe.options.augment.policy == ("color", "translation", "cutout")
    before = generator_parameters(trainer)
    records = run_steps(trainer, run_dir)
    assert [r["step"] for r in records] == [2, 4]
    assert_all_finite(records)
    after = generator_parameters(trainer)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_r1_with_diffaugment_and_hinge(dcgan_run):
    trainer, run_dir = dcgan_run(loss="hinge", r1_weight=1.0, diffaugment="translation", steps=2,
                                 log_every=1, sample_every=100, checkpoint_every=100)
    records = run_steps(trainer, run_dir)
    assert_all_finite(records)
    assert all("d_r1" in r for r in records)


def test_wgan_gp_in_bf16_on_cpu(dcgan_run):
    trainer, run_dir = dcgan_run(loss="wgan-gp", precision="bf16", steps=3, log_every=1,
                                 sample_every=100, checkpoint_every=100)
    before = generator_parameters(trainer)
    records = run_steps(trainer, run_dir)
    assert [r["step"] for r in records] == [1, 2, 3]
    assert_all_finite(records)
    assert all("d_gp" in r and r["d_gp"] >= 0 for r in records)
    after = generator_parameters(trainer)
    assert all(v.dtype == torch.float32 for v in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_a_loss_without_g_loss_cannot_be_made():
    from ganzoo.interfaces import AdversarialLoss

    class HalfLoss(AdversarialLoss):
        name = "half"

        def d_loss(self, real_logits, fake_logits):
            return (fake_logits - real_logits).mean()

    with pytest.raises(TypeError, match="g_loss"):
        HalfLoss()


# -- the relativistic loss and the real logits every recipe passes ----------------------------------


def test_ragan_matches_its_closed_form():
    """Jolicoeur-Martineau (2018), RSGAN with the relativistic average discriminator."""
    real, fake = torch.randn(7, dtype=torch.float64) * 3, torch.randn(5, dtype=torch.float64) * 3

    def mean_log_sigmoid(x):
        return torch.log(torch.sigmoid(x)).mean()

    d_expected = -mean_log_sigmoid(real - fake.mean()) - mean_log_sigmoid(-(fake - real.mean()))
    g_expected = -mean_log_sigmoid(fake - real.mean()) - mean_log_sigmoid(-(real - fake.mean()))
    loss = RelativisticAverageLoss()
    assert loss.d_loss(real, fake).item() == pytest.approx(d_expected.item(), rel=1e-6)
    assert loss.g_loss(fake, real).item() == pytest.approx(g_expected.item(), rel=1e-6)
    with pytest.raises(GanzooError, match="real batch's logits"):
        loss.g_loss(fake)


def test_every_recipe_passes_this_steps_real_logits_to_g_loss():
    """With two discriminators (as in CycleGAN) each generator term gets the logits of its own
    discriminator on its own real batch, computed now, not cached from the last D step."""
    from ganzoo.adversarial import generator_term
    from ganzoo.interfaces import RecipeOptions

    seen = []

    class Recording(RelativisticAverageLoss):
        def g_loss(self, fake_logits, real_logits=None):
            seen.append(real_logits)
            return super().g_loss(fake_logits, real_logits)

    torch.manual_seed(0)
    d_a, d_b = nn.Linear(3, 1), nn.Linear(3, 1)
    real_a, real_b, fake = torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3)
    loss, options = Recording(), RecipeOptions()
    generator_term(loss, options, fake, real_b, d_b)
    with torch.no_grad():
        d_b.weight.add_(1.0)  # the discriminator changes between steps
    generator_term(loss, options, fake, real_b, d_b)
    generator_term(loss, options, fake, real_a, d_a)
    assert torch.allclose(seen[1], d_b(real_b)) and not torch.allclose(seen[0], seen[1])
    assert torch.allclose(seen[2], d_a(real_a))
    assert not seen[2].requires_grad  # no gradient into D from the generator step
    seen.clear()
    generator_term(NonSaturatingLoss(), options, fake, real_b, d_b)  # no extra D pass for bce
    assert seen == []
