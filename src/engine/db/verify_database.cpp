#include "engine/db/verify_database.hpp"

#include <chrono>
#include <cstring>

#include "engine/btree/cursor.hpp"
#include "engine/btree/verify.hpp"
#include "engine/table/key_order.hpp"
#include "engine/table/multimap.hpp"
#include "engine/table/table_tree.hpp"
#include "engine/txn/txn_pages.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

struct Verifier {
    TreePages& pages;
    VerifyReport& report;
    bool structure = false;

    // Verifies one tree; problems become report entries. I/O errors are returned.
    Task<Status> tree(const std::string& table, KeyCompare compare, const BtreeRoot& root) {
        auto checked = co_await verify_tree(pages, structure ? compare : nullptr, root);
        if (!checked) {
            if (checked.error().code != Errc::corrupted) {
                co_return checked.error();
            }
            report.details.push_back({checked.error().detail, table, "unreadable page"});
            ++report.pages_corrupt;
            co_return ok();
        }
        report.pages_checked += checked->pages_checked;
        for (const auto& problem : checked->problems) {
            report.details.push_back({problem.page.raw(), table, problem.what});
            ++report.pages_corrupt;
        }
        co_return ok();
    }

    void problem(std::uint64_t page, const std::string& table, std::string what) {
        report.details.push_back({page, table, std::move(what)});
        ++report.pages_corrupt;
    }

    // The collections of one multimap (after its outer tree verified): inline images parse,
    // hold empty values in strictly increasing order; subtrees verify like trees; the pair
    // count matches the definition.
    struct Collections {
        Verifier* verifier;
        const std::string* table;
        KeyCompare value_order;
        PageNumber outer_root;
        std::uint64_t pairs = 0;

        Task<Status> operator()(ByteView, ByteView value) {
            auto c = decode_collection(value, outer_root);
            if (!c) {
                verifier->problem(outer_root.raw(), *table, "damaged multimap collection");
                co_return ok();
            }
            pairs += c->count();
            if (!c->is_inline) {
                Status checked = co_await verifier->tree(*table, value_order, c->subtree);
                co_return checked;
            }
            if (!verifier->structure) {
                co_return ok();
            }
            for (std::uint32_t i = 0; i < c->leaf.count(); ++i) {
                bool ordered = i == 0 || value_order == nullptr ||
                               value_order(c->leaf.key(i - 1), c->leaf.key(i)) < 0;
                if (!c->leaf.value(i).empty() || !ordered) {
                    verifier->problem(outer_root.raw(), *table, "malformed inline collection");
                    break;
                }
            }
            co_return ok();
        }
    };

    Task<Status> multimap(const std::string& name, const StoredTable& table) {
        Collections collections{this, &name, key_order_for(table.schema.value_type),
                                table.root.page};
        CollectionVisitor visit = [&collections](ByteView key, ByteView value) {
            return collections(key, value);
        };
        Status walked = co_await for_each_collection(pages, table.root, visit);
        if (!walked) {
            if (walked.error().code != Errc::corrupted) {
                co_return walked.error();
            }
            problem(walked.error().detail, name, "unreadable multimap");
            co_return ok();
        }
        if (structure && collections.pairs != table.pairs) {
            problem(table.root.page.raw(), name, "multimap pair count differs from its definition");
        }
        co_return ok();
    }

    // Verifies a table tree and every table it names.
    Task<Status> table_tree(const BtreeRoot& root, bool system) {
        RINGDB_CO_TRY(co_await tree("", &compare_bytes, root));
        TableTree tables(pages, root);
        Cursor cursor(tables.tree(), Bound::unbounded(), Bound::unbounded());
        for (std::uint64_t guard = 0; guard <= tables.tree().length(); ++guard) {
            auto entry = co_await cursor.next();
            if (!entry) {
                if (entry.error().code != Errc::corrupted) {
                    co_return entry.error();
                }
                report.details.push_back({entry.error().detail, "", "unreadable table tree"});
                ++report.pages_corrupt;
                co_return ok();
            }
            if (!*entry) {
                break;
            }
            std::string name((*entry)->key.size(), '\0');
            std::memcpy(name.data(), (*entry)->key.data(), (*entry)->key.size());
            auto table = StoredTable::decode(name, (*entry)->value);
            if (!table) {
                report.details.push_back({root.page.raw(), name, "damaged table definition"});
                ++report.pages_corrupt;
                continue;
            }
            KeyCompare order = system ? &compare_bytes : key_order_for(table->schema.key_type);
            const std::size_t problems_before = report.details.size();
            RINGDB_CO_TRY(co_await tree(name, order, table->root));
            if (table->schema.kind == TableKind::multimap &&
                report.details.size() == problems_before) {
                RINGDB_CO_TRY(co_await multimap(name, *table));
            }
        }
        co_return ok();
    }
};

}  // namespace

Task<Result<VerifyReport>> verify_database(std::shared_ptr<DatabaseCore> core,
                                             VerifyLevel level) {
    auto start = std::chrono::steady_clock::now();
    VerifyReport report;
    const DatabaseHeader header = core->store().disk_header();
    report.header_valid = header.slot_valid[header.primary_index()];
    if (level != VerifyLevel::header) {
        CommitSlot slot = core->transactions()->acquire_snapshot();
        SnapshotPages pages(core->store());
        Verifier verifier{pages, report, level == VerifyLevel::full};
        Status user = co_await verifier.table_tree(slot.user_root, false);
        Status system = ok();
        if (user) {
            system = co_await verifier.table_tree(slot.system_root, true);
        }
        core->transactions()->release_snapshot(slot.transaction_id);
        RINGDB_CO_TRY(user);
        RINGDB_CO_TRY(system);
        if (level == VerifyLevel::full) {
            report.structural_valid = report.pages_corrupt == 0;
        }
    }
    report.valid = report.header_valid && report.pages_corrupt == 0 &&
                   report.structural_valid.value_or(true);
    report.duration = std::chrono::steady_clock::now() - start;
    co_return report;
}

}  // namespace ringdb::engine
