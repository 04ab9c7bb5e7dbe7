"""The typed registries: names are validated, duplicates refused, unknown names get a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganzoo.errors import DuplicateNameError, GanzooError, PluginError, UnknownNameError
from ganzoo.plugins import build_zoo
from ganzoo.registry import (
    ArchitectureEntry,
    LossEntry,
    Registry,
    import_target,
)


def arch(name: str, plugin: str = "first", target: str = "ganzoo_mlp.architecture:MLPGAN") -> ArchitectureEntry:
    return ArchitectureEntry(name=name, plugin=plugin, description=f"{name} by {plugin}", target=target)


# -- duplicates ----------------------------------------------------------------------------------


def test_duplicate_name_is_refused_and_names_both_plugins():
    registry = Registry("architecture")
    registry.add(arch("dcgan", plugin="ganzoo-dcgan"))
    with pytest.raises(DuplicateNameError) as info:
        registry.add(arch("dcgan", plugin="someone-elses-dcgan"))
    message = str(info.value)
    assert "architecture 'dcgan'" in message
    assert "'ganzoo-dcgan'" in message and "'someone-elses-dcgan'" in message
    assert "GANZOO_PLUGINS" in message  # says how to get out of it
    # The first registration stands; the refused one changed nothing.
    assert registry.get("dcgan").plugin == "ganzoo-dcgan"
    assert len(registry) == 1


def test_duplicate_from_the_same_plugin_is_refused_too():
    registry = Registry("loss")
    registry.add(LossEntry(name="hinge", plugin="p", target="ganzoo.losses:HingeLoss"))
    with pytest.raises(DuplicateNameError, match="loss 'hinge'"):
        registry.add(LossEntry(name="hinge", plugin="p", target="ganzoo.losses:HingeLoss"))


def test_duplicate_name_is_a_ganzoo_error():
    # The CLI turns GanzooError into a one-line message with exit code 2.
    assert issubclass(DuplicateNameError, GanzooError)
    assert issubclass(UnknownNameError, GanzooError)


def test_duplicate_across_plugins_through_build_zoo(make_plugin, plugin_sys_path):
    """A plugin that registers a name another plugin holds gets the error; the holder keeps it."""
    plugin_sys_path(make_plugin("zz-copycat", """
from ganzoo import hookimpl

@hookimpl
def register_architectures(register):
    register("mlp", "ganzoo_mlp.architecture:MLPGAN", "a second mlp")
    register("copycat-own", "ganzoo_mlp.architecture:MLPGAN", "registered after the clash: never reached")
"""))
    zoo = build_zoo()
    assert zoo.architectures.get("mlp").plugin == "mlp"
    assert zoo.architectures.get("mlp").description.startswith("fully connected")
    copycat = next(p for p in zoo.plugins if p.name == "zz-copycat")
    assert len(copycat.errors) == 1
    error = copycat.errors[0]
    assert error.startswith("register_architectures failed: DuplicateNameError")
    assert "'mlp'" in error and "'zz-copycat'" in error
    # Everything else is still there.
    assert "mlp-mnist" in zoo.pretrained and "bce" in zoo.losses
    assert not next(p for p in zoo.plugins if p.name == "mlp").errors


def test_duplicate_of_the_installed_toy_plugin(plugin_site, make_plugin, plugin_sys_path):
    """Same through the pip-installed third-party fixture: a later plugin cannot take 'toy'."""
    plugin_sys_path(plugin_site)
    plugin_sys_path(make_plugin("zz-toy-clone", """
from ganzoo import hookimpl

@hookimpl
def register_architectures(register):
    register("toy", "ganzoo_toy.models:ToyGAN", "clone")
"""))
    zoo = build_zoo()
    entry = zoo.architectures.get("toy")
    assert entry.plugin == "toy" and entry.description != "clone"
    (error,) = next(p for p in zoo.plugins if p.name == "zz-toy-clone").errors
    assert "DuplicateNameError" in error
    assert "both plugin 'toy' and plugin 'zz-toy-clone'" in error


def test_core_loss_names_are_reserved_for_the_core(make_plugin, plugin_sys_path):
    """The core registers first, so a plugin cannot replace a built-in loss."""
    plugin_sys_path(make_plugin("aaa-early", """
from ganzoo import hookimpl

@hookimpl
def register_losses(register):
    register("bce", "ganzoo.losses:HingeLoss", "not really bce")
"""))
    zoo = build_zoo()
    assert zoo.losses.get("bce").plugin == "ganzoo"
    assert zoo.losses.get("bce").target == "ganzoo.losses:NonSaturatingLoss"
    (error,) = next(p for p in zoo.plugins if p.name == "aaa-early").errors
    assert "DuplicateNameError" in error and "'ganzoo'" in error and "'aaa-early'" in error


# -- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "MLP", "my gan", "-lead", ".hidden", "a/b", "ünïcode", "x:y", None, 3])
def test_bad_names_are_refused(name):
    registry = Registry("architecture")
    with pytest.raises(GanzooError) as info:
        registry.add(arch(name, plugin="sloppy"))
    assert not isinstance(info.value, DuplicateNameError)
    message = str(info.value)
    assert "'sloppy'" in message and "architecture name" in message
    assert "lowercase" in message
    assert len(registry) == 0


def test_name_with_trailing_newline_is_refused():
    registry = Registry("architecture")
    with pytest.raises(GanzooError):
        registry.add(arch("mlp\n"))


@pytest.mark.parametrize("name", ["mlp", "dcgan", "stylegan2-ada", "pix2pix_hd", "v1.5", "0gan"])
def test_good_names_are_accepted(name):
    registry = Registry("architecture")
    registry.add(arch(name))
    assert name in registry
    assert registry.get(name).name == name


def test_bad_name_through_build_zoo_is_recorded(make_plugin, plugin_sys_path):
    plugin_sys_path(make_plugin("shouty", """
from ganzoo import hookimpl

@hookimpl
def register_architectures(register):
    register("BIG GAN", "x.y:Z", "bad name")
"""))
    zoo = build_zoo()
    (error,) = next(p for p in zoo.plugins if p.name == "shouty").errors
    assert error.startswith("register_architectures failed: GanzooError")
    assert "'BIG GAN'" in error
    assert "BIG GAN" not in zoo.architectures


# -- lookup ---------------------------------------------------------------------------------------


def test_unknown_name_suggests_a_near_miss():
    registry = Registry("architecture")
    for name in ("mlp", "dcgan", "wgan-gp"):
        registry.add(arch(name))
    with pytest.raises(UnknownNameError) as info:
        registry.get("dcgna")
    message = str(info.value)
    assert message.startswith("unknown architecture 'dcgna'")
    assert "did you mean 'dcgan'?" in message
    # str() is the message itself, not KeyError's quoted repr.
    assert not message.startswith(("'", '"'))
    # UnknownNameError is a KeyError, so dict-style callers can catch it.
    assert isinstance(info.value, KeyError)


def test_unknown_name_without_near_miss_lists_what_is_known():
    registry = Registry("loss")
    for name in ("wgan", "bce", "hinge"):
        registry.add(LossEntry(name=name, plugin="ganzoo", target="x:y"))
    message = registry.unknown_message("totally-different")
    assert "did you mean" not in message
    assert message.endswith("known: bce, hinge, wgan")


def test_unknown_name_in_an_empty_registry_says_nothing_provides_one():
    registry = Registry("metric")
    with pytest.raises(UnknownNameError, match="no installed plugin provides any metric"):
        registry.get("fid")


def test_real_zoo_suggests_mlp_for_a_typo():
    zoo = build_zoo()
    with pytest.raises(UnknownNameError, match=r"unknown architecture 'mpl'; did you mean 'mlp'\?"):
        zoo.architectures.get("mpl")
    with pytest.raises(UnknownNameError, match=r"did you mean 'hinge'\?"):
        zoo.losses.get("hing")


# -- iteration ------------------------------------------------------------------------------------


def test_iteration_and_names_are_sorted_whatever_the_insertion_order():
    registry = Registry("architecture")
    order = ["wgan", "acgan", "mlp", "dcgan", "b-gan", "a.gan"]
    for name in order:
        registry.add(arch(name))
    assert [e.name for e in registry] == sorted(order)
    assert registry.names() == sorted(order)
    assert len(registry) == len(order)
    assert "mlp" in registry and "nope" not in registry and 42 not in registry


def test_zoo_losses_iterate_sorted():
    zoo = build_zoo()
    names = [e.name for e in zoo.losses]
    assert names == sorted(names)
    assert {"bce", "hinge", "lsgan", "minimax", "wgan"} <= set(names)


# -- targets --------------------------------------------------------------------------------------


def test_import_target_resolves_module_attribute_strings():
    assert import_target("pathlib:Path") is Path
    assert import_target("os.path:join.__name__") == "join"
    sentinel = object()
    assert import_target(sentinel) is sentinel  # non-strings pass through


@pytest.mark.parametrize("bad", ["pathlib", "pathlib:", ":Path", ""])
def test_import_target_refuses_malformed_strings(bad):
    with pytest.raises(GanzooError, match="expected 'package.module:attribute'"):
        import_target(bad)


def test_entry_load_is_lazy():
    """An entry with a target that cannot be imported is fine until it is used."""
    registry = Registry("architecture")
    registry.add(arch("ghost", target="ganzoo_no_such_module:Ghost"))
    entry = registry.get("ghost")
    with pytest.raises(PluginError, match="ModuleNotFoundError: No module named 'ganzoo_no_such_module'"):
        entry.load()
