// SPDX-License-Identifier: MIT
//
// What the library learns about a child's end (ProcReact_ExitInfo), and the
// completion scope that shows it to procreact_future_info() and
// procreact_pid_info() while a completion callback runs.
#pragma once

#include <cstddef>
#include <cstdlib>

#include <sys/types.h>

#include "../os/child_watch.hpp"
#include "procreact_exit.h"
#include "procreact_future.h"

namespace procreact
{

struct Details {
    Details() noexcept = default;
    ~Details() { std::free(err_data); }
    Details(Details &&other) noexcept;
    Details &operator=(Details &&other) noexcept;
    Details(const Details &) = delete;
    Details &operator=(const Details &) = delete;

    long long start_ns = 0;
    long long end_ns = 0;
    bool have_exit = false;
    ExitRecord exit;
    int exec_errno = 0;
    unsigned int flags = 0;
    char *err_data = nullptr; // captured stderr, malloc'ed
    std::size_t err_size = 0;
    std::size_t err_capacity = 0;

    /// Fills @p info; the captured stderr is handed over (ours no more).
    void fill(ProcReact_ExitInfo *info) noexcept;
};

/// Makes the exit details of one completion available on this thread while
/// the scope lasts: for a future, keyed by the address of the library's own
/// struct copy handed to `complete`; for a pid iterator's child, by its pid.
/// Scopes nest (a callback may drive another collection).
class CompletionScope
{
  public:
    CompletionScope(const ProcReact_Future *future, Details *details) noexcept;
    CompletionScope(pid_t pid, Details *details) noexcept;
    ~CompletionScope();
    CompletionScope(const CompletionScope &) = delete;
    CompletionScope &operator=(const CompletionScope &) = delete;

    /// The details of @p future / @p pid if it is being completed on this thread.
    static Details *find(const ProcReact_Future *future) noexcept;
    static Details *find(pid_t pid) noexcept;

  private:
    const ProcReact_Future *future_;
    pid_t pid_;
    Details *details_;
    CompletionScope *outer_;
};

} // namespace procreact
