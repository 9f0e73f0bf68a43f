#include "standard_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace kerntune {

void standard_output::flush() {
    const std::string text = m_held.str();
    m_held.str("");
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t written = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0)  // 0 cannot happen for a size > 0; were it to, it would repeat forever
            throw error(std::string("cannot write to standard output: ") +
                        (written < 0 ? std::strerror(errno) : "nothing was written"));
        done += static_cast<std::size_t>(written);
    }
}

void reserve_standard_descriptors() {
    for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        // open takes the lowest free number: fd itself, as every lower one is open by now.
        const int opened = ::open("/dev/null", fd == STDERR_FILENO ? O_WRONLY : O_RDONLY);
        if (opened >= 0 && opened != fd) {
            dup2(opened, fd);
            ::close(opened);
        }
    }
}

} // namespace kerntune
