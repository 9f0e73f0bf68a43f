#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cuda/nvrtc.hpp"

namespace kerntune {

/// Where one instantiation ended up: in which program's cubin, under which mangled name, or
/// why it failed (the NVRTC log of compiling it alone).
struct compiled_kernel {
    bool ok = false;
    int program = -1;
    std::string lowered_name;
    std::string log;
};

/// Many instantiations of one source, compiled as a few NVRTC programs in parallel.
struct compiled_set {
    std::vector<compiled_program> programs;  // only the ones that compiled
    std::vector<compiled_kernel> kernels;    // parallel to the name expressions asked for
    double seconds = 0;                      // wall time
};

/// Where compiled programs can be kept between runs (the tuning database): find returns a
/// program stored under the key, or nothing; store keeps one.
struct program_cache {
    std::function<std::optional<compiled_program>(const std::string& key)> find;
    std::function<void(const std::string& key, const compiled_program& program)> store;
};

/// What is wrong with the shape of a compiled program that should hold `expressions` kernels, or
/// "" when nothing is: one non-empty lowered name per instantiation and a cubin. Every program
/// from a compile function or a cache is checked with it before a name is read by position.
std::string program_shape_problem(const compiled_program& program, std::size_t expressions);

/// Compiles every name expression for `arch`. Parsing the source and its CUDA headers costs
/// more than instantiating a kernel, so expressions are batched into at most 16 programs (the
/// same batches on every machine, so cached programs are found anywhere), compiled on as many
/// threads as the machine has. A batch that fails is split into single compiles so that each
/// failure is pinned on its own instantiation with its own log. With a cache, a batch compiled
/// before (same arch, NVRTC, source, headers and instantiations) is taken from it instead;
/// a cached program of the wrong shape (program_shape_problem) is a miss, compiled again. A
/// compile that reports ok with a program of the wrong shape throws kerntune::error naming the
/// batch.
/// `compiler` does each compile: NVRTC in this process by default; the tuner passes
/// compile_in_worker, which scales across cores where threads in one process do not.
using compile_function = std::function<compiled_program(const compile_request&)>;
compiled_set compile_kernels(const program_source& source, const std::vector<std::string>& name_expressions, const std::string& arch,
                             const program_cache* cache = nullptr, const compile_function& compiler = compile);

} // namespace kerntune
