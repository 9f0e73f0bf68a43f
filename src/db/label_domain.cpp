#include "db/label_domain.hpp"

#include "core/config.hpp"
#include "core/error.hpp"

namespace kerntune {

label_check declared_domain(std::vector<std::shared_ptr<const kernel_spec>> specs) {
    return [specs = std::move(specs)](const tuning_key& key, const std::string& config) -> std::string {
        for (const std::shared_ptr<const kernel_spec>& spec : specs) {
            if (spec->name != key.template_name || spec->source_hash != key.template_hash) continue;
            try {
                parse_label(*spec, config);
                return "";
            } catch (const error& failure) {
                return failure.what();
            }
        }
        return "";
    };
}

} // namespace kerntune
