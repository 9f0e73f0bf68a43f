"""nvrtc label: tools/ab_templates.py's preparation (no GPU): the base copies of built-in specs
at a commit, renamed and without their variants, with the sources and headers of that commit,
load as user templates and compile for sm_90 with no failure; the winners of a database split
into the two sides; an op the commit lacks is one error line. $KERNTUNE_TEST_CLI is the built
kerntune."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import ab_templates as tool  # noqa: E402

CLI = os.environ.get("KERNTUNE_TEST_CLI", "")


def kerntune(*args):
    result = subprocess.run([CLI, *args, "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"kerntune {' '.join(args)}: exit {result.returncode}: {result.stderr}")
    return json.loads(result.stdout)["result"]


@unittest.skipUnless(CLI, "KERNTUNE_TEST_CLI names no kerntune")
class AbTemplates(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)
        self.out = Path(self.folder.name)

    def test_base_copies_load_beside_the_built_ins_and_compile(self):
        self.assertEqual(tool.main(["--base", "HEAD", "--ops", "softmax,sum", "--prepare-only", "--out", str(self.out)]), 0)
        base = self.out / "base"
        spec = (base / "softmax_base.yaml").read_text()
        self.assertIn("\nname: softmax_base\n", spec)
        self.assertNotIn("variants:", spec)
        self.assertNotIn("kt::log_softmax", spec)
        self.assertTrue((base / "softmax.cu").is_file() and (base / "kt_reduce.cuh").is_file())
        names = [t["name"] for t in kerntune("list", "--templates", str(base))["templates"]]
        for name in ("softmax", "log_softmax", "softmax_base", "sum_base"):
            self.assertIn(name, names)
        self.assertNotIn("log_softmax_base", names)
        compiled = kerntune("tune", "--dry-run", "--arch", "sm_90", "--templates", str(base), "--op", "sum_base",
                            "--dtype", "f32")
        self.assertEqual([(r["dtype"], r["failed"]) for r in compiled["results"]], [("f32", 0)])
        self.assertGreater(compiled["results"][0]["kernels"], 0)

    def test_copies_name_their_commit_and_are_tuned_only_where_prepared(self):
        self.assertEqual(tool.main(["--base", "HEAD", "--ops", "sum", "--prepare-only", "--out", str(self.out)]), 0)
        head = subprocess.run(["git", "-C", str(tool.SOURCE_ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        self.assertEqual((self.out / "base" / "BASE_COMMIT").read_text().strip(), head)
        self.assertEqual(tool.prepared(["sum"], self.out / "base"), head)
        with self.assertRaises(SystemExit) as raised:
            tool.main(["--use-copies", "--ops", "sum,softmax", "--shapes", "8x127", "--out", str(self.out)])
        self.assertIn("has no copy of softmax: run --prepare-only with these --ops first", str(raised.exception))
        with self.assertRaises(SystemExit) as raised:
            tool.main(["--use-copies", "--ops", "sum", "--shapes", "8x127", "--out", str(self.out / "elsewhere")])
        self.assertIn("holds no base copies: run --prepare-only first", str(raised.exception))

    def test_base_and_use_copies_exclude_each_other(self):
        for args in (["--ops", "sum", "--shapes", "8x127"],
                     ["--base", "HEAD", "--use-copies", "--ops", "sum", "--shapes", "8x127"]):
            with self.assertRaises(SystemExit) as raised, open(os.devnull, "w") as quiet:
                sys.stderr, saved = quiet, sys.stderr
                try:
                    tool.main(args + ["--out", str(self.out)])
                finally:
                    sys.stderr = saved
            self.assertEqual(raised.exception.code, 2)

    def test_an_op_the_commit_lacks_is_one_error_line(self):
        with self.assertRaises(SystemExit) as raised:
            tool.main(["--base", "HEAD", "--ops", "log_softmax", "--prepare-only", "--out", str(self.out)])
        self.assertIn("HEAD has no templates/log_softmax.yaml", str(raised.exception))

    def test_winners_split_into_the_base_copy_and_the_built_in(self):
        def row(template, median, config):
            return {"template": template, "dtype": "f32", "problem": "outer=8.reduce=127.inner=1", "gpu": "G",
                    "nvrtc": "13.0", "median_us": median, "config": config}

        old, new = tool.split_winners([row("softmax_base", 41.2, "t32.r4"), row("softmax", 31.4, "t8.r32"),
                                       row("sum", 16.8, "t8.r32")], {"softmax"})
        key = ("softmax", "f32", "outer=8.reduce=127.inner=1", "G", "13.0")
        self.assertEqual((old, new), ({key: (41.2, "t32.r4")}, {key: (31.4, "t8.r32")}))


if __name__ == "__main__":
    unittest.main()
