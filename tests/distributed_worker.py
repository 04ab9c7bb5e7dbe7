"""Run by tests/test_distributed.py, under torchrun or alone: train a run with the engine and
save this process's final generator and discriminator weights as ``weights_rank<R>.safetensors``.

    python tests/distributed_worker.py ARCH DATA RUN_DIR KEY=VALUE ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from safetensors.torch import save_file

from ganzoo.engine import distributed, start_run


def main(arch: str, data: str, run_dir: str, *pairs: str) -> None:
    settings = {k: json.loads(v) for k, v in (pair.split("=", 1) for pair in pairs)}
    trainer = start_run(arch, data, run_dir, settings=settings, progress=False)
    trainer.fit()
    rank = 0 if trainer.dist is None else trainer.dist.rank
    weights = {k: v.detach().contiguous() for k, v in trainer.recipe.state_dict().items()}
    save_file(weights, str(Path(run_dir).parent / f"weights_rank{rank}.safetensors"))
    distributed.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:])
