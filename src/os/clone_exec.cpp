// SPDX-License-Identifier: MIT
//
// clone_exec(): the launcher of our own (see clone_exec.hpp for what the
// child does and why only system calls run there).
#include "clone_exec.hpp"
#include "instrumented.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace procreact
{
namespace
{

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
constexpr bool kKnownArch = true;
#else
constexpr bool kKnownArch = false;
#endif

// Under ThreadSanitizer the child would run the runtime's hooks (the
// instrumented code and its interceptors) on the parent thread's state,
// which it shares: the parent's view of which accesses happen before which
// would be corrupted (seen as false data races). posix_spawn() there
// (kThreadSanitizer, in instrumented.hpp).

// The kernel's struct sigaction on x86-64 and AArch64 (glibc's sigaction()
// refuses its two internal signals, which the child must reset as well).
struct KernelSigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
};
constexpr int kMaxSignal = 64;
constexpr unsigned kSigsetBytes = 8;

constexpr std::size_t kStackSize = 64 * 1024;

// 1: use the launcher; 0: posix_spawn(); -1: undecided.
std::atomic<int> g_mode{-1};
// Set once a child has shown that it shares our memory.
std::atomic<bool> g_verified{false};

} // namespace

// Valgrind runs a CLONE_VM|CLONE_VFORK child as a fork (a copy that does
// not share our memory) and does not give the pidfd back; the first launch
// there went wrong (its stop signals never arrived). Its preload library
// names it in the environment.
namespace
{

int decide() noexcept
{
    int mode = 0;
    const char *env = std::getenv("PROCREACT_NO_CLONE_EXEC");
    const bool off = (env != nullptr && env[0] != '\0' && std::strcmp(env, "0") != 0) || under_valgrind();
    // close_range() of a range with nothing open tells whether it exists.
    if (kKnownArch && !kThreadSanitizer && !off && ::syscall(SYS_close_range, ~0U, ~0U, 0) == 0)
        mode = 1;
    int expected = -1;
    g_mode.compare_exchange_strong(expected, mode);
    return g_mode.load();
}

// The calling thread's stack for its children, made at its first launch and
// unmapped when the thread ends. The lowest page is a guard.
class ChildStack
{
  public:
    ~ChildStack()
    {
        if (base_ != nullptr)
            ::munmap(base_, kStackSize);
    }
    void *top() noexcept
    {
        if (base_ == nullptr) {
            void *p =
                ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
            if (p == MAP_FAILED)
                return nullptr;
            ::mprotect(p, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), PROT_NONE);
            base_ = p;
        }
        return static_cast<char *>(base_) + kStackSize;
    }

  private:
    void *base_ = nullptr;
};

thread_local ChildStack t_stack;

// ---- the child: system calls only, no allocation, no lock, no C++ ----

[[noreturn]] void fail(ChildPlan &plan, int error) noexcept
{
    plan.error = error;
    ::syscall(SYS_exit, 127);
    __builtin_unreachable();
}

// Makes @p target the descriptor @p source (or /dev/null for kChildDevNull).
bool redirect(int source, int target) noexcept
{
    if (source == kChildDevNull) {
        const int flags = (target == STDIN_FILENO ? O_RDONLY : O_WRONLY);
        const long fd = ::syscall(SYS_openat, AT_FDCWD, "/dev/null", flags, 0);
        if (fd < 0)
            return false;
        if (fd == target)
            return true;
        const bool ok = ::syscall(SYS_dup3, fd, target, 0) >= 0;
        ::syscall(SYS_close, fd);
        return ok;
    }
    if (source == target) // keep it, without close-on-exec
        return ::syscall(SYS_fcntl, source, F_SETFD, 0) == 0;
    return ::syscall(SYS_dup3, source, target, 0) >= 0;
}

int child_main(void *arg) noexcept
{
    ChildPlan &plan = *static_cast<ChildPlan *>(arg);
    plan.started = 1;
    // Every signal to its default: no handler of the parent's may run here,
    // on the parent's memory, once the mask opens.
    KernelSigaction dfl{};
    dfl.handler = reinterpret_cast<void *>(SIG_DFL);
    for (int sig = 1; sig <= kMaxSignal; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP)
            ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, kSigsetBytes);
    if (plan.new_group && ::syscall(SYS_setpgid, 0, 0) != 0)
        fail(plan, errno);
    for (int target = 0; target < 3; ++target)
        if (plan.sources[target] != -1 && !redirect(plan.sources[target], target))
            fail(plan, errno);
    if (plan.merge_stderr && ::syscall(SYS_dup3, STDOUT_FILENO, STDERR_FILENO, 0) < 0)
        fail(plan, errno);
    if (plan.move_source >= 0 && ::syscall(SYS_dup3, plan.move_source, plan.move_target, 0) < 0)
        fail(plan, errno);
    unsigned next_closed = STDERR_FILENO + 1;
    for (std::size_t i = 0; i < plan.pass_count; ++i) {
        const unsigned fd = static_cast<unsigned>(plan.pass[i]);
        if (fd > next_closed && ::syscall(SYS_close_range, next_closed, fd - 1, 0) != 0)
            fail(plan, errno);
        if (::syscall(SYS_fcntl, fd, F_SETFD, 0) != 0)
            fail(plan, errno);
        next_closed = fd + 1;
    }
    if (::syscall(SYS_close_range, next_closed, ~0U, 0) != 0)
        fail(plan, errno);
    if (plan.cwd != nullptr && ::syscall(SYS_chdir, plan.cwd) != 0)
        fail(plan, errno);
    const unsigned long none = 0;
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, kSigsetBytes);
    if (plan.path != nullptr) {
        ::syscall(SYS_execve, plan.path, plan.argv, plan.envp);
        fail(plan, errno);
    }
    // execvp()'s search: a candidate that is not there (or not a directory
    // on the way, or too long a name) gives way to the next; one that is
    // there but may not run is remembered; anything else ends the search.
    // The name is put together on this stack: no allocation here.
    char candidate[4096];
    const std::size_t file_len = std::strlen(plan.file);
    int error = ENOENT;
    for (const char *p = plan.search;;) {
        const char *end = std::strchr(p, ':');
        std::size_t dir_len = end != nullptr ? static_cast<std::size_t>(end - p) : std::strlen(p);
        const char *dir = p;
        if (dir_len == 0) {
            dir = ".";
            dir_len = 1;
        }
        if (dir_len + 1 + file_len < sizeof candidate) {
            std::memcpy(candidate, dir, dir_len);
            candidate[dir_len] = '/';
            std::memcpy(candidate + dir_len + 1, plan.file, file_len + 1);
            ::syscall(SYS_execve, candidate, plan.argv, plan.envp);
            const int e = errno;
            if (e == EACCES)
                error = EACCES;
            else if (e != ENOENT && e != ENOTDIR && e != ESTALE && e != ENODEV && e != ETIMEDOUT)
                fail(plan, e);
        }
        if (end == nullptr)
            break;
        p = end + 1;
    }
    fail(plan, error);
}

} // namespace

bool clone_exec_enabled() noexcept
{
    const int mode = g_mode.load(std::memory_order_relaxed);
    return (mode < 0 ? decide() : mode) == 1;
}

bool clone_exec_verified() noexcept
{
    return g_verified.load(std::memory_order_relaxed);
}

int clone_exec(ChildPlan &plan, pid_t &pid, UniqueFd &pidfd) noexcept
{
    void *top = t_stack.top();
    if (top == nullptr)
        return ENOMEM;
    plan.started = 0;
    plan.error = 0;
    // Every signal blocked in this thread (glibc's internal two included,
    // hence the system call), so that no handler runs in the child before it
    // has reset them; the child inherits the mask and empties it at the end.
    const unsigned long all = ~0UL;
    unsigned long old = 0;
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, kSigsetBytes);
    const int saved_errno = errno;
    int fd = -1;
    const int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (plan.want_pidfd ? CLONE_PIDFD : 0);
    const int child = ::clone(child_main, top, flags, &plan, &fd);
    const int clone_errno = errno;
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, kSigsetBytes);
    errno = saved_errno;
    if (child < 0) {
        if (clone_errno == EINVAL || clone_errno == ENOSYS || clone_errno == EPERM) {
            g_mode.store(0); // no CLONE_PIDFD here (or refused): posix_spawn() from now on
            return -1;
        }
        // No descriptor left for the pidfd: this once, posix_spawn(), which
        // needs none (the child is then watched by its pid).
        if (clone_errno == EMFILE || clone_errno == ENFILE)
            return -1;
        return clone_errno;
    }
    UniqueFd owned(fd);
    if (!plan.started) {
        // The child ran on a copy of our memory: its errors cannot reach
        // us. This one runs on as it may; later launches use posix_spawn().
        g_mode.store(0);
        pid = child;
        pidfd = std::move(owned);
        return 0;
    }
    g_verified.store(true, std::memory_order_relaxed);
    if (plan.error != 0) {
        siginfo_t info;
        while (::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED) != 0 && errno == EINTR) {
        }
        return plan.error;
    }
    pid = child;
    pidfd = std::move(owned);
    return 0;
}

} // namespace procreact
