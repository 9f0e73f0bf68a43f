#include "catalog/catalog.hpp"

#include <cstdlib>

#include "catalog/expression_template.hpp"
#include "catalog/spec_loader.hpp"
#include "catalog/template_folder.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "elementwise/named_ops.hpp"

namespace kerntune {
namespace {

std::vector<kernel_spec> load_folder(const template_folder& folder) {
    std::vector<kernel_spec> specs;
    for (const std::string& file : folder.spec_files())
        for (kernel_spec& spec : load_specs(folder, file)) specs.push_back(std::move(spec));
    return specs;
}

} // namespace

/// The built-in named ops (elementwise/named_ops.hpp), each the template of its expression under
/// its torch name.
std::vector<kernel_spec> named_op_specs() {
    std::vector<kernel_spec> specs;
    for (const named_op& op : named_ops()) {
        kernel_spec spec = expression_spec(elementwise_expression::parse(op.expression, op.scalars), op.name);
        spec.description = std::string(op.torch_call) + ", as " + spec.description;
        specs.push_back(std::move(spec));
    }
    return specs;
}

catalog::catalog() {
    add(load_folder(template_folder::builtin()));
    add(named_op_specs());
}

void catalog::add_folder(const std::filesystem::path& dir) { add(load_folder(template_folder::on_disk(dir))); }

void catalog::add(const std::vector<kernel_spec>& specs) {
    std::vector<const kernel_spec*> added;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        std::string earlier;
        if (const auto taken = find(specs[i].name)) {
            // The same template again (a folder in $KERNTUNE_TEMPLATES that an application also
            // adds, or a copy of the built-in templates/ folder, which KERNTUNE_TEMPLATES named
            // before the catalogue): same name and source hash, so the same kernels and tuned
            // rows. Nothing to add, nothing to refuse; only a different definition is a conflict.
            if (taken->source_hash == specs[i].source_hash) continue;
            earlier = taken->yaml_path;
        }
        for (std::size_t j = 0; j < i; ++j)
            if (specs[j].name == specs[i].name) earlier = specs[j].yaml_path;
        if (!earlier.empty())
            throw error(specs[i].yaml_path + ": template '" + specs[i].name + "' is already defined by " + earlier);
        added.push_back(&specs[i]);
    }
    for (const kernel_spec* spec : added) m_specs.push_back(std::make_shared<const kernel_spec>(*spec));
}

std::shared_ptr<const kernel_spec> catalog::add_expression(const elementwise_expression& expression) {
    if (auto known = find(expression_op_name(expression))) return known;
    add({expression_spec(expression)});
    return m_specs.back();
}

std::shared_ptr<const kernel_spec> catalog::find(std::string_view op) const {
    for (const auto& spec : m_specs)
        if (spec->name == op) return spec;
    return nullptr;
}

std::shared_ptr<const kernel_spec> catalog::at(std::string_view op) const {
    if (auto spec = find(op)) return spec;
    std::string known;
    for (const auto& spec : m_specs) known += (known.empty() ? "" : ", ") + spec->name;
    throw error("unknown op '" + std::string(op) + "': known ops are " + known +
                " (add a template folder with KERNTUNE_TEMPLATES)");
}

std::vector<std::filesystem::path> template_folders_from_environment() {
    std::vector<std::filesystem::path> folders;
    const char* list = std::getenv("KERNTUNE_TEMPLATES");
    if (list == nullptr) return folders;
    for (std::string_view item : split(list, ':'))
        if (!item.empty()) folders.emplace_back(std::string(item));
    return folders;
}

} // namespace kerntune
