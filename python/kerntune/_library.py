"""Where libkerntune and its headers are. Needs neither torch nor a GPU.

The library is looked for, in order:
  1. $KERNTUNE_LIB: the path of libkerntune.so itself;
  2. next to the package: kerntune/lib/libkerntune.so (a wheel or a copy that bundles it);
  3. the build tree, when this package is the source tree's python/ folder: build/src/runtime/;
  4. the dynamic loader's search path (an installed kerntune: `cmake --install build`).
The headers (kerntune/kerntune.h and the generated kerntune/version.h) are found from the
library: an install prefix's include/ beside its lib/, or, for a library in a CMake build tree,
the source tree's include/ and the build tree's include/ (both named by its CMakeCache.txt).
"""
import ctypes.util
import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_LIBRARY_NAME = "libkerntune.so"

HOW_TO_BUILD = ("build it with tools/setup.sh (the library lands in build/src/runtime/libkerntune.so) and "
                "set KERNTUNE_LIB to its path, or install it with `cmake --install build` where the "
                "dynamic loader finds it")


def _build_tree_library():
    source_tree = _PACKAGE_DIR.parent.parent
    return source_tree / "build" / "src" / "runtime" / _LIBRARY_NAME


def _loader_library():
    """The library the dynamic loader finds (LD_LIBRARY_PATH, the ldconfig cache), as a path, or None."""
    for name in dict.fromkeys(filter(None, (ctypes.util.find_library("kerntune"), "libkerntune.so.0"))):
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        # The loader knows where it found it; /proc/self/maps says so (the real file's path).
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split(maxsplit=5)[-1].strip()
                if Path(path).name.startswith(_LIBRARY_NAME):
                    return Path(path)
    return None


def find_library():
    """The path of libkerntune.so; ImportError saying how to get one when there is none."""
    configured = os.environ.get("KERNTUNE_LIB")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise ImportError(f"KERNTUNE_LIB={configured} is not a file: point it at libkerntune.so, or unset it "
                              f"to search the usual places")
        return path.resolve()
    for path in (_PACKAGE_DIR / "lib" / _LIBRARY_NAME, _build_tree_library()):
        if path.is_file():
            return path.resolve()
    found = _loader_library()
    if found is not None:
        return found.resolve()
    raise ImportError(f"kerntune: libkerntune.so not found (looked at $KERNTUNE_LIB, {_PACKAGE_DIR / 'lib'}, "
                      f"{_build_tree_library().parent} and the loader's path): {HOW_TO_BUILD}")


def _cmake_cache_value(cache, name):
    prefix = name + ":"
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith(prefix):
            return line.split("=", 1)[1]
    return None


def find_include_dirs(library):
    """The folders to put on the include path so that <kerntune/kerntune.h> compiles."""
    library = Path(library)
    prefix_include = library.parent.parent / "include"
    if (prefix_include / "kerntune" / "kerntune.h").is_file():
        return [prefix_include]
    for folder in library.parents:
        cache = folder / "CMakeCache.txt"
        if cache.is_file():
            source = _cmake_cache_value(cache, "kerntune_SOURCE_DIR")
            if source is None:
                break
            dirs = [Path(source) / "include", folder / "include"]
            if all((d / "kerntune" / h).is_file() for d, h in zip(dirs, ("kerntune.h", "version.h"))):
                return dirs
            break
    raise ImportError(f"kerntune: no headers for {library}: expected kerntune/kerntune.h in {prefix_include} "
                      f"(an install prefix) or a CMake build tree of kerntune around it")
