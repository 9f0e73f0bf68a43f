"""The torch-free parts of the kerntune Python package (label unit: no torch, no GPU).

    KERNTUNE_TEST_LIBRARY=build/src/runtime/libkerntune.so KERNTUNE_TEST_PROJECT_VERSION=0.2.0 \\
        python3 -m unittest discover -s tests/python -p 'test_package.py'

Each case imports the package in a fresh interpreter, so that the environment it sees
(KERNTUNE_LIB, the package's own folder) is exactly the one the case sets up.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

SOURCE_TREE = Path(__file__).resolve().parents[2]
PACKAGE = SOURCE_TREE / "python" / "kerntune"
LIBRARY = Path(os.environ["KERNTUNE_TEST_LIBRARY"]).resolve()


def run_python(code, python_path, **environment):
    """Runs `code` with python_path first on sys.path; returns (exit status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERNTUNE_LIB", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env.update(PYTHONPATH=str(python_path), **environment)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stdout, done.stderr


class PackageWithoutTorch(unittest.TestCase):
    def setUp(self):
        self.scratch = Path(tempfile.mkdtemp(prefix="kerntune-python-"))

    def tearDown(self):
        shutil.rmtree(self.scratch)

    def copy_of_the_package(self):
        """The package alone in a scratch folder: no build tree around it."""
        shutil.copytree(PACKAGE, self.scratch / "site" / "kerntune")
        return self.scratch / "site"

    def test_import_needs_no_torch_and_the_version_is_the_projects(self):
        status, out, err = run_python("""
            import sys, kerntune
            print(kerntune.__version__, "torch" in sys.modules)
        """, SOURCE_TREE / "python")
        self.assertEqual(status, 0, err)
        self.assertEqual(out.split(), [os.environ["KERNTUNE_TEST_PROJECT_VERSION"], "False"])

    def test_kerntune_lib_is_used_as_given_and_a_wrong_one_is_named(self):
        code = "import kerntune; print(kerntune.find_library())"
        site = self.copy_of_the_package()
        status, out, err = run_python(code, site, KERNTUNE_LIB=str(LIBRARY))
        self.assertEqual((status, out.strip()), (0, str(LIBRARY)), err)
        missing = self.scratch / "nowhere" / "libkerntune.so"
        status, out, err = run_python(code, site, KERNTUNE_LIB=str(missing))
        self.assertNotEqual(status, 0)
        self.assertIn(f"ImportError: KERNTUNE_LIB={missing} is not a file", err)

    def test_the_build_tree_is_found_from_the_source_trees_package(self):
        if LIBRARY != (SOURCE_TREE / "build" / "src" / "runtime" / "libkerntune.so").resolve():
            self.skipTest(f"the library under test, {LIBRARY}, is not the source tree's build/ one")
        status, out, err = run_python("""
            import kerntune
            library = kerntune.find_library()
            print(library); print(*kerntune.find_include_dirs(library))
        """, SOURCE_TREE / "python")
        self.assertEqual(status, 0, err)
        library, includes = out.splitlines()
        self.assertEqual(library, str(LIBRARY))
        self.assertEqual(includes.split(), [str(SOURCE_TREE / "include"), str(SOURCE_TREE / "build" / "include")])

    def test_a_library_next_to_the_package_comes_before_the_build_tree(self):
        site = self.copy_of_the_package()
        (site / "kerntune" / "lib").mkdir()
        bundled = site / "kerntune" / "lib" / "libkerntune.so"
        shutil.copy(LIBRARY, bundled)
        status, out, err = run_python("import kerntune; print(kerntune.find_library())", site)
        self.assertEqual((status, out.strip()), (0, str(bundled.resolve())), err)

    def test_no_library_anywhere_is_an_import_error_saying_how_to_build_it(self):
        status, out, err = run_python("import kerntune; kerntune.find_library()", self.copy_of_the_package())
        self.assertNotEqual(status, 0)
        last_line = err.strip().splitlines()[-1]
        self.assertTrue(last_line.startswith("ImportError: kerntune: libkerntune.so not found"), last_line)
        self.assertIn("tools/setup.sh", last_line)

    def test_headers_are_found_in_an_install_prefix_and_a_lone_library_is_refused(self):
        prefix = self.scratch / "prefix"
        (prefix / "lib").mkdir(parents=True)
        (prefix / "include" / "kerntune").mkdir(parents=True)
        (prefix / "include" / "kerntune" / "kerntune.h").write_text("/* stand-in */\n")
        (prefix / "lib" / "libkerntune.so").write_bytes(b"")
        lone = self.scratch / "lone" / "libkerntune.so"
        lone.parent.mkdir()
        lone.write_bytes(b"")
        status, out, err = run_python(f"""
            import kerntune
            print(*kerntune.find_include_dirs({str(prefix / 'lib' / 'libkerntune.so')!r}))
            try:
                kerntune.find_include_dirs({str(lone)!r})
            except ImportError as refused:
                print(refused)
        """, self.copy_of_the_package())
        self.assertEqual(status, 0, err)
        found, refused = out.splitlines()
        self.assertEqual(found, str(prefix / "include"))
        self.assertIn(f"kerntune: no headers for {lone}", refused)

    def test_kerntune_torch_without_torch_is_an_import_error_naming_torch(self):
        status, _, _ = run_python("import torch", SOURCE_TREE / "python")
        if status == 0:
            self.skipTest("torch is installed here; tests/python/test_torch_ops.py covers kerntune.torch")
        status, out, err = run_python("import kerntune.torch", SOURCE_TREE / "python")
        self.assertNotEqual(status, 0)
        self.assertIn("No module named 'torch'", err)


if __name__ == "__main__":
    unittest.main()
