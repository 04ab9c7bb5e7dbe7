"""Shared fixtures: the data directory and small MNIST subsets written from it, one intra-op
thread per test module, a fresh plugin zoo per test, the ``ganzoo`` command in a subprocess or in
this process (and its one-line errors), and third-party plugins installed (or written) outside the repository."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import pytest

from ganzoo.plugins import get_zoo

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
DATA_ROOT = Path(os.environ.get("GANZOO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
"""The shared, read-only data directory (``../shared/data`` next to the repository)."""

NET_GUARD = TESTS / "netguard"
"""Holds the ``sitecustomize`` that refuses non-loopback connections in every test process."""

PLUGIN_FIXTURES = ("ganzoo_toy", "ganzoo_broken")
"""Packages under tests/fixtures that ``plugin_site`` pip-installs."""


def pytest_configure(config: pytest.Config) -> None:
    """Before any test: no network but loopback, here and in every subprocess (the guard in
    tests/netguard is loaded through PYTHONPATH), and a Hugging Face home and a decoded-image
    cache of our own so tests never read or write the developer's caches or token. HF_ENDPOINT points at a closed loopback
    port: a test that reaches for the Hub without its own test server fails fast, locally."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="ganzoo-tests-hf-"))
    (home / "guard.log").touch()
    os.environ.update({
        "GANZOO_NET_GUARD": "1",
        "GANZOO_NET_GUARD_LOG": str(home / "guard.log"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(NET_GUARD), os.environ.get("PYTHONPATH")])),
        "HF_HOME": str(home / "hf"),
        "GANZOO_DATA_CACHE": str(home / "data-cache"),
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    })
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_CACHE", "HF_HUB_OFFLINE",
                 "TRANSFORMERS_OFFLINE", "HF_TOKEN_PATH"):
        os.environ.pop(name, None)
    import importlib.util

    spec = importlib.util.spec_from_file_location("ganzoo_tests_net_guard", NET_GUARD / "sitecustomize.py")
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    guard.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    log = os.environ.get("GANZOO_NET_GUARD_LOG")
    attempts = Path(log).read_text().strip() if log and Path(log).is_file() else ""
    if attempts:
        print(f"\nthe test network guard refused non-loopback connections:\n{attempts}", file=sys.stderr)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not DATA_ROOT.is_dir():
        pytest.fail(
            f"shared data directory {DATA_ROOT} is missing; set GANZOO_DATA to the directory that "
            "holds mnist/ (the tests need the real data and do not skip without it)"
        )
    return DATA_ROOT


@pytest.fixture(scope="session")
def mnist_dir(data_root: Path) -> Path:
    path = data_root / "mnist"
    if not any((path / f"train-images-idx3-ubyte{ext}").is_file() for ext in (".gz", "")):
        pytest.fail(
            f"MNIST is missing: {path} has no train-images-idx3-ubyte(.gz); set GANZOO_DATA to a "
            "directory whose mnist/ holds the four idx files"
        )
    return path


@pytest.fixture(scope="session")
def mnist_train(mnist_dir: Path):
    """The real MNIST training split (``load_mnist(mnist_dir)``), read once per session.

    Shared by every test that asks for it: slice and copy its tensors, never change them.
    """
    from ganzoo.data.mnist import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(scope="session")
def write_mnist_subset(mnist_train) -> Callable[[Path, int], Path]:
    """``write_mnist_subset(directory, n)``: the first ``n`` real MNIST training digits and their
    labels, written into ``directory`` as uncompressed MNIST train idx files. Returns ``directory``."""
    import torch

    def write(directory: Path, n: int) -> Path:
        images = mnist_train.images[:n, 0].contiguous()  # uint8 (n, 28, 28)
        labels = mnist_train.labels[:n]
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "train-images-idx3-ubyte").write_bytes(
            struct.pack(">HBBIII", 0, 0x08, 3, n, 28, 28) + images.numpy().tobytes()
        )
        (directory / "train-labels-idx1-ubyte").write_bytes(
            struct.pack(">HBBI", 0, 0x08, 1, n) + labels.to(torch.uint8).numpy().tobytes()
        )
        return directory

    return write


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """Tiny models on a busy machine: one intra-op thread is over 10x faster than two
    oversubscribed ones (and results stay deterministic either way). Restored after each module."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def fresh_zoo(monkeypatch: pytest.MonkeyPatch):
    """Each test sees the installed plugins as of its own environment.

    ``get_zoo`` is cached per process, so the cache is cleared before and after every test
    (a test's ``monkeypatch.setenv("GANZOO_PLUGINS", ...)`` then takes effect). A
    ``GANZOO_PLUGINS`` from the developer's shell is removed so tests start from "all plugins".
    """
    monkeypatch.delenv("GANZOO_PLUGINS", raising=False)
    get_zoo.cache_clear()
    yield
    get_zoo.cache_clear()


RunGanzoo = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def run_ganzoo() -> RunGanzoo:
    """``run_ganzoo(args, env=None, cwd=None)``: ``python -m ganzoo *args`` in a subprocess.

    ``env`` holds overrides on top of the current environment; a value of ``None`` removes
    that variable. Returns the CompletedProcess (text, stdout and stderr captured).
    """

    def run(
        args: list[str] | tuple[str, ...],
        env: Mapping[str, str | None] | None = None,
        cwd: str | Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = str(value)
        return subprocess.run(
            [sys.executable, "-m", "ganzoo", *map(str, args)],
            env=full_env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run


@pytest.fixture
def ganzoo(run_ganzoo: RunGanzoo, tmp_path: Path) -> Callable[..., "subprocess.CompletedProcess[str]"]:
    """``ganzoo(*args, cwd=tmp_path)``: ``python -m ganzoo *args`` in a subprocess with every
    installed plugin (``GANZOO_PLUGINS`` unset) on one intra-op thread (``OMP_NUM_THREADS=1``:
    several times faster for tiny models on a busy machine, and the same thread count as the
    tests' own process)."""
    env = {"GANZOO_PLUGINS": None, "OMP_NUM_THREADS": "1"}
    return lambda *args, cwd=tmp_path: run_ganzoo(list(args), env=env, cwd=cwd)


@dataclass
class CommandResult:
    """What a ``ganzoo`` command run in this process left: the fields of a CompletedProcess the
    tests read."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def ganzoo_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., CommandResult]:
    """``ganzoo_here(*args, cwd=tmp_path, env=None)``: the ``ganzoo`` command run in this process
    by click's CliRunner: the same command group with the plugins' commands, the same error
    handling, exit codes and ``warning:`` lines as ``python -m ganzoo``, without starting an
    interpreter and importing torch (seconds per call). For commands that stop at bad input or
    only read; training, signals and anything that needs its own process use ``ganzoo``. An
    exception the CLI did not turn into an exit is raised here, failing the test."""
    import copy
    import warnings

    from click.testing import CliRunner

    from ganzoo import cli as cli_module
    from ganzoo.plugins import add_plugin_commands

    core = {name: command for name, command in cli_module.cli.commands.items()
            if (command.callback is None or command.callback.__module__.startswith("ganzoo."))}

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        sys.stderr.write(cli_module._one_line_warning(message, category, filename, lineno))

    def run(*args, cwd: Path = tmp_path, env: Mapping[str, str | None] | None = None) -> CommandResult:
        group = copy.copy(cli_module.cli)
        group.commands = dict(core)
        with monkeypatch.context() as patch:
            patch.chdir(cwd)
            for key, value in (env or {}).items():
                patch.delenv(key, raising=False) if value is None else patch.setenv(key, str(value))
            get_zoo.cache_clear()
            add_plugin_commands(get_zoo(), group)
            with warnings.catch_warnings():
                warnings.resetwarnings()  # as a fresh interpreter has them, not pytest's
                for quiet in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                    warnings.simplefilter("ignore", quiet)
                warnings.showwarning = show
                result = CliRunner().invoke(group, [str(a) for a in args], prog_name="ganzoo",
                                            catch_exceptions=False)
            get_zoo.cache_clear()
        return CommandResult([str(a) for a in args], result.exit_code, result.stdout, result.stderr)

    return run


def _one_line_error(result: "subprocess.CompletedProcess[str]") -> str:
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="session")
def one_line_error() -> Callable[["subprocess.CompletedProcess[str]"], str]:
    """``one_line_error(result)``: the single ``error: ...`` line of a failed command, asserting
    exit code 2, no traceback and nothing else on stderr."""
    return _one_line_error


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the fixture plugins ganzoo-toy and ganzoo-broken pip-installed into it.

    Put it on PYTHONPATH (subprocesses) or sys.path (``plugin_sys_path``) to "install" them.
    The packages are copied out of the repository first: an in-tree build writes build/ and
    *.egg-info next to the sources.
    """
    root = tmp_path_factory.mktemp("plugin-site")
    target = root / "site"
    sources = []
    for name in PLUGIN_FIXTURES:
        source = root / "src" / name
        shutil.copytree(FIXTURES / name, source,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        sources.append(str(source))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(target), *sources],
        capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(f"pip could not install {', '.join(PLUGIN_FIXTURES)}:\n{result.stdout}\n{result.stderr}")
    return target


@pytest.fixture
def plugin_sys_path(monkeypatch: pytest.MonkeyPatch):
    """``add(path)`` puts ``path`` first on sys.path for this test (entry points and modules in
    it become visible in-process); afterwards the modules imported from it are forgotten."""
    prefixes: list[str] = []

    def add(path: Path) -> Path:
        monkeypatch.syspath_prepend(str(path))
        prefixes.extend({os.path.join(str(path), ""), os.path.join(str(Path(path).resolve()), "")})
        return path

    yield add
    if prefixes:
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and file.startswith(tuple(prefixes)):
                del sys.modules[name]


@pytest.fixture
def make_plugin(tmp_path: Path) -> Callable[..., Path]:
    """``make_plugin(entry_point, source, distribution=None)`` writes an installed-looking plugin:
    a module holding ``source`` and a ``*.dist-info`` whose ``entry_points.txt`` registers it
    under ``entry_point`` in the ``ganzoo`` group. Returns the directory to put on the path.

    Module names are unique per call, so tests never see each other's cached modules.
    """
    root = tmp_path / f"plugins-{uuid.uuid4().hex[:8]}"
    root.mkdir()

    def make(entry_point: str, source: str, distribution: str | None = None) -> Path:
        module = f"ganzoo_test_{entry_point.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        distribution = distribution or f"ganzoo-test-{entry_point}"
        (root / f"{module}.py").write_text(source)
        info = root / f"{distribution.replace('-', '_')}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.0.1\n"
        )
        (info / "entry_points.txt").write_text(f"[ganzoo]\n{entry_point} = {module}\n")
        return root

    return make


@pytest.fixture
def server():
    """The loopback Hub-protocol server (tests/hub_server.py), with user alice's write token."""
    from hub_server import WRITER_TOKEN, HubServer

    with HubServer(tokens={WRITER_TOKEN: "alice"}) as hub:
        yield hub


@pytest.fixture
def options(server, tmp_path: Path):
    """HubOptions for the loopback Hub, an empty cache in tmp_path and the write token."""
    from ganzoo.huggingface import HubOptions
    from hub_server import WRITER_TOKEN

    return HubOptions(endpoint=server.url, cache_dir=tmp_path / "hf-cache", token=WRITER_TOKEN)
