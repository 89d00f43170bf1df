// SPDX-License-Identifier: MIT
//
// ChildWatch: owning, watching, signalling and reaping one child; the table
// of owned pids (the reaper of children nobody waits for: child_reaper.cpp).
#include "child_watch.hpp"

#include "flat_table.hpp"
#include "unshared.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>


#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

namespace procreact
{
namespace
{

constexpr idtype_t kIdPidfd = static_cast<idtype_t>(3); // P_PIDFD, Linux 5.4

// 1: use pidfds, 0: fallback. Starts undecided (-1).
std::atomic<int> g_pidfd_mode{-1};

// Pidfds held by watches, and the share of RLIMIT_NOFILE they may take when
// budgeted: a pidfd per child must never cost a collection children that
// 0.1, which holds none, could run.
std::atomic<long> g_pidfds{0};
std::atomic<long> g_pidfd_share{0};
std::atomic<unsigned> g_share_age{0};
constexpr long kMinShare = 64;

// The pids that watches own (under the table lock); a forked child drops it.
// Claimed and given up while the child runs: in unshared memory.
using OwnedPids = FlatTable<pid_t, bool>;
OwnedPids *g_owned = nullptr;

void drop_in_child() noexcept
{
    park_in_child(g_owned);
    g_owned = nullptr;
}

__attribute__((constructor)) void install_hook()
{
    register_child_reset_hook(drop_in_child);
}

int decide_mode() noexcept
{
    const char *env = std::getenv("PROCREACT_NO_PIDFD");
    const int mode = (env != nullptr && env[0] != '\0' && std::strcmp(env, "0") != 0) ? 0 : 1;
    int expected = -1;
    g_pidfd_mode.compare_exchange_strong(expected, mode);
    return g_pidfd_mode.load();
}

long pidfd_share() noexcept
{
    // The limit can change at run time (tests lower it): look again now and then.
    if ((g_share_age.fetch_add(1, std::memory_order_relaxed) & 255) == 0 ||
        g_pidfd_share.load(std::memory_order_relaxed) == 0) {
        struct rlimit limit {
        };
        long share = kMinShare;
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
            share = static_cast<long>(limit.rlim_cur / 4);
        else if (limit.rlim_cur == RLIM_INFINITY)
            share = 1L << 20;
        g_pidfd_share.store(share < kMinShare ? kMinShare : share, std::memory_order_relaxed);
    }
    return g_pidfd_share.load(std::memory_order_relaxed);
}

int open_pidfd(pid_t pid, long budget) noexcept
{
    int mode = g_pidfd_mode.load(std::memory_order_relaxed);
    if (mode < 0)
        mode = decide_mode();
    if (mode == 0)
        return -1;
    if (budget != 0 && g_pidfds.load(std::memory_order_relaxed) >= pidfd_share() / budget)
        return -1;
    const long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        if (errno == ENOSYS || errno == EPERM)
            g_pidfd_mode.store(0); // not available here: every later child uses the fallback
        return -1;
    }
    const int moved = move_above_stdio(static_cast<int>(fd));
    if (moved >= 0)
        g_pidfds.fetch_add(1, std::memory_order_relaxed);
    return moved;
}

// waitid() with the resource usage that the system call (not glibc's
// wrapper) reports, retried on EINTR.
int waitid_usage(idtype_t type, id_t id, siginfo_t *info, int options, struct rusage *usage) noexcept
{
    long r;
    do {
        std::memset(info, 0, sizeof *info);
        r = ::syscall(SYS_waitid, type, id, info, options, usage);
    } while (r < 0 && errno == EINTR);
    return static_cast<int>(r);
}

} // namespace

bool pidfd_enabled() noexcept
{
    const int mode = g_pidfd_mode.load(std::memory_order_relaxed);
    return (mode < 0 ? decide_mode() : mode) == 1;
}

int wstatus_from_waitid(int code, int child_status) noexcept
{
    // Linux's encoding, the one the W* macros decode.
    switch (code) {
    case CLD_EXITED:
        return (child_status & 0xff) << 8;
    case CLD_KILLED:
        return child_status & 0x7f;
    case CLD_DUMPED:
        return (child_status & 0x7f) | 0x80;
    default:
        return 0x7f | ((child_status & 0xff) << 8); // stopped: not reported with WEXITED only
    }
}

pid_t waitpid_retry(pid_t pid, int *wstatus, int options) noexcept
{
    pid_t r;
    do
        r = ::waitpid(pid, wstatus, options);
    while (r < 0 && errno == EINTR);
    return r;
}

int poll_readable(int fd, int timeout_ms) noexcept
{
    struct pollfd p {
    };
    p.fd = fd;
    p.events = POLLIN;
    const int r = wait_retry(timeout_ms, [&](int timeout) { return ::poll(&p, 1, timeout); });
    return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

ChildWatch::ChildWatch(pid_t pid, Pidfd pidfd) noexcept : pid_(pid > 0 ? pid : -1)
{
    if (pid_ <= 0)
        return;
    {
        GlobalLock lock;
        try {
            if (g_owned == nullptr)
                g_owned = new_unshared_table<OwnedPids>();
            g_owned->insert(pid_, &claimed_);
            duplicate_ = !claimed_;
        } catch (...) {
            // Out of memory: owned, but a duplicate of it goes unnoticed.
        }
    }
    if (duplicate_) {
        pid_ = -1;
        return;
    }
    if (pidfd != Pidfd::Later)
        pidfd_.reset(open_pidfd(pid_, pidfd == Pidfd::Budgeted ? 1 : pidfd == Pidfd::Spawn ? 4 : 0));
}

ChildWatch::ChildWatch(pid_t pid, UniqueFd pidfd) noexcept : ChildWatch(pid, Pidfd::Later)
{
    if (pid_ <= 0 || !pidfd || !pidfd_enabled())
        return;
    if (g_pidfds.load(std::memory_order_relaxed) >= pidfd_share() / 4)
        return; // over the share: watched by pid, as Pidfd::Spawn would be
    const int moved = move_above_stdio(pidfd.release());
    if (moved < 0)
        return;
    pidfd_.reset(moved);
    g_pidfds.fetch_add(1, std::memory_order_relaxed);
}

ChildWatch &ChildWatch::operator=(ChildWatch &&other) noexcept
{
    if (this != &other) {
        kill_and_reap();
        pid_ = other.pid_;
        claimed_ = other.claimed_;
        duplicate_ = other.duplicate_;
        pidfd_ = std::move(other.pidfd_);
        other.pid_ = -1;
        other.claimed_ = false;
    }
    return *this;
}

void ChildWatch::release() noexcept
{
    if (claimed_) {
        GlobalLock lock;
        if (g_owned != nullptr)
            g_owned->erase(pid_);
        claimed_ = false;
    }
    pid_ = -1;
    close_pidfd();
}

void ChildWatch::close_pidfd() noexcept
{
    if (pidfd_) {
        pidfd_.reset();
        g_pidfds.fetch_sub(1, std::memory_order_relaxed);
    }
}

bool ChildWatch::ensure_pidfd(bool budgeted) noexcept
{
    if (pidfd_ || pid_ <= 0)
        return pidfd_.valid();
    pidfd_.reset(open_pidfd(pid_, budgeted ? 1 : 0));
    // Opened late, a pidfd may name another process: ours may have been
    // reaped behind the library's back (an application's waitpid(-1)) and
    // its pid reused. Kept only if it names a child of ours; otherwise the
    // child is watched by pid, which finds it gone.
    if (pidfd_ && !is_our_child())
        close_pidfd();
    return pidfd_.valid();
}

void ChildWatch::drop_pidfd() noexcept
{
    close_pidfd();
}

bool ChildWatch::is_our_child() const noexcept
{
    if (pid_ <= 0) {
        errno = ECHILD;
        return false;
    }
    siginfo_t info;
    if (pidfd_)
        return waitid_usage(kIdPidfd, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG | WNOWAIT, nullptr) ==
               0;
    return waitid_usage(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT, nullptr) == 0;
}

bool ChildWatch::has_exited() const noexcept
{
    if (pid_ <= 0)
        return true;
    if (pidfd_)
        return poll_readable(pidfd_.get(), 0) != 0;
    siginfo_t info;
    const int r = waitid_usage(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT, nullptr);
    return r < 0 || info.si_pid != 0;
}

void ChildWatch::wait_exited() const noexcept
{
    if (pid_ <= 0)
        return;
    if (pidfd_) {
        poll_readable(pidfd_.get(), -1);
        return;
    }
    siginfo_t info;
    waitid_usage(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT, nullptr);
}

int ChildWatch::reap(ExitRecord *record, bool block) noexcept
{
    if (pid_ <= 0) {
        errno = ECHILD;
        return -1;
    }
    siginfo_t info;
    struct rusage usage {
    };
    const int options = WEXITED | (block ? 0 : WNOHANG);
    const int r = pidfd_ ? waitid_usage(kIdPidfd, static_cast<id_t>(pidfd_.get()), &info, options, &usage)
                         : waitid_usage(P_PID, static_cast<id_t>(pid_), &info, options, &usage);
    if (r < 0) {
        const int err = errno;
        release();
        errno = err;
        return -1;
    }
    if (info.si_pid == 0)
        return 0;
    if (record != nullptr) {
        record->wstatus = wstatus_from_waitid(info.si_code, info.si_status);
        record->usage = usage;
    }
    release();
    return 1;
}

int ChildWatch::peek(ExitRecord *record) const noexcept
{
    if (pid_ <= 0)
        return -1;
    siginfo_t info;
    struct rusage usage {
    };
    const int options = WEXITED | WNOHANG | WNOWAIT;
    const int r = pidfd_ ? waitid_usage(kIdPidfd, static_cast<id_t>(pidfd_.get()), &info, options, &usage)
                         : waitid_usage(P_PID, static_cast<id_t>(pid_), &info, options, &usage);
    if (r < 0)
        return -1;
    if (info.si_pid == 0)
        return 0;
    record->wstatus = wstatus_from_waitid(info.si_code, info.si_status);
    record->usage = usage;
    return 1;
}

void ChildWatch::signal(int signo) const noexcept
{
    if (pid_ <= 0)
        return;
    if (pidfd_)
        ::syscall(SYS_pidfd_send_signal, pidfd_.get(), signo, nullptr, 0);
    else if (is_our_child())
        ::kill(pid_, signo);
}

void ChildWatch::kill_and_reap() noexcept
{
    if (pid_ <= 0)
        return;
    signal(SIGKILL);
    reap(nullptr, true);
}

} // namespace procreact
