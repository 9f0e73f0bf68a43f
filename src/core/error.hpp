#pragma once
#include <stdexcept>
#include <string>

namespace kerntune {

/// Every error kerntune reports to a caller: one line saying what failed and where
/// (file:line for specs, the failing call for CUDA, the path for databases).
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace kerntune
