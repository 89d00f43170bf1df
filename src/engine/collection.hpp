// SPDX-License-Identifier: MIT
//
// Collection: the one engine under every way of running children.
//
// A collection drives a set of members (children with or without streams):
// it waits for all of them at once (a Watcher: poll() while small and
// private, epoll once large or watched by a main loop), moves their bytes as
// they come, watches each child's exit (by pid while nothing else is waited
// for; else through its exit ring, or a pidfd, or, without either, by
// looking now and then with a back-off), runs every member's stop sequence on
// time from one timer queue, and takes cancellations from other threads
// through one Waker. A step hands back the members that are done: their
// streams ended and their child exited (not yet reaped). The drivers on top
// (a blocking get: a collection of one; a future iterator; a pid iterator)
// only finish and deliver them. A collection is used by one thread at a
// time; only its Waker is shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "../os/exit_ring.hpp"
#include "../os/watcher.hpp"
#include "member.hpp"
#include "procreact_channel.h"
#include "procreact_pid.h"
#include "waker.hpp"

namespace procreact
{

/// Why a step failed: the status every running member completes with.
struct RunFailure {
    ProcReact_Status status;
};

class Collection
{
  public:
    /// Throws std::bad_alloc when its Waker cannot be made. With
    /// @p lazy_waker (a blocking get's collection of one), in a process with
    /// one thread, the Waker's eventfd is made only once a second thread
    /// exists (engine/waker.hpp).
    explicit Collection(bool lazy_waker = false);
    /// Every member still in it is destroyed: its child killed and reaped.
    ~Collection();
    Collection(const Collection &) = delete;
    Collection &operator=(const Collection &) = delete;

    std::size_t size() const noexcept { return members_.size(); }
    const WakerRef &waker() const noexcept { return waker_; }
    StopDefaults &defaults() noexcept { return defaults_; }
    bool cancelled() const noexcept { return waker_->all_requested(); }
    /// How many threads may fill its slots (0: the driver's default;
    /// drivers/spawn_threads.hpp).
    unsigned int spawn_threads() const noexcept { return spawn_threads_; }
    void set_spawn_threads(unsigned int threads) noexcept { spawn_threads_ = threads; }
    /// Whether the exits of the members it will be given are watched through
    /// pidfds (it waits on descriptors), so that a program spawned for it
    /// had better get its pidfd from the clone; false while it can wait for
    /// exits by pid (engine/collection_exits.cpp).
    /// Asking may set the exit ring up (engine/collection_ring.cpp).
    bool wants_pidfds() noexcept { return !pidless_possible() && !ring_ready(); }
    /// Whether exits waited for on descriptors go through the exit ring (no
    /// pidfd per member; see os/exit_ring.hpp), which this sets up if need be.
    bool exits_by_ring() noexcept { return ring_ready(); }
    /// Submits the exit watches that launcher threads left for the thread
    /// that drives (a driver calls it after a fill; a step does too).
    void submit_held_watches() noexcept;

    /// A descriptor that is readable whenever a step would find something to
    /// do (level-triggered), or -1 with errno set.
    int fd() noexcept;

    /// Takes @p member over (moved from only on success). Returns false when
    /// its descriptors cannot be watched; throws std::bad_alloc likewise.
    bool add(std::unique_ptr<Member> &member);

    /// Waits for events (with @p block, at most @p max_wait_ms when that is
    /// not -1; else only looks); the members found done are then taken out
    /// with pop_done(). Throws RunFailure when waiting itself fails.
    void step(bool block, int max_wait_ms = -1);
    /// The next done member, out of the collection, or null.
    std::unique_ptr<Member> pop_done() noexcept;
    /// step(), then every done member into @p done. Throws RunFailure,
    /// std::bad_alloc (nothing is lost: the members stay done, for later).
    void step(MemberList &done, bool block, int max_wait_ms = -1);

    /// step(done, block) for a driver that must go on whatever happens:
    /// when waiting itself fails (retrying would spin), every member moves
    /// to @p failed and the status says why; otherwise PROCREACT_STATUS_OK.
    ProcReact_Status step_or_fail(MemberList &done,
                                  MemberList &failed, bool block,
                                  int max_wait_ms = -1) noexcept;

    /// Where channel events go (a driver's callback); none: messages wait in the channels.
    void set_channel_callback(ProcReact_ChannelCallback callback, void *data) noexcept;
    ProcReact_ChannelCallback channel_callback() const noexcept { return channel_cb_; }
    void *channel_callback_data() const noexcept { return channel_cb_data_; }
    /// Calls @p take for every member with channel events for the callback,
    /// in the order they came, and empties the list. @p take must not throw.
    void drain_channel_ready(void (*take)(Member &, void *), void *arg) noexcept;
    std::size_t channel_ready_count() const noexcept { return chan_ready_.size(); }

    /// For a driver about to block on nothing but its one member's exit
    /// (nothing left to read or write, no deadline or stop sequence due, no
    /// descriptor through which another thread could post): that member,
    /// out of the collection, for the driver to reap it with a blocking
    /// wait; else null.
    std::unique_ptr<Member> take_if_only_exit_left() noexcept;

    /// Takes every member out (the collection stops watching them).
    MemberList take_all() noexcept;

    /// The members, for a driver that adopts or inspects them.
    Member &at(std::size_t i) noexcept { return *members_[i]; }
    /// Takes one member out.
    std::unique_ptr<Member> take(Member &member) noexcept;

    /// Gives @p member a new deadline (CLOCK_MONOTONIC ns; 0: none) while
    /// it is running (a worker pool's per-task deadline).
    void set_deadline(Member &member, long long deadline_ns) noexcept;
    /// Starts @p member's stop sequence now, for @p why (a PROCREACT_EXIT_* flag).
    void stop_member(Member &member, unsigned why) noexcept;
    /// A time (CLOCK_MONOTONIC ns; 0: none) by which a step returns even
    /// with nothing else due: a driver's own timer (a pool's back-off).
    void set_wake_at(long long due_ns) noexcept;

  private:
    enum Stream : std::uintptr_t { kOut = 0, kPid = 1, kErr = 2, kIn = 3, kChan = 4 };
    // Tags of the collection's own descriptors (a null member).
    static constexpr std::uint64_t kTimerTag = 0;
    static constexpr std::uint64_t kWakerTag = 1;
    static constexpr std::uint64_t kRingTag = 2;
    static std::uint64_t tag(Member *m, Stream s) noexcept;

    /// step() without re-arming the timer; returns the time it looked at.
    long long step_events(bool block, int max_wait_ms);
    void handle(Member &m, std::uintptr_t stream, std::uint32_t events, long long now) noexcept;
    void handle_channel(Member &m, std::uint32_t events) noexcept;
    static void channel_hook(void *owner, void *member) noexcept;
    void channel_changed(Member &m) noexcept;
    bool watch_channel(Member &m) noexcept;
    void unwatch_channel(Member &m) noexcept;
    void list_channel_ready(Member &m) noexcept;
    void stream_ended(Member &m, int fd, long long now) noexcept;
    void stop(Member &m, unsigned why, long long now) noexcept;
    void abandon(Member &m) noexcept;
    void schedule(Member &m, long long now) noexcept;
    void watch_exit(Member &m) noexcept;
    /// watch_exit() through the member's pidfd (or by looking, without one).
    void watch_exit_polled(Member &m) noexcept;
    /// Whether exits may be waited for by pid, with no pidfd (see
    /// engine/collection_exits.cpp).
    bool pidless_possible() const noexcept;
    /// Whether this step may block on the members' exits alone.
    bool pidless_wait_fits(bool block, int max_wait_ms) const noexcept;
    /// watch_exit_polled() for a member whose earlier watch ended unanswered;
    /// queued when that finds it exited.
    void rewatch_exit(Member &m) noexcept;
    /// The members waiting by pid are watched on descriptors from now on.
    void convert_pid_waits() noexcept;
    /// The exit ring, set up on first use; false where there is none.
    bool ring_ready() noexcept;
    /// Watches @p m's exit through the exit ring; false where it cannot.
    bool watch_exit_ring(Member &m) noexcept;
    /// The ring's completions: the members whose exits they report.
    void take_ring_exits() noexcept;
    /// The ring failed: no more use of it, its members watched through pidfds.
    void ring_broken() noexcept;
    /// @p m no longer waits on the ring (its completion, if any, is ignored).
    void unwatch_ring(Member &m) noexcept;
    /// A new token for @p m's wait.
    std::uint64_t next_token(const Member &m) noexcept;
    /// Blocks until a child of this process has exited. Returns true when
    /// it was a member's (queued now), false when the collection has given
    /// up waiting by pid (its members watched through pidfds now).
    bool wait_any_exit() noexcept;
    /// A member waiting by pid has exited: done (its streams had ended).
    void exited_by_pid(Member &m) noexcept;
    /// The step's wait for up to @p timeout_ms (-1: until something
    /// happens): on the watcher, or for an exit by pid. Returns the number
    /// of @p events (at most @p max) or -1.
    int wait_events(Watcher::Event *events, int max, int timeout_ms) noexcept;
    /// One member, none done, and no thread but this one able to post.
    bool alone_and_unreachable() const noexcept;
    /// Whether a wait of @p timeout_ms would wait for nothing but the one
    /// member's output, with nobody to interrupt it (engine/collection_exits.cpp).
    bool only_output_left(int timeout_ms) const noexcept;
    /// The event of that output, without a wait: its read blocks instead.
    int read_blocking(Watcher::Event *events) noexcept;
    /// A lazy Waker gets its eventfd, watched, once a second thread exists
    /// (with @p always, now: a main loop's descriptor must hear every
    /// thread that may come). Returns false when it cannot.
    bool watch_waker(bool always = false) noexcept;
    void look_at_unwatched() noexcept;
    long long next_due(long long now) const noexcept;
    void rearm(long long now) noexcept;
    void queue(Member &m) noexcept;
    void unwatch_all(Member &m) noexcept;

    Watcher watcher_;
    UniqueFd timer_; // made with fd(): wakes a main loop for due times
    long long armed_ = 0;
    WakerRef waker_;
    bool cancelling_all_ = false;
    StopDefaults defaults_;
    unsigned int spawn_threads_ = 0;
    MemberList members_;
    std::size_t unwatched_ = 0;   // members whose exit is only seen by looking (no pidfd)
    std::size_t pid_waiting_ = 0; // members whose exit is waited for by pid (Member::pid_wait)
    bool pidless_off_ = false;    // a child not ours showed up: exits through pidfds only
    ExitRing ring_;               // exits watched on descriptors, without pidfds (made on first use)
    std::size_t ring_held_ = 0;    // members with Member::ring_wait not yet submitted (ring_token 0)
    std::uint64_t ring_tokens_ = 0; // the last token given
    bool ring_tried_ = false;     // ring_ never needs setting up again
    bool ring_off_ = false;       // the ring failed once: not used again
    Member *done_head_ = nullptr; // the done list (see Member::next_done)
    Member *done_tail_ = nullptr;
    ProcReact_ChannelCallback channel_cb_ = nullptr;
    void *channel_cb_data_ = nullptr;
    std::vector<Member *> chan_ready_; // capacity: every member with a channel
    TimerQueue timers_;
    long long wake_at_ = 0; // set_wake_at()
    int backoff_ms_ = 1;
};

} // namespace procreact
