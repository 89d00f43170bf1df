// SPDX-License-Identifier: MIT
//
// Whether this process has only ever had one thread (glibc's own flag), and
// whether the calling thread is one of the library's launcher threads.
#pragma once

#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define PROCREACT_HAVE_SINGLE_THREADED 1
#endif
#endif

namespace procreact
{

/// True while no second thread has ever been made in this process (nobody
/// else can call into the library meanwhile); false where unknown. Once
/// false, it stays false.
inline bool single_threaded() noexcept
{
#ifdef PROCREACT_HAVE_SINGLE_THREADED
    return __libc_single_threaded != 0;
#else
    return false;
#endif
}

/// The calling thread's mark as one of the library's launcher threads
/// (drivers/spawn_threads.cpp), which end when idle: what must outlive
/// them (an exit ring's waits) is asked for by the thread that drives.
inline bool &launcher_thread_mark() noexcept
{
    static thread_local bool mark = false;
    return mark;
}

inline bool on_launcher_thread() noexcept
{
    return launcher_thread_mark();
}

} // namespace procreact
