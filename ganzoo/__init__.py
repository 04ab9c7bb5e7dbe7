"""ganzoo: a plugin-based zoo of generative adversarial networks for PyTorch.

Importing ``ganzoo`` is cheap: it does not import torch. The library's pieces live in
submodules (``ganzoo.interfaces``, ``ganzoo.engine``, ``ganzoo.hub``, ...).
"""

from ganzoo.errors import GanzooError
from ganzoo.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["GanzooError", "hookimpl", "__version__"]
