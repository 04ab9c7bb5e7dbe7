"""``--json`` on list, info, sample and eval prints one JSON document on stdout (nothing else);
``-q`` prints nothing but errors and warnings."""

from __future__ import annotations

import json


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_and_info_as_json(ganzoo_here):
    listing = _json(ganzoo_here("list", "--json"))
    assert {"dcgan", "srgan"} <= {a["name"] for a in listing["architectures"]}
    celeba = next(p for p in listing["pretrained"] if p["name"] == "dcgan-celeba")
    assert celeba["architecture"] == "dcgan" and celeba["bundled"] and len(celeba["sha256"]) == 64
    only = _json(ganzoo_here("list", "--pretrained", "--json"))
    assert set(only) == {"pretrained"}
    model = _json(ganzoo_here("info", "cgan-mnist", "--json"))
    assert model["kind"] == "bundled" and model["config"]["num_classes"] == 10 and model["parameters"] > 0
    assert {e["metric"] for e in model["config"]["evaluation"]} >= {"tstr"}
    arch = _json(ganzoo_here("info", "mlp", "--json"))
    assert arch["architecture"] == "mlp" and "lr_g" in arch["training_defaults"]


def test_sample_and_eval_as_json_and_quiet(ganzoo_here, tmp_path, mnist_dir):
    grid = _json(ganzoo_here("sample", "cgan-mnist", "-n", "20", "-o", "grid.jpg", "--json"))
    assert [p.rsplit("/", 1)[-1] for p in grid["written"]] == ["grid.jpg", "grid.latents.npy"]
    assert grid["labels"][:3] == [0, 0, 1]
    folder = _json(ganzoo_here("sample", "dcgan-mnist", "-n", "3", "--out-dir", "set", "--json"))
    assert folder["written"] == 3 and folder["kept"] == 0 and folder["format"] == "png"
    report = _json(ganzoo_here("eval", "--fake-dir", "set", "--data", mnist_dir, "-m", "swd", "-n", "3", "--json"))
    assert report["results"][0]["metric"] == "swd" and report["model"]["source"].startswith("3 images in")
    quiet = ganzoo_here("sample", "dcgan-mnist", "-n", "4", "-o", "q.png", "-q")
    assert quiet.returncode == 0 and quiet.stdout == "" and (tmp_path / "q.png").is_file()
    quiet_eval = ganzoo_here("eval", "--fake-dir", "set", "--data", mnist_dir, "-m", "swd", "-n", "3", "-q")
    assert quiet_eval.returncode == 0 and quiet_eval.stdout == ""
    assert "warning:" in quiet_eval.stderr  # fewer images than the protocol: warnings stay
