// Tree verification and page enumeration (see verify.hpp).

#include "engine/btree/verify.hpp"

#include <array>
#include <optional>
#include <span>
#include <unordered_set>

#include "engine/btree/page_layout.hpp"
#include "util/checksum.hpp"
#include "util/try.hpp"

namespace ringdb::engine {

namespace {

using Bytes = std::span<const std::byte>;

/// What a child must satisfy, inherited from the separators of its ancestors.
struct Bounds {
    std::optional<Bytes> lower;  // keys are > lower
    std::optional<Bytes> upper;  // keys are <= upper
};

/// A branch being walked by verify_tree.
struct VerifyFrame {
    PageRef ref;
    BranchView view;
    Bounds bounds;
    std::uint32_t next = 0;
};

class Checker {
public:
    Checker(KeyCompare compare, TreeReport& report) : compare_(compare), report_(report) {}

    void problem(PageNumber page, std::string what) {
        if (report_.problems.size() >= TreeReport::kMaxProblems) {
            report_.problems_truncated = true;
            return;
        }
        report_.problems.push_back(VerifyProblem{page, std::move(what)});
    }

    /// Checks that `count` keys from key(i) strictly increase and lie within `bounds`.
    template <typename KeyAt>
    void check_keys(PageNumber page, std::uint32_t count, KeyAt key, const Bounds& bounds) {
        if (compare_ == nullptr) {
            return;  // key order unknown (a user-defined key type): checksums only
        }
        for (std::uint32_t i = 1; i < count; ++i) {
            if (compare_(key(i - 1), key(i)) >= 0) {
                problem(page, "keys not strictly increasing at index " + std::to_string(i));
                return;
            }
        }
        if (bounds.lower && compare_(key(0), *bounds.lower) <= 0) {
            problem(page, "first key not above the separator bound");
        }
        if (bounds.upper && compare_(key(count - 1), *bounds.upper) > 0) {
            problem(page, "last key above the separator bound");
        }
    }

    /// Checks depth consistency: every leaf at the same depth, no branch at or below it.
    void check_depth(PageNumber page, std::uint32_t depth, bool leaf) {
        if (leaf) {
            if (!leaf_depth_) {
                leaf_depth_ = depth;
                report_.height = depth + 1;
            } else if (*leaf_depth_ != depth) {
                problem(page, "leaf at depth " + std::to_string(depth) + ", expected " +
                                      std::to_string(*leaf_depth_));
            }
        } else if (leaf_depth_ && depth >= *leaf_depth_) {
            problem(page, "branch at or below the leaf depth");
        }
    }

    /// Pages on the tree's right edge (no upper bound) are not counted: keys appended in
    /// ascending order leave the last leaf with few entries by design (LeafSplit::packed).
    void note_fill(PageNumber page, std::uint32_t depth, std::uint64_t used,
                   const Bounds& bounds) {
        if (depth > 0 && bounds.upper && page.order() == 0 && used < report_.min_fill_bytes) {
            report_.min_fill_bytes = used;
        }
    }

private:
    KeyCompare compare_;
    TreeReport& report_;
    std::optional<std::uint32_t> leaf_depth_;
};

/// Checks one page already read. Returns the parsed branch to descend into, if any.
std::optional<BranchView> check_page(Checker& checker, TreeReport& report, PageNumber page,
                                     const PageRef& ref, const util::Checksum128& expected,
                                     std::uint32_t depth, const Bounds& bounds) {
    report.pages_checked += 1;
    std::span<const std::byte> bytes = ref->bytes();
    if (page_type(bytes) == kLeafType) {
        Result<LeafView> leaf = LeafView::parse(bytes, page);
        if (!leaf) {
            checker.problem(page, "malformed leaf");
            return std::nullopt;
        }
        report.leaf_pages += 1;
        report.entries += leaf->count();
        if (util::xxh3_128(bytes.first(leaf->used_length())) != expected) {
            checker.problem(page, "checksum mismatch");
        }
        checker.check_depth(page, depth, true);
        checker.check_keys(page, leaf->count(), [&](std::uint32_t i) { return leaf->key(i); },
                           bounds);
        checker.note_fill(page, depth, leaf->used_length(), bounds);
        return std::nullopt;
    }
    Result<BranchView> branch = BranchView::parse(bytes, page);
    if (!branch) {
        checker.problem(page, "malformed page (neither a valid leaf nor a valid branch)");
        return std::nullopt;
    }
    report.branch_pages += 1;
    if (util::xxh3_128(bytes.first(branch->used_length())) != expected) {
        checker.problem(page, "checksum mismatch");
    }
    checker.check_depth(page, depth, false);
    checker.check_keys(page, branch->key_count(), [&](std::uint32_t i) { return branch->key(i); },
                       bounds);
    checker.note_fill(page, depth, branch->used_length(), bounds);
    if (depth + 1 >= kMaxDepth) {
        checker.problem(page, "tree deeper than the maximum depth");
        return std::nullopt;
    }
    return *branch;
}

Bounds child_bounds(const VerifyFrame& frame, std::uint32_t i) {
    Bounds bounds = frame.bounds;
    if (i > 0) {
        bounds.lower = frame.view.key(i - 1);
    }
    if (i < frame.view.key_count()) {
        bounds.upper = frame.view.key(i);
    }
    return bounds;
}

}  // namespace

Task<Result<TreeReport>> verify_tree(TreePages& pages, KeyCompare compare,
                                       const BtreeRoot& root) {
    TreeReport report;
    if (root.page.is_null()) {
        if (root.length != 0) {
            report.problems.push_back(VerifyProblem{root.page, "empty tree with nonzero length"});
        }
        co_return report;
    }
    Checker checker(compare, report);
    std::unordered_set<PageNumber> seen;
    std::array<VerifyFrame, kMaxDepth> stack;
    std::uint32_t depth = 0;
    // The page to check next, with what its parent says about it.
    std::optional<PageNumber> pending = root.page;
    util::Checksum128 expected = root.checksum;
    Bounds bounds;
    while (true) {
        if (pending) {
            PageNumber page = *pending;
            pending.reset();
            if (!seen.insert(page).second) {
                checker.problem(page, "page referenced twice");
            } else {
                ReadPage read{pages, page};
                Result<PageRef> loaded = co_await read;
                if (!loaded && loaded.error().code != Errc::corrupted) {
                    co_return loaded.error();
                }
                if (!loaded) {
                    checker.problem(page, "unreadable page number");
                } else {
                    std::optional<BranchView> branch =
                            check_page(checker, report, page, *loaded, expected, depth, bounds);
                    if (branch) {
                        stack[depth] = VerifyFrame{std::move(*loaded), *branch, bounds, 0};
                        ++depth;
                    }
                }
            }
        }
        if (depth == 0) {
            break;
        }
        VerifyFrame& top = stack[depth - 1];
        if (top.next < top.view.child_count()) {
            std::uint32_t i = top.next++;
            pending = top.view.child(i);
            expected = top.view.child_checksum(i);
            bounds = child_bounds(top, i);
        } else {
            top = VerifyFrame{};
            --depth;
        }
    }
    if (report.entries != root.length) {
        checker.problem(root.page, "entry count " + std::to_string(report.entries) +
                                           " differs from the root's length " +
                                           std::to_string(root.length));
    }
    co_return report;
}

namespace {

struct VisitFrame {
    PageRef ref;
    BranchView view;
    std::uint32_t next = 0;
};

}  // namespace

Task<Status> visit_pages(TreePages& pages, BtreeRoot root,
                         const std::function<void(PageNumber)>& visit) {
    if (root.page.is_null()) {
        co_return ok();
    }
    std::unordered_set<PageNumber> seen;
    std::array<VisitFrame, kMaxDepth> stack;
    std::uint32_t depth = 0;
    std::optional<std::uint32_t> leaf_depth;
    std::optional<PageNumber> pending = root.page;
    util::Checksum128 expected = root.checksum;
    while (true) {
        if (pending) {
            PageNumber page = *pending;
            pending.reset();
            if (!seen.insert(page).second) {
                co_return Error{Errc::corrupted, 0, page.raw()};
            }
            if (leaf_depth && depth == *leaf_depth) {
                visit(page);
            } else {
                ReadPage read{pages, page};
                Result<PageRef> loaded = co_await read;
                if (!loaded) {
                    co_return loaded.error();
                }
                PageRef ref = std::move(*loaded);
                RINGDB_CO_TRY(engine::check_page(*ref, expected, page));
                if (page_type(ref->bytes()) == kLeafType && !leaf_depth) {
                    leaf_depth = depth;
                    visit(page);
                } else {
                    Result<BranchView> branch = BranchView::parse(ref->bytes(), page);
                    if (!branch || (leaf_depth && depth >= *leaf_depth) ||
                        depth + 1 >= kMaxDepth) {
                        co_return Error{Errc::corrupted, 0, page.raw()};
                    }
                    visit(page);
                    stack[depth] = VisitFrame{std::move(ref), *branch, 0};
                    ++depth;
                }
            }
        }
        if (depth == 0) {
            co_return ok();
        }
        VisitFrame& top = stack[depth - 1];
        if (top.next < top.view.child_count()) {
            expected = top.view.child_checksum(top.next);
            pending = top.view.child(top.next++);
        } else {
            top = VisitFrame{};
            --depth;
        }
    }
}

}  // namespace ringdb::engine
