// SPDX-License-Identifier: MIT
//
// The compatibility SIGCHLD handler. The library watches its children
// through pidfds (or per-pid waitid()), so it needs no signal to find them:
// the handler counts notifications, async-signal-safely, and passes each
// one on to the handler the application had before, so installing it takes
// nothing away.
#include "sigchld.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <pthread.h>

#include "fd.hpp"

namespace procreact
{
namespace
{

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

// Serialises installers (sigaction is a system call: not under the table lock).
pthread_mutex_t g_install_lock = PTHREAD_MUTEX_INITIALIZER;

} // namespace

bool sigchld_counting() noexcept
{
    return g_installed.load(std::memory_order_relaxed);
}

unsigned long sigchld_count() noexcept
{
    return g_sigchld_count.load(std::memory_order_relaxed);
}

int install_sigchld_counter() noexcept
{
    pthread_mutex_lock(&g_install_lock);
    int r = 0;
    if (!g_installed.load()) {
        struct sigaction action;
        std::memset(&action, 0, sizeof action);
        action.sa_sigaction = on_sigchld;
        action.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
        sigemptyset(&action.sa_mask);
        struct sigaction previous;
        r = ::sigaction(SIGCHLD, nullptr, &previous);
        if (r == 0) {
            if (previous.sa_handler == SIG_IGN && (previous.sa_flags & SA_SIGINFO) == 0)
                std::memset(&previous, 0, sizeof previous); // SIG_IGN would auto-reap: nothing to call
            g_previous = previous;
            r = ::sigaction(SIGCHLD, &action, nullptr);
            if (r == 0)
                g_installed.store(true);
        }
    }
    pthread_mutex_unlock(&g_install_lock);
    return r;
}

} // namespace procreact
