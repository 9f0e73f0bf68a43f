#pragma once
// Runs the real `kerntune` program (KERNTUNE_CLI_PATH) the way a user would, for the CLI tests.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace kerntune::testing {

/// What one run of the CLI gave.
struct cli_run {
    int exit_code = -1;  ///< -1 unless it exited normally
    std::string out;     ///< stdout
    std::string err;     ///< stderr
};

/// Where the program's stdout goes.
enum class standard_output {
    captured,  ///< a file, read back into cli_run::out
    full,      ///< /dev/full: every write fails with ENOSPC
    closed,    ///< no descriptor 1 at all, as `kerntune ... >&-` runs it
};

/// The user nobody: without write access to anything root made here.
inline constexpr uid_t nobody = 65534;

inline std::string file_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Runs `kerntune args...` with `folder`/io for its output and `folder`/xdg as XDG_DATA_HOME, no
/// KERNTUNE_DB, KERNTUNE_TEMPLATES or KERNTUNE_WORKER (so that a run never touches the user's
/// default database), then the variables of `env`; as user nobody when `unprivileged` and the
/// tests run as root (root ignores file permissions); stdout as `stdout_to` says.
inline cli_run run_kerntune(const std::filesystem::path& folder, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env = {}, bool unprivileged = false,
                            standard_output stdout_to = standard_output::captured) {
    std::filesystem::create_directories(folder / "io");
    const std::filesystem::path out = folder / "io" / "stdout", err = folder / "io" / "stderr";
    const pid_t child = fork();
    if (child == 0) {
        const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out_fd < 0 || err_fd < 0 || dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0) _exit(120);
        for (const int fd : {out_fd, err_fd})
            if (fd > STDERR_FILENO) close(fd);
        if (stdout_to == standard_output::full) {
            const int full = open("/dev/full", O_WRONLY);
            if (full < 0 || dup2(full, STDOUT_FILENO) < 0) _exit(123);
            close(full);
        } else if (stdout_to == standard_output::closed) {
            close(STDOUT_FILENO);
        }
        if (unprivileged && geteuid() == 0 && (setgid(nobody) != 0 || setuid(nobody) != 0)) _exit(121);
        unsetenv("KERNTUNE_DB");
        unsetenv("KERNTUNE_TEMPLATES");
        unsetenv("KERNTUNE_WORKER");
        setenv("XDG_DATA_HOME", (folder / "xdg").c_str(), 1);
        for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
        std::vector<char*> argv{const_cast<char*>(KERNTUNE_CLI_PATH)};
        for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
        argv.push_back(nullptr);
        execv(KERNTUNE_CLI_PATH, argv.data());
        _exit(122);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, file_bytes(out), file_bytes(err)};
}

} // namespace kerntune::testing
