#pragma once
// GroupCommitter: many submitters, one write transaction and one sync per group
// (docs/group_commit.md, "Protocol"; docs/quirks.md Q-15).
//
// A submitter enqueues its batch and waits. The first submitter that finds no leader becomes
// the leader. The leader keeps one group open: it applies queued batches to the group's write
// transaction (taken through the writer mutex, so direct begin_write users and groups alternate
// fairly) as they arrive, in submission order. The group is closed when the previous group's
// sync has completed: its pages and header are written without waiting for the disk, and its
// sync is issued at once while the next group fills up on top of it (pipelining). Readers see a
// group only when its sync succeeded. Keeping the group open until the previous sync is done is
// what keeps groups full: submitters acknowledged by that sync resubmit into it.

// Leadership passes from group to group: once the leader's own batch is durable it hands the
// pipeline (the group whose sync is due) to the first member of that group and returns, so
// no submitter leads forever and every I/O a leader starts is finished on the leader's own
// thread before it hands over. All state transitions happen under one mutex; a wake-up is a post
// to the waiter's own thread, never inline, so none is lost and every coroutine resumes
// on its own thread.
//
// Outcomes: every member of a durable group gets ok. A batch that fails gets batch_failed (the
// cause in Error::detail as its Errc, sys_errno kept); the whole group is rolled back and every
// other member gets peer_failed (they may retry). A failed commit or sync reaches every member
// of the group and of the group built on it, with the store's error; a batch failing with
// previous_io (the database latched an I/O failure, often the previous group's sync) gives
// previous_io to every member of its group instead of batch_failed / peer_failed. After
// shutdown() new submissions get database_closed.
//
// The queue is bounded: a submitter that finds it full waits (asynchronously) for room.

#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <ringdb/result.hpp>
#include <ringdb/runtime.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/task.hpp>

namespace ringdb::engine {

class PageStore;
class TransactionContext;
class WriteTxn;

/// One batch: mutations on the group's transaction. It must not commit or abort it.
using GroupBatch = std::function<Task<Status>(const std::shared_ptr<WriteTxn>&)>;

class GroupCommitter {
public:
    static constexpr std::size_t kDefaultCapacity = 4096;

    /// A committer for the database whose transactions share `transactions`.
    explicit GroupCommitter(std::weak_ptr<TransactionContext> transactions,
                            std::size_t capacity = kDefaultCapacity) noexcept
        : transactions_(std::move(transactions)), capacity_(capacity == 0 ? 1 : capacity) {}
    GroupCommitter(const GroupCommitter&) = delete;
    GroupCommitter& operator=(const GroupCommitter&) = delete;
    ~GroupCommitter();

    /// Applies `batch` in some group and completes when that group is durable (or failed).
    /// Errors: batch_failed, peer_failed, database_closed, previous_io, io, no_space,
    /// corrupted.
    Task<Status> submit(GroupBatch batch);

    /// Refuses new batches (database_closed) and completes once every accepted batch has its
    /// outcome and no leader is running.
    Task<void> shutdown();

    GroupCommitStats stats() const;
    /// Whether a leader runs or batches are queued.
    bool busy() const;

private:
    struct Member;
    struct WaitForTurn;
    struct WaitForRoom;
    struct WaitForIdle;
    using Group = std::vector<Member*>;

    class OpenGroup;
    struct Park;

    Task<void> lead(std::shared_ptr<TransactionContext> transactions, Member* self,
                    Group in_flight);
    Task<void> run_sync(PageStore& store, Status* out);
    /// Takes queued batches, at most `room` of them.
    Group take_group(std::size_t room);
    /// Sets the outcome of `member` and wakes it unless it is `self` (running already).
    void finish(Member* member, Status result, const Member* self);
    void wake(Member* member, bool lead);
    void count_failed_group();
    bool relinquish_if_idle();

    const std::weak_ptr<TransactionContext> transactions_;
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<Member*> queue_;                // guarded by mutex_
    bool leader_ = false;                      // guarded by mutex_
    bool shutdown_ = false;                    // guarded by mutex_
    Group handoff_;                            // guarded by mutex_: the group a new leader syncs
    bool sync_done_ = true;                    // guarded by mutex_: the leader's sync finished
    std::coroutine_handle<> parked_leader_;    // guarded by mutex_
    coro::ThreadContext* parked_context_ = nullptr;  // guarded by mutex_
    struct Sleeper {
        std::coroutine_handle<> handle;
        coro::ThreadContext* context;
    };
    std::deque<Sleeper> room_waiters_;         // guarded by mutex_
    std::vector<Sleeper> idle_waiters_;        // guarded by mutex_
    GroupCommitStats stats_;                   // guarded by mutex_
};

}  // namespace ringdb::engine
