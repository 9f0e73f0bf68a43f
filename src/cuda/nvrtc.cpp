#include "cuda/nvrtc.hpp"

#include "core/cuda_include_dir.hpp"

#include <nvrtc.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/error.hpp"

namespace kerntune {
namespace {

void check(nvrtcResult result, const char* call) {
    if (result != NVRTC_SUCCESS)
        throw error(std::string(call) + " failed: " + nvrtcGetErrorString(result));
}

struct program_deleter {
    void operator()(nvrtcProgram* program) const {
        nvrtcDestroyProgram(program);
        delete program;
    }
};
using program_handle = std::unique_ptr<nvrtcProgram, program_deleter>;

std::string program_log(nvrtcProgram program) {
    size_t size = 0;
    check(nvrtcGetProgramLogSize(program, &size), "nvrtcGetProgramLogSize");
    std::string log(size, '\0');
    check(nvrtcGetProgramLog(program, log.data()), "nvrtcGetProgramLog");
    while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
    return log;
}

/// The background warm-up's thread, joined when the program exits (this object's static
/// destruction runs before libnvrtc's own teardown, which libkerntune depends on).
struct background_thread {
    std::thread thread;
    ~background_thread() {
        if (thread.joinable()) thread.join();
    }
};

} // namespace

void warm_up_nvrtc_in_background(const std::string& arch) {
    static background_thread warm_up;
    static std::once_flag started;
    std::call_once(started, [&arch] {
        try {
            warm_up.thread = std::thread([arch] {
                // What it compiles does not matter, nor whether it fails: a real compile reports
                // its own errors. An arch, so that the SASS back end starts up too.
                try {
                    compile({{"warm_up.cu", "__global__ void kt_warm_up() {}", {}}, {}, arch});
                } catch (...) {
                }
            });
        } catch (const std::system_error&) {
            // No thread to be had: the first compile pays NVRTC's start-up, as without this.
        }
    });
}

std::string nvrtc_version() {
    int major = 0, minor = 0;
    check(nvrtcVersion(&major, &minor), "nvrtcVersion");
    return std::to_string(major) + "." + std::to_string(minor);
}

compiled_program compile(const compile_request& request) {
    const auto start = std::chrono::steady_clock::now();
    program_handle program(new nvrtcProgram{});
    std::vector<const char*> header_texts, header_names;
    for (const source_header& header : request.source.headers) {
        header_texts.push_back(header.text.c_str());
        header_names.push_back(header.name.c_str());
    }
    check(nvrtcCreateProgram(program.get(), request.source.text.c_str(), request.source.name.c_str(),
                             static_cast<int>(header_texts.size()), header_texts.data(), header_names.data()),
          "nvrtcCreateProgram");
    for (const std::string& expression : request.name_expressions)
        check(nvrtcAddNameExpression(*program, expression.c_str()), "nvrtcAddNameExpression");

    // No fast math and no flush-to-zero (NVRTC's defaults, stated so nobody "optimises" them
    // away): results must be bit-identical to PyTorch's, subnormals included.
    std::vector<std::string> options = {"-arch=" + request.arch, "-std=c++17", "-ftz=false",
                                        "-prec-div=true", "-prec-sqrt=true"};
    const std::string include_dir = cuda_include_dir();
    if (!include_dir.empty()) options.push_back("-I" + include_dir);
    std::vector<const char*> option_pointers;
    compiled_program result;
    for (const std::string& option : options) {
        option_pointers.push_back(option.c_str());
        result.options += (result.options.empty() ? "" : " ") + option;
    }

    const nvrtcResult compiled = nvrtcCompileProgram(*program, static_cast<int>(option_pointers.size()),
                                                     option_pointers.data());
    result.log = program_log(*program);
    if (compiled == NVRTC_SUCCESS) {
        size_t size = 0;
        check(nvrtcGetCUBINSize(*program, &size), "nvrtcGetCUBINSize");
        result.cubin.resize(size);
        check(nvrtcGetCUBIN(*program, result.cubin.data()), "nvrtcGetCUBIN");
        for (const std::string& expression : request.name_expressions) {
            const char* lowered = nullptr;
            check(nvrtcGetLoweredName(*program, expression.c_str(), &lowered), "nvrtcGetLoweredName");
            result.lowered_names.emplace_back(lowered);
        }
        result.ok = true;
    } else if (compiled != NVRTC_ERROR_COMPILATION) {
        throw error(std::string("NVRTC refused to compile with options '") + result.options +
                    "': " + nvrtcGetErrorString(compiled) + (result.log.empty() ? "" : ": " + result.log));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace kerntune
