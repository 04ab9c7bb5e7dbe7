"""The plugin system: entry-point discovery, GANZOO_PLUGINS, isolation of broken plugins, a
torch-free CLI for listing, and a third-party plugin that trains and samples end to end."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganzoo.cli import cli
from ganzoo.plugins import CORE_PLUGIN, build_zoo, get_zoo

CORE_LOSSES = {"bce", "minimax", "wgan", "wgan-gp", "hinge", "lsgan", "ragan"}
HEAVY_MODULES = ("torch", "numpy", "timm", "safetensors", "PIL", "matplotlib", "huggingface_hub", "tqdm")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def plugin(zoo, name):
    matches = [p for p in zoo.plugins if p.name == name]
    assert len(matches) == 1, f"expected one plugin named {name!r}, got {matches}"
    return matches[0]


# -- the installed zoo, in-process ---------------------------------------------------------------


def test_default_zoo_has_the_core_and_the_mlp_plugin(mnist_dir, tmp_path):
    zoo = get_zoo()
    assert zoo is get_zoo()  # cached per process

    mlp = zoo.architectures.get("mlp")
    assert mlp.plugin == "mlp" and mlp.target == "ganzoo_mlp.architecture:MLPGAN"

    pretrained = zoo.pretrained.get("mlp-mnist")
    assert pretrained.architecture == "mlp" and pretrained.plugin == "mlp"
    # Shipped inside the plugin package (whether the files are there yet is the hub tests' job).
    assert pretrained.path.parent.name == "pretrained"
    assert pretrained.path.parent.parent.name == "ganzoo_mlp"
    assert pretrained.architecture in zoo.architectures

    assert {e.name for e in zoo.losses if e.plugin == CORE_PLUGIN} == CORE_LOSSES

    mnist = zoo.datasets.get("mnist")
    assert mnist.plugin == CORE_PLUGIN and callable(mnist.detect)
    assert mnist.detect(mnist_dir) is True
    assert mnist.detect(tmp_path) is False


def test_plugin_infos_describe_what_each_plugin_did():
    zoo = get_zoo()
    assert zoo.plugins[0].name == CORE_PLUGIN  # the core always comes first
    core = plugin(zoo, CORE_PLUGIN)
    assert core.distribution == "ganzoo" and core.version == "0.1.0"
    assert set(core.hooks) == {"register_losses", "register_datasets", "register_metrics"}
    mlp = plugin(zoo, "mlp")
    assert mlp.module == "ganzoo_mlp" and mlp.distribution == "ganzoo" and mlp.version
    assert set(mlp.hooks) == {"register_architectures", "register_pretrained"}
    assert all(not p.errors for p in zoo.plugins)
    assert zoo.manager.get_plugin("mlp") is not None


def test_every_registered_target_imports_to_the_right_kind():
    from ganzoo.interfaces import AdversarialLoss, Architecture

    zoo = get_zoo()
    for entry in zoo.architectures:
        cls = entry.load()
        assert inspect.isclass(cls) and issubclass(cls, Architecture), entry
    for entry in zoo.losses:
        cls = entry.load()
        assert inspect.isclass(cls) and issubclass(cls, AdversarialLoss), entry
    for entry in zoo.datasets:
        assert callable(entry.load()), entry


# -- GANZOO_PLUGINS -----------------------------------------------------------------------------


def test_empty_ganzoo_plugins_loads_no_plugin_but_keeps_the_core(monkeypatch):
    monkeypatch.setenv("GANZOO_PLUGINS", "")
    zoo = get_zoo()
    assert [p.name for p in zoo.plugins] == [CORE_PLUGIN]
    assert "mlp" not in zoo.architectures and len(zoo.architectures) == 0
    assert "mlp-mnist" not in zoo.pretrained
    assert {e.name for e in zoo.losses} == CORE_LOSSES
    assert "mnist" in zoo.datasets


@pytest.mark.parametrize("value", ["mlp", " mlp , ", "mlp,mlp"])
def test_ganzoo_plugins_naming_mlp_keeps_it(monkeypatch, value):
    monkeypatch.setenv("GANZOO_PLUGINS", value)
    zoo = get_zoo()
    assert [p.name for p in zoo.plugins] == [CORE_PLUGIN, "mlp"]
    assert "mlp" in zoo.architectures and "mlp-mnist" in zoo.pretrained
    assert all(not p.errors for p in zoo.plugins)


def test_ganzoo_plugins_naming_a_missing_plugin_records_an_error(monkeypatch):
    monkeypatch.setenv("GANZOO_PLUGINS", "nonexistent")
    zoo = get_zoo()
    assert "mlp" not in zoo.architectures
    missing = plugin(zoo, "nonexistent")
    assert len(missing.errors) == 1
    assert "not installed" in missing.errors[0]
    assert "GANZOO_PLUGINS" in missing.errors[0]
    assert {e.name for e in zoo.losses} == CORE_LOSSES  # the core is unaffected


def test_cache_is_per_process_until_cleared(monkeypatch):
    assert "mlp" in get_zoo().architectures
    monkeypatch.setenv("GANZOO_PLUGINS", "")
    assert "mlp" in get_zoo().architectures  # still the cached zoo
    get_zoo.cache_clear()
    assert "mlp" not in get_zoo().architectures


def test_ganzoo_plugins_naming_the_core_is_not_an_error(monkeypatch):
    monkeypatch.setenv("GANZOO_PLUGINS", "ganzoo,mlp")
    zoo = get_zoo()
    assert [p.name for p in zoo.plugins] == [CORE_PLUGIN, "mlp"]
    assert all(not p.errors for p in zoo.plugins)


# -- isolation: a plugin that fails hurts only itself ---------------------------------------------


def test_plugin_that_raises_on_import_is_recorded_and_skipped(make_plugin, plugin_sys_path):
    plugin_sys_path(make_plugin("crashy", "raise ImportError('needs a package you do not have')\n"))
    zoo = build_zoo()
    crashy = plugin(zoo, "crashy")
    assert crashy.errors == ["could not load: ImportError: needs a package you do not have"]
    assert crashy.distribution == "ganzoo-test-crashy" and crashy.version == "0.0.1"
    assert crashy.hooks == []
    assert "mlp" in zoo.architectures and "mlp-mnist" in zoo.pretrained
    assert not plugin(zoo, "mlp").errors


def test_plugin_whose_hook_raises_keeps_its_other_hooks(make_plugin, plugin_sys_path):
    plugin_sys_path(make_plugin("half", textwrap.dedent("""
        from ganzoo import hookimpl

        @hookimpl
        def register_architectures(register):
            raise ValueError("cannot find my config")

        @hookimpl
        def register_losses(register):
            register("half-loss", "ganzoo.losses:HingeLoss", "works")
    """)))
    zoo = build_zoo()
    half = plugin(zoo, "half")
    assert half.errors == ["register_architectures failed: ValueError: cannot find my config"]
    assert set(half.hooks) == {"register_architectures", "register_losses"}
    assert zoo.losses.get("half-loss").plugin == "half"
    assert "mlp" in zoo.architectures


def test_plugin_with_a_misspelt_hook_argument_is_refused(make_plugin, plugin_sys_path):
    """pluggy validates hook signatures when the plugin is registered."""
    plugin_sys_path(make_plugin("typo", textwrap.dedent("""
        from ganzoo import hookimpl

        @hookimpl
        def register_architectures(registr):
            registr("typo-gan", "x.y:Z")
    """)))
    zoo = build_zoo()
    (error,) = plugin(zoo, "typo").errors
    assert error.startswith("could not load: PluginValidationError")
    assert "typo-gan" not in zoo.architectures
    assert "mlp" in zoo.architectures


def test_plugins_register_in_entry_point_name_order(make_plugin, plugin_sys_path):
    """Entry points load sorted by name whatever their order on sys.path, so which plugin wins a
    name clash does not depend on the install order."""
    source = textwrap.dedent("""
        from ganzoo import hookimpl

        @hookimpl
        def register_metrics(register):
            register("shared-metric", "x.y:Z", {desc!r})
    """)
    plugin_sys_path(make_plugin("m-second", source.format(desc="second")))
    plugin_sys_path(make_plugin("b-first", source.format(desc="first")))
    zoo = build_zoo()
    names = [p.name for p in zoo.plugins]
    assert names[0] == CORE_PLUGIN
    assert names[1:] == sorted(names[1:])
    assert names.index("b-first") < names.index("m-second")
    assert zoo.metrics.get("shared-metric").description == "first"
    assert "DuplicateNameError" in plugin(zoo, "m-second").errors[0]


def test_two_distributions_with_the_same_entry_point_name_are_reported(make_plugin, plugin_sys_path):
    plugin_sys_path(make_plugin("mlp", textwrap.dedent("""
        from ganzoo import hookimpl

        @hookimpl
        def register_architectures(register):
            register("impostor", "x.y:Z", "not the real mlp plugin")
    """), distribution="ganzoo-impostor"))
    zoo = build_zoo()
    errors = [e for p in zoo.plugins for e in p.errors]
    assert any("ganzoo-impostor" in e and "ganzoo" in e.replace("ganzoo-impostor", "") for e in errors)


# -- the CLI stays torch-free for listing ---------------------------------------------------------

_IMPORT_PROBE = textwrap.dedent("""
    import runpy, sys
    sys.argv = ["ganzoo", *sys.argv[1:]]
    try:
        runpy.run_module("ganzoo", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    heavy = [m for m in {heavy!r} if m in sys.modules]
    print("HEAVY=" + ",".join(heavy), file=sys.stderr)
    sys.exit(code)
""").format(heavy=HEAVY_MODULES)


def _probe(args, env=None):
    return subprocess.run([sys.executable, "-c", _IMPORT_PROBE, *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args, expect", [
    (["--help"], "ganzoo: a zoo of generative adversarial networks"),
    (["list"], "mlp-mnist"),
    (["list", "--pretrained"], "mlp-mnist"),
    (["plugins"], "architectures,pretrained"),
])
def test_listing_commands_do_not_import_torch(args, expect):
    result = _probe(args)
    assert result.returncode == 0, result.stderr
    assert expect in result.stdout
    assert "HEAVY=\n" in result.stderr, f"ganzoo {' '.join(args)} imported: {result.stderr}"


def test_listing_with_third_party_plugins_does_not_import_torch(plugin_site):
    result = _probe(["list"], env={"PYTHONPATH": str(plugin_site)})
    assert result.returncode == 0, result.stderr
    assert "toy" in result.stdout
    assert "HEAVY=\n" in result.stderr, result.stderr


def test_probe_notices_a_plugin_with_heavy_imports(make_plugin):
    """The probe itself works: a plugin module that imports numpy at top level is caught."""
    site = make_plugin("heavy", "import numpy\n")
    result = _probe(["list"], env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    assert "HEAVY=numpy" in result.stderr


# -- the CLI in-process ---------------------------------------------------------------------------


def test_cli_list_follows_ganzoo_plugins(monkeypatch):
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0, result.output
    assert "mlp" in result.stdout and "mlp-mnist" in result.stdout

    monkeypatch.setenv("GANZOO_PLUGINS", "")
    get_zoo.cache_clear()
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0, result.output
    assert "mlp" not in result.stdout
    assert result.stdout.startswith("architecture")


def test_cli_plugins_shows_a_missing_plugin_as_an_error(monkeypatch):
    monkeypatch.setenv("GANZOO_PLUGINS", "mlp,nonexistent")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:] if line and ":" not in line}
    assert rows["mlp"].endswith("ok") and rows["nonexistent"].endswith("ERROR")
    assert "nonexistent: named in GANZOO_PLUGINS but not installed" in result.stdout

    listing = CliRunner().invoke(cli, ["list"])
    assert listing.exit_code == 0
    assert "some plugins failed to load" in listing.stderr
    assert "some plugins failed to load" not in listing.stdout


def test_cli_unknown_architecture_is_a_one_line_error(tmp_path, mnist_dir):
    result = CliRunner().invoke(cli, ["train", "mpl", "--data", str(mnist_dir), "-o", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: unknown architecture 'mpl'; did you mean 'mlp'?"
    assert not (tmp_path / "r").exists()


# -- a third-party plugin, pip-installed ----------------------------------------------------------


@pytest.fixture(scope="module")
def third_party_env(plugin_site):
    return {"PYTHONPATH": str(plugin_site), "GANZOO_PLUGINS": None}


def test_third_party_plugin_is_listed_next_to_mlp(run_ganzoo, third_party_env):
    result = run_ganzoo(["list"], env=third_party_env)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    assert rows["toy"][1] == "toy"  # architecture toy from plugin toy
    assert rows["mlp"][1] == "mlp"
    assert "mlp-mnist" in rows
    # The broken plugin is installed too: list still works and points at `ganzoo plugins`.
    assert "run `ganzoo plugins` for details" in result.stderr
    assert "broken" not in result.stdout


def test_ganzoo_plugins_shows_the_broken_plugin_and_the_toy(run_ganzoo, third_party_env):
    result = run_ganzoo(["plugins"], env=third_party_env)
    assert result.returncode == 0, result.stderr
    table = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]
             if line and not line.startswith(("broken:",))}
    assert table["toy"] == ["toy", "ganzoo-toy", "0.1.0", "architectures", "ok"]
    assert table["broken"] == ["broken", "ganzoo-broken", "0.1.0", "-", "ERROR"]
    assert table["mlp"][-1] == "ok" and table["ganzoo"][-1] == "ok"
    assert "broken: could not load: RuntimeError: boom from broken plugin" in result.stdout


def test_ganzoo_plugins_env_hides_the_third_party_plugins(run_ganzoo, plugin_site):
    env = {"PYTHONPATH": str(plugin_site), "GANZOO_PLUGINS": "mlp"}
    listing = run_ganzoo(["list"], env=env)
    assert listing.returncode == 0, listing.stderr
    assert "toy" not in listing.stdout and "mlp" in listing.stdout
    assert listing.stderr == ""  # broken is not loaded, so nothing to warn about
    plugins = run_ganzoo(["plugins"], env=env)
    assert plugins.returncode == 0, plugins.stderr
    assert "toy" not in plugins.stdout and "broken" not in plugins.stdout

    only_toy = run_ganzoo(["list"], env={**env, "GANZOO_PLUGINS": "toy"})
    assert only_toy.returncode == 0, only_toy.stderr
    assert "toy" in only_toy.stdout and "mlp" not in only_toy.stdout


def test_third_party_plugin_in_process(plugin_site, plugin_sys_path):
    plugin_sys_path(plugin_site)
    zoo = build_zoo()
    toy = plugin(zoo, "toy")
    assert (toy.distribution, toy.version, toy.module, toy.errors) == ("ganzoo-toy", "0.1.0", "ganzoo_toy", [])
    assert plugin(zoo, "broken").errors == ["could not load: RuntimeError: boom from broken plugin"]
    arch = zoo.architectures.get("toy").load()()
    config = arch.make_config({"channels": 1, "image_size": 8})
    g, d = arch.build_generator(config), arch.build_discriminator(config)
    images = g.generate(3, seed=0)
    assert tuple(images.shape) == (3, 1, 8, 8)
    assert float(images.abs().max()) <= 1.0
    assert tuple(d(images).shape) == (3,)
    # It was imported from the installed copy and uses ganzoo's public API only.
    models = sys.modules["ganzoo_toy.models"]
    assert Path(models.__file__).is_relative_to(plugin_site)
    assert "ganzoo_mlp" not in Path(models.__file__).read_text()


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, run_ganzoo, third_party_env, mnist_dir):
    """`ganzoo train toy` for 20 steps with the third-party plugin installed."""
    root = tmp_path_factory.mktemp("toy-run")
    run_dir = root / "run"
    result = run_ganzoo(
        ["train", "toy", "--data", mnist_dir, "-o", run_dir, "--steps", "20", "--set", "log_every=10",
         "--set", "sample_every=20", "--set", "checkpoint_every=20", "--device", "cpu", "--no-progress"],
        env=third_party_env, cwd=root,
    )
    return run_dir, result


def test_train_a_third_party_architecture(toy_run):
    run_dir, result = toy_run
    assert result.returncode == 0, result.stderr
    assert "trained 20 steps" in result.stdout
    assert (run_dir / "checkpoints" / "step_00000020" / "model.safetensors").is_file()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["architecture"] == "toy"
    # Model config from ToyConfig, filled from the data; training defaults from ToyGAN.
    assert record["model_config"] == {"latent_dim": 16, "hidden": 32, "channels": 1, "image_size": 28}
    assert record["train_config"]["loss"] == "hinge" and record["train_config"]["batch_size"] == 32
    logged = [json.loads(line)["step"] for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert 10 in logged and 20 in logged


def test_sample_a_third_party_run(toy_run, run_ganzoo, third_party_env):
    run_dir, trained = toy_run
    assert trained.returncode == 0, trained.stderr
    out = run_dir.parent / "x.png"
    result = run_ganzoo(["sample", str(run_dir), "-n", "4", "-o", str(out)], env=third_party_env)
    assert result.returncode == 0, result.stderr
    assert "wrote 4 samples" in result.stdout
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_export_a_third_party_run_records_its_distribution(toy_run, run_ganzoo, third_party_env):
    run_dir, trained = toy_run
    assert trained.returncode == 0, trained.stderr
    out = run_dir.parent / "exported"
    result = run_ganzoo(["export", str(run_dir), "-o", str(out)], env=third_party_env)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == "toy"
    assert config["plugin"] == {"name": "toy", "distribution": "ganzoo-toy", "version": "0.1.0"}

    # Without the plugin installed, the exported model and the run say what is missing.
    from ganzoo.errors import ArtifactError
    from ganzoo.hub import load_pretrained

    for model, hint in ((out, "pip install ganzoo-toy"), (run_dir, "install the plugin that provides it")):
        with pytest.raises(ArtifactError) as info:
            load_pretrained(model)
        assert "needs architecture 'toy', which no installed plugin provides" in str(info.value)
        assert hint in str(info.value)
