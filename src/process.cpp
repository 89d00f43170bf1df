// SPDX-License-Identifier: MIT
#include "process.hpp"

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

namespace procreact {
namespace {

constexpr idtype_t kIdPidfd = static_cast<idtype_t>(3); // P_PIDFD, Linux 5.4

// 1: use pidfds, 0: fallback. Starts undecided (-1).
std::atomic<int> g_pidfd_mode{-1};

int decide_mode() noexcept
{
    const char *env = std::getenv("PROCREACT_NO_PIDFD");
    const int mode = (env != nullptr && env[0] != '\0' && std::strcmp(env, "0") != 0) ? 0 : 1;
    int expected = -1;
    g_pidfd_mode.compare_exchange_strong(expected, mode);
    return g_pidfd_mode.load();
}

int open_pidfd(pid_t pid) noexcept
{
    int mode = g_pidfd_mode.load(std::memory_order_relaxed);
    if (mode < 0)
        mode = decide_mode();
    if (mode == 0)
        return -1;
    const long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        if (errno == ENOSYS || errno == EPERM)
            g_pidfd_mode.store(0); // not available here: every later child uses the fallback
        return -1;
    }
    return move_above_stdio(static_cast<int>(fd));
}

} // namespace

bool pidfd_enabled() noexcept
{
    int mode = g_pidfd_mode.load(std::memory_order_relaxed);
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

Deadline::Deadline(int timeout_ms) noexcept : timeout_ms_(timeout_ms)
{
    if (timeout_ms_ > 0) {
        struct timespec now {};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        start_ns_ = static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
    }
}

int Deadline::remaining_ms() const noexcept
{
    if (timeout_ms_ <= 0)
        return timeout_ms_ < 0 ? -1 : 0;
    struct timespec now {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const long long elapsed_ms =
        (static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec - start_ns_) / 1000000LL;
    return elapsed_ms >= timeout_ms_ ? 0 : timeout_ms_ - static_cast<int>(elapsed_ms);
}

int poll_readable(int fd, int timeout_ms) noexcept
{
    struct pollfd p {};
    p.fd = fd;
    p.events = POLLIN;
    const int r = wait_retry(timeout_ms, [&](int timeout) { return ::poll(&p, 1, timeout); });
    return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

ChildWatch::ChildWatch(pid_t pid, bool open_now) noexcept
    : pid_(pid), pidfd_(pid > 0 && open_now ? open_pidfd(pid) : -1)
{
}

bool ChildWatch::ensure_pidfd() noexcept
{
    if (!pidfd_ && pid_ > 0)
        pidfd_.reset(open_pidfd(pid_));
    return pidfd_.valid();
}

bool ChildWatch::is_our_child() const noexcept
{
    if (pid_ <= 0) {
        errno = ECHILD;
        return false;
    }
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    int r;
    do {
        if (pidfd_)
            r = ::waitid(kIdPidfd, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG | WNOWAIT);
        else
            r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    return r == 0;
}

bool ChildWatch::has_exited() const noexcept
{
    if (pid_ <= 0)
        return true;
    if (pidfd_)
        return poll_readable(pidfd_.get(), 0) != 0;
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    int r;
    do
        r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    while (r < 0 && errno == EINTR);
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
    int r;
    do
        r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
    while (r < 0 && errno == EINTR);
}

int ChildWatch::reap(int *wstatus, bool block) noexcept
{
    if (pid_ <= 0) {
        errno = ECHILD;
        return -1;
    }
    int status = 0;
    if (pidfd_) {
        siginfo_t info;
        std::memset(&info, 0, sizeof info);
        int r;
        do
            r = ::waitid(kIdPidfd, static_cast<id_t>(pidfd_.get()), &info, WEXITED | (block ? 0 : WNOHANG));
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return -1;
        if (info.si_pid == 0)
            return 0;
        status = wstatus_from_waitid(info.si_code, info.si_status);
    } else {
        const pid_t r = waitpid_retry(pid_, &status, block ? 0 : WNOHANG);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
    }
    if (wstatus != nullptr)
        *wstatus = status;
    return 1;
}

void ChildWatch::kill() const noexcept
{
    if (pid_ <= 0)
        return;
    if (pidfd_)
        ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    else if (is_our_child())
        ::kill(pid_, SIGKILL);
}

void ChildWatch::kill_and_reap() noexcept
{
    kill();
    if (pidfd_ || is_our_child())
        reap(nullptr, true);
    reset();
}

} // namespace procreact
