"""``ganzoo bench``: training and sampling speed of every architecture, beside a plain
hand-written PyTorch loop of the same networks, measured in the same run.

- ``timing``: interleaved timed blocks, medians and spread (CUDA-synchronised);
- ``machine``: device, versions, date, and how busy the machine was;
- ``plain``: the generic hand-written loop and the synthetic data;
- ``contenders``: the engine and the plain loop of one architecture at one batch size;
- ``memory``: each contender's peak memory, alone in a fresh process;
- ``sampling``: generator forward passes over a sweep of batch sizes;
- ``runner``: all of it per architecture and pretrained model, OOM included;
- ``report``: the Markdown table, the JSON record and the bar chart.

Like the rest of the library these import torch; the CLI imports them inside the command.
"""

from ganzoo.bench.runner import BenchOptions, check_request, parse_batch_sizes, run_bench

__all__ = ["BenchOptions", "check_request", "parse_batch_sizes", "run_bench"]
