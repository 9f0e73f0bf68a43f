"""kerntune.torch on a GPU (label gpu, through tests/python/run_torch_tests.sh, which skips
without torch or a GPU): bit-exact parity with torch.nn.functional, layouts and views, in place,
autograd, torch.compile(fullgraph=True), CUDA-graph capture and replay, opcheck, bad inputs; the
reductions' and norms' accuracy against float64 next to torch's own, special values, extreme shapes.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python \\
        python3 -m unittest discover -s tests/python -p 'test_torch_ops.py'
"""
import unittest

import torch
import torch.nn.functional as F

import kerntune.torch as kt

DTYPES = (torch.float32, torch.float16, torch.bfloat16)
SAME_SIZE_INT = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}
SLOPES = (0.01, 0.2, -0.5, 0.0)


def with_specials(shape, dtype, device="cuda"):
    """Random values over a wide range with zeros of both signs, infinities, NaN and subnormals."""
    x = (torch.randn(shape, device=device) * 100).to(dtype)
    specials = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-40, -1e-40, -1.0, 1.0],
                            device=device).to(dtype)
    flat = x.view(-1)
    k = min(flat.numel(), specials.numel())
    flat[:k] = specials[:k]
    return x


class TorchOps(unittest.TestCase):
    def assert_same_bits(self, actual, expected):
        self.assertEqual(actual.shape, expected.shape)
        self.assertEqual(actual.dtype, expected.dtype)
        self.assertEqual(actual.device, expected.device)
        int_type = SAME_SIZE_INT[expected.dtype]
        mismatches = (actual.contiguous().view(int_type) != expected.contiguous().view(int_type)).sum().item()
        self.assertEqual(mismatches, 0, f"{mismatches} elements differ in their bits")

    def test_bit_exact_with_torch_for_every_dtype_size_and_slope(self):
        for dtype in DTYPES:
            for n in (0, 1, 7, 4099, (1 << 20) + 3):
                x = with_specials((n,), dtype)
                for slope in SLOPES:
                    with self.subTest(dtype=dtype, n=n, slope=slope):
                        self.assert_same_bits(kt.leaky_relu(x, slope), F.leaky_relu(x, slope))
        self.assert_same_bits(kt.leaky_relu(with_specials((), torch.float32)),
                              F.leaky_relu(with_specials((), torch.float32)))

    def test_views_and_layouts(self):
        base = with_specials((515, 1031), torch.float16)
        cases = {
            "transposed": base.t(),
            "sliced columns": base[:, 3:1000],
            "every other row": base[::2],
            "misaligned start": base.view(-1)[1:],
            "expanded": with_specials((1, 1031), torch.float16).expand(64, 1031),
            "channels last": with_specials((4, 6, 33, 17), torch.float16).to(memory_format=torch.channels_last),
        }
        for name, x in cases.items():
            with self.subTest(name):
                y, expected = kt.leaky_relu(x, 0.1), F.leaky_relu(x, 0.1)
                self.assert_same_bits(y, expected)
                if x.is_contiguous() or name in ("transposed", "channels last"):
                    self.assertEqual(y.stride(), x.stride(), "a dense layout keeps its strides")

    def test_in_place_returns_the_input_for_contiguous_tensors_and_views(self):
        for name, make in {"contiguous": lambda t: t, "sliced columns": lambda t: t[:, 5:900],
                           "transposed": lambda t: t.t()}.items():
            with self.subTest(name):
                base = with_specials((300, 1000), torch.bfloat16)
                expected_base = base.clone()
                F.leaky_relu(make(expected_base), 0.3, inplace=True)
                x = make(base)
                pointer = x.data_ptr()
                y = kt.leaky_relu(x, 0.3, inplace=True)
                self.assertIs(y, x)
                self.assertEqual(y.data_ptr(), pointer)
                self.assert_same_bits(base, expected_base)  # the untouched columns too

    def test_in_place_bumps_the_version_counter_and_no_grad_modes_work(self):
        x = with_specials((1000,), torch.float32)
        expected = F.leaky_relu(x, 0.2)
        version = x._version
        kt.leaky_relu(x, 0.2, inplace=True)
        self.assertGreater(x._version, version, "autograd must see the in-place change")
        self.assert_same_bits(x, expected)
        for mode in (torch.no_grad, torch.inference_mode):
            with self.subTest(mode.__name__), mode():
                x = with_specials((1000,), torch.float32).requires_grad_(mode is torch.no_grad)
                self.assert_same_bits(kt.leaky_relu(x, 0.2), F.leaky_relu(x, 0.2))
                self.assertFalse(kt.leaky_relu(x, 0.2).requires_grad)

    def test_streams_and_the_current_device(self):
        stream = torch.cuda.Stream()
        x = with_specials((1 << 22,), torch.float32)
        with torch.cuda.stream(stream):
            torch.cuda._sleep(1_000_000)  # if kerntune ran on another stream it would read x early
            x2 = x * 2
            y = kt.leaky_relu(x2)
        stream.synchronize()
        self.assert_same_bits(y, F.leaky_relu(x * 2))

    @unittest.skipUnless(torch.cuda.device_count() >= 2, "needs two GPUs")
    def test_a_tensor_on_the_second_gpu_runs_there(self):
        x = with_specials((100003,), torch.float32, device="cuda:1")
        y = kt.leaky_relu(x)
        self.assertEqual(y.device, x.device)
        self.assert_same_bits(y, F.leaky_relu(x))

    def test_autograd_gives_torchs_gradients(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                x = with_specials((4099,), dtype).requires_grad_()
                x_ref = x.detach().clone().requires_grad_()
                grad = torch.randn(4099, device="cuda").to(dtype)
                kt.leaky_relu(x, 0.2).backward(grad)
                F.leaky_relu(x_ref, 0.2).backward(grad)
                self.assert_same_bits(x.grad, x_ref.grad)
        # In place on a non-leaf: the backward uses the result, as torch's does.
        x = torch.randn(1000, device="cuda", requires_grad=True)
        x_ref = x.detach().clone().requires_grad_()
        kt.leaky_relu(x * 1.5, 0.2, inplace=True).sum().backward()
        F.leaky_relu(x_ref * 1.5, 0.2, inplace=True).sum().backward()
        self.assert_same_bits(x.grad, x_ref.grad)
        # ... and refuses a negative slope there, as torch does.
        for function in (kt.leaky_relu, F.leaky_relu):
            y = function(torch.randn(10, device="cuda", requires_grad=True) * 1, -0.5, inplace=True)
            with self.assertRaisesRegex(RuntimeError, "negative slope"):
                y.sum().backward()
        # In place on a leaf that requires grad is an error, as in torch.
        with self.assertRaisesRegex(RuntimeError, "leaf Variable that requires grad"):
            kt.leaky_relu(torch.randn(10, device="cuda", requires_grad=True), inplace=True)

    def test_torch_compile_fullgraph_traces_through(self):
        def f(x):
            return kt.leaky_relu(x * 2.0, 0.1) + 1.0

        def reference(x):
            return F.leaky_relu(x * 2.0, 0.1) + 1.0

        compiled = torch.compile(f, fullgraph=True)
        for n in (4096, 4099):
            x = with_specials((n,), torch.float32)
            self.assert_same_bits(compiled(x), reference(x))
        torch._dynamo.reset()

    def test_cuda_graph_capture_and_replay(self):
        x = with_specials((1 << 16,), torch.float16)
        choice = kt.prepare("leaky_relu", torch.float16, x.shape)
        self.assertIn(choice.match, ("exact", "nearest", "default"))
        graph = torch.cuda.CUDAGraph()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            with torch.cuda.graph(graph, stream=stream):
                y = kt.leaky_relu(x, 0.2)
        for _ in range(2):
            x.copy_(with_specials(x.shape, torch.float16))
            graph.replay()
            torch.cuda.synchronize()
            self.assert_same_bits(y, F.leaky_relu(x, 0.2))

    def test_a_kernel_not_loaded_before_capture_is_a_clear_error(self):
        x = torch.randn(12345, device="cuda", dtype=torch.bfloat16)  # a shape no other test uses
        graph = torch.cuda.CUDAGraph()
        with self.assertRaisesRegex(ValueError, "capturing a CUDA graph.*prepare"):
            with torch.cuda.graph(graph):
                kt.leaky_relu(x, 0.3)
        self.assert_same_bits(kt.leaky_relu(x, 0.3), F.leaky_relu(x, 0.3))  # nothing left broken

    def test_opcheck(self):
        x = torch.randn(4099, device="cuda")
        torch.library.opcheck(torch.ops.kerntune.leaky_relu.default, (x, 0.2))
        torch.library.opcheck(torch.ops.kerntune.leaky_relu.default, (x.requires_grad_(), 0.2))
        torch.library.opcheck(torch.ops.kerntune.leaky_relu_.default, (torch.randn(4099, device="cuda"), 0.2))

    def test_query_reports_the_config_and_how_it_was_found(self):
        choice = kt.query("leaky_relu", torch.empty(1 << 20, device="cuda"))
        self.assertIn(choice.match, ("exact", "nearest", "default"))
        self.assertRegex(choice.config, r"^blk\d+\.")
        self.assertIsInstance(choice.shipped, bool)
        self.assertEqual(kt.query("leaky_relu", torch.empty(0, device="cuda")).match, choice.match)

    def test_bad_inputs_raise_errors_naming_the_argument(self):
        with self.assertRaisesRegex(ValueError, "input must be a CUDA tensor, not one on cpu"):
            kt.leaky_relu(torch.randn(10))
        with self.assertRaisesRegex(ValueError, "input must be a CUDA tensor"):
            kt.leaky_relu(torch.randn(10), inplace=True)
        with self.assertRaisesRegex(TypeError, "input has dtype Int; kerntune has float32, float16 and bfloat16"):
            kt.leaky_relu(torch.ones(10, device="cuda", dtype=torch.int32))
        with self.assertRaisesRegex(TypeError, "input has dtype Double"):
            kt.leaky_relu(torch.ones(10, device="cuda", dtype=torch.float64))
        with self.assertRaisesRegex((TypeError, RuntimeError), "input"):
            kt.leaky_relu([1.0, 2.0])
        with self.assertRaisesRegex(ValueError, "unknown op 'gelu'"):
            kt.query("gelu", torch.empty(4, device="cuda"))
        with self.assertRaisesRegex(TypeError, "input must be a torch.Tensor"):
            kt.query("leaky_relu", 4)
        with self.assertRaisesRegex(ValueError, "device must be a CUDA device"):
            kt.prepare("leaky_relu", torch.float32, (4,), device="cpu")


def max_error(actual, exact):
    """Largest |actual - exact| over the finite elements, in float64."""
    return (actual.double() - exact).abs().max().item() if exact.numel() else 0.0


def check_error(test, mine, torch_result, exact, dtype):
    """Asserts kerntune's error against the float64 `exact` is at most twice torch's (or one
    rounding of the largest output, when torch's is smaller); returns their ratio."""
    test.assertEqual((mine.shape, mine.dtype), (torch_result.shape, torch_result.dtype))
    if exact.numel() == 0:
        return 0.0
    floor = torch.finfo(dtype).eps * max(exact.abs().max().item(), 1.0)
    err_mine, err_torch = max_error(mine, exact), max_error(torch_result, exact)
    test.assertLessEqual(err_mine, max(2 * err_torch, floor), f"torch's error {err_torch:.3g}")
    return err_mine / max(err_torch, floor)


# Shapes and dims for the reductions: reduce lengths of 1, odd and powers of two, rows of
# hundreds of thousands, very few and many rows, and middle dims (inner > 1).
REDUCTION_CASES = [((1, 1), -1), ((16, 1), -1), ((7, 1000), -1), ((4, 4099), 1), ((4096, 768), -1),
                   ((2, 393216), -1), ((3, 5, 7), 1), ((8, 64, 32, 32), 1), ((33, 17), 0), ((), 0), ((0, 5), 1),
                   ((1 << 16, 32), -1)]


class TorchReductions(unittest.TestCase):
    """softmax and log_softmax: kerntune's error against float64 is at most twice torch's own."""

    def test_accuracy_is_within_twice_torchs_error(self):
        table = []
        for name, ours, theirs in (("softmax", kt.softmax, F.softmax), ("log_softmax", kt.log_softmax, F.log_softmax)):
            for dtype in DTYPES:
                worst_ratio = 0.0
                for shape, dim in REDUCTION_CASES:
                    x = (torch.randn(shape, device="cuda") * 4).to(dtype)
                    with self.subTest(op=name, dtype=dtype, shape=shape, dim=dim):
                        ratio = check_error(self, ours(x, dim), theirs(x, dim), theirs(x.double(), dim), dtype)
                        worst_ratio = max(worst_ratio, ratio)
                table.append(f"{name:12} {str(dtype):15} worst error / max(torch's, one rounding) = {worst_ratio:.2f}")
        print("\n" + "\n".join(table))

    def test_sum_and_mean_accuracy_shapes_and_gradients(self):
        table = []
        for name, ours, theirs in (("sum", kt.sum, torch.sum), ("mean", kt.mean, torch.mean)):
            for dtype in DTYPES:
                worst_ratio = 0.0
                for shape, dim in REDUCTION_CASES + [((128, 4096, 33), 1), ((16, 1 << 20), 1)]:
                    for keepdim in (False, True):
                        x = (torch.randn(shape, device="cuda") * 4).to(dtype)
                        mine, torch_result = ours(x, dim, keepdim), theirs(x, dim, keepdim)
                        exact = theirs(x.double(), dim, keepdim)
                        with self.subTest(op=name, dtype=dtype, shape=shape, dim=dim, keepdim=keepdim):
                            if exact.isnan().any():  # the mean of an empty dim
                                self.assertTrue(torch.equal(mine.isnan(), torch_result.isnan()))
                                continue
                            worst_ratio = max(worst_ratio, check_error(self, mine, torch_result, exact, dtype))
                table.append(f"{name:12} {str(dtype):15} worst error / max(torch's, one rounding) = {worst_ratio:.2f}")
        print("\n" + "\n".join(table))
        x = torch.randn(33, 65, device="cuda", requires_grad=True)
        for ours, theirs in ((kt.sum, torch.sum), (kt.mean, torch.mean)):
            for keepdim in (False, True):
                x.grad = None
                ours(x, 1, keepdim).pow(2).sum().backward()
                mine = x.grad
                x.grad = None
                theirs(x, 1, keepdim).pow(2).sum().backward()
                self.assertTrue(torch.allclose(mine, x.grad, rtol=1e-5, atol=1e-6))
        for op in (torch.ops.kerntune.sum.default, torch.ops.kerntune.mean.default):
            torch.library.opcheck(op, (torch.randn(32, 333, device="cuda", requires_grad=True), 1, True))
        with self.assertRaisesRegex(ValueError, "dim must be one dim"):
            kt.sum(x, (0, 1))

    def test_nan_and_infinity_in_a_row_give_what_torch_gives(self):
        for name, ours, theirs in (("softmax", kt.softmax, F.softmax), ("log_softmax", kt.log_softmax, F.log_softmax),
                                   ("sum", kt.sum, torch.sum), ("mean", kt.mean, torch.mean)):
            for dtype in DTYPES:
                x = torch.randn(6, 1000, device="cuda").to(dtype)
                x[0, 10] = float("nan")
                x[1, 20] = float("inf")
                x[2, 30] = float("-inf")
                x[3, :] = float("-inf")
                x[4, :5] = float("inf")
                with self.subTest(op=name, dtype=dtype):
                    mine, expected = ours(x, -1), theirs(x, -1)
                    self.assertTrue(torch.equal(mine.isnan(), expected.isnan()))
                    self.assertTrue(torch.equal(mine.isinf(), expected.isinf()))
                    finite = ~expected.isnan()
                    self.assertTrue(torch.allclose(mine[finite].float(), expected[finite].float(), rtol=1e-2, atol=1e-5))

    def test_autograd_compile_and_opcheck(self):
        x = torch.randn(64, 1000, device="cuda", requires_grad=True)
        x_ref = x.detach().clone().requires_grad_()
        grad = torch.randn(64, 1000, device="cuda")
        for ours, theirs in ((kt.softmax, F.softmax), (kt.log_softmax, F.log_softmax)):
            x.grad = x_ref.grad = None
            ours(x, 1).backward(grad)
            theirs(x_ref, 1).backward(grad)
            self.assertTrue(torch.allclose(x.grad, x_ref.grad, rtol=1e-4, atol=1e-6))
        compiled = torch.compile(lambda t: kt.log_softmax(t * 2.0, dim=-1) + 1.0, fullgraph=True)
        t = torch.randn(128, 3000, device="cuda")
        self.assertTrue(torch.allclose(compiled(t), F.log_softmax(t * 2.0, dim=-1) + 1.0, rtol=1e-5, atol=1e-5))
        torch._dynamo.reset()
        for op in (torch.ops.kerntune.softmax.default, torch.ops.kerntune.log_softmax.default):
            torch.library.opcheck(op, (torch.randn(32, 333, device="cuda"), 1))
            torch.library.opcheck(op, (torch.randn(32, 333, device="cuda", requires_grad=True), 0))

    def test_dtype_argument_views_and_bad_dims(self):
        x = torch.randn(300, 500, device="cuda")
        self.assertEqual(kt.softmax(x, dim=1, dtype=torch.float16).dtype, torch.float16)
        self.assertTrue(torch.allclose(kt.softmax(x.t(), 1), F.softmax(x.t(), 1), atol=1e-6))
        self.assertTrue(torch.allclose(kt.log_softmax(x[:, 10:400], 0), F.log_softmax(x[:, 10:400], 0), atol=1e-5))
        with self.assertRaisesRegex(IndexError, "Dimension out of range"):
            kt.softmax(x, dim=2)
        with self.assertRaisesRegex(ValueError, "needs the dim it reduces"):
            kt.query("softmax", x)
        self.assertIn(kt.query("softmax", x, dim=1).match, ("exact", "nearest", "default"))


# layer_norm and rms_norm over trailing dims: (shape, normalized_shape). Rows of one element, odd
# and power-of-two lengths, a row of a million (a cluster's or a streaming row), several
# normalized dims, very few and many rows, an empty tensor.
NORM_CASES = [((1, 1), (1,)), ((16, 1), (1,)), ((7, 1000), (1000,)), ((4, 4099), (4099,)), ((4096, 768), (768,)),
              ((2, 393216), (393216,)), ((16, 1 << 20), (1 << 20,)), ((4, 64, 64, 64), (64, 64, 64)),
              ((1 << 16, 32), (32,)), ((3, 5, 7), (5, 7)), ((0, 5), (5,))]
# rms_norm over one dim: (shape, dim).
RMS_DIM_CASES = [((3, 5, 7), 1), ((8, 64, 32, 32), 1), ((14, 64, 64, 64), 1), ((33, 17), 0), ((5, 1, 9), 1)]


def rms_over_dim(x, dim, weight, eps):
    """x / sqrt(mean(x^2, dim, keepdim=True) + eps) * weight, written with torch ops (the issue's
    formula: what a user of torch writes for it), in x's dtype."""
    y = x / torch.sqrt(x.pow(2).mean(dim, keepdim=True) + eps)
    if weight is not None:
        shape = [1] * x.dim()
        shape[dim] = x.shape[dim]
        y = y * weight.view(shape)
    return y


class TorchNorms(unittest.TestCase):
    """layer_norm and rms_norm: kerntune's error against float64 is at most twice torch's own."""

    def check_accuracy(self, name, run, cases, table):
        """run(x, case, dtype_of_result) -> (kerntune's, torch's, float64 exact) for x of dtype."""
        for dtype in DTYPES:
            worst_ratio = 0.0
            for case in cases:
                shape = case[0]
                # An offset of 10 against a spread of 4: the variance must not cancel.
                x = (torch.randn(shape, device="cuda") * 4 + 10).to(dtype)
                mine, torch_result, exact = run(x, case)
                with self.subTest(op=name, dtype=dtype, case=case):
                    worst_ratio = max(worst_ratio, check_error(self, mine, torch_result, exact, dtype))
            table.append(f"{name:24} {str(dtype):15} worst error / max(torch's, one rounding) = {worst_ratio:.2f}")

    def test_accuracy_is_within_twice_torchs_error(self):
        table = []

        def affine(x, normalized):
            w = (torch.rand(normalized, device="cuda") + 0.5).to(x.dtype)
            return w, (torch.randn(normalized, device="cuda")).to(x.dtype)

        def layer_norm(x, case, with_affine=True):
            w, b = affine(x, case[1]) if with_affine else (None, None)
            exact = F.layer_norm(x.double(), case[1], None if w is None else w.double(), None if b is None else b.double(), 1e-5)
            return kt.layer_norm(x, case[1], w, b), F.layer_norm(x, case[1], w, b), exact

        def rms_norm(x, case):
            w, _ = affine(x, case[1])
            exact = F.rms_norm(x.double(), case[1], w.double(), 1e-6)
            return kt.rms_norm(x, case[1], w, 1e-6), F.rms_norm(x, case[1], w, 1e-6), exact

        def rms_norm_dim(x, case):
            shape, dim = case
            w, _ = affine(x, (shape[dim],))
            exact = rms_over_dim(x.double(), dim, w.double(), 1e-5)
            return kt.rms_norm(x, None, w, 1e-5, dim=dim), rms_over_dim(x, dim, w, 1e-5), exact

        self.check_accuracy("layer_norm", layer_norm, NORM_CASES, table)
        self.check_accuracy("layer_norm (no affine)", lambda x, case: layer_norm(x, case, False), NORM_CASES, table)
        self.check_accuracy("rms_norm", rms_norm, NORM_CASES, table)
        self.check_accuracy("rms_norm (dim)", rms_norm_dim, RMS_DIM_CASES, table)
        print("\n" + "\n".join(table))

    def test_defaults_match_torchs(self):
        for dtype in DTYPES:
            # mean(x^2) near float's epsilon: eps=None must be the same eps as torch's.
            x = (torch.randn(64, 300, device="cuda") * 1e-4).to(dtype)
            with self.subTest(dtype=dtype):
                self.assertTrue(torch.allclose(kt.rms_norm(x, (300,)).float(), F.rms_norm(x, (300,)).float(), rtol=1e-2, atol=1e-3))
                self.assertTrue(torch.allclose(kt.layer_norm(x, (300,)).float(), F.layer_norm(x, (300,)).float(), rtol=1e-2, atol=1e-3))

    def test_nan_and_infinity_in_a_row_give_what_torch_gives(self):
        for dtype in DTYPES:
            x = torch.randn(5, 1000, device="cuda").to(dtype)
            x[0, 10] = float("nan")
            x[1, 20] = float("inf")
            x[2, 30] = float("-inf")
            x[3, :] = float("inf")
            w = torch.rand(1000, device="cuda").to(dtype)
            for name, mine, expected in (("layer_norm", kt.layer_norm(x, (1000,), w, w), F.layer_norm(x, (1000,), w, w)),
                                         ("rms_norm", kt.rms_norm(x, (1000,), w), F.rms_norm(x, (1000,), w)),
                                         ("rms_norm dim 0", kt.rms_norm(x, dim=0), rms_over_dim(x, 0, None, 1.1920928955078125e-07))):
                with self.subTest(op=name, dtype=dtype):
                    self.assertTrue(torch.equal(mine.isnan(), expected.isnan()), name)
                    finite = ~expected.isnan()
                    # torch's formula over a dim rounds each step to dtype: loose for bf16.
                    self.assertTrue(torch.allclose(mine[finite].float(), expected[finite].float(), rtol=3e-2, atol=3e-2))

    def test_autograd_compile_and_opcheck(self):
        x = torch.randn(64, 1000, device="cuda", requires_grad=True)
        w = (torch.rand(1000, device="cuda") + 0.5).requires_grad_()
        b = torch.randn(1000, device="cuda", requires_grad=True)
        grad = torch.randn(64, 1000, device="cuda")

        def gradients(f):
            for t in (x, w, b):
                t.grad = None
            f().backward(grad)
            return [None if t.grad is None else t.grad.clone() for t in (x, w, b)]

        cases = (
            (lambda: kt.layer_norm(x, (1000,), w, b), lambda: F.layer_norm(x, (1000,), w, b)),
            (lambda: kt.layer_norm(x, (1000,)), lambda: F.layer_norm(x, (1000,))),
            (lambda: kt.rms_norm(x, (1000,), w, 1e-6), lambda: F.rms_norm(x, (1000,), w, 1e-6)),
            (lambda: kt.rms_norm(x.t(), None, w[:64], 1e-5, dim=1).t(), lambda: rms_over_dim(x.t(), 1, w[:64], 1e-5).t()),
        )
        for i, (ours, theirs) in enumerate(cases):
            for mine, expected in zip(gradients(ours), gradients(theirs)):
                with self.subTest(case=i):
                    self.assertEqual(mine is None, expected is None)
                    if mine is not None:
                        self.assertTrue(torch.allclose(mine, expected, rtol=1e-4, atol=1e-5), (mine - expected).abs().max())
        compiled = torch.compile(lambda t: kt.rms_norm(kt.layer_norm(t, (3000,)) * 2.0, (3000,)) + 1.0, fullgraph=True)
        t = torch.randn(128, 3000, device="cuda")
        self.assertTrue(torch.allclose(compiled(t), F.rms_norm(F.layer_norm(t, (3000,)) * 2.0, (3000,)) + 1.0, rtol=1e-4, atol=1e-4))
        torch._dynamo.reset()
        x2, w2 = torch.randn(32, 333, device="cuda", requires_grad=True), torch.randn(333, device="cuda", requires_grad=True)
        torch.library.opcheck(torch.ops.kerntune.layer_norm.default, (x2, [333], w2, w2.detach().clone().requires_grad_(), 1e-5))
        torch.library.opcheck(torch.ops.kerntune.layer_norm.default, (x2, [333], None, None, 1e-5))
        torch.library.opcheck(torch.ops.kerntune.rms_norm.default, (x2, [333], w2, None))
        torch.library.opcheck(torch.ops.kerntune.rms_norm.default, (x2, [], None, 1e-5), {"dim": 0})

    def test_bad_inputs_raise_errors_naming_the_argument(self):
        x = torch.randn(8, 300, device="cuda")
        with self.assertRaisesRegex(RuntimeError, r"expected input with shape \[\*, 200\]"):
            kt.layer_norm(x, (200,))
        with self.assertRaisesRegex(RuntimeError, "expected weight to be of shape"):
            kt.layer_norm(x, (300,), torch.ones(299, device="cuda"))
        with self.assertRaisesRegex(TypeError, "bias has dtype Half"):
            kt.layer_norm(x, (300,), None, torch.ones(300, device="cuda", dtype=torch.float16))
        with self.assertRaisesRegex(ValueError, "bias is on cpu"):
            kt.layer_norm(x, (300,), None, torch.ones(300))
        with self.assertRaisesRegex(ValueError, "input must be a CUDA tensor"):
            kt.rms_norm(x.cpu(), (300,))
        with self.assertRaisesRegex(ValueError, "normalized_shape .* or dim"):
            kt.rms_norm(x)
        with self.assertRaisesRegex(ValueError, "normalized_shape .* or dim"):
            kt.rms_norm(x, (300,), dim=1)
        with self.assertRaisesRegex(TypeError, "normalized_shape must be an int or a sequence of ints"):
            kt.layer_norm(x, "300")
        with self.assertRaisesRegex(IndexError, "Dimension out of range"):
            kt.rms_norm(x, dim=2)
        self.assertEqual(kt.layer_norm(x, 300).shape, x.shape)  # an int, as torch takes it
        self.assertIn(kt.query("layer_norm", x, normalized_shape=(300,)).match, ("exact", "nearest", "default"))
        self.assertIn(kt.query("rms_norm", x, dim=0).match, ("exact", "nearest", "default"))
        with self.assertRaisesRegex(ValueError, "needs normalized_shape"):
            kt.query("layer_norm", x)


if __name__ == "__main__":
    unittest.main()
