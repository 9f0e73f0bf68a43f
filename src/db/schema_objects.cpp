#include "db/schema_objects.hpp"

#include <map>
#include <string>

#include "db/schema.hpp"

namespace kerntune::detail {
namespace {

/// "trigger t on measurements" (an index or trigger names its table), "table winners".
std::string describe(const schema_object& object) {
    const bool own = object.type == "table" || object.type == "view";
    return object.type + " " + object.name + (own ? "" : " on " + object.table);
}

/// "a table", "an index".
std::string with_article(const std::string& type) { return (type == "index" ? "an " : "a ") + type; }

/// Where the quoted string or name that starts at `open` ends (one past its closing quote, or
/// the end of `sql`): a doubled quote inside it is one quote character; [names] hold no "]".
std::size_t end_of_quoted(std::string_view sql, std::size_t open) {
    const char close = sql[open] == '[' ? ']' : sql[open];
    for (std::size_t at = open + 1;; at += 2) {
        at = sql.find(close, at);
        if (at == std::string_view::npos) return sql.size();
        const bool doubled = close != ']' && at + 1 < sql.size() && sql[at + 1] == close;
        if (!doubled) return at + 1;
    }
}

} // namespace

const std::vector<schema_object>& expected_objects(int version) {
    static const std::vector<std::vector<schema_object>> all = [] {
        std::vector<std::vector<schema_object>> objects;
        for (int v = 1; v <= schema::version; ++v) {
            const connection memory(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                    "schema " + std::to_string(v));
            if (sqlite3_exec(memory.get(), schema::sql_of(v), nullptr, nullptr, nullptr) != SQLITE_OK)
                throw memory.failure("create it");
            objects.push_back(stored_objects(memory));
        }
        return objects;
    }();
    return all.at(static_cast<std::size_t>(version - 1));
}

std::vector<schema_object> stored_objects(const connection& db) {
    statement query(db, "read its schema", "SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY name");
    std::vector<schema_object> objects;
    while (query.step()) objects.push_back({query.text(0), query.text(1), query.text(2), query.text(3)});
    return objects;
}

std::vector<std::string> schema_differences(const std::vector<schema_object>& stored, int version) {
    std::map<std::string, const schema_object*> expected;
    for (const schema_object& object : expected_objects(version)) expected[object.name] = &object;
    std::vector<std::string> differences;
    const std::string defined = " is not defined as schema " + std::to_string(version) + " defines it";
    for (const schema_object& object : stored) {
        const auto found = expected.find(object.name);
        if (found == expected.end()) {
            differences.push_back("unexpected " + describe(object));
            continue;
        }
        const schema_object& wanted = *found->second;
        if (object.type != wanted.type)
            differences.push_back(object.name + " is " + with_article(object.type) + ", not " + with_article(wanted.type));
        else if (object.table != wanted.table || normalized_sql(object.sql) != normalized_sql(wanted.sql))
            differences.push_back(describe(object) + defined);
        expected.erase(found);
    }
    for (const auto& [name, object] : expected) differences.push_back("missing " + describe(*object));
    return differences;
}

std::string normalized_sql(std::string_view sql) {
    std::string out;
    bool gap = false;  // whitespace or a comment since the last character kept
    for (std::size_t i = 0; i < sql.size();) {
        const char c = sql[i];
        const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
        if (c == '-' && next == '-') {
            i = sql.find('\n', i);
            i = i == std::string_view::npos ? sql.size() : i;
            gap = true;
        } else if (c == '/' && next == '*') {
            i = sql.find("*/", i + 2);
            i = i == std::string_view::npos ? sql.size() : i + 2;
            gap = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            ++i;
            gap = true;
        } else {
            if (gap && !out.empty()) out += ' ';
            gap = false;
            std::size_t end = i + 1;
            if (c == '\'' || c == '"' || c == '`' || c == '[') end = end_of_quoted(sql, i);
            out.append(sql.substr(i, end - i));
            i = end;
        }
    }
    return out;
}

} // namespace kerntune::detail
