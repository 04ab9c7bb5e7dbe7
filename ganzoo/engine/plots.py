"""The run's loss_curve.png: the losses against the step and, when the run logs evaluation
metrics, each metric in its own panel below. Redrawn at every checkpoint and at the end."""

from __future__ import annotations

from pathlib import Path

from ganzoo.fileio import read_jsonl


def plot_losses(log_path: Path, out_path: Path) -> Path | None:
    """Plot every ``*_loss`` series of a JSONL training log against the step, and every
    headline ``eval_<metric>`` (not its per-part figures) in a panel of its own."""
    if not Path(log_path).exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_jsonl(log_path) if isinstance(r.get("step"), (int, float))]
    losses = sorted({k for r in records for k in r if k.endswith("loss")})
    metrics = sorted({k for r in records for k in r if k.startswith("eval_") and k != "eval_seconds"})
    metrics = [m for m in metrics if not any(m.startswith(f"{other}_") for other in metrics if other != m)]
    fig, axes = plt.subplots(1 + len(metrics), 1, figsize=(7, 4 + 2.2 * len(metrics)), dpi=100, squeeze=False,
                             sharex=True)
    panels = [ax for row in axes for ax in row]
    for key in losses:
        points = [(r["step"], r[key]) for r in records if key in r]
        panels[0].plot([p[0] for p in points], [p[1] for p in points], label=key)
    panels[0].set_ylabel("loss")
    if losses:
        panels[0].legend()
    for ax, key in zip(panels[1:], metrics):
        points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color="tab:red")
        ax.set_ylabel(key.removeprefix("eval_"))
    for ax in panels:
        ax.grid(alpha=0.3)
    panels[-1].set_xlabel("step")
    fig.tight_layout()
    tmp = Path(out_path).with_name(f".{Path(out_path).name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out_path)
    return Path(out_path)
