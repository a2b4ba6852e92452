// Savepoints through the public API on real files (docs/api.md, "Savepoints"): restore, persistence
// across reopen, the dirty-transaction and durability rules, and their errors.

#include <string>

#include <catch2/catch.hpp>

#include <ringdb/ringdb.hpp>

#include "io/file_fixture.hpp"

using ringdb::Database;
using ringdb::Errc;
using ringdb::sync_wait;

namespace {

constexpr ringdb::TableDefinition<std::uint64_t, std::string> kNotes("notes");

Database create_db(const std::string& path) {
    auto db = sync_wait(Database::create(path));
    INFO((db ? "ok" : ringdb::to_string(db.error())));
    REQUIRE(db.has_value());
    return std::move(*db);
}

ringdb::WriteTransaction write(Database& db) {
    auto txn = sync_wait(db.begin_write());
    REQUIRE(txn.has_value());
    return std::move(*txn);
}

void put(Database& db, std::uint64_t key, const std::string& value) {
    auto txn = write(db);
    auto table = sync_wait(txn.open_table(kNotes));
    REQUIRE(table.has_value());
    REQUIRE(sync_wait(table->insert(key, value)).has_value());
    REQUIRE(sync_wait(txn.commit()).has_value());
}

void remove(Database& db, std::uint64_t key) {
    auto txn = write(db);
    auto table = sync_wait(txn.open_table(kNotes));
    REQUIRE(table.has_value());
    REQUIRE(sync_wait(table->remove(key)).has_value());
    REQUIRE(sync_wait(txn.commit()).has_value());
}

std::optional<std::string> get(Database& db, std::uint64_t key) {
    auto reader = db.begin_read();
    REQUIRE(reader.has_value());
    auto table = sync_wait(reader->open_table(kNotes));
    REQUIRE(table.has_value());
    auto found = sync_wait(table->get(key));
    REQUIRE(found.has_value());
    if (!*found) {
        return std::nullopt;
    }
    return (*found)->value().value();
}

}  // namespace

TEST_CASE("An ephemeral savepoint brings back a removed key", "[integration][savepoint]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    put(db, 1, "one");
    ringdb::Savepoint savepoint = [&] {
        auto txn = write(db);
        auto created = sync_wait(txn.ephemeral_savepoint());
        REQUIRE(created.has_value());
        REQUIRE_FALSE(created->persistent());
        REQUIRE(created->id() > 0);
        REQUIRE(sync_wait(txn.commit()).has_value());
        return std::move(*created);
    }();
    remove(db, 1);
    put(db, 2, "two");
    REQUIRE_FALSE(get(db, 1));
    {
        auto txn = write(db);
        REQUIRE(sync_wait(txn.restore_savepoint(savepoint)).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    REQUIRE(get(db, 1) == "one");
    REQUIRE_FALSE(get(db, 2));
    // A moved-from handle is not a savepoint.
    ringdb::Savepoint moved = std::move(savepoint);
    auto txn = write(db);
    auto refused = sync_wait(txn.restore_savepoint(savepoint));  // NOLINT: use after move
    REQUIRE(refused.error().code == Errc::invalid_savepoint);
    REQUIRE(sync_wait(txn.restore_savepoint(moved)).has_value());
}

TEST_CASE("Persistent savepoints survive reopen and restore there",
          "[integration][savepoint]") {
    ringdb::test::TempDir dir;
    std::string path = dir.file("db");
    std::uint64_t id = 0;
    {
        auto db = create_db(path);
        put(db, 1, "kept");
        auto txn = write(db);
        auto created = sync_wait(txn.persistent_savepoint());
        REQUIRE(created.has_value());
        id = *created;
        // The savepoint change must be durable: none is refused, and the commit stays durable.
        auto refused = txn.try_set_durability(ringdb::Durability::none);
        REQUIRE(refused.error().code == Errc::persistent_savepoint_modified);
        txn.set_durability(ringdb::Durability::none);
        REQUIRE(txn.durability() == ringdb::Durability::immediate);
        REQUIRE(sync_wait(txn.commit()).has_value());
        remove(db, 1);
        put(db, 3, "later");
        REQUIRE(sync_wait(db.close()).has_value());
    }
    auto db = sync_wait(Database::open(path));
    REQUIRE(db.has_value());
    REQUIRE_FALSE(get(*db, 1));
    {
        auto txn = write(*db);
        auto ids = sync_wait(txn.list_persistent_savepoints());
        REQUIRE(*ids == std::vector<std::uint64_t>{id});
        // Listing made the transaction dirty: no new savepoint in it.
        REQUIRE(sync_wait(txn.ephemeral_savepoint()).error().code == Errc::invalid_savepoint);
        auto savepoint = sync_wait(txn.get_persistent_savepoint(id));
        REQUIRE(savepoint.has_value());
        REQUIRE(savepoint->persistent());
        REQUIRE(sync_wait(txn.restore_savepoint(*savepoint)).has_value());
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    REQUIRE(get(*db, 1) == "kept");
    REQUIRE_FALSE(get(*db, 3));
    {
        auto txn = write(*db);
        REQUIRE(*sync_wait(txn.delete_persistent_savepoint(id)));
        REQUIRE(sync_wait(txn.commit()).has_value());
    }
    auto txn = write(*db);
    REQUIRE(sync_wait(txn.list_persistent_savepoints())->empty());
    REQUIRE(sync_wait(txn.get_persistent_savepoint(id)).error().code ==
            Errc::invalid_savepoint);
    auto report = sync_wait(db->verify_integrity());
    REQUIRE(report->valid);
}

TEST_CASE("Savepoint rules: durability and dirty transactions", "[integration][savepoint]") {
    ringdb::test::TempDir dir;
    auto db = create_db(dir.file("db"));
    {
        auto txn = write(db);
        txn.set_durability(ringdb::Durability::none);
        REQUIRE(sync_wait(txn.persistent_savepoint()).error().code == Errc::invalid_savepoint);
        REQUIRE(sync_wait(txn.delete_persistent_savepoint(1)).error().code ==
                Errc::invalid_savepoint);
        // An ephemeral savepoint in a non-durable transaction is fine.
        REQUIRE(sync_wait(txn.ephemeral_savepoint()).has_value());
    }
    {
        auto txn = write(db);
        REQUIRE(sync_wait(txn.open_table(kNotes)).has_value());
        REQUIRE(sync_wait(txn.ephemeral_savepoint()).error().code == Errc::invalid_savepoint);
        REQUIRE(txn.try_set_durability(ringdb::Durability::none).has_value());
        REQUIRE(txn.durability() == ringdb::Durability::none);
    }
    auto txn = write(db);
    REQUIRE(sync_wait(txn.commit()).has_value());
    REQUIRE(sync_wait(txn.ephemeral_savepoint()).error().code == Errc::transaction_finished);
    REQUIRE(txn.try_set_durability(ringdb::Durability::none).error().code ==
            Errc::transaction_finished);
}
