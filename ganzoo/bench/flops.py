"""FLOPs of one training step (counted by PyTorch's FlopCounterMode) and the share of the
device's dense bf16 peak that a measured step rate achieves."""

from __future__ import annotations

from typing import Callable

from torch.utils.flop_counter import FlopCounterMode

BF16_DENSE_PEAK_TFLOPS = (
    ("H200", 989.4), ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.4), ("A100", 312.0),
    ("L40S", 362.0),
)
"""Published dense (no sparsity) bf16 tensor-core peaks by GPU name, first match wins."""


def count_flops(step: Callable[[], object]) -> int:
    """Floating-point operations of one call of ``step`` (matmuls and convolutions, forward and
    backward: what the GPU's tensor cores do)."""
    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())


def bf16_peak_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of the named GPU, if known (None for CPUs and unknown GPUs)."""
    for key, peak in BF16_DENSE_PEAK_TFLOPS:
        if key in device_name:
            return peak
    return None


def throughput(flops_per_step: int, images_per_s: float, images_per_step: int,
               device_name: str) -> dict[str, float | None]:
    """Achieved TFLOP/s and, where the peak is known, its fraction of the bf16 peak."""
    tflops = flops_per_step * images_per_s / images_per_step / 1e12
    peak = bf16_peak_tflops(device_name)
    return {"tflops": tflops, "bf16_peak_tflops": peak, "fraction_of_bf16_peak": tflops / peak if peak else None}
