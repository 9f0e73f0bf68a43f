"""unit label: tools/compare_tuning_files.py on small tuning files written here: keys matched
without the template hash, ratios and their geometric mean, moved keys, one-sided keys, the
--ops filter, and one error line for a file that is not a tuning file."""
import contextlib
import io
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import compare_tuning_files as tool  # noqa: E402


def winner(template, problem, median, config, template_hash="a" * 64):
    return {"table": "winners", "template_name": template, "template_hash": template_hash, "dtype": "f32",
            "problem_key": problem, "gpu_identity": "NVIDIA H200|sm_90|132 SMs", "nvrtc_version": "13.0",
            "config": config, "median_us": median}


class CompareTuningFiles(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)

    def file(self, name, rows):
        path = Path(self.folder.name) / name
        lines = [{"format": "kerntune-tuning-db", "format_version": 1}, {"table": "devices", "identity": "x"}] + rows
        path.write_text("".join(json.dumps(row) + "\n" for row in lines))
        return str(path)

    def run_tool(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = tool.main(list(args))
        return status, out.getvalue().splitlines()

    def test_keys_match_across_template_hashes_and_moved_keys_are_listed(self):
        old = self.file("old.jsonl", [winner("softmax", "outer=8.reduce=128.inner=1", 10.0, "t32"),
                                      winner("softmax", "outer=8.reduce=256.inner=1", 20.0, "t64"),
                                      winner("sum", "outer=8.reduce=128.inner=1", 5.0, "t32"),
                                      winner("sum", "outer=1.reduce=1.inner=1", 1.0, "t4")])
        new = self.file("new.jsonl", [winner("softmax", "outer=8.reduce=128.inner=1", 8.0, "t8", "b" * 64),
                                      winner("softmax", "outer=8.reduce=256.inner=1", 20.5, "t64", "b" * 64),
                                      winner("sum", "outer=8.reduce=128.inner=1", 5.5, "t32", "b" * 64),
                                      winner("mean", "outer=8.reduce=128.inner=1", 5.0, "t32")])
        status, lines = self.run_tool(old, new)
        self.assertEqual(status, 0)
        rows = {line.split()[0]: line.split() for line in lines[1:] if line and not line.startswith(" ")}
        self.assertEqual(rows["softmax"][1:5], ["2", f"{(0.8 * 1.025) ** 0.5:.3f}", "0.80", "1.02"])
        self.assertEqual(rows["sum"][1:], ["1", "1.100", "1.10", "1.10", "1", "0"])  # its 1x1 key only in old
        self.assertEqual(rows["mean"][1:], ["0", "-", "-", "-", "0", "1"])
        self.assertEqual(rows["all"][1], "3")
        self.assertIn("2 keys moved by more than 5 %, slowest first:", lines)
        moved = lines[lines.index("2 keys moved by more than 5 %, slowest first:") + 1:]
        self.assertEqual([line.split()[0] for line in moved], ["sum", "softmax"])  # +10 %, then -20 %
        self.assertTrue(moved[1].endswith("t32 -> t8"), moved[1])

        status, lines = self.run_tool(old, new, "--ops", "sum", "--threshold", "20")
        self.assertEqual([line.split()[0] for line in lines[1:-1]], ["sum", "all"])
        self.assertEqual(lines[-1], "0 keys moved by more than 20 %, slowest first:")

    def test_a_file_that_is_not_a_tuning_file_is_one_error_naming_its_line(self):
        good = self.file("good.jsonl", [winner("sum", "outer=1.reduce=1.inner=1", 1.0, "t4")])
        bad = Path(self.folder.name) / "bad.jsonl"
        bad.write_text('{"table": "devices"}\n{"table": "winners", "template_name": "sum"}\n')
        with self.assertRaises(SystemExit) as raised:
            self.run_tool(good, str(bad))
        self.assertRegex(str(raised.exception), r"bad\.jsonl:2: not a winner line of a tuning file")
        with self.assertRaises(SystemExit) as raised:
            self.run_tool(good, str(Path(self.folder.name) / "missing.jsonl"))
        self.assertIn("No such file", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
