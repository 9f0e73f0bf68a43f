#include "core/regime.hpp"

#include "core/error.hpp"

namespace kerntune {

const std::set<std::string>& regime_names() {
    static const std::set<std::string> names = {"sizeof(T)",
                                                "bytes_moved",
                                                "sm_count",
                                                "max_threads_per_sm",
                                                "shared_memory_per_sm",
                                                "max_shared_memory_per_block",
                                                "max_cluster_size",
                                                "l2_bytes"};
    return names;
}

std::optional<std::int64_t> regime_of(const kernel_spec& spec, dtype type, const problem& shape,
                                      const regime_device& device) {
    if (spec.regimes.empty()) return 0;
    try {
        variables vars;
        shape.bind(vars);
        vars["sizeof(T)"] = static_cast<std::int64_t>(dtype_size(type));
        vars["bytes_moved"] = bytes_moved(spec, type, shape);
        vars["sm_count"] = device.limits.sm_count;
        vars["max_threads_per_sm"] = device.limits.max_threads_per_sm;
        vars["shared_memory_per_sm"] = device.limits.shared_memory_per_sm;
        vars["max_shared_memory_per_block"] = device.limits.max_shared_memory_per_block;
        vars["max_cluster_size"] = device.limits.max_cluster_size;
        vars["l2_bytes"] = device.l2_bytes;
        return spec.regimes.evaluate(vars);
    } catch (const error&) {
        return std::nullopt;  // e.g. bytes_moved of a tuned key past 2^63: in no regime
    }
}

std::string default_one_axis_regimes() {
    return "bytes_moved <= sm_count * max_threads_per_sm * 32 ? 0 : (bytes_moved <= l2_bytes ? 1 : 2)";
}

std::vector<tensor_shape> default_one_axis_shapes() {
    return {tensor_shape{{4096}},      tensor_shape{{65536}},     tensor_shape{{1048576}},
            tensor_shape{{4194304}},   tensor_shape{{16777216}},  tensor_shape{{134217728}},
            tensor_shape{{4096, 393216}}};
}

std::string row_reduction_regimes() {
    const std::string bytes = "reduce * sizeof(T)";
    // (bytes <= limit ? regime : otherwise), nested: the first limit the row's bytes are within.
    const auto within = [&](const std::string& limit, int regime, const std::string& otherwise) {
        return "(" + bytes + " <= " + limit + " ? " + std::to_string(regime) + " : " + otherwise + ")";
    };
    const std::string by_count = "(" +
                                 within("8192", 6, within("16384", 8, within("65536", 10,
                                        within("max_shared_memory_per_block - 4096", 12, "14")))) +
                                 " + (outer < 4 * sm_count ? 1 : 0))";
    const std::string past_4k = "(" + bytes + " % 16 != 0 ? 5 : " + by_count + ")";
    return "inner > 1 ? 16 : " +
           within("256", 0, within("512", 1, within("1024", 2, within("2048", 3, within("4096", 4, past_4k)))));
}

std::vector<tensor_shape> row_reduction_shapes() {
    return {tensor_shape{{262144, 64}},   tensor_shape{{65536, 49}},     tensor_shape{{65536, 96}},
            tensor_shape{{65536, 97}},    tensor_shape{{65536, 193}},    tensor_shape{{65536, 200}},
            tensor_shape{{65536, 384}},   tensor_shape{{65536, 385}},    tensor_shape{{65536, 768}},
            tensor_shape{{65536, 769}},   tensor_shape{{32768, 1536}},   tensor_shape{{32768, 1537}},
            tensor_shape{{64, 1536}},     tensor_shape{{16384, 4096}},   tensor_shape{{64, 4096}},
            tensor_shape{{8192, 6144}},   tensor_shape{{64, 6144}},      tensor_shape{{4096, 12288}},
            tensor_shape{{64, 12288}},    tensor_shape{{2048, 36864}},   tensor_shape{{64, 36864}},
            tensor_shape{{4096, 393216}}, tensor_shape{{32, 1048576}},   tensor_shape{{8192, 2049}},
            tensor_shape{{512, 32769}},   tensor_shape{{64, 128, 4096}}};
}

} // namespace kerntune
