"""Builds and loads kerntune's C++ torch operators (csrc/*.cpp) against the torch in use.

The operators are compiled on first use by torch.utils.cpp_extension (offline: only the local
compiler, torch's headers and kerntune's are needed) into torch's extension cache
($TORCH_EXTENSIONS_DIR, else ~/.cache/torch_extensions), and loaded from there afterwards: a
later process pays only for the load. The build is keyed by the library it links, so two
kerntune builds never share an extension; torch rebuilds it when the source or flags change.
"""
import hashlib
from pathlib import Path

import torch.utils.cpp_extension

from kerntune._library import find_include_dirs, find_library

_SOURCES = sorted(str(p) for p in (Path(__file__).resolve().parent / "csrc").glob("*.cpp"))


def load():
    """Registers the torch.ops.kerntune operators in this process (once)."""
    library = find_library()
    include_dirs = [str(d) for d in find_include_dirs(library)]
    tag = hashlib.sha256(str(library).encode()).hexdigest()[:12]
    torch.utils.cpp_extension.load(
        name=f"kerntune_torch_ops_{tag}",
        sources=_SOURCES,  # compiled in parallel by ninja
        extra_include_paths=include_dirs,
        # Linked by path, and found again at load time through the rpath.
        extra_ldflags=[str(library), f"-Wl,-rpath,{library.parent}"],
        extra_cflags=["-O2"],
        with_cuda=True,  # the CUDA headers (cuda.h) and c10_cuda, for the current stream
        is_python_module=False,
        verbose=False,
    )
