#include "db/schema_migration.hpp"

#include <set>
#include <string>
#include <vector>

#include "db/schema.hpp"
#include "db/schema_objects.hpp"

namespace kerntune::detail {
namespace {

/// The columns of `table`, in their order.
std::vector<std::string> columns_of(const connection& db, const std::string& table) {
    statement query(db, "migrate its schema", "SELECT name FROM pragma_table_info(?) ORDER BY cid");
    query.bind(table);
    std::vector<std::string> names;
    while (query.step()) names.push_back(query.text(0));
    return names;
}

/// Runs `sql` (names from the compiled-in schemas only, never from the file).
void run(const connection& db, const std::string& sql) { statement(db, "migrate its schema", sql).step(); }

/// `name` quoted as an SQL identifier.
std::string quoted(const std::string& name) { return "\"" + name + "\""; }

/// Makes `table` again as `definition` (a CREATE TABLE statement) says, keeping its rows: the
/// old table is renamed aside, the new one created under the name, the shared columns copied,
/// the old one dropped. Renaming keeps the new table's stored SQL exactly the schema's (a table
/// renamed into place would be stored as CREATE TABLE "name"), and legacy_alter_table leaves
/// other tables' references to the name as they are.
void rebuild(const connection& db, const std::string& table, const std::string& definition, int from) {
    const std::string aside = table + "_of_schema_" + std::to_string(from);
    run(db, "ALTER TABLE " + quoted(table) + " RENAME TO " + quoted(aside));
    run(db, definition);
    const std::vector<std::string> old_columns = columns_of(db, aside);
    const std::set<std::string> kept(old_columns.begin(), old_columns.end());
    std::string shared;
    for (const std::string& column : columns_of(db, table))
        if (kept.count(column)) shared += (shared.empty() ? "" : ", ") + quoted(column);
    run(db, "INSERT INTO " + quoted(table) + " (" + shared + ") SELECT " + shared + " FROM " + quoted(aside));
    run(db, "DROP TABLE " + quoted(aside));
}

} // namespace

void migrate_schema(const connection& db, int from) {
    const std::vector<schema_object>& before = expected_objects(from);
    run(db, "PRAGMA legacy_alter_table = ON");
    for (const schema_object& wanted : expected_objects(schema::version)) {
        if (wanted.type != "table") continue;
        bool same = false, existed = false;
        for (const schema_object& old : before)
            if (old.name == wanted.name) {
                existed = true;
                same = old.type == wanted.type && normalized_sql(old.sql) == normalized_sql(wanted.sql);
            }
        if (same) continue;
        if (existed)
            rebuild(db, wanted.name, wanted.sql, from);
        else
            run(db, wanted.sql);
    }
    run(db, "PRAGMA legacy_alter_table = OFF");
    run(db, "PRAGMA user_version = " + std::to_string(schema::version));
    // What a migration does not make (a table the newest schema dropped, an index or trigger of
    // its own) is found here, so that no file is left half migrated.
    const std::vector<std::string> left = schema_differences(stored_objects(db), schema::version);
    if (!left.empty())
        throw error(db.label() + ": cannot migrate schema " + std::to_string(from) + " to " +
                    std::to_string(schema::version) + ": " + left.front());
}

} // namespace kerntune::detail
