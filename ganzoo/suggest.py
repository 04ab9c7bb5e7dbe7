"""The "did you mean" hint of every unknown-name message."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(name: str, choices: Iterable[str], *, known: bool = False, n: int = 1,
                 cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` naming the closest of ``choices``; with none close enough,
    ``"; known: a, b"`` when ``known`` is set, else ``""``."""
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=n, cutoff=cutoff)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if known and choices:
        return f"; known: {', '.join(choices)}"
    return ""
