#pragma once
#include <string>

namespace kerntune {

/// The folder holding the CUDA headers the templates include (cuda_fp16.h, ...):
/// $KERNTUNE_CUDA_INCLUDE, $CUDA_HOME/include, $CUDA_PATH/include, the toolkit kerntune was
/// built with, /usr/local/cuda/include: the first that has cuda_fp16.h, else empty.
std::string cuda_include_dir();

} // namespace kerntune
