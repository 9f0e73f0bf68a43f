"""The named elementwise ops stay as accurate as docs/EXPRESSIONS.md says (label gpu, beside
test_torch_ops.py through tests/python/run_torch_tests.sh): tools/elementwise_accuracy.py measures
every op and dtype against torch eager, on every float16 and bfloat16 bit pattern and on its
default float32 inputs (2^24 random values and the specials, from a fixed seed: the inputs the
documented figures were measured on), and each max ulp must be at or under the table's.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python \\
        python3 -m unittest discover -s tests/python -p 'test_torch_elementwise_accuracy.py'
"""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import elementwise_accuracy as accuracy  # noqa: E402


class DocumentedAccuracy(unittest.TestCase):
    def test_every_named_op_is_within_its_documented_ulps(self):
        documented = accuracy.documented_bounds()
        rows = [row for row in accuracy.measure() if row["reference"] == "eager"]
        labels = list(dict.fromkeys(row["op"] for row in rows))
        self.assertEqual(sorted(documented), sorted(labels), "the docs' table lists every measured op, and only those")
        unmeasured = [(row["op"], row["dtype"]) for row in rows if documented[row["op"]][row["dtype"]] is None]
        print("\n" + accuracy.markdown(rows))
        if len(unmeasured) == len(rows):
            self.skipTest("docs/EXPRESSIONS.md's accuracy table is not measured yet: run "
                          "tools/elementwise_accuracy.py --markdown FILE on the GPU and paste FILE's table")
        self.assertEqual(unmeasured, [], "cells of the docs' table still 'to be measured'")
        for row in rows:
            with self.subTest(op=row["op"], dtype=row["dtype"]):
                self.assertLessEqual(row["max_ulp"], documented[row["op"]][row["dtype"]], row["worst"])


if __name__ == "__main__":
    unittest.main()
