#include "core/kernel_spec.hpp"

#include <algorithm>

namespace kerntune {

std::string_view to_string(buffer_access access) {
    switch (access) {
    case buffer_access::in: return "in";
    case buffer_access::out: return "out";
    case buffer_access::inout: return "inout";
    }
    return "in";
}

std::string_view to_string(scalar_type type) {
    switch (type) {
    case scalar_type::i32: return "i32";
    case scalar_type::i64: return "i64";
    case scalar_type::f32: return "f32";
    }
    return "f32";
}

std::string param_spec::domain_text() const {
    std::string text;
    for (std::size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + (is_enum() ? enum_names[i] : std::to_string(values[i]));
    return text;
}

std::string_view to_string(param_kind kind) {
    switch (kind) {
    case param_kind::template_arg: return "template";
    case param_kind::launch: return "launch";
    case param_kind::derived: return "derived";
    }
    return "template";
}

int kernel_spec::buffer_count() const {
    return static_cast<int>(std::count_if(arguments.begin(), arguments.end(),
                                          [](const kernel_arg& a) { return a.kind == arg_kind::buffer; }));
}

int kernel_spec::caller_scalar_count() const {
    return static_cast<int>(
        std::count_if(arguments.begin(), arguments.end(), [](const kernel_arg& a) { return a.is_caller_scalar(); }));
}

int kernel_spec::workspace_count() const {
    return static_cast<int>(std::count_if(arguments.begin(), arguments.end(),
                                          [](const kernel_arg& a) { return a.kind == arg_kind::workspace; }));
}

} // namespace kerntune
