#include "tune/shard.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "core/error.hpp"

namespace kerntune {
namespace {

/// `text` as a whole number from 0 (decimal digits only); nullopt for anything else, a number
/// past an int included.
std::optional<int> whole_number(std::string_view text) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    int value = 0;
    const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (failure != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

/// What is wrong with `index` and `count` as a shard; "" when nothing is.
std::string shard_problem(int index, int count) {
    if (count < 1) return "the count N must be at least 1";
    if (index >= count)
        return "shard " + std::to_string(index) + " of " + std::to_string(count) +
               " does not exist: K counts from 0 to N - 1 = " + std::to_string(count - 1);
    return "";
}

/// One scheduler's index and count, as its variables hold them.
struct scheduler_reading {
    shard part;
    std::string source;  ///< "NAME=value ..." of the variables read
};

/// The whole number in variable `name`; throws naming it when it is set to anything else.
std::optional<int> number_in(const environment_lookup& lookup, const char* name, std::string& source) {
    const std::optional<std::string> text = lookup(name);
    if (!text) return std::nullopt;
    const std::optional<int> value = whole_number(*text);
    if (!value)
        throw error("the scheduler's " + std::string(name) + "='" + *text +
                    "' is not a whole number from 0: cannot tell this process's shard (give --shard K/N)");
    source += (source.empty() ? "" : " ") + std::string(name) + "=" + *text;
    return value;
}

/// The shard of a scheduler whose index is in `index_name` and count in `count_name`, when both
/// are set; throws naming them when they do not make a shard.
std::optional<scheduler_reading> pair_in(const environment_lookup& lookup, const char* index_name,
                                         const char* count_name) {
    if (!lookup(index_name) || !lookup(count_name)) return std::nullopt;
    scheduler_reading reading;
    const int index = *number_in(lookup, index_name, reading.source);
    const int count = *number_in(lookup, count_name, reading.source);
    const std::string problem = shard_problem(index, count);
    if (!problem.empty()) throw error(reading.source + ": " + problem + " (give --shard K/N)");
    reading.part = {index, count};
    return reading;
}

/// A Slurm job array's task: K from its ID, the array's first ID and its step.
std::optional<scheduler_reading> slurm_array(const environment_lookup& lookup) {
    if (!lookup("SLURM_ARRAY_TASK_ID") || !lookup("SLURM_ARRAY_TASK_COUNT")) return std::nullopt;
    scheduler_reading reading;
    const int id = *number_in(lookup, "SLURM_ARRAY_TASK_ID", reading.source);
    const int first = number_in(lookup, "SLURM_ARRAY_TASK_MIN", reading.source).value_or(0);
    const int step = number_in(lookup, "SLURM_ARRAY_TASK_STEP", reading.source).value_or(1);
    const int count = *number_in(lookup, "SLURM_ARRAY_TASK_COUNT", reading.source);
    if (id < first || step < 1 || (id - first) % step != 0)
        throw error(reading.source + ": the task ID is not the array's first ID plus a whole number of steps (give "
                    "--shard K/N)");
    const int index = (id - first) / step;
    const std::string problem = shard_problem(index, count);
    if (!problem.empty())
        throw error(reading.source + ": " + problem +
                    " (an array of consecutive IDs such as --array=0-7 or 1-8 gives every shard; for others give "
                    "--shard K/N)");
    reading.part = {index, count};
    return reading;
}

/// A Kubernetes Indexed Job's pod: JOB_COMPLETION_INDEX, and the count the manifest sets.
std::optional<scheduler_reading> kubernetes_index(const environment_lookup& lookup) {
    if (!lookup("JOB_COMPLETION_INDEX")) return std::nullopt;
    if (!lookup("KERNTUNE_SHARD_COUNT"))
        throw error("JOB_COMPLETION_INDEX=" + *lookup("JOB_COMPLETION_INDEX") +
                    " is set but KERNTUNE_SHARD_COUNT is not: set it to the Job's completions (Kubernetes does not "
                    "pass them to the pod), or give --shard K/N");
    return pair_in(lookup, "JOB_COMPLETION_INDEX", "KERNTUNE_SHARD_COUNT");
}

} // namespace

shard parse_shard(std::string_view text) {
    const std::string quoted = "--shard '" + std::string(text) + "'";
    const std::size_t slash = text.find('/');
    const std::optional<int> index = whole_number(text.substr(0, slash));
    const std::optional<int> count =
        slash == std::string_view::npos ? std::nullopt : whole_number(text.substr(slash + 1));
    if (!index || !count)
        throw error(quoted + ": expected K/N, two whole numbers with K from 0 to N - 1 (e.g. 0/4 to 3/4), each "
                    "below 2^31");
    const std::string problem = shard_problem(*index, *count);
    if (!problem.empty()) throw error(quoted + ": " + problem);
    return {*index, *count};
}

std::string to_string(const shard& part) { return std::to_string(part.index) + "/" + std::to_string(part.count); }

std::optional<scheduler_shard> shard_from_environment(const environment_lookup& lookup) {
    std::vector<scheduler_reading> found;
    for (std::optional<scheduler_reading> reading :
         {slurm_array(lookup), pair_in(lookup, "SLURM_PROCID", "SLURM_NTASKS"), kubernetes_index(lookup),
          pair_in(lookup, "RANK", "WORLD_SIZE"), pair_in(lookup, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE")})
        if (reading && reading->part.count > 1) found.push_back(std::move(*reading));
    if (found.empty()) return std::nullopt;
    scheduler_shard result{found.front().part, found.front().source};
    for (std::size_t i = 1; i < found.size(); ++i) {
        if (!(found[i].part == result.part))
            throw error("the scheduler's variables disagree: " + found.front().source + " is shard " +
                        to_string(found.front().part) + ", " + found[i].source + " is shard " +
                        to_string(found[i].part) + " (give --shard K/N)");
        result.source += " " + found[i].source;
    }
    return result;
}

std::vector<std::size_t> shard_positions(const std::vector<std::string>& keys, const shard& part) {
    // The first position of each distinct key, the keys in byte order (std::string's <).
    std::map<std::string, std::size_t> first_position;
    for (std::size_t i = 0; i < keys.size(); ++i) first_position.emplace(keys[i], i);
    std::vector<std::size_t> taken;
    std::size_t rank = 0;
    for (const auto& entry : first_position)
        if (rank++ % static_cast<std::size_t>(part.count) == static_cast<std::size_t>(part.index))
            taken.push_back(entry.second);
    std::sort(taken.begin(), taken.end());
    return taken;
}

} // namespace kerntune
