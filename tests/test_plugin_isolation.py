"""Broken plugins are isolated when their targets are used, not only when they load: one line
naming the plugin and its package, never a traceback, and no other architecture goes down.
Also: the plugin API version, misnamed hooks and colliding commands."""

from __future__ import annotations

import textwrap

import click
import pytest

from ganzoo.errors import PluginError
from ganzoo.plugins import add_plugin_commands, build_zoo, check_targets


def plugin_info(zoo, name):
    (info,) = [p for p in zoo.plugins if p.name == name]
    return info


REGISTERS = textwrap.dedent("""
    from ganzoo.api import hookimpl

    @hookimpl
    def register_losses(register):
        register("broken-loss", "{module}:MyLoss")
        register("typo-loss", "ganzoo.losses:HingeLos")

    @hookimpl
    def register_architectures(register):
        register("loss-as-arch", "ganzoo.losses:HingeLoss")
""")


@pytest.fixture
def broken_targets(make_plugin, plugin_sys_path, tmp_path):
    """A plugin that loads fine but whose targets are broken: a SyntaxError in its loss module,
    a misspelt attribute, and a loss registered as an architecture."""
    module = f"broken_loss_{tmp_path.name.replace('-', '_')}"
    root = make_plugin("shaky", REGISTERS.format(module=module), distribution="ganzoo-shaky")
    (root / f"{module}.py").write_text("class MyLoss(:\n    pass\n")
    plugin_sys_path(root)
    return root


def test_broken_targets_load_fine_and_fail_in_one_line_when_used(broken_targets):
    zoo = build_zoo()
    assert plugin_info(zoo, "shaky").errors == []  # listing imports nothing
    with pytest.raises(PluginError) as syntax:
        zoo.losses.get("broken-loss").load()
    message = str(syntax.value)
    assert "\n" not in message and "SyntaxError" in message
    assert "plugin 'shaky' (package ganzoo-shaky)" in message and "fix or uninstall" in message
    with pytest.raises(PluginError, match=r"typo-loss.*AttributeError.*HingeLos"):
        zoo.losses.get("typo-loss").load()
    with pytest.raises(PluginError, match="is 'ganzoo.losses:HingeLoss', which is not a Architecture subclass"):
        zoo.architectures.get("loss-as-arch").load()
    assert zoo.architectures.get("mlp").load().__name__ == "MLPGAN"  # the others still work


def test_plugins_check_reports_each_broken_target(broken_targets):
    problems = check_targets(build_zoo())
    assert len(problems["shaky"]) == 3
    assert all(not lines for name, lines in problems.items() if name != "shaky")


def test_cli_plugins_check_and_train_with_a_broken_loss(broken_targets, run_ganzoo, one_line_error,
                                                        mnist_dir, tmp_path):
    env = {"PYTHONPATH": str(broken_targets), "GANZOO_PLUGINS": None}
    listed = run_ganzoo(["plugins"], env=env)
    assert listed.returncode == 0 and "shaky" in listed.stdout
    checked = run_ganzoo(["plugins", "--check"], env=env)
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    shaky = [line for line in checked.stdout.splitlines() if line.startswith("shaky")]
    assert "ERROR" in shaky[0] and len(shaky) == 4
    trained = run_ganzoo(["train", "mlp", "--data", str(mnist_dir), "-o", str(tmp_path / "run"),
                          "--loss", "broken-loss", "--steps", "1"], env=env)
    line = one_line_error(trained)
    assert "loss 'broken-loss' of plugin 'shaky' (package ganzoo-shaky)" in line and "SyntaxError" in line
    assert not (tmp_path / "run").exists()


def test_bench_goes_on_past_a_broken_architecture(broken_targets):
    from ganzoo.bench.runner import BenchOptions, bench_architecture, check_request

    options = BenchOptions(device="cpu")
    chosen, device = check_request(["loss-as-arch", "mlp"], options)
    assert chosen == ["loss-as-arch", "mlp"]
    lines = []
    record = bench_architecture("loss-as-arch", options, device, lines.append)
    assert record["status"] == "error" and "not a Architecture subclass" in record["error"]
    with pytest.raises(PluginError):
        check_request(["loss-as-arch"], options)  # nothing left to bench: the one line


def test_a_misnamed_hook_is_reported_not_ignored(make_plugin, plugin_sys_path):
    plugin_sys_path(make_plugin("misnamed", textwrap.dedent("""
        from ganzoo.api import hookimpl

        @hookimpl
        def register_loss(register):
            register("never", "ganzoo.losses:HingeLoss")
    """)))
    zoo = build_zoo()
    assert plugin_info(zoo, "misnamed").errors == [
        "hook 'register_loss' is not a ganzoo hook and is ignored; did you mean 'register_losses'?"]
    assert "never" not in zoo.losses


@pytest.mark.parametrize(("declared", "loaded"), [('"1.0"', True), ('"2.0"', False), ('"1.99"', False),
                                                  ('"banana"', False)])
def test_plugin_api_version(make_plugin, plugin_sys_path, declared, loaded):
    plugin_sys_path(make_plugin("versioned", textwrap.dedent(f"""
        from ganzoo.api import hookimpl

        GANZOO_API = {declared}

        @hookimpl
        def register_losses(register):
            register("versioned-loss", "ganzoo.losses:HingeLoss")
    """)))
    zoo = build_zoo()
    errors = plugin_info(zoo, "versioned").errors
    assert ("versioned-loss" in zoo.losses) is loaded
    if loaded:
        assert errors == []
    else:
        (error,) = errors
        assert error.startswith("not loaded: ") and ("plugin API" in error or "major.minor" in error)
        assert zoo.manager.get_plugin("versioned") is None


COMMANDS = textwrap.dedent("""
    import click
    from ganzoo.api import hookimpl

    @hookimpl
    def register_commands(cli):
        @cli.command(name="list")
        def hijack():
            click.echo("hijacked")

        @cli.command(name="{name}")
        def own():
            click.echo("{owner}")
""")


def test_plugin_commands_cannot_replace_core_or_other_plugins_commands(make_plugin, plugin_sys_path):
    plugin_sys_path(make_plugin("cmd-a", COMMANDS.format(name="hello", owner="a")))
    plugin_sys_path(make_plugin("cmd-b", COMMANDS.format(name="hello", owner="b")))
    from ganzoo.cli import cli

    group = click.Group("ganzoo", commands=dict(cli.commands))
    core_list = group.commands["list"]
    zoo = build_zoo()
    add_plugin_commands(zoo, group)
    assert group.commands["list"] is core_list
    assert group.commands["hello"].callback.__module__.startswith("ganzoo_test_cmd_a")
    a, b = plugin_info(zoo, "cmd-a").errors, plugin_info(zoo, "cmd-b").errors
    assert a == ["command 'list' was refused: the name is taken by the core; the plugin must rename it"]
    assert b == [a[0], "command 'hello' was refused: the name is taken by plugin 'cmd-a'; "
                       "the plugin must rename it"]


def test_a_plugin_reusing_a_first_party_name_is_refused_whatever_it_is_called(make_plugin, plugin_sys_path):
    """Its entry point sorts before 'dcgan', yet the first-party dcgan and mlp-mnist stay."""
    plugin_sys_path(make_plugin("a-impostor", textwrap.dedent("""
        from ganzoo.api import hookimpl

        @hookimpl
        def register_architectures(register):
            register("dcgan", "ganzoo.losses:HingeLoss", "not a DCGAN")

        @hookimpl
        def register_pretrained(register):
            register("mlp-mnist", repo_id="someone/else", architecture="mlp")
    """), distribution="ganzoo-impostor"))
    zoo = build_zoo()
    assert zoo.architectures.get("dcgan").plugin == "dcgan"
    assert zoo.pretrained.get("mlp-mnist").plugin == "mlp"
    impostor = plugin_info(zoo, "a-impostor")
    assert len(impostor.errors) == 2 and all("registered by both" in e for e in impostor.errors)
    assert not plugin_info(zoo, "dcgan").errors and not plugin_info(zoo, "mlp").errors


def test_a_plugin_that_takes_too_long_to_import_is_skipped_not_waited_for(make_plugin, run_ganzoo):
    import time

    root = make_plugin("sleepy", "import time\ntime.sleep(60)\n", distribution="ganzoo-sleepy")
    env = {"PYTHONPATH": str(root), "GANZOO_PLUGINS": None, "GANZOO_PLUGIN_IMPORT_TIMEOUT": "1"}
    start = time.monotonic()
    listed = run_ganzoo(["plugins"], env=env)
    assert time.monotonic() - start < 30  # not the plugin's 60 s
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert "sleepy: could not load: TimeoutError: its module did not finish importing within 1 s" in listed.stdout
    assert "dcgan" in listed.stdout
    assert run_ganzoo(["list"], env=env).returncode == 0
