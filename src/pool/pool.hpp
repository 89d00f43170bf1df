// SPDX-License-Identifier: MIT
//
// The worker pool's state: settings, tasks, workers and the core they share.
//
// A pool is a Collection (the one engine) whose members are its workers,
// each with a channel. The core holds the queue, the workers and the done
// list under one mutex; the collection itself is touched only by the one
// thread that holds the "stepping" role (see pool_drive.cpp), so a submit or
// a cancel from another thread edits the core and rings the collection's
// Waker instead of touching the collection.
#pragma once

#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <sys/types.h>

#include "../command.hpp"
#include "../engine/collection.hpp"
#include "procreact_pool.h"

namespace procreact
{

/// What a configuration holds (copied into the pool when it is made).
struct WorkerPoolSettings {
    ProcReact_WorkerInit init = nullptr;
    ProcReact_TaskFunction function = nullptr;
    void *data = nullptr;
    std::shared_ptr<const ProcReact_Command> command; // program workers
    ProcReact_ChannelMode mode = PROCREACT_CHANNEL_FRAMED;
    unsigned workers = PROCREACT_POOL_DEFAULT_WORKERS;
    unsigned max_tasks = 0;
    std::uint64_t max_rss = 0;
    int signo = SIGTERM;
    long long grace_ns = kNsPerSecond;
    unsigned crash_limit = PROCREACT_POOL_DEFAULT_CRASH_LIMIT;
    long long first_delay_ns = 10 * kNsPerMs;
    std::uint64_t max_message = PROCREACT_CHANNEL_DEFAULT_MAX_MESSAGE;
    bool fork_server = false;
    bool ready_message = false; // program workers say when they are ready

    bool forked() const noexcept { return function != nullptr; }
};

struct PoolCore;

/// An intrusive list of tasks (the queue, the done list): O(1) removal.
struct TaskLink {
    ProcReact_Task *prev = nullptr;
    ProcReact_Task *next = nullptr;
};

class TaskList
{
  public:
    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    ProcReact_Task *front() const noexcept { return head_; }
    void push_back(ProcReact_Task *t) noexcept;
    void remove(ProcReact_Task *t) noexcept;
    ProcReact_Task *pop_front() noexcept;

  private:
    ProcReact_Task *head_ = nullptr;
    ProcReact_Task *tail_ = nullptr;
    std::size_t size_ = 0;
};

/// Why the pool stopped a worker (not a death of its own).
enum class StopReason : unsigned char { None, Deadline, Cancel, Shutdown, Broken };

/// One worker: a member of the pool's collection.
struct Worker {
    Member *member = nullptr; // owned by the collection while it runs
    pid_t pid = 0;
    ProcReact_Task *held = nullptr; // the task it runs (null: idle, or its task was freed)
    bool busy = false;              // a request is out (held may be null: freed meanwhile)
    bool ready = false;             // it said it is ready (a forked worker: its init is done)
    bool retiring = false;          // its channel is closed: it leaves once idle
    StopReason stopped = StopReason::None;
    unsigned tasks_done = 0;
    long long started_ns = 0;
};

struct PoolCore {
    explicit PoolCore(const WorkerPoolSettings &settings) : s(settings) {}
    PoolCore(const PoolCore &) = delete;
    PoolCore &operator=(const PoolCore &) = delete;

    WorkerPoolSettings s;
    unsigned target = 1; // workers wanted

    std::mutex mu;
    std::condition_variable cv;
    bool stepping = false;    // a thread holds the collection (see pool_drive.cpp)
    unsigned engine_wanted = 0; // threads waiting to use the collection briefly

    // Under mu; the collection and the members: under the stepping role
    // (the collection goes when the pool is freed; its tasks keep the core).
    std::unique_ptr<Collection> coll;
    std::vector<Member *> ready_scratch; // members with channel events (room for every worker)
    std::vector<std::unique_ptr<Worker>> workers;
    TaskList queue;
    TaskList done;
    std::vector<ProcReact_Task *> cancels; // running tasks whose workers are to be stopped
    long long respawn_due = 0;  // no replacement before (a crash loop's back-off)
    unsigned deaths_in_row = 0;
    long long next_delay_ns = 0;
    int error = 0;
    ProcReact_ExitInfo last_exit{};
    bool shut = false;      // no new tasks
    bool draining = false;  // a shutdown lets the queue run
    bool closing = false;   // every worker is being let go
    bool freed = false;     // procreact_pool_free() ran
    std::uint64_t completions = 0;
    ProcReact_PoolStats stats{};

    // The fork server (procreact_pool_config_set_fork_server()).
    ChildWatch server;
    WriteEnd server_sock; // listed: no other child keeps it (the server ends when it closes)
};

} // namespace procreact

/// A configuration handle.
struct ProcReact_PoolConfig {
    procreact::WorkerPoolSettings s;
};

/// A pool handle: the core is shared with the pool's tasks.
struct ProcReact_Pool {
    std::shared_ptr<procreact::PoolCore> core;
};

/// A task: the caller's; its mutable fields are under its core's mutex.
struct ProcReact_Task {
    std::shared_ptr<procreact::PoolCore> core;
    procreact::TaskLink link; // in the queue or the done list
    bool in_queue = false;
    bool in_done = false;
    std::string request;
    long long deadline_ns = 0; // relative; 0: none
    ProcReact_TaskStatus status = PROCREACT_TASK_QUEUED;
    std::string reply;
    bool has_reply = false;
    int error = 0;
    bool has_exit = false;
    ProcReact_ExitInfo exit{};
    pid_t worker_pid = 0;
    bool cancel_asked = false;
};

namespace procreact
{

// pool_workers.cpp: starting, retiring and stopping workers.
/// The core's lock as its holder has it.
using CoreLock = std::unique_lock<std::mutex>;
/// Starts one worker into the collection (stepping role, mu held by
/// @p lock, which is released while the worker is forked or spawned and
/// taken again). Returns 0 or an errno value.
int start_worker(PoolCore &core, CoreLock &lock) noexcept;
/// Starts the fork server. Returns 0 or an errno value.
int start_fork_server(PoolCore &core) noexcept;
/// Closes a worker's channel: it leaves once it read the end.
void retire_worker(PoolCore &core, Worker &w) noexcept;
/// Stops a worker with the stop sequence for @p why.
void stop_worker(PoolCore &core, Worker &w, StopReason why) noexcept;
/// The resident memory of @p pid in bytes (0 when unknown).
std::uint64_t resident_bytes(pid_t pid) noexcept;

// pool_child.cpp: what runs in forked processes.
/// The worker loop of a forked C worker on channel descriptor @p fd. Never returns.
[[noreturn]] void run_worker(int fd, const WorkerPoolSettings &s) noexcept;
/// The fork server's loop on @p fd. Never returns.
[[noreturn]] void run_fork_server(int fd, const WorkerPoolSettings &s) noexcept;

// pool_events.cpp: what a step found, and handing tasks to workers.
/// Completes @p t with @p status (mu held).
void complete_task(PoolCore &core, ProcReact_Task *t, ProcReact_TaskStatus status) noexcept;
/// After a step (stepping role, mu held by @p lock; released while a
/// replacement starts): replies, deaths, replacements, dispatch.
void process_events(PoolCore &core, CoreLock &lock) noexcept;
/// Sends queued tasks to idle workers, stops cancelled ones, starts owed
/// workers (stepping role, mu held by @p lock; released while one starts).
void service(PoolCore &core, CoreLock &lock) noexcept;
/// Fails the pool: every queued task completes POOL_FAILED.
void fail_pool(PoolCore &core, int error) noexcept;
/// Workers that count toward the target: not retiring, not stopped on purpose.
unsigned live_workers(const PoolCore &core) noexcept;
/// Tasks queued or running.
std::size_t outstanding(const PoolCore &core) noexcept;

// pool_drive.cpp: the stepping role.
/// A drive() deadline for a public timeout in milliseconds: 0 looks once
/// (-1), a negative one has no bound (0).
inline long long drive_deadline(int timeout_ms) noexcept
{
    if (timeout_ms == 0)
        return -1;
    if (timeout_ms < 0)
        return 0;
    return add_saturating(monotonic_ns(), static_cast<long long>(timeout_ms) * kNsPerMs);
}
/// Steps until @p done() or @p deadline_ns (0: no bound; -1: one look).
/// Returns the completions seen, or -1 with errno. @p lock holds mu.
int drive(PoolCore &core, std::unique_lock<std::mutex> &lock, long long deadline_ns, bool (*done)(void *),
          void *arg) noexcept;
/// Waits until no thread steps and takes the collection for a moment (a
/// stepping thread is woken); give it back with release_engine().
void hold_engine(PoolCore &core, std::unique_lock<std::mutex> &lock) noexcept;
void release_engine(PoolCore &core) noexcept;
/// Wakes the thread that steps (it sleeps in the collection, not on the
/// condition variable), if one does: @p lock is released for the ring and
/// taken again.
void wake_stepper(PoolCore &core, CoreLock &lock) noexcept;
/// Shuts the pool down (procreact_pool_shutdown()).
int shutdown_pool(PoolCore &core, bool drain, double timeout_seconds) noexcept;

} // namespace procreact
