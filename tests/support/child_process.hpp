#pragma once
// Runs a piece of a test in a child process with a deadline, for code that might block for good
// (an open(2) of a FIFO): a blocked thread could hang the whole test program, a child is killed.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

namespace kerntune::testing {

/// The text `action` returns when run in a child process, or "still blocked after N seconds"
/// when the child has not finished within `limit` (it is killed then).
template <typename Action>
std::string text_from_child_within(std::chrono::seconds limit, Action&& action) {
    int pipe_ends[2];
    if (pipe(pipe_ends) != 0) return "pipe failed";
    const pid_t child = fork();
    if (child == 0) {
        close(pipe_ends[0]);
        const std::string text = action();
        const bool written = write(pipe_ends[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
        _exit(written ? 0 : 1);
    }
    close(pipe_ends[1]);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (waitpid(child, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            close(pipe_ends[0]);
            return "still blocked after " + std::to_string(limit.count()) + " seconds";
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = read(pipe_ends[0], buffer, sizeof(buffer))) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    close(pipe_ends[0]);
    return text;
}

} // namespace kerntune::testing
