#pragma once
// Integrity verification: what Database::verify_integrity reports (docs/api.md, "Integrity
// verification").

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringdb {

enum class VerifyLevel {
    header,  // the commit slots only
    pages,   // plus every page's checksum against its parent (the Merkle tree)
    full,    // plus structure: leaf depth, key order (in each table's real key order), counts
};

struct CorruptPage {
    std::uint64_t page = 0;  // raw page number
    std::string table;       // the table the page belongs to ("" for table trees)
    std::string description;
};

struct VerifyReport {
    bool valid = true;        // no corrupt page, and structure valid when checked
    bool header_valid = true;
    std::uint64_t pages_checked = 0;
    std::uint64_t pages_corrupt = 0;
    std::optional<bool> structural_valid;  // set at VerifyLevel::full
    std::vector<CorruptPage> details;
    std::chrono::nanoseconds duration{0};
};

}  // namespace ringdb
