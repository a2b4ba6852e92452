#pragma once
// The calling thread's zstd contexts, shared by the value envelope and the dictionaries
// (compression/ only). A user sets the parameters it needs on each use: the other user may
// have changed them.

#include <memory>

#include <zstd.h>

namespace ringdb::engine {

struct ZstdContexts {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> compress{ZSTD_createCCtx(),
                                                                  &ZSTD_freeCCtx};
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> decompress{ZSTD_createDCtx(),
                                                                    &ZSTD_freeDCtx};
};

ZstdContexts& zstd_contexts();

}  // namespace ringdb::engine
