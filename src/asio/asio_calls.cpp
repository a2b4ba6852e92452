// Out-of-line helpers of the completion-token forms in include/ringdb/asio.hpp.

#include <ringdb/asio.hpp>

namespace ringdb::detail {

Task<Status> asio_commit_owned(WriteTransaction txn) {
    Status committed = co_await txn.commit();
    co_return committed;
}

}  // namespace ringdb::detail
