#include "engine/log/log_record.hpp"

#include <cstring>

#include "util/endian.hpp"

namespace ringdb::engine {

namespace {

// Reports a table's changes to the builder under the table's current name.
class TableSink final : public MutationSink {
public:
    TableSink(RecordBuilder& builder, const std::string* name) : builder_(builder), name_(name) {}

    void inserted(std::span<const std::byte> key, std::span<const std::byte> value) override {
        builder_.operation(*name_, LogOp::insert, key, value);
    }
    void removed(std::span<const std::byte> key) override {
        builder_.operation(*name_, LogOp::remove, key, {});
    }
    void multimap_inserted(std::span<const std::byte> key,
                           std::span<const std::byte> value) override {
        builder_.operation(*name_, LogOp::multimap_insert, key, value);
    }
    void multimap_removed(std::span<const std::byte> key,
                          std::span<const std::byte> value) override {
        builder_.operation(*name_, LogOp::multimap_remove, key, value);
    }
    void multimap_key_removed(std::span<const std::byte> key) override {
        builder_.operation(*name_, LogOp::multimap_remove_key, key, {});
    }

private:
    RecordBuilder& builder_;
    const std::string* name_;
};

bool has_value(LogOp op) {
    return op == LogOp::insert || op == LogOp::multimap_insert || op == LogOp::multimap_remove;
}

}  // namespace

std::unique_ptr<MutationSink> RecordBuilder::sink_for(const std::string* name) {
    return std::make_unique<TableSink>(*this, name);
}

void RecordBuilder::put_bytes(std::span<const std::byte> bytes) {
    const std::size_t at = ops_.size();
    ops_.resize(at + 4 + bytes.size());
    util::store_le32(ops_.data() + at, static_cast<std::uint32_t>(bytes.size()));
    if (!bytes.empty()) {
        std::memcpy(ops_.data() + at + 4, bytes.data(), bytes.size());
    }
}

void RecordBuilder::check_limit() {
    if (ops_.size() > limit_) {
        overflowed_ = true;
        ops_.clear();
        ops_.shrink_to_fit();
    }
}

bool RecordBuilder::overflowed() const {
    std::lock_guard lock(mutex_);
    return overflowed_;
}

void RecordBuilder::create_table(std::string_view name, std::span<const std::byte> definition) {
    std::lock_guard lock(mutex_);
    if (overflowed_) {
        return;
    }
    ops_.push_back(static_cast<std::byte>(LogOp::create_table));
    put_string(name);
    put_bytes(definition);
    check_limit();
}

void RecordBuilder::delete_table(std::string_view name, TableKind kind) {
    std::lock_guard lock(mutex_);
    if (overflowed_) {
        return;
    }
    ops_.push_back(static_cast<std::byte>(LogOp::delete_table));
    put_string(name);
    ops_.push_back(static_cast<std::byte>(kind));
}

void RecordBuilder::rename_table(std::string_view from, std::string_view to, TableKind kind) {
    std::lock_guard lock(mutex_);
    if (overflowed_) {
        return;
    }
    ops_.push_back(static_cast<std::byte>(LogOp::rename_table));
    put_string(from);
    put_string(to);
    ops_.push_back(static_cast<std::byte>(kind));
    // A later operation on `from`'s new name must name it again.
    has_current_ = false;
}

void RecordBuilder::operation(std::string_view name, LogOp op, std::span<const std::byte> key,
                              std::span<const std::byte> value) {
    std::lock_guard lock(mutex_);
    if (overflowed_) {
        return;
    }
    if (!has_current_ || current_table_ != name) {
        ops_.push_back(static_cast<std::byte>(LogOp::table));
        put_string(name);
        current_table_.assign(name);
        has_current_ = true;
    }
    ops_.push_back(static_cast<std::byte>(op));
    put_bytes(key);
    if (has_value(op)) {
        put_bytes(value);
    }
    check_limit();
}

std::vector<std::byte> RecordBuilder::finish(std::uint64_t transaction_id,
                                             std::uint64_t clock_high_water) {
    std::lock_guard lock(mutex_);
    std::vector<std::byte> payload(16 + ops_.size());
    util::store_le64(payload.data(), transaction_id);
    util::store_le64(payload.data() + 8, clock_high_water);
    if (!ops_.empty()) {
        std::memcpy(payload.data() + 16, ops_.data(), ops_.size());
    }
    return payload;
}

std::size_t RecordBuilder::size() const {
    std::lock_guard lock(mutex_);
    return ops_.size();
}

bool RecordBuilder::empty() const {
    std::lock_guard lock(mutex_);
    return ops_.empty();
}

namespace {

class Reader {
public:
    explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}

    bool done() const noexcept { return at_ == bytes_.size(); }
    std::size_t offset() const noexcept { return at_; }
    bool byte(std::uint8_t& out) {
        if (at_ >= bytes_.size()) {
            return false;
        }
        out = std::to_integer<std::uint8_t>(bytes_[at_++]);
        return true;
    }
    bool field(std::span<const std::byte>& out) {
        if (bytes_.size() - at_ < 4) {
            return false;
        }
        const std::uint32_t length = util::load_le32(bytes_.data() + at_);
        if (bytes_.size() - at_ - 4 < length) {
            return false;
        }
        out = bytes_.subspan(at_ + 4, length);
        at_ += 4 + length;
        return true;
    }

private:
    std::span<const std::byte> bytes_;
    std::size_t at_ = 0;
};

std::string_view as_text(std::span<const std::byte> bytes) {
    return std::string_view(static_cast<const char*>(static_cast<const void*>(bytes.data())),
                            bytes.size());
}

bool valid_kind(std::uint8_t kind) {
    return kind == static_cast<std::uint8_t>(TableKind::normal) ||
           kind == static_cast<std::uint8_t>(TableKind::multimap);
}

// Decodes the operation after its op byte.
bool decode_operation(Reader& reader, LogOp op, std::string_view table, LogOperation& out) {
    out.op = op;
    out.table = table;
    std::uint8_t kind = 0;
    switch (op) {
    case LogOp::insert:
    case LogOp::multimap_insert:
    case LogOp::multimap_remove:
        return !table.empty() && reader.field(out.key) && reader.field(out.value);
    case LogOp::remove:
    case LogOp::multimap_remove_key:
        return !table.empty() && reader.field(out.key);
    case LogOp::create_table:
        return reader.field(out.key) && reader.field(out.value);
    case LogOp::delete_table:
        if (!reader.field(out.key) || !reader.byte(kind) || !valid_kind(kind)) {
            return false;
        }
        out.kind = static_cast<TableKind>(kind);
        return true;
    case LogOp::rename_table:
        if (!reader.field(out.key) || !reader.field(out.value) || !reader.byte(kind) ||
            !valid_kind(kind)) {
            return false;
        }
        out.kind = static_cast<TableKind>(kind);
        return true;
    case LogOp::table:
        return false;
    }
    return false;
}

}  // namespace

Result<DecodedRecord> decode_record(std::span<const std::byte> payload) {
    if (payload.size() < 16) {
        return Error{Errc::corrupted, 0, 0};
    }
    DecodedRecord record;
    record.transaction_id = util::load_le64(payload.data());
    record.clock_high_water = util::load_le64(payload.data() + 8);
    Reader reader(payload.subspan(16));
    std::string_view table;
    while (!reader.done()) {
        const std::size_t at = reader.offset() + 16;
        std::uint8_t code = 0;
        reader.byte(code);
        const auto op = static_cast<LogOp>(code);
        if (op == LogOp::table) {
            std::span<const std::byte> name;
            if (!reader.field(name) || name.empty()) {
                return Error{Errc::corrupted, 0, at};
            }
            table = as_text(name);
            continue;
        }
        LogOperation operation;
        if (!decode_operation(reader, op, table, operation)) {
            return Error{Errc::corrupted, 0, at};
        }
        if (op == LogOp::rename_table) {
            table = {};
        }
        record.operations.push_back(operation);
    }
    return record;
}

}  // namespace ringdb::engine
