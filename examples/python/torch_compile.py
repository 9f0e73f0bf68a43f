#!/usr/bin/env python3
"""kerntune.torch inside torch.compile(fullgraph=True): the operator is traced into the graph (no
graph break) and the compiled function matches eager torch bit for bit.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python python3 examples/python/torch_compile.py
"""
import sys

import torch
import torch.nn.functional as F

import kerntune.torch as kt


def block(x, bias):
    return kt.leaky_relu(x + bias, negative_slope=0.1) * 2.0


def reference(x, bias):
    return F.leaky_relu(x + bias, negative_slope=0.1) * 2.0


def main():
    compiled = torch.compile(block, fullgraph=True)
    x = torch.randn(4096, 4097, device="cuda", dtype=torch.bfloat16)
    bias = torch.randn(4097, device="cuda", dtype=torch.bfloat16)
    same = torch.equal(compiled(x, bias).view(torch.int16), reference(x, bias).view(torch.int16))
    print(f"torch.compile(fullgraph=True) over kerntune.torch.leaky_relu: {'same bits as eager torch' if same else 'MISMATCH'}")
    print(f"config: {kt.query('leaky_relu', x)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
