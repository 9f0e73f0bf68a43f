"""kerntune: memory-bound CUDA kernels tuned for the GPU they run on.

    import kerntune.torch as kt
    y = kt.leaky_relu(x, negative_slope=0.01)      # like torch.nn.functional.leaky_relu

`import kerntune` needs neither torch nor a GPU; `kerntune.torch` (the PyTorch operators) needs
torch, and builds its C++ operators against the installed torch on first import (cached).
"""
from kerntune._library import find_include_dirs, find_library

__version__ = "0.2.0"  # the CMake project version (tests/python/test_package.py checks it)

__all__ = ["__version__", "find_library", "find_include_dirs"]
