"""SRGAN as a whole: two-phase training through the engine, the content loss (VGG54 with random
weights, the pixel fallback and its record), the ``sr`` metric, and the bundled srgan-x4 through
the CLI (sample, eval, bad input).

Networks are tiny (one block, width 4, 16-pixel HR crops) except the bundled model.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

if importlib.util.find_spec("ganzoo_srgan") is None:  # until pyproject lists the plugin and it is reinstalled
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from ganzoo.engine import start_run  # noqa: E402
from ganzoo.errors import DataError, GanzooError  # noqa: E402
from ganzoo.hub import export_run, load_pretrained  # noqa: E402
from ganzoo_srgan import content as content_module  # noqa: E402
from ganzoo_srgan.content import ContentFallbackWarning, load_vgg54, resolve_content_loss  # noqa: E402
from ganzoo_srgan.data import HRCrops, load_training_folder  # noqa: E402
from ganzoo_srgan.metric import SuperResolutionMetric  # noqa: E402
from ganzoo_srgan.models import SRGANConfig, SRResNet  # noqa: E402

TINY = {"blocks": 1, "width": 4, "d_width": 2, "hr_crop": 16}
SET5_BICUBIC_PSNR_Y = 28.43
"""The published bicubic x4 row for Set5 (PSNR on Y, 4-pixel border)."""


def noise_image(size: tuple[int, int], seed: int = 0, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)


@pytest.fixture
def hr_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "hr"
    folder.mkdir()
    for i, size in enumerate([(24, 20), (20, 28), (32, 32), (20, 20)]):
        noise_image(size, seed=i).save(folder / f"{i}.png")
    return folder


@pytest.fixture
def no_cached_vgg(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on these machines: no VGG19 weights in the Hugging Face cache."""
    monkeypatch.setattr(content_module, "cached_vgg19_file", lambda: None)


@pytest.fixture(scope="module")
def random_vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random VGG19 convolutions saved in torchvision's layout (``features.N.weight``)."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    state = load_vgg54(None).state_dict()
    path = tmp_path_factory.mktemp("vgg") / "vgg19_random.safetensors"
    save_file({f"features.{k}": v.contiguous() for k, v in state.items()}, path)
    return path


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


# --- training ---------------------------------------------------------------------------------


def test_two_phases_and_the_recorded_fallback(hr_folder: Path, tmp_path: Path, no_cached_vgg: None) -> None:
    with pytest.warns(ContentFallbackWarning, match="falls back to the pixel MSE"):
        trainer = start_run("srgan", hr_folder, tmp_path / "run", progress=False, settings={
            **TINY, "steps": 3, "pretrain_steps": 1, "batch_size": 2, "preview_samples": 6})
    recipe = trainer.recipe
    g0, d0 = _params(recipe.generators), _params(recipe.discriminators)
    phase1 = trainer.train_step()  # step 0: SRResNet alone, pixel MSE
    assert set(phase1) == {"g_loss", "g_pixel"}
    assert not _same(g0, _params(recipe.generators))
    assert _same(d0, _params(recipe.discriminators)), "phase 1 must not touch the discriminator"
    phase2 = trainer.train_step()  # step 1: adversarial + content
    assert {"d_loss", "g_content", "g_adversarial"} <= set(phase2)
    assert not _same(d0, _params(recipe.discriminators))
    assert torch.isclose(phase2["g_loss"], phase2["g_content"] + 1e-3 * phase2["g_adversarial"])
    summary = trainer.fit()
    assert summary["steps"] == 3
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model_config"]["content_loss"] == "pixel-mse"
    assert run["data"]["reader"] == "sr-hr-folder"
    with Image.open(tmp_path / "run" / "samples" / "step_00000003.png") as grid:
        assert grid.size == (2 + 6 * 18, 2 + 18)  # 2 pairs x (bicubic, SR, HR) of 16 px, 2 px padding

    out = export_run(tmp_path / "run", tmp_path / "model")
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["content_loss"] == "pixel-mse"
    assert "content_loss | pixel-mse" in (out / "README.md").read_text()
    generator = load_pretrained(out)
    lr = torch.randint(0, 256, (1, 3, 7, 9), dtype=torch.uint8)
    assert generator.translate(lr).shape == (1, 3, 28, 36)


def test_vgg54_with_random_weights(hr_folder: Path, tmp_path: Path, random_vgg_file: Path) -> None:
    trainer = start_run("srgan", hr_folder, tmp_path / "run", progress=False, settings={
        **TINY, "steps": 2, "pretrain_steps": 1, "batch_size": 2, "preview_samples": 3,
        "content_loss": "vgg19-54", "vgg_weights": str(random_vgg_file)})
    loss = trainer.recipe.content
    hr = torch.rand(2, 3, 32, 32) * 2 - 1
    sr = hr.clone().requires_grad_(True)
    assert loss(sr, hr).item() == 0.0
    value = loss(sr + 0.1 * torch.randn_like(sr), hr)
    value.backward()
    assert value.item() > 0 and sr.grad is not None and sr.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss.parameters())
    trainer.fit()
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model_config"]["content_loss"] == "vgg19-54"
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["g_content"] != log[-1]["g_pixel"]  # features, not pixels
    state = (tmp_path / "run" / "checkpoints").rglob("*.safetensors")
    assert all(f.stat().st_size < 1_000_000 for f in state), "checkpoints must not carry the VGG"


def test_content_loss_errors(tmp_path: Path, no_cached_vgg: None) -> None:
    with pytest.raises(GanzooError, match="needs pretrained VGG19 weights"):
        resolve_content_loss("vgg19-54", "")
    bad = tmp_path / "bad.safetensors"
    from safetensors.torch import save_file

    save_file({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(GanzooError, match="does not hold VGG19 convolution weights"):
        resolve_content_loss("auto", str(bad))
    with pytest.raises(GanzooError, match="is not a file"):
        resolve_content_loss("auto", str(tmp_path / "missing.pth"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_content_loss("pixel-mse")[0] == "pixel-mse"
    with pytest.raises(GanzooError, match="content_loss must be one of"):
        start_run("srgan", tmp_path, tmp_path / "run", settings={"content_loss": "vgg"})


def test_training_data_pairs_are_resumable_and_carry_their_card(tmp_path: Path) -> None:
    folder = tmp_path / "BSDS-mini"
    folder.mkdir()
    for i in range(3):
        noise_image((20 + 4 * i, 24), seed=i).save(folder / f"{i}.png")
    data = load_training_folder(folder, crop=16)
    assert isinstance(data, HRCrops) and len(data) == 3
    assert data.image_shape == (3, 16, 16) and data.num_classes is None and data.labels is None
    assert data.reader == "sr-hr-folder" and "non-commercial research and education" in data.card["license_note"]
    torch.manual_seed(5)
    first = data.batch(torch.tensor([0, 2]), torch.device("cpu"))
    torch.manual_seed(5)
    again = data.batch(torch.tensor([0, 2]), torch.device("cpu"))
    assert first["image"].shape == (2, 3, 16, 16) and first["lr"].shape == (2, 3, 4, 4)
    assert torch.equal(first["image"], again["image"]) and torch.equal(first["lr"], again["lr"])
    assert first["image"].min() >= -1 and first["image"].max() <= 1
    with pytest.raises(DataError, match="at least 96x96"):
        load_training_folder(folder, crop=96)


# --- the metric -------------------------------------------------------------------------------


def test_sr_metric_on_a_tiny_model(tmp_path: Path) -> None:
    folder = tmp_path / "pairs"
    folder.mkdir()
    for i in range(2):
        noise_image((24, 20), seed=i).save(folder / f"im{i}_HR.png")
    torch.manual_seed(0)
    generator = SRResNet(SRGANConfig(**TINY)).eval()
    result = SuperResolutionMetric().evaluate_model(generator, str(folder), n=None, seed=0, device="cpu",
                                                   progress=False)
    assert result.metric == "sr" and not result.lower_is_better
    assert result.value == result.details["psnr_y"]
    for key in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"):
        assert f"bicubic_{key}" in result.details and key in result.protocol
    assert result.protocol["images"] == 2 and result.protocol["crop_border"] == 4 and result.protocol["scale"] == 4


# --- the bundled model through the CLI -------------------------------------------------------


def test_sample_upscales_any_image_by_four(ganzoo_here, tmp_path: Path) -> None:
    noise_image((23, 17), mode="L").save(tmp_path / "small.png")
    result = ganzoo_here("sample", "srgan-x4", "--input", "small.png", "-o", "big.png")
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "big.png") as big:
        assert big.size == (92, 68) and big.mode == "RGB"


@pytest.mark.parametrize("model", ["srresnet-x4", "srgan-x4"])
def test_eval_on_set5_reports_the_model_beside_bicubic(ganzoo_here, tmp_path: Path, data_root: Path, model: str) -> None:
    result = ganzoo_here("eval", model, "--data", data_root / "sr" / "Set5" / "x4", "-m", "sr", "-o", "report.json")
    assert result.returncode == 0, result.stderr
    entry = json.loads((tmp_path / "report.json").read_text())["results"][0]
    details = entry["details"]
    assert entry["protocol"]["images"] == 5 and entry["protocol"]["crop_border"] == 4
    assert abs(details["bicubic_psnr_y"] - SET5_BICUBIC_PSNR_Y) < 0.05
    assert entry["value"] == details["psnr_y"]
    assert details["psnr_y"] > details["psnr_rgb"] > 25
    if model == "srresnet-x4":  # the fidelity model: 30.19 dB Y, 28.04 RGB, ahead on every figure
        assert details["psnr_y"] > 30.0 and details["psnr_rgb"] > details["bicubic_psnr_rgb"] + 1.0
        assert details["ssim_y"] > details["bicubic_ssim_y"] and details["ssim_rgb"] > details["bicubic_ssim_rgb"]
    else:  # the perceptual variant trades fidelity for sharpness: above bicubic on PSNR-Y only (28.61)
        assert details["psnr_y"] > details["bicubic_psnr_y"] + 0.1


def test_bad_input_is_one_line(ganzoo_here, one_line_error, tmp_path: Path, data_root: Path) -> None:
    noise_image((3, 2)).save(tmp_path / "tiny.png")
    assert "at least 4x4" in one_line_error(ganzoo_here("sample", "srgan-x4", "--input", "tiny.png", "-o", "o.png"))
    noise_image((8, 8)).save(tmp_path / "ok.png")
    assert "no direction option" in one_line_error(
        ganzoo_here("sample", "srgan-x4", "--input", "ok.png", "-o", "o.png", "--direction", "a2b"))
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    noise_image((30, 32)).save(pairs / "a_HR.png")
    noise_image((7, 8)).save(pairs / "a_LR.png")
    assert "not divisible by the scale 4" in one_line_error(ganzoo_here("eval", "srgan-x4", "--data", pairs, "-m", "sr"))
    noise_image((32, 32)).save(pairs / "a_HR.png")
    noise_image((9, 8)).save(pairs / "a_LR.png")
    assert "x4 of it should be" in one_line_error(ganzoo_here("eval", "srgan-x4", "--data", pairs, "-m", "sr"))


def test_translate_refuses_what_it_cannot_upscale() -> None:
    torch.manual_seed(0)
    generator = SRResNet(SRGANConfig(**TINY)).eval()
    with pytest.raises(DataError, match="uint8 CHW"):
        generator.translate(torch.rand(1, 3, 8, 8))
    with pytest.raises(DataError, match="shaped \\(N, C, H, W\\)"):
        generator.translate(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(DataError, match="has 5 channels"):
        generator.translate(torch.zeros(1, 5, 8, 8, dtype=torch.uint8))
    with pytest.raises(GanzooError, match="no direction option"):
        generator.translate(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), direction="a2b")
    rgba = torch.randint(0, 256, (2, 4, 5, 6), dtype=torch.uint8)
    assert generator.translate(rgba, tile=2, overlap=1).shape == (2, 3, 20, 24)


def test_resume_reads_the_data_at_the_runs_own_crop(hr_folder, tmp_path, no_cached_vgg):
    from ganzoo.engine import resume_run, start_run

    settings = {**TINY, "pretrain_steps": 1, "steps": 2, "batch_size": 2, "checkpoint_every": 1,
                "sample_every": 1000}
    with pytest.warns(ContentFallbackWarning):
        first = start_run("srgan", hr_folder, tmp_path / "run", settings=settings, progress=False)
    first.fit()
    resumed = resume_run(tmp_path / "run", steps=3, progress=False)  # content_loss=pixel-mse, as recorded
    assert resumed.step == 2 and resumed.data.crop == 16 and resumed.data.image_shape == (3, 16, 16)
    resumed.fit()
    assert resumed.step == 3


def test_training_logs_sr_on_its_eval_data_and_exports_the_best(hr_folder, tmp_path, no_cached_vgg):
    from ganzoo.engine.run import select_checkpoint
    from ganzoo.fileio import read_jsonl

    pairs = tmp_path / "pairs"
    pairs.mkdir()
    for i in range(2):
        noise_image((24, 20), seed=10 + i).save(pairs / f"im{i}_HR.png")
    settings = {**TINY, "steps": 4, "pretrain_steps": 4, "batch_size": 2, "pixel_loss": "l1",
                "eval_metrics": "sr", "eval_every": 2, "eval_data": str(pairs), "keep_best": "sr",
                "checkpoint_every": 2, "keep_checkpoints": 1, "sample_every": 1000}
    start_run("srgan", hr_folder, tmp_path / "run", settings=settings, progress=False).fit()
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())["train_config"]["eval_data"]
    assert recorded == str(pairs.resolve())  # absolute: a resume from another folder finds it
    evals = [r for r in read_jsonl(tmp_path / "run" / "log.jsonl") if "eval_sr" in r]
    assert [r["step"] for r in evals] == [0, 2, 4]
    for record in evals:
        assert record["eval_sr"] == record["eval_sr_psnr_y"] and record["eval_sr_images"] == 2
        assert record["eval_sr_bicubic_psnr_y"] == evals[0]["eval_sr_bicubic_psnr_y"]  # same pairs each time
    best = max((r for r in evals if r["step"] > 0), key=lambda r: r["eval_sr"])  # higher PSNR is better
    chosen, why = select_checkpoint(tmp_path / "run", best="sr")
    assert chosen.name == f"step_{best['step']:08d}" and "on 2 images" in why["chosen_by"]


def test_pixel_loss_l1_is_phase_ones_loss(hr_folder, tmp_path, no_cached_vgg):
    trainer = start_run("srgan", hr_folder, tmp_path / "run", progress=False, settings={
        **TINY, "steps": 1, "pretrain_steps": 1, "batch_size": 2, "pixel_loss": "l1"})
    torch.manual_seed(0)
    batch = trainer.data.batch(torch.arange(2), "cpu")
    torch.manual_seed(0)
    loss = trainer.recipe.generator_loss(trainer.data.batch(torch.arange(2), "cpu"))
    expected = torch.nn.functional.l1_loss(trainer.recipe.generator(batch["lr"]), batch["image"])
    assert torch.isclose(loss["loss"], expected)
    with pytest.raises(GanzooError, match="pixel_loss must be one of mse, l1"):
        start_run("srgan", hr_folder, tmp_path / "bad", progress=False, settings={**TINY, "pixel_loss": "l2"})


@pytest.mark.parametrize("metric, message", [
    ("swd", "swd measures samples from noise, and this generator translates images"),
])
def test_sample_metrics_are_refused_for_a_translator(hr_folder, tmp_path, no_cached_vgg, metric, message):
    with pytest.raises(GanzooError, match=message):
        start_run("srgan", hr_folder, tmp_path / "run", progress=False,
                  settings={**TINY, "steps": 1, "batch_size": 2, "eval_metrics": metric})


def test_cli_prints_a_warning_as_one_line(run_ganzoo, hr_folder, tmp_path):
    settings = [f"--set={k}={v}" for k, v in {**TINY, "pretrain_steps": 0}.items()]
    result = run_ganzoo(["train", "srgan", "--data", str(hr_folder), "-o", "run", "--steps", "1",
                         "--batch-size", "2", *settings],
                        env={"GANZOO_PLUGINS": None, "OMP_NUM_THREADS": "1", "HF_HUB_CACHE": str(tmp_path / "hf")},
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "VGG19" in line]
    assert len(warning) == 1 and warning[0].startswith("warning: no pretrained VGG19 weights"), result.stderr
    assert "architecture.py" not in result.stderr and "resolve_content_loss(" not in result.stderr
