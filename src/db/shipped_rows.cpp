#include "db/shipped_rows.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "core/error.hpp"
#include "core/text.hpp"
#include "db/jsonl.hpp"
#include "db/record_checks.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;

/// A folder's *.jsonl files sorted by name, or the file itself.
void add_files(const fs::path& path, std::vector<fs::path>& files) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
        if (fs::exists(path, ec)) files.push_back(path);
        return;
    }
    std::vector<fs::path> found;
    for (const fs::directory_entry& entry : fs::directory_iterator(path, ec))
        if (entry.path().extension() == ".jsonl" && entry.is_regular_file(ec)) found.push_back(entry.path());
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
}

/// Whether `folder` is `tree` or inside it, both made absolute and free of links and dots.
bool inside(const fs::path& folder, const fs::path& tree) {
    if (folder.empty() || tree.empty()) return false;
    std::error_code ec;
    const std::string a = fs::weakly_canonical(folder, ec).string();
    std::string b = fs::weakly_canonical(tree, ec).string();
    while (b.size() > 1 && b.back() == '/') b.pop_back();
    return a == b || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
}

auto key_tuple(const tuning_key& k) {
    return std::tie(k.template_name, k.template_hash, k.dtype, k.problem_key, k.gpu_identity, k.nvrtc_version);
}

struct key_less {
    bool operator()(const tuning_key& a, const tuning_key& b) const { return key_tuple(a) < key_tuple(b); }
};

} // namespace

std::vector<fs::path> shipped_files(const fs::path& binary_dir, const shipped_location& where) {
    std::vector<fs::path> files;
    const char* chosen = std::getenv("KERNTUNE_SHIPPED_DB");
    if (chosen != nullptr && *chosen != '\0') {
        if (std::string(chosen) == "off") return files;
        for (std::string_view item : split(chosen, ':'))
            if (!item.empty()) add_files(fs::path(std::string(item)), files);
        return files;
    }
    add_files(inside(binary_dir, where.build_tree) ? where.build_folder : binary_dir / where.installed_relative,
              files);
    return files;
}

record_set winners_only(const record_set& all) {
    record_set kept;
    kept.origin = all.origin;
    kept.winners = all.winners;
    std::set<std::vector<std::string>> wanted;  // key fields and config of each winner
    auto id = [](const tuning_key& k, const std::string& config) {
        return std::vector<std::string>{k.template_name, k.template_hash, k.dtype, k.problem_key, k.gpu_identity,
                                        k.nvrtc_version, config};
    };
    std::set<std::string> gpus;
    for (const winner& w : all.winners) {
        wanted.insert(id(w.key, w.config));
        gpus.insert(w.key.gpu_identity);
    }
    for (const measurement& m : all.measurements)
        if (wanted.count(id(m.key, m.config))) kept.measurements.push_back(m);
    for (const device_record& d : all.devices)
        if (gpus.count(d.identity)) kept.devices.push_back(d);
    return kept;
}

std::vector<winner> consistent_winners(const record_set& shipped, const warning_sink& warn) {
    // Per key: the measurement of each config, and the fastest ok median.
    std::map<tuning_key, std::map<std::string, const measurement*>, key_less> by_key;
    for (const measurement& m : shipped.measurements) by_key[m.key][m.config] = &m;
    std::vector<winner> usable;
    for (const winner& w : shipped.winners) {
        std::string why;
        const auto key = by_key.find(w.key);
        const measurement* own = nullptr;
        if (key != by_key.end()) {
            const auto found = key->second.find(w.config);
            if (found != key->second.end()) own = found->second;
        }
        if (own == nullptr) {
            why = "no measurement line of its config " + w.config;
        } else if (own->status != candidate_status::ok) {
            why = "its config's measurement has status " + std::string(to_string(own->status));
        } else if (own->median_us != w.median_us) {
            why = "its median (" + std::to_string(w.median_us) + " us) is not its measurement's (" +
                  std::to_string(own->median_us) + " us)";
        } else {
            for (const auto& [config, m] : key->second)
                if (m->status == candidate_status::ok && m->median_us < w.median_us) {
                    why = "the measurement of " + config + " is faster (" + std::to_string(m->median_us) + " us against " +
                          std::to_string(w.median_us) + " us)";
                    break;
                }
        }
        if (why.empty()) {
            usable.push_back(w);
        } else if (warn) {
            warn(shipped.origin + ": the " + detail::describe(w) + " does not agree with its measurements: " + why +
                 "; ignored");
        }
    }
    return usable;
}

std::vector<winner> read_shipped_winners(const std::vector<fs::path>& files, const label_check& labels,
                                         const warning_sink& warn) {
    std::vector<winner> all;
    for (const fs::path& file : files) {
        try {
            std::ifstream in(file, std::ios::binary);
            if (!in) throw error(file.string() + ": cannot be read");
            const record_set records = read_jsonl_lenient(in, file.string(), labels, warn);
            const std::vector<winner> usable = consistent_winners(records, warn);
            all.insert(all.end(), usable.begin(), usable.end());
        } catch (const error& failure) {
            if (warn) warn(std::string("ignoring the shipped tuning file: ") + failure.what());
        }
    }
    return all;
}

std::vector<std::string> stale_template_lines(const std::vector<winner>& winners, const std::string& gpu_identity,
                                              const std::string& nvrtc_version,
                                              const std::function<std::optional<std::string>(const std::string&)>& current_hash) {
    std::map<std::string, std::pair<std::size_t, std::set<std::string>>> stale;  // by template: rows, their hashes
    for (const winner& w : winners) {
        if (w.key.gpu_identity != gpu_identity || w.key.nvrtc_version != nvrtc_version) continue;
        const std::optional<std::string> hash = current_hash(w.key.template_name);
        if (!hash || *hash == w.key.template_hash) continue;
        auto& entry = stale[w.key.template_name];
        ++entry.first;
        entry.second.insert(w.key.template_hash.substr(0, 12));
    }
    std::vector<std::string> lines;
    for (const auto& [name, entry] : stale) {
        std::string hashes;
        for (const std::string& h : entry.second) hashes += (hashes.empty() ? "" : ", ") + h;
        lines.push_back("the shipped tuning rows hold " + std::to_string(entry.first) + " winner" +
                        (entry.first == 1 ? "" : "s") + " of " + name + " for this GPU and NVRTC tuned with another version of the template (hash " +
                        hashes + ", not " + current_hash(name)->substr(0, 12) + "): not used; tune it, or regenerate tuning_db/");
    }
    return lines;
}

} // namespace kerntune
