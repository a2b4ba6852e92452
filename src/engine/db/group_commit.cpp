#include "engine/db/group_commit.hpp"

#include <algorithm>
#include <utility>

#include <ringdb/task_scope.hpp>

#include "engine/page_store/page_store.hpp"
#include "engine/txn/transaction_context.hpp"
#include "engine/txn/write_txn.hpp"
#include "util/assert.hpp"

namespace ringdb::engine {

struct GroupCommitter::Member {
    GroupBatch batch;
    Status result = ok();
    // Guarded by the committer's mutex_:
    bool finished = false;  // result is final
    bool lead = false;      // woken to take over the leadership
    std::coroutine_handle<> waiter;
    coro::ThreadContext* context = nullptr;
};

/// Suspends a member until it is finished or asked to lead.
struct GroupCommitter::WaitForTurn {
    GroupCommitter& committer;
    Member& member;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        std::lock_guard lock(committer.mutex_);
        if (member.finished || member.lead) {
            return false;
        }
        member.waiter = h;
        member.context = &coro::ThreadContext::current();
        return true;
    }
    void await_resume() const noexcept {}
};

/// Suspends a submitter while the queue is full (and the committer is open).
struct GroupCommitter::WaitForRoom {
    GroupCommitter& committer;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        std::lock_guard lock(committer.mutex_);
        if (committer.shutdown_ || committer.queue_.size() < committer.capacity_) {
            return false;
        }
        committer.room_waiters_.push_back(Sleeper{h, &coro::ThreadContext::current()});
        return true;
    }
    void await_resume() const noexcept {}
};

/// Suspends shutdown() until no leader runs and the queue is empty.
struct GroupCommitter::WaitForIdle {
    GroupCommitter& committer;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        std::lock_guard lock(committer.mutex_);
        if (!committer.leader_ && committer.queue_.empty()) {
            return false;
        }
        committer.idle_waiters_.push_back(Sleeper{h, &coro::ThreadContext::current()});
        return true;
    }
    void await_resume() const noexcept {}
};


GroupCommitter::~GroupCommitter() {
    RINGDB_ASSERT(!leader_ && queue_.empty());
}

Task<Status> GroupCommitter::submit(GroupBatch batch) {
    // The database owns this committer, and a submitter holds the database, so this only
    // fails while the database is being destroyed.
    std::shared_ptr<TransactionContext> transactions = transactions_.lock();
    if (transactions == nullptr) {
        co_return Error{Errc::database_closed};
    }
    Member member;
    member.batch = std::move(batch);
    bool lead_now = false;
    for (;;) {
        bool queued = false;
        bool closed = false;
        std::coroutine_handle<> wake_leader;
        coro::ThreadContext* leader_context = nullptr;
        {
            std::lock_guard lock(mutex_);
            if (shutdown_) {
                closed = true;
            } else if (queue_.size() < capacity_) {
                queue_.push_back(&member);
                queued = true;
                wake_leader = std::exchange(parked_leader_, {});
                leader_context = parked_context_;
                // Checked under the same lock as relinquish_if_idle() clears it: a batch is
                // either seen by the running leader or elects a new one.
                if (!leader_) {
                    leader_ = true;
                    lead_now = true;
                }
            }
        }
        if (wake_leader) {
            leader_context->post(wake_leader);
        }
        if (closed) {
            co_return Error{Errc::database_closed};
        }
        if (queued) {
            break;
        }
        WaitForRoom room{*this};
        co_await room;
    }
    if (lead_now) {
        Group nothing;
        co_await lead(transactions, &member, std::move(nothing));
    }
    for (;;) {
        WaitForTurn turn{*this, member};
        co_await turn;
        Group handed;
        {
            std::lock_guard lock(mutex_);
            if (member.finished) {
                break;
            }
            RINGDB_ASSERT(member.lead);
            member.lead = false;
            handed = std::move(handoff_);
            handoff_.clear();
        }
        co_await lead(transactions, &member, std::move(handed));
    }
    co_return member.result;
}

Task<void> GroupCommitter::shutdown() {
    std::vector<Sleeper> room;
    {
        std::lock_guard lock(mutex_);
        shutdown_ = true;
        room.assign(room_waiters_.begin(), room_waiters_.end());
        room_waiters_.clear();
    }
    for (const Sleeper& s : room) {
        s.context->post(s.handle);
    }
    WaitForIdle idle{*this};
    co_await idle;
}

bool GroupCommitter::busy() const {
    std::lock_guard lock(mutex_);
    return leader_ || !queue_.empty();
}

GroupCommitStats GroupCommitter::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

GroupCommitter::Group GroupCommitter::take_group(std::size_t limit) {
    Group group;
    std::vector<Sleeper> room;
    {
        std::lock_guard lock(mutex_);
        const std::size_t n = std::min(limit, queue_.size());
        group.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        room.assign(room_waiters_.begin(), room_waiters_.end());
        room_waiters_.clear();
    }
    for (const Sleeper& s : room) {
        s.context->post(s.handle);
    }
    return group;
}

void GroupCommitter::finish(Member* member, Status result, const Member* self) {
    member->result = result;
    std::coroutine_handle<> waiter;
    coro::ThreadContext* context = nullptr;
    {
        std::lock_guard lock(mutex_);
        member->finished = true;
        if (member != self) {
            waiter = std::exchange(member->waiter, {});
            context = member->context;
        }
    }
    if (waiter) {
        context->post(waiter);
    }
}

void GroupCommitter::wake(Member* member, bool lead) {
    std::coroutine_handle<> waiter;
    coro::ThreadContext* context = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (lead) {
            member->lead = true;
        }
        waiter = std::exchange(member->waiter, {});
        context = member->context;
    }
    if (waiter) {
        context->post(waiter);
    }
}

bool GroupCommitter::relinquish_if_idle() {
    std::vector<Sleeper> idle;
    {
        std::lock_guard lock(mutex_);
        if (!queue_.empty()) {
            return false;
        }
        leader_ = false;
        idle.swap(idle_waiters_);
    }
    for (const Sleeper& s : idle) {
        s.context->post(s.handle);
    }
    return true;
}

/// Parks the leader until a batch arrives or its sync completes.
struct GroupCommitter::Park {
    GroupCommitter& committer;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        std::lock_guard lock(committer.mutex_);
        if (committer.sync_done_ || !committer.queue_.empty()) {
            return false;
        }
        committer.parked_leader_ = h;
        committer.parked_context_ = &coro::ThreadContext::current();
        return true;
    }
    void await_resume() const noexcept {}
};

/// The group being filled: its write transaction (begun at the first batch) and its members.
class GroupCommitter::OpenGroup {
public:
    explicit OpenGroup(GroupCommitter& committer) noexcept : committer_(committer) {}

    std::size_t size() const noexcept { return members_.size(); }

    /// Applies `arrivals` in order. A failing batch fails the whole group so far (and the
    /// arrivals behind it, which are not applied); later arrivals start a new group.
    Task<void> apply(const std::shared_ptr<TransactionContext>& transactions, Group arrivals) {
        for (std::size_t i = 0; i < arrivals.size(); ++i) {
            if (txn_ == nullptr) {
                auto begun = co_await WriteTxn::begin(transactions);
                if (!begun) {
                    for (std::size_t j = i; j < arrivals.size(); ++j) {
                        committer_.finish(arrivals[j], begun.error(), nullptr);
                    }
                    co_return;
                }
                txn_ = std::move(*begun);
            }
            Member* member = arrivals[i];
            Status applied = ok();
            try {
                Status outcome = co_await member->batch(txn_);
                applied = outcome;
            } catch (...) {
                // A batch must not throw; if it does, it fails like a batch returning an error.
                applied = Error{Errc::cancelled};
            }
            txn_->release_tables();
            if (applied && !txn_->active()) {
                applied = Error{Errc::transaction_finished};
            }
            if (applied) {
                members_.push_back(member);
                continue;
            }
            const Error cause = applied.error();
            txn_->abort();
            txn_.reset();
            if (cause.code == Errc::previous_io) {
                // Not the batch's fault: an I/O failure (often the previous group's sync,
                // still in flight when this group began) latched the database. Every member
                // gets what any later submission gets; a retry could not succeed.
                committer_.finish(member, cause, nullptr);
                for (Member* peer : members_) {
                    committer_.finish(peer, cause, nullptr);
                }
            } else {
                committer_.finish(member, Error{Errc::batch_failed, cause.sys_errno,
                                                static_cast<std::uint64_t>(cause.code)},
                                  nullptr);
                for (Member* peer : members_) {
                    committer_.finish(peer, Error{Errc::peer_failed}, nullptr);
                }
            }
            members_.clear();
            committer_.count_failed_group();
        }
    }

    /// Writes the group (pages and header, no sync); returns its members, empty when there
    /// was nothing to write or the write failed (the members then have their outcome).
    Task<Group> write() {
        Group written;
        if (txn_ == nullptr) {
            co_return written;
        }
        CommitOptions options;
        options.defer_sync = true;
        Status status = co_await txn_->commit(options);
        txn_.reset();
        if (!status) {
            for (Member* m : members_) {
                committer_.finish(m, status.error(), nullptr);
            }
            members_.clear();
            committer_.count_failed_group();
            co_return written;
        }
        written.swap(members_);
        co_return written;
    }

private:
    GroupCommitter& committer_;
    std::shared_ptr<WriteTxn> txn_;
    Group members_;
};

void GroupCommitter::count_failed_group() {
    std::lock_guard lock(mutex_);
    stats_.failed_groups += 1;
}

Task<void> GroupCommitter::run_sync(PageStore& store, Status* out) {
    Status synced = co_await store.sync_deferred();
    *out = synced;
    std::coroutine_handle<> leader;
    coro::ThreadContext* context = nullptr;
    {
        std::lock_guard lock(mutex_);
        sync_done_ = true;
        leader = std::exchange(parked_leader_, {});
        context = parked_context_;
    }
    if (leader) {
        context->post(leader);
    }
}

Task<void> GroupCommitter::lead(std::shared_ptr<TransactionContext> transactions, Member* self,
                                Group in_flight) {
    PageStore& store = transactions->store();
    for (;;) {
        // 1. The group written last (by this leader or the one before) is synced while the
        //    next group fills up; the store orders the next header after this sync.
        coro::TaskScope scope;
        Status synced = ok();
        const bool syncing = !in_flight.empty();
        {
            std::lock_guard lock(mutex_);
            sync_done_ = !syncing;
        }
        if (syncing) {
            scope.spawn(run_sync(store, &synced));
        }
        OpenGroup next(*this);
        for (;;) {
            Group arrivals = take_group(capacity_ - std::min(capacity_, next.size()));
            if (!arrivals.empty()) {
                co_await next.apply(transactions, std::move(arrivals));
                continue;
            }
            bool done = false;
            {
                std::lock_guard lock(mutex_);
                done = sync_done_;
            }
            if (done || next.size() >= capacity_) {
                break;
            }
            Park park{*this};
            co_await park;
        }
        co_await scope.join();
        // 2. Acknowledge the synced group; its members on this thread resubmit during the
        //    yield and join the group about to close.
        if (syncing) {
            {
                std::lock_guard lock(mutex_);
                if (synced) {
                    stats_.groups += 1;
                    stats_.batches += in_flight.size();
                } else {
                    stats_.failed_groups += 1;
                }
            }
            for (Member* m : in_flight) {
                finish(m, synced, self);
            }
            co_await coro::yield_now();
            Group late = take_group(capacity_ - std::min(capacity_, next.size()));
            co_await next.apply(transactions, std::move(late));
        }
        // 3. Close the group: pages and header written, sync due.
        in_flight = co_await next.write();
        bool self_done = false;
        {
            std::lock_guard lock(mutex_);
            self_done = self->finished;
        }
        if (!self_done) {
            continue;  // self is in in_flight: its sync is next
        }
        if (!in_flight.empty()) {
            // Hand the pipeline to a member of the written group; it issues that group's sync
            // on its own thread and leads on. This leader has no I/O left in flight.
            {
                std::lock_guard lock(mutex_);
                handoff_ = in_flight;
            }
            wake(in_flight.front(), true);
            co_return;
        }
        if (relinquish_if_idle()) {
            co_return;
        }
    }
}

}  // namespace ringdb::engine
