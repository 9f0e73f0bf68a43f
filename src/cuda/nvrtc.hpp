#pragma once
#include <string>
#include <vector>

#include "core/cuda_include_dir.hpp"
#include "core/kernel_spec.hpp"

namespace kerntune {

/// A source and the headers it includes (besides CUDA's, which NVRTC finds on its include path).
struct program_source {
    std::string name;  // for messages, e.g. "leaky_relu.cu"
    std::string text;
    std::vector<source_header> headers;  // given to NVRTC by the names the #include lines use
};

/// One NVRTC program: a source and the kernel instantiations wanted from it. Many
/// instantiations in one program share the cost of parsing the source and its headers.
struct compile_request {
    program_source source;
    std::vector<std::string> name_expressions;  // e.g. "kt::leaky_relu<float, 256, 4, 2>"
    std::string arch;                           // exact device arch, e.g. "sm_90"
};

/// The result of a compile: a cubin and the mangled name of each requested instantiation, or
/// the full log and options when it failed.
struct compiled_program {
    bool ok = false;
    std::string cubin;
    std::vector<std::string> lowered_names;  // parallel to compile_request::name_expressions
    std::string log;
    std::string options;  // the options passed, space-separated
    double seconds = 0;
};

/// Compiles with NVRTC; never needs a GPU. Compilation errors are reported in the result (the
/// tuner stores them as compile_failed); misuse of NVRTC itself throws kerntune::error.
compiled_program compile(const compile_request& request);

/// Starts NVRTC's start-up on a thread of its own, once per process (later calls do nothing),
/// compiling a trivial kernel for `arch`. A process's first compile pays that start-up: on the
/// H200 machine 225 to 380 ms, against 14 to 22 ms for a trivial kernel compiled again in the
/// same process and 45 to 60 ms for leaky_relu's. A runtime starts it when it is created, so
/// that a first call that comes later compiles at the warm rate.
void warm_up_nvrtc_in_background(const std::string& arch);

/// "13.0": part of every tuning key, since a new NVRTC can generate different code.
std::string nvrtc_version();


} // namespace kerntune
