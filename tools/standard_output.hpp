#pragma once
// The CLI's stdout. A command's output is held until the command has finished, so that one that
// fails midway prints no half table before its error; then it is written with every write
// checked, so that a full disk, a closed stdout or a broken file is an error (exit 1, one line)
// and not exit 0 with the output lost.
#include <sstream>
#include <string>

namespace kerntune {

/// What a command prints on stdout, held in memory until flush().
class standard_output {
public:
    template <typename T> standard_output& operator<<(const T& value) {
        m_held << value;
        return *this;
    }
    /// Where a writer that takes a std::ostream (CLI11's help) writes.
    std::ostream& stream() { return m_held; }

    /// Writes what is held to descriptor 1 and forgets it. Throws kerntune::error
    /// "cannot write to standard output: <why>" (e.g. No space left on device) when a write fails.
    void flush();

private:
    std::ostringstream m_held;
};

/// Opens /dev/null on each of descriptors 0, 1 and 2 that is closed: otherwise the next file the
/// CLI opens (its worker's socket, a template) would take the number, and stdout would be
/// written into it. Descriptor 1 gets it read-only, so that writing to a closed stdout still
/// fails (EBADF, as on the closed descriptor) and is reported.
void reserve_standard_descriptors();

} // namespace kerntune
