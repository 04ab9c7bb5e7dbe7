"""How an evaluation report is shown: lines for the terminal, and entries for the model card
(what a card records of each figure, and what it leaves out)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per figure, with the counts and the reference it was measured on."""
    lines = []
    for r in report["results"]:
        p = r["protocol"]
        beside = ""
        if "real" in r["details"]:
            beside = f"  (real data: {r['details']['real']:.4g})"
        if "train_on_real_accuracy" in r["details"]:
            beside = f"  (train on real: {r['details']['train_on_real_accuracy']:.4g})"
        counts = (f"n_fake={p['n_fake']}, n_real={p.get('n_real', '?')}" if "n_fake" in p
                  else f"images={p.get('images', '?')}")
        lines.append(f"{r['metric']:<17} {r['value']:.4g}{beside}  [{counts}, {r['seconds']:.1f}s]")
        levels = [f"{k}={v:.3g}" for k, v in r["details"].items() if k.startswith("swd_")]
        if levels:
            lines.append(f"{'':<17} per level: {', '.join(levels)}")
    return lines


def dataset_name(path: str) -> str:
    """A reference dataset's name for cards: its folder, with the parent's when the folder is a
    generic scale or split name (``Set5/x4``, ``celeba/test``)."""
    where = Path(path)
    generic = re.fullmatch(r"x\d+|test|train|val|valid|validation|hr|lr", where.name.lower())
    return f"{where.parent.name}/{where.name}" if generic and where.parent.name else where.name


def card_entries(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's figures as config.json ``evaluation`` entries (the model card's
    model-index): value, reference data and split, and the protocol's scalar facts, with the
    real data's value and per-level figures beside the headline where the metric gives them.
    The reference data is named, not located: its path on the measuring machine stays in the
    report."""
    entries = []
    reference = report["reference"]
    for result in report["results"]:
        protocol = {k: v for k, v in result["protocol"].items() if k != "data"
                    and isinstance(v, (int, float, str)) and not isinstance(v, bool) and len(str(v)) <= 80}
        if isinstance(result["protocol"].get("resolution"), list):
            protocol["resolution"] = "x".join(map(str, result["protocol"]["resolution"][1:]))
        details = result["details"]
        if isinstance(details.get("real"), float):
            protocol["real_data_value"] = round(details["real"], 4)
        if isinstance(details.get("train_on_real_accuracy"), float):
            protocol["train_on_real_accuracy"] = round(details["train_on_real_accuracy"], 4)
        levels = {k.removeprefix("swd_"): round(v, 2) for k, v in details.items() if k.startswith("swd_")}
        if levels:
            protocol["per_level"] = ", ".join(f"{k}: {v}" for k, v in levels.items())
        protocol["ganzoo"] = report["ganzoo"]
        protocol["seconds"] = round(result["seconds"], 1)
        protocol["device"] = report["device"]
        entries.append({"metric": result["metric"], "name": result["name"], "value": round(result["value"], 4),
                        "dataset": dataset_name(reference["path"]), "split": reference["split"],
                        "protocol": protocol})
    return entries
