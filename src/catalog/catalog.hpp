#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/kernel_spec.hpp"
#include "elementwise/elementwise_expression.hpp"

namespace kerntune {

/// Every template a program can tune or launch: the built-in ones (compiled in as text and
/// loaded by the same loader as users' folders, so tuner and runtime compute the same source
/// hashes) and the folders users add. Specs are shared and never change once added.
class catalog {
public:
    /// The built-in templates, then the built-in named ops (elementwise/named_ops.hpp) as the
    /// templates of their expressions, under their names.
    catalog();

    /// Adds every spec (*.yaml) of `dir`. All or nothing: on any error (a missing or unreadable
    /// folder, a spec that fails to load, a name already taken by another definition, which names
    /// both files) the catalog is left as it was and kerntune::error says what failed. A spec
    /// identical to one already there (same name and source hash) is skipped.
    void add_folder(const std::filesystem::path& dir);

    /// The template of `expression` (expression_spec), added under its op name when it is not
    /// there yet: the same expression (canonically) always gives the same spec.
    std::shared_ptr<const kernel_spec> add_expression(const elementwise_expression& expression);

    /// Every spec, built-ins first, then in the order folders were added (each sorted by file).
    const std::vector<std::shared_ptr<const kernel_spec>>& specs() const { return m_specs; }
    /// The spec named `op`, or null.
    std::shared_ptr<const kernel_spec> find(std::string_view op) const;
    /// The spec named `op`; the error lists the known ops.
    std::shared_ptr<const kernel_spec> at(std::string_view op) const;

private:
    std::vector<std::shared_ptr<const kernel_spec>> m_specs;
    void add(const std::vector<kernel_spec>& specs);
};

/// The folders named by $KERNTUNE_TEMPLATES, a ':'-separated list like PATH (empty items skipped).
std::vector<std::filesystem::path> template_folders_from_environment();

} // namespace kerntune
