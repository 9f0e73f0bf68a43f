#!/usr/bin/env python3
"""The accuracy of kerntune's named elementwise ops against torch eager, per op and dtype (issue 14).

Inputs: float16 and bfloat16, all 2^16 bit patterns; float32, --f32-count values (default 2^24):
half random bit patterns (every exponent, NaN payloads, subnormals), half random values of
magnitudes 2^-12 to 2^8 (where the transcendental functions do their work), and every special:
+-0, +-inf, NaNs, the smallest and largest subnormals and normals, the largest finite, and the 64
floats on each side of each op's thresholds (hardtanh's limits, softplus's threshold, +-3, +-6,
where exp overflows, where x^3 does). --f32-exhaustive takes all 2^32 float32 patterns instead.

Each output is compared with torch's: the difference in units in the last place of the output
dtype (the distance between the two values counted in representable numbers, so that +0 and -0
are 0 apart; two NaNs are equal, a NaN against a number is "NaN"). Also counted: elements whose
bits differ at all (a NaN's payload, a zero's sign). Columns: torch eager in the input's dtype
and, for float16 and bfloat16, torch on the float32 input rounded once to the dtype (torch's own
float formula: the reference for the ops torch writes as several kernels, softsign and new_gelu,
whose eager half-precision results are rounded after every step).

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python \\
        python3 tools/elementwise_accuracy.py [--f32-count N | --f32-exhaustive] [--json out.json] [--markdown out.md]

The markdown is the table of docs/EXPRESSIONS.md ("Named ops", "Accuracy"), which
tests/python/test_torch_elementwise_accuracy.py checks against a fresh measurement:
documented_bounds() reads it back.
"""
import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Callable, NamedTuple, Tuple

DOCS = Path(__file__).resolve().parent.parent / "docs" / "EXPRESSIONS.md"
TABLE_MARK = "<!-- accuracy table: tools/elementwise_accuracy.py --markdown -->"
DTYPE_NAMES = ("f32", "f16", "bf16")
UNMEASURED = "to be measured"


def new_gelu_torch(x):
    """The tanh GELU of GPT-2 and BERT as users write it with torch ops: torch eager's kernels."""
    import torch
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Case(NamedTuple):
    label: str  #: the row of the docs' table
    ours: Callable
    torch: Callable  #: torch eager
    anchors: Tuple[float, ...] = ()  #: where the op changes regime, besides COMMON_ANCHORS


def cases():
    """Every named op, at torch's defaults and, for ops with arguments, at other values too."""
    import torch
    import torch.nn.functional as F

    import kerntune.torch as kt
    return [
        Case("relu", kt.relu, F.relu),
        Case("sigmoid", kt.sigmoid, torch.sigmoid),
        Case("tanh", kt.tanh, torch.tanh),
        Case("silu", kt.silu, F.silu),
        Case("gelu", kt.gelu, F.gelu),
        Case("gelu(approximate='tanh')", lambda x: kt.gelu(x, approximate="tanh"),
             lambda x: F.gelu(x, approximate="tanh")),
        Case("selu", kt.selu, F.selu),
        Case("elu", kt.elu, F.elu),
        Case("elu(alpha=0.3)", lambda x: kt.elu(x, 0.3), lambda x: F.elu(x, 0.3)),
        Case("celu", kt.celu, F.celu),
        Case("celu(alpha=0.3)", lambda x: kt.celu(x, 0.3), lambda x: F.celu(x, 0.3)),
        Case("hardsigmoid", kt.hardsigmoid, F.hardsigmoid),
        Case("hardswish", kt.hardswish, F.hardswish),
        Case("hardtanh", kt.hardtanh, F.hardtanh),
        Case("hardtanh(-0.5, 2.5)", lambda x: kt.hardtanh(x, -0.5, 2.5), lambda x: F.hardtanh(x, -0.5, 2.5),
             (-0.5, 2.5)),
        Case("relu6", kt.relu6, F.relu6),
        Case("softplus", kt.softplus, F.softplus),
        Case("softplus(beta=0.7, threshold=5)", lambda x: kt.softplus(x, 0.7, 5.0),
             lambda x: F.softplus(x, 0.7, 5.0), (5.0 / 0.7,)),
        Case("softsign", kt.softsign, F.softsign),
        Case("mish", kt.mish, F.mish),
        Case("new_gelu", kt.new_gelu, new_gelu_torch),
    ]


# 0 and 1 (relu, the elu family, softsign), +-1 (hardtanh), +-3 (hardsigmoid, hardswish), 6
# (relu6), 20 (softplus), where expf overflows (88.72) and underflows to subnormals and 0
# (-87.3, -103.97), where x^3 overflows float32 (2^42.67) and the largest finite.
COMMON_ANCHORS = (0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 20.0, -20.0, 88.72284, -88.72284, 87.33655,
                  -87.33655, 103.97208, -103.97208, 6.981463e12, -6.981463e12, 3.4028235e38, -3.4028235e38)
NEIGHBOURS = 64  # floats on each side of an anchor: a rounding boundary is within a few


def f32_specials(case):
    import torch
    fixed = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), 1e-45, -1e-45, 1.1754942e-38, -1.1754942e-38,
                          1.17549435e-38, -1.17549435e-38, 3.4028235e38, -3.4028235e38], device="cuda")
    nans = torch.tensor([0x7FC00000, 0x7F800001, 0x7FFFFFFF, -0x00400000, -1, 0x7FA00000], dtype=torch.int32,
                        device="cuda").view(torch.float32)  # quiet, signalling, negative, payloads
    anchors = torch.tensor(COMMON_ANCHORS + case.anchors, device="cuda").view(torch.int32)
    steps = torch.arange(-NEIGHBOURS, NEIGHBOURS + 1, dtype=torch.int32, device="cuda")
    near = (anchors[:, None] + steps[None, :]).reshape(-1).view(torch.float32)
    return torch.cat([fixed, nans, near])


def f32_inputs(case, count, seed):
    """count random float32 inputs (half bit patterns, half values of magnitude 2^-12..2^8) and the specials."""
    import torch
    generator = torch.Generator(device="cuda").manual_seed(seed)
    half = count // 2
    bits = torch.randint(-2**31, 2**31, (half,), dtype=torch.int64, device="cuda", generator=generator)
    patterns = bits.to(torch.int32).view(torch.float32)
    scale = torch.exp2(torch.empty(count - half, device="cuda").uniform_(-12, 8, generator=generator))
    values = torch.randn(count - half, device="cuda", generator=generator) * scale
    return torch.cat([patterns, values, f32_specials(case)])


def every_pattern(dtype):
    import torch
    return torch.arange(-2**15, 2**15, dtype=torch.int32, device="cuda").to(torch.int16).view(dtype)


def _ordered(t):
    """Integers in the order of the floats t, +0 and -0 both 0: their difference counts ulps."""
    import torch
    width = t.element_size() * 8
    bits = t.view(torch.int32 if width == 32 else torch.int16).to(torch.int64)
    magnitude = bits & ((1 << (width - 1)) - 1)
    return torch.where(bits < 0, -magnitude, magnitude)


class Difference(NamedTuple):
    max_ulp: float  #: inf when a NaN meets a number
    ulp_elements: int  #: elements more than 0 ulps apart
    bit_elements: int  #: elements whose bits differ at all (NaN payloads, zero signs included)
    nan_mismatches: int
    worst: dict  #: the input, kerntune's and torch's outputs at the largest difference (hex bits)


def compare(x, ours, theirs):
    import torch
    int_type = torch.int32 if ours.element_size() == 4 else torch.int16
    nan_ours, nan_theirs = ours.isnan(), theirs.isnan()
    nan_mismatch = nan_ours != nan_theirs
    ulp = (_ordered(ours) - _ordered(theirs)).abs()
    ulp = torch.where(nan_ours & nan_theirs, torch.zeros_like(ulp), ulp)
    ulp = torch.where(nan_mismatch, torch.full_like(ulp, 2**40), ulp)  # larger than any real distance
    worst = int(ulp.argmax().item())
    largest = int(ulp[worst].item())
    mask = (1 << (ours.element_size() * 8)) - 1
    hexed = lambda t: f"0x{int(t.view(int_type)[worst].item()) & mask:0{ours.element_size() * 2}x}"  # noqa: E731
    return Difference(max_ulp=math.inf if largest >= 2**40 else float(largest),
                      ulp_elements=int((ulp > 0).sum().item()),
                      bit_elements=int((ours.view(int_type) != theirs.view(int_type)).sum().item()),
                      nan_mismatches=int(nan_mismatch.sum().item()),
                      worst={"input": hexed(x), "input_value": float(x[worst].item()), "kerntune": hexed(ours),
                             "kerntune_value": float(ours[worst].item()), "torch": hexed(theirs),
                             "torch_value": float(theirs[worst].item())})


def _chunks(case, dtype, f32_count, exhaustive, seed):
    import torch
    if dtype != torch.float32:
        yield every_pattern(dtype)
    elif exhaustive:
        step = 1 << 28  # 1 GiB of input a chunk, a few GiB of temporaries: fits any data-center GPU
        for start in range(-2**31, 2**31, step):
            yield torch.arange(start, start + step, dtype=torch.int64, device="cuda").to(torch.int32).view(torch.float32)
        yield f32_specials(case)
    else:
        yield f32_inputs(case, f32_count, seed)


def _merge(a, b):
    if a is None:
        return b
    worst = a.worst if a.max_ulp >= b.max_ulp else b.worst
    return Difference(max(a.max_ulp, b.max_ulp), a.ulp_elements + b.ulp_elements, a.bit_elements + b.bit_elements,
                      a.nan_mismatches + b.nan_mismatches, worst)


def measure(f32_count=1 << 24, exhaustive=False, seed=0, only=None, log=None):
    """[{"op", "dtype", "reference", "max_ulp", ...}] for every case (or those labelled in `only`)
    and dtype: against torch eager, and for half types also against torch in float32 rounded once."""
    import torch
    rows = []
    for case in cases():
        if only is not None and case.label not in only:
            continue
        for name, dtype in zip(DTYPE_NAMES, (torch.float32, torch.float16, torch.bfloat16)):
            found = {"eager": None, "float32": None}
            elements = 0
            for x in _chunks(case, dtype, f32_count, exhaustive, seed):
                ours = case.ours(x)
                found["eager"] = _merge(found["eager"], compare(x, ours, case.torch(x)))
                if dtype != torch.float32:
                    found["float32"] = _merge(found["float32"], compare(x, ours, case.torch(x.float()).to(dtype)))
                elements += x.numel()
                del ours
            for reference, difference in found.items():
                if difference is None:
                    continue
                rows.append({"op": case.label, "dtype": name, "reference": reference, "elements": elements,
                             **difference._asdict()})
                if log:
                    log(f"{case.label:34} {name:5} vs {reference:8} max ulp {_cell(rows[-1])}")
    return rows


def _cell(row):
    """A table cell: the max ulp, then how many elements differ when any do."""
    if row["nan_mismatches"]:
        return f"NaN ({row['nan_mismatches']})"
    ulp = int(row["max_ulp"])
    if row["ulp_elements"]:
        return f"{ulp} ({row['ulp_elements']})"
    return "0" if row["bit_elements"] == 0 else f"0 ({row['bit_elements']} bits)"


def markdown(rows, note=""):
    """The docs' table: max ulp against torch eager per dtype, and for half types against torch
    in float32 rounded once. "k (n)": n elements differ, by k ulps at most; "0 (n bits)": none
    differ in value, n in their bits (NaN payloads, zero signs)."""
    cells = {(r["op"], r["dtype"], r["reference"]): _cell(r) for r in rows}
    labels = list(dict.fromkeys(r["op"] for r in rows))
    lines = [TABLE_MARK, "", "| op | f32 | f16 | bf16 | f16, torch in float32 | bf16, torch in float32 |",
             "|---|---|---|---|---|---|"]
    for label in labels:
        row = [cells.get((label, d, "eager"), UNMEASURED) for d in DTYPE_NAMES]
        row += [cells.get((label, d, "float32"), UNMEASURED) for d in ("f16", "bf16")]
        lines.append(f"| `{label}` | " + " | ".join(row) + " |")
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def documented_bounds(path=DOCS):
    """{op label: {"f32": k, "f16": k, "bf16": k}} from the docs' table, k the documented max
    ulp against torch eager (None where it says "to be measured"; inf for "NaN")."""
    text = Path(path).read_text()
    if TABLE_MARK not in text:
        raise ValueError(f"{path}: no accuracy table (the line {TABLE_MARK!r} and a table after it)")
    bounds = {}
    for line in text[text.index(TABLE_MARK):].splitlines()[1:]:
        line = line.strip()
        if not line:
            if bounds:
                break
            continue
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] in ("op", "") or set(cells[0]) <= set("-: "):
            continue
        values = {}
        for name, cell in zip(DTYPE_NAMES, cells[1:4]):
            if cell.startswith(UNMEASURED):
                values[name] = None
            elif cell.startswith("NaN"):
                values[name] = math.inf
            else:
                match = re.match(r"\d+", cell)
                if not match:
                    raise ValueError(f"{path}: cannot read the cell {cell!r} of {cells[0]}")
                values[name] = int(match.group())
        bounds[cells[0].strip("`")] = values
    return bounds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--f32-count", type=int, default=1 << 24, help="random float32 inputs (default 2^24)")
    parser.add_argument("--f32-exhaustive", action="store_true", help="every float32 bit pattern (minutes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write every row, with its worst input, here")
    parser.add_argument("--markdown", help="write the docs' table here")
    parser.add_argument("ops", nargs="*", help="only these rows (labels as in the table)")
    args = parser.parse_args()
    import torch
    rows = measure(args.f32_count, args.f32_exhaustive, args.seed, set(args.ops) or None,
                   log=lambda line: print(line, flush=True))
    f32 = "every float32 bit pattern" if args.f32_exhaustive else f"{args.f32_count} random float32 values and the specials"
    note = (f"Measured on {torch.cuda.get_device_name()} with torch {torch.__version__} (CUDA {torch.version.cuda}): "
            f"all 2^16 float16 and bfloat16 patterns, {f32}.")
    table = markdown(rows, note)
    print("\n" + table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda,
                       "f32": f32, "rows": rows}, out, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
