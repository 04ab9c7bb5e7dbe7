"""The loss-curve PNG drawn at the end of training."""

from __future__ import annotations

from pathlib import Path

from ganzoo.fileio import read_jsonl


def plot_losses(log_path: Path, out_path: Path) -> Path | None:
    """Plot every ``*_loss`` series of a JSONL training log against the step."""
    if not Path(log_path).exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_jsonl(log_path) if isinstance(r.get("step"), (int, float))]
    keys = sorted({k for r in records for k in r if k.endswith("loss")})
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for key in keys:
        points = [(r["step"], r[key]) for r in records if key in r]
        ax.plot([p[0] for p in points], [p[1] for p in points], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = Path(out_path).with_name(f".{Path(out_path).name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out_path)
    return Path(out_path)
