#pragma once
// What export, import, merge and the shipped database check a stored config against.
#include <memory>
#include <vector>

#include "core/kernel_spec.hpp"
#include "db/database.hpp"

namespace kerntune {

/// A label_check against the declared domains of `specs` (a catalogue's specs()): a config must
/// be a label of its template when one of `specs` is that template at the key's hash; another
/// hash is another version of it, or a template of a folder not given, and is left to the
/// database's check of the label's shape ("" here).
label_check declared_domain(std::vector<std::shared_ptr<const kernel_spec>> specs);

} // namespace kerntune
