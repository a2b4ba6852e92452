// Exact nearest-k search from the stored bytes (see nearest_scan.hpp).

#include "engine/vector/nearest_scan.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include <ringdb/when_all.hpp>

#include "engine/btree/split_keys.hpp"
#include "engine/table/table_scan.hpp"
#include "engine/vector/kernels.hpp"

namespace ringdb::engine {

namespace {

// The distance of stored vectors to a query, from their bytes.
class VectorDistance {
public:
    explicit VectorDistance(const NearestQuery& query) : query_(query), kernels_(kernels()) {}

    Status of(ByteView value, float& out) {
        if (query_.fixed_width && value.size() != *query_.fixed_width) {
            return Error{Errc::corrupted};
        }
        if (query_.layout == VectorLayout::bits) {
            if (value.size() != query_.bits.size()) {
                return Error{Errc::invalid_argument, 0, value.size()};
            }
            const auto* bits = reinterpret_cast<const std::uint8_t*>(value.data());
            out = static_cast<float>(kernels_.hamming(query_.bits.data(), bits, value.size()));
            return ok();
        }
        if (value.size() % 4 != 0) {
            return Error{Errc::corrupted};
        }
        const std::size_t n = value.size() / 4;
        if (n != query_.floats.size()) {
            return Error{Errc::invalid_argument, 0, n};
        }
        out = f32_distance(floats_of(value), n);
        return ok();
    }

private:
    // The value's elements: in place when aligned (page buffers are byte arrays, which give
    // their storage to the floats read from them), else copied.
    const float* floats_of(ByteView value) {
        if (reinterpret_cast<std::uintptr_t>(value.data()) % alignof(float) == 0) {
            return reinterpret_cast<const float*>(value.data());
        }
        scratch_.resize(value.size() / 4);
        std::memcpy(scratch_.data(), value.data(), value.size());
        return scratch_.data();
    }

    // The formulas of ringdb::distance, on the same kernels.
    float f32_distance(const float* v, std::size_t n) const {
        const float* q = query_.floats.data();
        switch (query_.metric) {
            case DistanceMetric::euclidean_sq:
                return kernels_.l2_sq(q, v, n);
            case DistanceMetric::dot_product:
                return -kernels_.dot(q, v, n);
            case DistanceMetric::manhattan:
                return kernels_.l1(q, v, n);
            case DistanceMetric::cosine: {
                float sums[3];
                kernels_.dot_norms(q, v, n, sums);
                const float denominator = std::sqrt(sums[1]) * std::sqrt(sums[2]);
                return 1.0F - (denominator == 0.0F ? 0.0F : sums[0] / denominator);
            }
        }
        return std::numeric_limits<float>::quiet_NaN();
    }

    const NearestQuery& query_;
    const DistanceKernels& kernels_;
    std::vector<float> scratch_;
};

// Offers every entry of the runs it visits to a heap.
class NearestVisitor final : public LeafRunVisitor {
public:
    NearestVisitor(const NearestQuery& query, KeyCompare key_order)
        : query_(query),
          kernels_(kernels()),
          distance_(query),
          heap_(query.k, key_order, /*ascending_keys=*/true) {}

    Status visit(const LeafView& leaf, std::uint32_t first, std::uint32_t last) override {
        if (query_.layout == VectorLayout::bits && query_.filter == nullptr) {
            return visit_codes(leaf, first, last);
        }
        for (std::uint32_t i = first; i < last; ++i) {
            const ByteView value = leaf.value(i);
            float d = 0.0F;
            if (Status s = distance_.of(value, d); !s) {
                return s;
            }
            if (query_.filter != nullptr) {
                Result<bool> take = (*query_.filter)(leaf.key(i), value);
                if (!take) {
                    return take.error();
                }
                if (!*take) {
                    continue;
                }
            }
            heap_.offer(d, leaf.key(i));
        }
        return ok();
    }

    std::vector<Scored> take_sorted() { return heap_.take_sorted(); }

private:
    // Binary codes without a filter: a leaf's values lie one after another (each begins where
    // the previous ends), so once every size is checked the whole run goes to one kernel call.
    Status visit_codes(const LeafView& leaf, std::uint32_t first, std::uint32_t last) {
        const std::size_t width = query_.bits.size();
        if (!leaf.values_have_width(first, last, static_cast<std::uint32_t>(width))) {
            return Error{Errc::corrupted};  // the type's width is the query's (checked)
        }
        const std::size_t count = last - first;
        distances_.resize(count);
        const auto* base = reinterpret_cast<const std::uint8_t*>(leaf.value(first).data());
        kernels_.hamming_many(query_.bits.data(), base, width, count, width, distances_.data());
        // Keys ascend: a distance that does not beat the bound cannot be kept.
        float bound = heap_.bound();
        for (std::size_t j = 0; j < count; ++j) {
            const auto d = static_cast<float>(distances_[j]);
            if (d < bound) {
                heap_.offer(d, leaf.key(first + static_cast<std::uint32_t>(j)));
                bound = heap_.bound();
            }
        }
        return ok();
    }

    const NearestQuery& query_;
    const DistanceKernels& kernels_;
    VectorDistance distance_;
    NearestHeap heap_;
    std::vector<std::uint32_t> distances_;
};

Status check_query(const NearestQuery& query) {
    if (query.layout == VectorLayout::f32 &&
        std::any_of(query.floats.begin(), query.floats.end(),
                    [](float x) { return std::isnan(x); })) {
        return Error{Errc::invalid_argument, 0, 0};
    }
    return ok();
}

// One part of a split search, on `on`'s thread (the caller's when null).
Task<Result<std::vector<Scored>>> search_part(coro::ThreadContext* on,
                                              std::shared_ptr<TableHandle> table,
                                              RawBound lower, RawBound upper,
                                              const NearestQuery* query) {
    if (on != nullptr) {
        co_await coro::schedule_on(*on);
    }
    TableRange range(std::move(table), std::move(lower), std::move(upper));
    Result<std::vector<Scored>> found = co_await nearest_in_range(range, *query);
    co_return found;
}

}  // namespace

Task<Result<std::vector<Scored>>> nearest_in_range(TableRange& range, const NearestQuery& query) {
    std::vector<Scored> none;
    if (Status s = check_query(query); !s) {
        co_return s.error();
    }
    if (query.k == 0) {
        co_return none;
    }
    if (range.table().table().envelope() != nullptr) {
        // Scans read stored values in place; the vector types are never compressed, so only a
        // user type that allowed compression can get here.
        co_return Error{Errc::unsupported};
    }
    NearestVisitor visitor(query, range.table().tree().compare());
    Status scanned = co_await scan_runs(range, visitor);
    if (!scanned) {
        co_return scanned.error();
    }
    co_return visitor.take_sorted();
}

Task<Result<std::vector<Scored>>> nearest_in_table(std::shared_ptr<TableHandle> table,
                                                   const NearestQuery& query,
                                                   std::span<coro::ThreadContext* const> helpers) {
    if (Status s = check_query(query); !s) {
        co_return s.error();
    }
    if (Status s = table->usable(); !s) {
        co_return s.error();
    }
    if (table->writable()) {
        co_return Error{Errc::invalid_argument};  // a write transaction's tree is one thread's
    }
    if (query.k == 0) {
        co_return std::vector<Scored>{};
    }
    Result<std::vector<Bytes>> cuts = co_await split_keys(table->tree(), helpers.size() + 1);
    if (!cuts) {
        co_return cuts.error();
    }
    // when_all starts its tasks in order, each until it first suspends: the helpers' parts
    // go first (they suspend at once to move to their thread), the caller's part, which may
    // run to its end without suspending when the pages are cached, goes last.
    std::vector<Task<Result<std::vector<Scored>>>> parts;
    for (std::size_t n = 1; n <= cuts->size() + 1; ++n) {
        const std::size_t i = n % (cuts->size() + 1);
        RawBound lower;
        RawBound upper;
        if (i > 0) {
            lower = RawBound{RawBoundKind::included, (*cuts)[i - 1]};
        }
        if (i < cuts->size()) {
            upper = RawBound{RawBoundKind::excluded, (*cuts)[i]};
        }
        coro::ThreadContext* on = i == 0 ? nullptr : helpers[i - 1];
        parts.push_back(search_part(on, table, std::move(lower), std::move(upper), &query));
    }
    std::vector<Result<std::vector<Scored>>> found = co_await coro::when_all(std::move(parts));
    NearestHeap best(query.k, table->tree().compare());
    for (auto& part : found) {
        if (!part) {
            co_return part.error();
        }
        for (const Scored& candidate : *part) {
            best.offer(candidate.first, candidate.second);
        }
    }
    co_return best.take_sorted();
}

Task<Result<std::vector<Scored>>> rerank(TableHandle& vectors, std::vector<Scored> candidates,
                                         const NearestQuery& query) {
    if (Status s = check_query(query); !s) {
        co_return s.error();
    }
    if (Status s = vectors.usable(); !s) {
        co_return s.error();
    }
    VectorDistance distance(query);
    NearestHeap best(query.k, vectors.tree().compare());
    for (const Scored& candidate : candidates) {
        Result<std::optional<RawGuard>> stored = co_await vectors.get(candidate.second);
        if (!stored) {
            co_return stored.error();
        }
        if (!*stored) {
            continue;  // no vector under this key: it cannot compete
        }
        float d = 0.0F;
        if (Status s = distance.of((*stored)->bytes, d); !s) {
            co_return s.error();
        }
        best.offer(d, candidate.second);
    }
    co_return best.take_sorted();
}

}  // namespace ringdb::engine
