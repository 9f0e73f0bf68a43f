#include "tune/worker_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "build/candidate_compiler.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

extern char** environ;

namespace kerntune {
namespace {

// Initialising the driver, opening a context or measuring copy bandwidth takes a second or
// less; a minute means stuck.
constexpr int hello_timeout_ms = 60'000;
// Loading a cubin is milliseconds.
constexpr int load_timeout_ms = 30'000;
// The worker reads requests and answers on this descriptor, never on stdout.
constexpr int worker_fd = 3;
// Compiling one batch takes a second or two; NVRTC has no reason to take minutes.
constexpr int compile_timeout_ms = 300'000;

std::string describe_exit(int status) {
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    return "stopped";
}

/// Compile workers kept between compiles: a worker's first compile pays NVRTC's start-up (225
/// to 380 ms on the H200 machine, bench/RESULTS.md), its later ones do not. A compile takes an
/// idle one or starts one, and gives it back once it has answered; one that did not answer is
/// killed instead. The idle ones exit when this process does (their sockets closed, then
/// reaped), as a worker does whenever its connection closes.
class idle_compile_workers {
public:
    /// An idle worker of `executable`, if any (`kept` true), else a new one.
    spawned_worker take(const std::filesystem::path& executable, bool& kept) {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            std::vector<spawned_worker>& idle = m_idle[executable];
            kept = !idle.empty();
            if (kept) {
                const spawned_worker worker = idle.back();
                idle.pop_back();
                return worker;
            }
        }
        return spawn_worker(executable);
    }
    void give_back(const std::filesystem::path& executable, const spawned_worker& worker) {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_idle[executable].push_back(worker);
    }
    ~idle_compile_workers() {
        for (const auto& [executable, idle] : m_idle)
            for (const spawned_worker& worker : idle) close(worker.fd);
        for (const auto& [executable, idle] : m_idle)
            for (const spawned_worker& worker : idle) waitpid(worker.pid, nullptr, 0);
    }

private:
    std::mutex m_mutex;
    std::map<std::filesystem::path, std::vector<spawned_worker>> m_idle;
};

idle_compile_workers& compile_workers() {
    static idle_compile_workers workers;
    return workers;
}

} // namespace

std::filesystem::path default_worker_executable() {
    if (const char* path = std::getenv("KERNTUNE_WORKER"); path != nullptr && *path != '\0') return path;
    std::error_code ec;
    const std::filesystem::path program = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return KERNTUNE_WORKER_BUILD_PATH;
    return find_worker_executable(program.parent_path());
}

std::filesystem::path find_worker_executable(const std::filesystem::path& program_dir) {
    // KERNTUNE_WORKER_INSTALL_RELATIVE: the installed worker's folder relative to the installed
    // programs' (CMAKE_INSTALL_LIBEXECDIR/kerntune from CMAKE_INSTALL_BINDIR, src/tune/CMakeLists.txt).
    for (const std::filesystem::path& candidate :
         {program_dir / "kerntune-worker", program_dir / KERNTUNE_WORKER_INSTALL_RELATIVE / "kerntune-worker"}) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
    }
    return KERNTUNE_WORKER_BUILD_PATH;
}

worker_client::worker_client(std::filesystem::path executable, int device)
    : m_executable(std::move(executable)), m_device(device) {
    start();
}

worker_client::~worker_client() {
    // A healthy worker exits when its connection closes. The driver then takes about 0.1 s to
    // reclaim its context, which the tune need not wait for: a detached thread reaps it.
    if (m_fd >= 0) close(m_fd);
    if (m_pid > 0) std::thread([pid = m_pid] { waitpid(pid, nullptr, 0); }).detach();
}

spawned_worker spawn_worker(const std::filesystem::path& executable) {
    // Before the socket is made, which could take descriptor 2's number if it is closed.
    const bool has_stderr = fcntl(STDERR_FILENO, F_GETFD) != -1;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw error(std::string("cannot create the worker's socket: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (fds[1] == worker_fd) fcntl(fds[1], F_SETFD, 0);  // dup2 onto itself would keep CLOEXEC
    else posix_spawn_file_actions_adddup2(&actions, fds[1], worker_fd);
    // The worker's stdout is not the user's: whatever the worker, the driver or a kernel's
    // printf writes there would land in the CLI's output, inside `tune --json`. It goes to
    // stderr rather than /dev/null, so that such diagnostics (an assert, a driver's complaint)
    // stay visible where the CLI's own messages go; the protocol uses worker_fd only.
    if (has_stderr) posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    else posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const std::string path = executable.string();
    const std::string fd_text = std::to_string(worker_fd);
    char* argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>("--fd"), const_cast<char*>(fd_text.c_str()),
                    nullptr};
    spawned_worker worker;
    const int spawned = posix_spawn(&worker.pid, path.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (spawned != 0) {
        close(fds[0]);
        throw error("cannot start the worker " + path + ": " + std::strerror(spawned) +
                    " (set KERNTUNE_WORKER to its path)");
    }
    worker.fd = fds[0];
    return worker;
}

namespace {

/// The program in a compile worker's reply to `request`; throws kerntune::error for a reply that
/// reports an error or does not answer the request.
compiled_program program_of_reply(worker_message& reply, const compile_request& request) {
    if (reply.fields.count("error")) throw error(reply.at("error"));
    compiled_program program;
    program.ok = reply.at("ok") == "1";
    program.log = reply.get("log");
    program.options = reply.get("options");
    program.seconds = reply.number("seconds");
    program.cubin = std::move(reply.payload);
    if (program.ok) {
        for (std::string_view name : split(reply.at("lowered_names"), '\n')) program.lowered_names.emplace_back(name);
        // One name per instantiation asked for, or the reply is not an answer to this request.
        if (const std::string problem = program_shape_problem(program, request.name_expressions.size()); !problem.empty())
            throw error("malformed reply from the compile worker to " + std::to_string(request.name_expressions.size()) +
                        " instantiations of " + request.source.name + " (first " +
                        (request.name_expressions.empty() ? std::string("none") : request.name_expressions.front()) +
                        "): " + problem);
    }
    return program;
}

/// Kills a worker not to be kept and reaps it; its exit status.
int end_worker(const spawned_worker& worker) {
    kill(worker.pid, SIGKILL);
    close(worker.fd);
    int status = 0;
    waitpid(worker.pid, &status, 0);
    return status;
}

} // namespace

compiled_program compile_in_worker(const compile_request& request) {
    worker_message message;
    std::string expressions;
    for (const std::string& e : request.name_expressions) expressions += (expressions.empty() ? "" : "\n") + e;
    message.fields = {{"op", "compile"}, {"source_name", request.source.name}, {"arch", request.arch},
                      {"expressions", expressions}, {"header_count", std::to_string(request.source.headers.size())}};
    for (std::size_t i = 0; i < request.source.headers.size(); ++i) {
        message.fields["header_name." + std::to_string(i)] = request.source.headers[i].name;
        message.fields["header_text." + std::to_string(i)] = request.source.headers[i].text;
    }
    message.payload = request.source.text;
    const std::filesystem::path executable = default_worker_executable();
    while (true) {
        bool kept = false;
        const spawned_worker worker = compile_workers().take(executable, kept);
        received_message received;
        if (send_message(worker.fd, message)) received = receive_worker_message(worker.fd, compile_timeout_ms);
        if (received.status == receive_status::ok) {
            try {
                compiled_program program = program_of_reply(received.message, request);
                compile_workers().give_back(executable, worker);
                return program;
            } catch (...) {
                end_worker(worker);
                throw;
            }
        }
        const int status = end_worker(worker);
        if (kept) continue;  // a kept worker may have died while idle: once more, with a new one
        if (received.status == receive_status::malformed)
            throw error("malformed reply from the compile worker: " + received.problem);
        throw error("the compile worker gave no answer (" + describe_exit(status) + ")");
    }
}

void worker_client::start() {
    try {
        start_worker();
    } catch (const worker_unavailable&) {
        throw;
    } catch (const error& failure) {  // spawn_worker's
        throw worker_unavailable(failure.what());
    }
}

void worker_client::start_worker() {
    const auto started = std::chrono::steady_clock::now();
    const spawned_worker worker = spawn_worker(m_executable);
    m_pid = worker.pid;
    m_fd = worker.fd;
    ++m_starts;
    m_loaded.clear();
    worker_message hello;
    hello.fields = {{"op", "hello"}, {"device", std::to_string(m_device)}};
    worker_message reply = request(hello, hello_timeout_ms);
    if (reply.fields.count("error")) {  // the worker's own words, e.g. no such GPU
        stop(true);
        throw worker_unavailable(reply.at("error"));
    }
    if (reply.fields.count("status")) {  // it died, timed out or answered nonsense: reaped already
        stop(true);
        throw worker_unavailable("the worker " + m_executable.string() + " gave no hello: " + reply.get("message"));
    }
    try {
        decode_hello(reply, m_device);
    } catch (const error& failure) {
        stop(true);
        throw worker_unavailable("malformed hello from the worker " + m_executable.string() + ": " + failure.what());
    }
    spdlog::debug("worker {} up: driver initialised in {:.3f} s", m_pid,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (m_starts == 1) m_hello = std::move(reply);
}

int worker_client::stop(bool kill_first) {
    if (m_fd >= 0) close(m_fd);  // a healthy worker exits when its connection closes
    m_fd = -1;
    int status = 0;
    if (m_pid > 0) {
        if (kill_first) kill(m_pid, SIGKILL);
        waitpid(m_pid, &status, 0);
    }
    m_pid = -1;
    return status;
}

// Sends one request and waits for its answer. A worker that dies, times out or sends a
// malformed message is reaped (killed first unless it exited by itself), and the answer says
// so in "status" (runtime_fault or timeout) and "message".
worker_message worker_client::request(const worker_message& message, int timeout_ms) {
    received_message received;
    if (send_message(m_fd, message)) received = receive_worker_message(m_fd, timeout_ms);
    if (received.status == receive_status::ok) {
        // The worker exits after a fault.
        if (received.message.get("status") == to_string(candidate_status::runtime_fault)) stop(false);
        return std::move(received.message);
    }
    worker_message failure;
    switch (received.status) {
    case receive_status::timed_out:
        stop(true);
        failure.fields = {{"status", std::string(to_string(candidate_status::timeout))},
                          {"message", "no answer within " + std::to_string(timeout_ms) + " ms; worker killed"}};
        break;
    case receive_status::malformed:
        // What it sends next cannot be trusted to start at a message boundary.
        stop(true);
        failure.fields = {{"status", std::string(to_string(candidate_status::runtime_fault))},
                          {"message", "malformed worker reply: " + received.problem}};
        break;
    default:
        failure.fields = {{"status", std::string(to_string(candidate_status::runtime_fault))},
                          {"message", "worker " + describe_exit(stop(false))}};
        m_lost = true;
        break;
    }
    return failure;
}

// A reply as what became of the candidate: the worker's "error" (it caught the failure) is
// launch_failed; a reply that does not decode is malformed, and the worker is killed.
evaluation worker_client::outcome_of(const worker_message& reply) {
    if (reply.fields.count("error")) {  // the worker caught it; its context is fine
        evaluation failed;
        failed.status = candidate_status::launch_failed;
        failed.message = reply.at("error");
        return failed;
    }
    try {
        return decode_evaluation(reply);
    } catch (const error& failure) {
        stop(true);
        evaluation failed;
        failed.status = candidate_status::runtime_fault;
        failed.message = std::string("malformed worker reply: ") + failure.what();
        return failed;
    }
}

double worker_client::measure_copy_gbps() {
    if (m_pid < 0) start();
    worker_message measure;
    measure.fields = {{"op", "measure_copy"}};
    const worker_message reply = request(measure, hello_timeout_ms);
    if (!reply.fields.count("copy_gbps"))
        throw error("measuring copy bandwidth failed: " + reply.get("error", reply.get("message")));
    try {
        const double gbps = reply.number("copy_gbps");
        if (!std::isfinite(gbps) || gbps <= 0) throw error("copy_gbps is " + reply.at("copy_gbps"));
        return gbps;
    } catch (const error& failure) {
        stop(true);
        throw error(std::string("measuring copy bandwidth failed: malformed worker reply: ") +
                    failure.what());
    }
}

std::int64_t worker_client::add_module(std::string cubin) {
    m_cubins.push_back(std::move(cubin));
    return static_cast<std::int64_t>(m_cubins.size()) - 1;
}

evaluation worker_client::evaluate(worker_message message, const std::vector<std::int64_t>& modules,
                                   int timeout_ms) {
    m_lost = false;
    if (m_pid < 0) start();
    for (std::int64_t module : modules) {
        if (m_loaded.count(module)) continue;
        worker_message load;
        load.fields = {{"op", "load"}, {"module", std::to_string(module)}};
        load.payload = m_cubins.at(static_cast<std::size_t>(module));
        const worker_message reply = request(load, load_timeout_ms);
        // A loaded module is answered with no fields at all.
        if (!reply.fields.empty()) {
            evaluation failed = outcome_of(reply);
            if (failed.status == candidate_status::ok) {  // "ok" is no answer to a load
                stop(true);
                failed = {candidate_status::runtime_fault, 0, 0, 0,
                          "malformed worker reply: status ok to a load request"};
            }
            return failed;
        }
        m_loaded.insert(module);
    }
    message.fields["op"] = "evaluate";
    return outcome_of(request(message, timeout_ms));
}

} // namespace kerntune
