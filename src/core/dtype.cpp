#include "core/dtype.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {

std::string_view to_string(dtype type) {
    switch (type) {
    case dtype::f32: return "f32";
    case dtype::f16: return "f16";
    case dtype::bf16: return "bf16";
    case dtype::i32: return "i32";
    case dtype::i64: return "i64";
    }
    return "?";
}

dtype parse_dtype(std::string_view text) {
    for (dtype type : {dtype::f32, dtype::f16, dtype::bf16, dtype::i32, dtype::i64})
        if (text == to_string(type)) return type;
    throw error("unknown dtype '" + std::string(text) + "': expected f32, f16, bf16, i32 or i64");
}

namespace {

/// The spellings parse_dtype_name accepts besides the canonical ones, lower case, without a
/// "torch.", "numpy." or "np." prefix.
struct dtype_alias {
    std::string_view name;
    dtype type;
};
constexpr dtype_alias dtype_aliases[] = {
    {"float32", dtype::f32}, {"float", dtype::f32},  {"single", dtype::f32},   {"float16", dtype::f16},
    {"half", dtype::f16},    {"bfloat16", dtype::bf16}, {"int32", dtype::i32}, {"int", dtype::i32},
    {"int64", dtype::i64},   {"long", dtype::i64},
};

std::string lower_case(std::string_view text) {
    std::string lower(text);
    for (char& c : lower)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return lower;
}

} // namespace

dtype parse_dtype_name(std::string_view text) {
    std::string name = lower_case(text);
    for (std::string_view prefix : {"torch.", "numpy.", "np."})
        if (name.rfind(prefix, 0) == 0) {
            name.erase(0, prefix.size());
            break;
        }
    for (dtype type : {dtype::f32, dtype::f16, dtype::bf16, dtype::i32, dtype::i64})
        if (name == to_string(type)) return type;
    for (const dtype_alias& alias : dtype_aliases)
        if (name == alias.name) return alias.type;
    throw error("unknown dtype '" + std::string(text) +
                "': expected f32, f16, bf16, i32 or i64, or a torch or numpy name such as float32, torch.half, "
                "bfloat16");
}

std::vector<dtype> parse_dtype_list(std::string_view csv) {
    std::vector<dtype> types;
    for (std::string_view item : split(csv, ',')) {
        if (item.empty()) throw error("empty item in dtype list '" + std::string(csv) + "'");
        const dtype type = parse_dtype_name(item);
        if (std::find(types.begin(), types.end(), type) != types.end())
            throw error("dtype " + std::string(item) +
                        (item == to_string(type) ? "" : " (" + std::string(to_string(type)) + ")") + " given twice in '" +
                        std::string(csv) + "'");
        types.push_back(type);
    }
    return types;
}

std::size_t dtype_size(dtype type) {
    switch (type) {
    case dtype::f16:
    case dtype::bf16: return 2;
    case dtype::f32:
    case dtype::i32: return 4;
    case dtype::i64: return 8;
    }
    return 4;
}

bool is_floating(dtype type) { return type == dtype::f32 || type == dtype::f16 || type == dtype::bf16; }

std::string_view cuda_type_name(dtype type) {
    switch (type) {
    case dtype::f32: return "float";
    case dtype::f16: return "__half";
    case dtype::bf16: return "__nv_bfloat16";
    case dtype::i32: return "int";
    case dtype::i64: return "long long";
    }
    return "?";
}

} // namespace kerntune
