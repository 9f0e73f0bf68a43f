// gpu label: libkerntune as an application uses it, through the C++ API and the C ABI.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <iterator>
#include <filesystem>
#include <thread>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "core/text.hpp"
#include "cuda/device.hpp"
#include "cuda/nvrtc.hpp"
#include "db/database.hpp"
#include "kernel_harness.hpp"
#include "kerntune/kerntune.h"
#include "kerntune/kerntune.hpp"
#include "build/binary_cache.hpp"
#include "tune/tuner.hpp"
#include "../unit/test_core_support.hpp"

namespace kerntune::testing {
namespace {

kt_dtype to_kt(dtype type) { return type == dtype::f32 ? KT_F32 : type == dtype::f16 ? KT_F16 : KT_BF16; }


/// Runs rt.leaky_relu on `input` placed x_offset/y_offset elements past an aligned address
/// (in place when asked) and returns the number of elements that differ from the host reference.
std::size_t run_and_check(runtime& rt, dtype type, const std::vector<std::uint32_t>& input, int x_offset, int y_offset,
                          bool in_place) {
    const std::size_t size = dtype_size(type);
    std::vector<unsigned char> host(input.size() * size);
    for (std::size_t i = 0; i < input.size(); ++i) std::memcpy(&host[i * size], &input[i], size);
    device_buffer x_buffer(host.size() + 64), y_buffer(host.size() + 64);
    const CUdeviceptr x = x_buffer.get() + static_cast<CUdeviceptr>(x_offset) * size;
    const CUdeviceptr y = in_place ? x : y_buffer.get() + static_cast<CUdeviceptr>(y_offset) * size;
    KERNTUNE_CU(cuMemcpyHtoD(x, host.data(), host.size()));
    rt.leaky_relu(to_kt(type), reinterpret_cast<void*>(x), reinterpret_cast<void*>(y), static_cast<std::int64_t>(input.size()),
                  0.01f, nullptr);
    KERNTUNE_CU(cuMemcpyDtoH(host.data(), y, host.size()));
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < input.size(); ++i) {
        std::uint32_t got = 0;
        std::memcpy(&got, &host[i * size], size);
        const std::uint32_t want = leaky_relu_expected(type, input[i], 0.01f);
        wrong += is_nan(type, want) ? !is_nan(type, got) : got != want;
    }
    return wrong;
}

class RuntimeTest : public testing::gpu_context_test {};

TEST_F(RuntimeTest, WithoutADatabaseRunsDefaultConfigsCorrectlyForAnyPlacement) {
    runtime rt(scratch_path("missing.db").string());
    std::mt19937 rng(7);
    for (dtype type : {dtype::f32, dtype::f16, dtype::bf16}) {
        for (std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{4097}, std::size_t{1000003}}) {
            const std::vector<std::uint32_t> input = random_bits(type, n, rng);
            SCOPED_TRACE(std::string(to_string(type)) + " n=" + std::to_string(n));
            EXPECT_EQ(run_and_check(rt, type, input, 0, 0, false), 0u);
            EXPECT_EQ(run_and_check(rt, type, input, 1, 1, false), 0u);
            EXPECT_EQ(run_and_check(rt, type, input, 1, 2, false), 0u);
            EXPECT_EQ(run_and_check(rt, type, input, 3, 0, true), 0u);
        }
        const launch_choice choice = rt.query("leaky_relu", to_kt(type), 1000003);
        EXPECT_EQ(choice.match, KT_MATCH_DEFAULT);
        const kernel_spec spec = *catalog().at("leaky_relu");
        EXPECT_EQ(choice.label, label(spec, default_config(spec, type)));
    }
    EXPECT_NO_THROW(rt.leaky_relu(KT_F32, nullptr, nullptr, 0, 0.01f));  // n == 0 launches nothing
    EXPECT_THROW(rt.leaky_relu(KT_F32, nullptr, nullptr, 16, 0.01f), runtime_error);
    EXPECT_THROW(rt.leaky_relu(KT_F32, nullptr, nullptr, -1, 0.01f), runtime_error);
}

TEST_F(RuntimeTest, EdgeSizesAndEveryPairOfOffsetsAreBitExact) {
    runtime rt(scratch_path("edges.db").string());
    std::mt19937 rng(5);
    for (dtype type : {dtype::f32, dtype::f16, dtype::bf16}) {
        const std::size_t vec = 16 / dtype_size(type);  // the default config's vector width
        std::vector<std::size_t> sizes = {1, 3, vec - 1, vec, vec + 1, 1000003};  // 1000003 is prime
        for (int k : {10, 16, 20}) sizes.insert(sizes.end(), {(std::size_t{1} << k) - 1, (std::size_t{1} << k) + 1});
        for (std::size_t n : sizes) {
            const std::vector<std::uint32_t> input = random_bits(type, n, rng);
            for (int x_offset = 0; x_offset < 4; ++x_offset) {
                SCOPED_TRACE(std::string(to_string(type)) + " n=" + std::to_string(n) + " x+" + std::to_string(x_offset));
                EXPECT_EQ(run_and_check(rt, type, input, x_offset, 0, true), 0u) << "in place";
                for (int y_offset = 0; y_offset < 4; ++y_offset)
                    EXPECT_EQ(run_and_check(rt, type, input, x_offset, y_offset, false), 0u) << "y+" << y_offset;
            }
        }
    }
}

TEST_F(RuntimeTest, UsesTheTunedWinnerAndItsCachedBinaryAndTreatsStaleRowsAsMisses) {
    const std::filesystem::path path = scratch_path("tuned.db");
    const kernel_spec spec = *catalog().at("leaky_relu");
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem({"n"}, parse_shape("65537"))};
    options.max_samples = 10;
    std::string tuned_label;
    {
        database db = database::open(path, open_mode::read_write);
        const std::vector<tune_outcome> outcomes = tune(spec, options, db, nullptr);
        ASSERT_TRUE(outcomes.at(0).best);
        tuned_label = outcomes[0].best->config;
        // Stale rows that must never be used: another GPU, another template source, another NVRTC,
        // each claiming a different config for the same sizes.
        const std::string other = tuned_label == "blk1024.vec1.unr1.plain.tile.w0" ? "blk128.vec1.unr1.plain.tile.w0" : "blk1024.vec1.unr1.plain.tile.w0";
        for (int variant = 0; variant < 3; ++variant) {
            winner stale = *outcomes[0].best;
            stale.config = other;
            stale.key.problem_key = "n=1000000";
            if (variant == 0) {
                device_record another{"Another GPU|sm_90|132 SMs", "Another GPU", 9, 0, 132};
                db.upsert_device(another);
                stale.key.gpu_identity = another.identity;
            }
            if (variant == 1) stale.key.template_hash = std::string(64, '0');
            if (variant == 2) stale.key.nvrtc_version = "99.9";
            db.set_winner(stale);
        }
    }
    runtime rt(path.string());
    const launch_choice exact = rt.query("leaky_relu", KT_F32, 65537);
    EXPECT_EQ(exact.match, KT_MATCH_EXACT);
    EXPECT_EQ(exact.label, tuned_label);
    EXPECT_EQ(exact.binary_source, "database") << "the tuner stored the winner's cubin";
    const launch_choice nearest = rt.query("leaky_relu", KT_F32, 1000000);
    EXPECT_EQ(nearest.match, KT_MATCH_NEAREST) << "stale rows for n=1000000 must not count as exact";
    EXPECT_EQ(nearest.label, tuned_label);
    EXPECT_EQ(rt.query("leaky_relu", KT_F16, 65537).match, KT_MATCH_DEFAULT);
    std::mt19937 rng(11);
    EXPECT_EQ(run_and_check(rt, dtype::f32, random_bits(dtype::f32, 65537, rng), 1, 1, false), 0u);
}

std::string file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// The default config's label for f32 with part `index` replaced by `value`.
std::string with_part(const kernel_spec& spec, std::size_t index, const std::string& value) {
    const std::string default_label = label(spec, default_config(spec, dtype::f32));
    const std::vector<std::string_view> parts = split(default_label, '.');
    std::string result;
    for (std::size_t i = 0; i < parts.size(); ++i)
        result += (i == 0 ? "" : ".") + (i == index ? value : std::string(parts[i]));
    return result;
}

/// Labels a tampered database may hold, each with a part count that parse_label accepts and
/// one bad part, so that each is refused for the value it names: for integer parameters a value
/// outside the domain, a negative one, a non-integer, another spelling of the default value, an
/// empty value and a wrong prefix; for enum parameters an unknown name, another case, the index
/// and an empty part. Pairs of (label, the parameter it breaks).
std::vector<std::pair<std::string, std::string>> bad_parts(const kernel_spec& spec) {
    const std::string default_label = label(spec, default_config(spec, dtype::f32));
    const std::vector<std::string_view> parts = split(default_label, '.');
    std::vector<std::pair<std::string, std::string>> labels;
    for (std::size_t i = 0; i < spec.params.size(); ++i) {
        const param_spec& p = spec.params[i];
        const std::string part(parts.at(i));
        std::vector<std::string> values;
        if (p.is_enum()) {
            std::string upper = part;
            for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            values = {"fast", upper, "0", ""};
        } else {
            const std::string digits = part.substr(p.short_name.size());
            values = {p.short_name + "1048576", p.short_name + "-1",   p.short_name + "1e3",
                      p.short_name + "0" + digits, p.short_name, "x" + digits};
        }
        for (const std::string& value : values) labels.emplace_back(with_part(spec, i, value), p.name);
    }
    return labels;
}

/// The default config for f32 with one parameter moved to another value of its domain that
/// breaks a constraint for f32 (for leaky_relu: VEC 8, 32-byte vectors).
config constraint_breaking_config(const kernel_spec& spec) {
    const config base = default_config(spec, dtype::f32);
    for (std::size_t i = 0; i < spec.params.size(); ++i) {
        for (std::int64_t value : spec.params[i].values) {
            config c = base;
            c.values[i] = value;
            if (!satisfies_constraints(spec, c, dtype::f32)) return c;
        }
    }
    throw error("no single change to the default config breaks a constraint of " + spec.name);
}

TEST_F(RuntimeTest, TamperedRowsAndBadDatabaseFilesFallBackToCorrectDefaults) {
    const kernel_spec spec = *catalog().at("leaky_relu");
    const device_info gpu = query_device(0);
    const std::filesystem::path tampered = scratch_path("tampered_rows.db");
    std::vector<std::string> labels;
    for (const auto& [bad, parameter] : bad_parts(spec)) {
        // Refused for the part it breaks, not for its shape.
        const std::string message = test::error_of([&] { parse_label(spec, bad); });
        EXPECT_NE(message.find(": " + parameter + " must be one of "), std::string::npos)
            << bad << ": " << message;
        labels.push_back(bad);
    }
    labels.push_back("1);asm(\"trap\");//");
    labels.push_back("'; DROP TABLE winners; --");
    // The last is in the domain but breaks a constraint (for leaky_relu VEC * sizeof(T) <= 16).
    const config breaking = constraint_breaking_config(spec);
    ASSERT_TRUE(in_domain(spec, breaking));
    labels.push_back(label(spec, breaking));
    {
        database db = database::open(tampered, open_mode::read_write);
        db.upsert_device({gpu.identity(), gpu.name, gpu.cc_major, gpu.cc_minor, gpu.sm_count});
        for (std::size_t i = 0; i < labels.size(); ++i) {
            winner w;
            w.key = {spec.name, spec.source_hash, "f32", "n=" + std::to_string(1000 + i), gpu.identity(), nvrtc_version()};
            w.config = labels[i];
            db.set_winner(w);
        }
    }
    {
        runtime rt(tampered.string());
        for (std::size_t i = 0; i < labels.size(); ++i) {
            const launch_choice choice = rt.query("leaky_relu", KT_F32, static_cast<std::int64_t>(1000 + i));
            EXPECT_EQ(choice.match, KT_MATCH_DEFAULT) << labels[i];
            EXPECT_EQ(choice.label, label(spec, default_config(spec, dtype::f32)));
        }
        std::mt19937 rng(9);
        EXPECT_EQ(run_and_check(rt, dtype::f32, random_bits(dtype::f32, 1001, rng), 0, 0, false), 0u);
    }

    std::string newer = file_bytes(tampered);
    newer[63] = 99;  // PRAGMA user_version lives at bytes 60..63 of the header, big-endian
    std::mt19937 rng(13);
    std::string random(8192, '\0');
    for (char& c : random) c = static_cast<char>(rng());
    const std::vector<std::pair<std::string, std::string>> bad_files = {
        {"random bytes", random},
        {"truncated", file_bytes(tampered).substr(0, file_bytes(tampered).size() / 2)},
        {"newer schema", newer},
        {"not SQLite", "this is a text file, not a database\n"}};
    for (const auto& [what, bytes] : bad_files) {
        SCOPED_TRACE(what);
        const std::filesystem::path path = scratch_path("bad.db");
        write_bytes(path, bytes);
        runtime rt(path.string());  // never an error: the database is optional
        EXPECT_EQ(rt.query("leaky_relu", KT_BF16, 4099).match, KT_MATCH_DEFAULT);
        EXPECT_EQ(run_and_check(rt, dtype::bf16, random_bits(dtype::bf16, 4099, rng), 1, 1, false), 0u);
        EXPECT_EQ(file_bytes(path), bytes) << "the file must be left as it was";
    }
}

TEST_F(RuntimeTest, ABinaryFailingItsDigestIsCompiledAgainNotLoaded) {
    const std::filesystem::path path = scratch_path("tampered.db");
    const kernel_spec spec = *catalog().at("leaky_relu");
    const config chosen = default_config(spec, dtype::bf16);
    {
        database db = database::open(path, open_mode::read_write);
        kernel_binary binary = compile_binary(spec, chosen, {}, dtype::bf16, query_device(0).arch());
        binary.cubin[binary.cubin.size() / 2] ^= 0x5a;  // corrupt it, keep the old digest
        db.store_binary(binary);
    }
    runtime rt(path.string());
    EXPECT_EQ(rt.query("leaky_relu", KT_BF16, 1 << 20).binary_source, "compiled");
    std::mt19937 rng(3);
    EXPECT_EQ(run_and_check(rt, dtype::bf16, random_bits(dtype::bf16, 1 << 20, rng), 0, 0, false), 0u);
}

// The database is code-adjacent: a cubin stored in a file (or a folder) that others can write
// is not loaded; the call compiles its kernel from source and is still right.
TEST_F(RuntimeTest, ABinaryInADatabaseOthersCanWriteIsCompiledAgainNotLoaded) {
    const std::filesystem::path folder = make_temp_folder("kerntune-trust");
    const std::filesystem::path path = folder / "shared.db";
    const kernel_spec spec = *catalog().at("leaky_relu");
    const config chosen = default_config(spec, dtype::bf16);
    {
        database db = database::open(path, open_mode::read_write);
        db.store_binary(compile_binary(spec, chosen, {}, dtype::bf16, query_device(0).arch()));
    }
    std::filesystem::permissions(path, std::filesystem::perms(0644));
    EXPECT_EQ(runtime(path.string()).query("leaky_relu", KT_BF16, 1 << 20).binary_source, "database") << "control";
    std::mt19937 rng(5);
    const std::vector<std::uint32_t> input = random_bits(dtype::bf16, 1 << 20, rng);
    std::filesystem::permissions(path, std::filesystem::perms(0666));
    {
        runtime rt(path.string());
        EXPECT_EQ(rt.query("leaky_relu", KT_BF16, 1 << 20).binary_source, "compiled");
        EXPECT_EQ(run_and_check(rt, dtype::bf16, input, 0, 0, false), 0u);
    }
    std::filesystem::permissions(path, std::filesystem::perms(0644));
    std::filesystem::permissions(folder, std::filesystem::perms(0777));
    EXPECT_EQ(runtime(path.string()).query("leaky_relu", KT_BF16, 1 << 20).binary_source, "compiled");
    std::filesystem::permissions(folder, std::filesystem::perms(0700));
    std::filesystem::remove_all(folder);
}

TEST_F(RuntimeTest, ManyThreadsOnAColdKeyAllGetCorrectResults) {
    runtime rt(scratch_path("threads.db").string());
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
        threads.emplace_back([&, t] {
            primary_context context(0);  // each thread makes the device current, as applications do
            std::mt19937 rng(static_cast<unsigned>(t));
            wrong += static_cast<int>(run_and_check(rt, dtype::f16, random_bits(dtype::f16, 300007, rng), t % 3, t % 3, t % 2));
        });
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST_F(RuntimeTest, HandlesMoreThanTwoToTheThirtyOneElements) {
    const std::int64_t n = (std::int64_t{1} << 31) + 5;
    runtime rt(scratch_path("large.db").string());
    device_buffer data(static_cast<std::size_t>(n) * 2);
    KERNTUNE_CU(cuMemsetD16Async(data.get(), 0xc000, static_cast<std::size_t>(n), nullptr));  // -2.0 in f16
    rt.leaky_relu(KT_F16, reinterpret_cast<void*>(data.get()), reinterpret_cast<void*>(data.get()), n, 0.25f);
    const std::uint16_t expected = float_to_half(-0.5f);
    for (std::int64_t i : {std::int64_t{0}, (std::int64_t{1} << 31) - 1, std::int64_t{1} << 31, n - 1}) {
        std::uint16_t got = 0;
        KERNTUNE_CU(cuMemcpyDtoH(&got, data.get() + static_cast<CUdeviceptr>(i) * 2, 2));
        EXPECT_EQ(got, expected) << "element " << i;
    }
}

// One config's kernel serves every shape that uses it, and layer_norm's row cache takes shared
// memory by row length: a shape prepared later with less of it must not lower the function's
// limit below what an earlier shape's launches need (they failed with CUDA_ERROR_INVALID_VALUE).
TEST_F(RuntimeTest, ShapesSharingAKernelKeepTheSharedMemoryEachNeeds) {
    const std::filesystem::path path = scratch_path("shared-limit.db");
    std::filesystem::remove(path);
    const kernel_spec spec = *catalog().at("layer_norm");
    const device_info device = query_device(0);
    {
        database db = database::open(path, open_mode::read_write);
        db.upsert_device({device.identity(), device.name, device.cc_major, device.cc_minor, device.sm_count});
        // A row cache of 120 KB at 4 x 30000, 80 KB at 4 x 20000 (both past 48 KiB, one regime).
        db.set_winner({{spec.name, spec.source_hash, "f32", "outer=4.reduce=30000.inner=1", device.identity(),
                        nvrtc_version()},
                       "t256.r1.c1.g0"});
    }
    runtime rt(path.string());
    const std::vector<std::int64_t> longer = {4, 30000, 1}, shorter = {4, 20000, 1};
    EXPECT_EQ(rt.query_problem("layer_norm", KT_F32, longer.data(), 3).match, KT_MATCH_EXACT);
    EXPECT_EQ(rt.query_problem("layer_norm", KT_F32, shorter.data(), 3).match, KT_MATCH_NEAREST);
    device_buffer x(4 * 30000 * 4), y(4 * 30000 * 4);
    std::vector<float> host(4 * 30000);
    for (std::size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(i % 7) - 3.0f;
    KERNTUNE_CU(cuMemcpyHtoD(x.get(), host.data(), host.size() * 4));
    void* buffers[] = {reinterpret_cast<void*>(x.get()), nullptr, nullptr, reinterpret_cast<void*>(y.get())};
    for (const std::vector<std::int64_t>* shape : {&longer, &shorter, &longer}) {
        EXPECT_NO_THROW(rt.launch_problem("layer_norm", KT_F32, shape->data(), 3, buffers, 4, nullptr, 0))
            << "reduce=" << (*shape)[1];
        KERNTUNE_CU(cuCtxSynchronize());
    }
    // The last launch, of the longer rows, computed them: every row of 0..6 - 3 repeating is
    // normalized to mean 0.
    std::vector<float> out(host.size());
    KERNTUNE_CU(cuMemcpyDtoH(out.data(), y.get(), out.size() * 4));
    for (int row = 0; row < 4; ++row) {
        double sum = 0;
        for (int i = 0; i < 30000; ++i) sum += out[static_cast<std::size_t>(row) * 30000 + i];
        EXPECT_NEAR(sum / 30000, 0.0, 1e-3) << row;
    }
}

TEST_F(RuntimeTest, CApiReportsBadArgumentsAsStatuses) {
    kt_runtime* rt = nullptr;
    ASSERT_EQ(kt_runtime_create(scratch_path("c.db").c_str(), &rt), KT_OK) << kt_last_error();
    EXPECT_EQ(kt_leaky_relu(rt, static_cast<kt_dtype>(7), nullptr, nullptr, 4, 0.01f, nullptr), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(kt_launch(rt, "no_such_op", KT_F32, 4, nullptr, 0, nullptr, 0, nullptr), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kt_last_error()).find("leaky_relu"), std::string::npos) << "lists the known ops";
    kt_match match = KT_MATCH_EXACT;
    char label_text[64] = {};
    EXPECT_EQ(kt_query(rt, "leaky_relu", KT_F32, 1000, &match, label_text, sizeof(label_text)), KT_OK);
    EXPECT_EQ(match, KT_MATCH_DEFAULT);
    EXPECT_GT(std::strlen(label_text), 0u);
    kt_runtime_destroy(rt);
}

} // namespace
} // namespace kerntune::testing
