#!/usr/bin/env python3
"""A KernelBench-style pair: `Model` is the reference (torch.nn.functional.leaky_relu), `ModelNew`
the same computation through kerntune; they are checked bit for bit on KernelBench's input
(a 4096 x 393216 float32 tensor, 6.4 GB) and timed with CUDA events.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python python3 examples/python/kernelbench_leaky_relu.py
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import kerntune.torch as kt

batch_size, dim = 4096, 393216


class Model(nn.Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, negative_slope=self.negative_slope)


class ModelNew(Model):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return kt.leaky_relu(x, negative_slope=self.negative_slope)


def get_inputs():
    return [torch.randn(batch_size, dim, device="cuda")]


def milliseconds(model, x, repeats=20):
    model(x)
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        model(x)
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / repeats


def main():
    (x,) = get_inputs()
    reference, new = Model(), ModelNew()
    same = torch.equal(new(x).view(torch.int32), reference(x).view(torch.int32))
    print(f"ModelNew == Model bit for bit on {batch_size}x{dim}: {same}")
    print(f"Model {milliseconds(reference, x):.3f} ms, ModelNew {milliseconds(new, x):.3f} ms (back to back, L2 warm)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
