// The searches of <ringdb/nearest.hpp>: the typed templates hand a RawNearestQuery to these,
// which run the engine's scan (engine/vector/nearest_scan.hpp).

#include <ringdb/nearest.hpp>

#include "api/raw_access.hpp"
#include "engine/vector/nearest_scan.hpp"

namespace ringdb::detail {

namespace {

engine::NearestQuery engine_query(const RawNearestQuery& raw) {
    engine::NearestQuery query;
    query.layout = raw.bits ? engine::VectorLayout::bits : engine::VectorLayout::f32;
    query.floats = raw.floats;
    query.bits = raw.query_bits;
    query.fixed_width = raw.fixed_width;
    query.k = raw.k;
    query.metric = raw.metric;
    query.filter = raw.filter;
    return query;
}

}  // namespace

Task<Result<RawNeighbors>> raw_nearest(RawRange& range, const RawNearestQuery& query) {
    const engine::NearestQuery q = engine_query(query);
    Result<RawNeighbors> found = co_await engine::nearest_in_range(RawAccess::range(range), q);
    co_return found;
}

Task<Result<RawNeighbors>> raw_nearest_parallel(const RawTable& table,
                                                const RawNearestQuery& query,
                                                std::span<coro::ThreadContext* const> helpers) {
    const engine::NearestQuery q = engine_query(query);
    std::shared_ptr<engine::TableHandle> handle = RawAccess::table(table);
    Result<RawNeighbors> found = co_await engine::nearest_in_table(handle, q, helpers);
    co_return found;
}

Task<Result<RawNeighbors>> raw_rerank(const RawTable& vectors, RawNeighbors candidates,
                                      const RawNearestQuery& query) {
    const engine::NearestQuery q = engine_query(query);
    Result<RawNeighbors> ranked =
            co_await engine::rerank(*RawAccess::table(vectors), std::move(candidates), q);
    co_return ranked;
}

}  // namespace ringdb::detail
