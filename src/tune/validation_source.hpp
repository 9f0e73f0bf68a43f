#pragma once

namespace kerntune {

/// The text of templates/support/validation.cu (the kernels that fill inputs with fresh random
/// data and compare outputs bit for bit), compiled into the tuner.
extern const char* const validation_source;

} // namespace kerntune
