"""The Trainer's speed switches change how a step runs, never what it computes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganzoo.engine import start_run
from ganzoo.engine.config import TrainConfig
from ganzoo.errors import GanzooError

BASE = {"device": "cpu", "batch_size": 8, "ema": 0}
TINY = {"mlp": BASE, "dcgan": {**BASE, "image_size": 32, "g_width": 8, "d_width": 8}}


def trained(arch: str, data: Path, run_dir: Path, steps: int = 3, **settings):
    trainer = start_run(arch, data, run_dir, settings={**TINY[arch], **settings}, progress=False)
    losses = [{k: float(v) for k, v in trainer.train_step().items()} for _ in range(steps)]
    return trainer, losses


@pytest.fixture(scope="module")
def mnist(write_mnist_subset, tmp_path_factory) -> Path:
    return write_mnist_subset(tmp_path_factory.mktemp("mnist"), 64)


def assert_same_training(a, b, tol: float) -> None:
    (ta, la), (tb, lb) = a, b
    for x, y in zip(la, lb):
        assert x.keys() == y.keys()
        assert all(abs(x[k] - y[k]) <= tol * max(1.0, abs(x[k])) for k in x), (x, y)
    sa, sb = ta.recipe.state_dict(), tb.recipe.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.allclose(sa[k].float(), sb[k].float(), atol=tol) for k in sa)


def test_channels_last_keeps_the_arithmetic_and_the_checkpoint_layout(mnist, tmp_path):
    plain = trained("dcgan", mnist, tmp_path / "a", channels_last="off")
    nhwc = trained("dcgan", mnist, tmp_path / "b", channels_last="on")
    convs = [p for p in nhwc[0].recipe.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert not any(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous()
                   for p in plain[0].recipe.parameters() if p.dim() == 4)
    assert_same_training(plain, nhwc, tol=1e-5)
    nhwc[0].save()  # safetensors wants contiguous tensors: the checkpoint still writes


@pytest.mark.parametrize("impl", ["fused", "loop"])
def test_optimizer_kernels_take_the_same_steps_as_foreach(mnist, tmp_path, impl):
    foreach = trained("dcgan", mnist, tmp_path / "a", optimizer_impl="foreach")
    other = trained("dcgan", mnist, tmp_path / "b", optimizer_impl=impl)
    assert type(other[0].opt_g).__name__ == "Adam"
    assert other[0].opt_g.defaults["fused" if impl == "fused" else "foreach"] is (impl == "fused")
    assert_same_training(foreach, other, tol=1e-5)


@pytest.mark.parametrize("setting, message", [
    ({"compile": "fast"}, "compile must be one of off, default, reduce-overhead, max-autotune"),
    ({"channels_last": "yes"}, "channels_last and data_on_device must be one of auto, on, off"),
    ({"data_on_device": True}, "setting 'data_on_device' must be a string"),
])
def test_bad_switch_values_are_one_line_errors(setting, message):
    with pytest.raises(GanzooError, match=message):
        TrainConfig.from_settings(setting)


def test_fused_rmsprop_is_refused_with_the_way_out(mnist, tmp_path):
    with pytest.raises(GanzooError, match="optimizer_impl=fused exists for adam only.*use foreach"):
        trained("mlp", mnist, tmp_path / "r", loss="wgan", optimizer_impl="fused")


@pytest.mark.slow
def test_compiled_networks_train_like_eager_ones_and_checkpoint_the_same_keys(mnist, tmp_path):
    eager = trained("mlp", mnist, tmp_path / "a", compile="off")
    compiled = trained("mlp", mnist, tmp_path / "b", compile="default")
    assert_same_training(eager, compiled, tol=1e-4)
    path = compiled[0].save()
    resumed = start_run("mlp", mnist, tmp_path / "c", settings=BASE, progress=False)
    resumed.load(path)  # an eager trainer reads the compiled run's checkpoint
    assert resumed.step == 3


def test_auto_defaults_pick_channels_last_for_conv_nets_and_fused_adam(mnist, tmp_path):
    dcgan, _ = trained("dcgan", mnist, tmp_path / "d", steps=1, ema=0.9)
    mlp, _ = trained("mlp", mnist, tmp_path / "m", steps=1)
    assert dcgan.channels_last and not mlp.channels_last
    assert dcgan.opt_g.defaults["fused"] and dcgan.opt_d.defaults["fused"]
    wgan, _ = trained("mlp", mnist, tmp_path / "w", steps=1, loss="wgan")  # RMSprop: foreach
    assert wgan.opt_d.defaults["foreach"] and not wgan.opt_d.defaults.get("fused")
    path = dcgan.save()  # EMA copies of channels-last weights write and read back
    dcgan.load(path)
