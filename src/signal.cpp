// SPDX-License-Identifier: MIT
//
// procreact_signal.h: the SIGCHLD handler and the main-loop step.
//
// The library watches its children through pidfds (or per-pid waitid()), so
// it needs no signal to find them. The handler exists for compatibility: it
// counts notifications, async-signal-safely, and passes each one on to the
// handler the application had before, so installing it takes nothing away.
#include "procreact_signal.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "boundary.hpp"
#include "fd.hpp"
#include "pid_iterator.hpp"
#include "pid_registry.hpp"
#include "signal.hpp"

namespace procreact {
namespace {

std::atomic<unsigned long> g_sigchld_count{0};
struct sigaction g_previous;
std::atomic<bool> g_installed{false};

void on_sigchld(int signo, siginfo_t *info, void *context)
{
    const int saved = errno;
    g_sigchld_count.fetch_add(1, std::memory_order_relaxed);
    if ((g_previous.sa_flags & SA_SIGINFO) != 0) {
        if (g_previous.sa_sigaction != nullptr)
            g_previous.sa_sigaction(signo, info, context);
    } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
               g_previous.sa_handler != nullptr) {
        g_previous.sa_handler(signo);
    }
    errno = saved;
}

} // namespace

bool sigchld_counting() noexcept { return g_installed.load(std::memory_order_relaxed); }

unsigned long sigchld_count() noexcept { return g_sigchld_count.load(std::memory_order_relaxed); }

} // namespace procreact

using namespace procreact;

extern "C" {

int procreact_register_signal_handler(void) noexcept
{
    GlobalLock lock;
    if (g_installed.load())
        return 0;
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigchld;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&action.sa_mask);
    struct sigaction previous;
    if (::sigaction(SIGCHLD, nullptr, &previous) != 0)
        return -1;
    if (previous.sa_handler == SIG_IGN && (previous.sa_flags & SA_SIGINFO) == 0)
        std::memset(&previous, 0, sizeof previous); // SIG_IGN would auto-reap: nothing to call
    g_previous = previous;
    if (::sigaction(SIGCHLD, &action, nullptr) != 0)
        return -1;
    g_installed.store(true);
    return 0;
}

void procreact_complete_all_finished_processes(ProcReact_PidIterator *iterator) noexcept
{
    if (iterator == nullptr)
        return;
    registry_tidy(iterator);
    complete_exited(iterator, false);
}

} // extern "C"
