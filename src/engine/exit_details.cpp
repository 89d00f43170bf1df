// SPDX-License-Identifier: MIT
//
// Exit details and the completion scope.
#include "exit_details.hpp"

#include <cstring>
#include <utility>

#include <sys/time.h>
#include <sys/wait.h>

namespace procreact
{
namespace
{

thread_local CompletionScope *t_completing = nullptr;

double seconds(const struct timeval &tv) noexcept
{
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

} // namespace

CompletionScope::CompletionScope(const ProcReact_Future *future, Details *details) noexcept
    : future_(future), pid_(0), details_(details), outer_(t_completing)
{
    t_completing = this;
}

CompletionScope::CompletionScope(pid_t pid, Details *details) noexcept
    : future_(nullptr), pid_(pid), details_(details), outer_(t_completing)
{
    t_completing = this;
}

CompletionScope::~CompletionScope()
{
    t_completing = outer_;
}

Details *CompletionScope::find(const ProcReact_Future *future) noexcept
{
    // Compared by address only: the struct is the library's own copy.
    for (CompletionScope *scope = t_completing; scope != nullptr; scope = scope->outer_)
        if (future != nullptr && scope->future_ == future)
            return scope->details_;
    return nullptr;
}

Details *CompletionScope::find(pid_t pid) noexcept
{
    for (CompletionScope *scope = t_completing; scope != nullptr; scope = scope->outer_)
        if (scope->future_ == nullptr && scope->pid_ == pid)
            return scope->details_;
    return nullptr;
}

Details::Details(Details &&other) noexcept
{
    *this = std::move(other);
}

Details &Details::operator=(Details &&other) noexcept
{
    if (this != &other) {
        std::free(err_data);
        start_ns = other.start_ns;
        end_ns = other.end_ns;
        have_exit = other.have_exit;
        exit = other.exit;
        exec_errno = other.exec_errno;
        flags = other.flags;
        err_data = other.err_data;
        err_size = other.err_size;
        err_capacity = other.err_capacity;
        other.err_data = nullptr;
        other.err_size = other.err_capacity = 0;
    }
    return *this;
}

void Details::fill(ProcReact_ExitInfo *info) noexcept
{
    std::memset(info, 0, sizeof *info);
    info->exit_code = -1;
    info->exec_errno = exec_errno;
    info->flags = flags;
    if (have_exit) {
        const int w = exit.wstatus;
        if (WIFEXITED(w)) {
            info->exited = 1;
            info->exit_code = WEXITSTATUS(w);
        } else if (WIFSIGNALED(w)) {
            info->signal = WTERMSIG(w);
            info->core_dumped = WCOREDUMP(w) ? 1 : 0;
        }
        info->user_time = seconds(exit.usage.ru_utime);
        info->system_time = seconds(exit.usage.ru_stime);
        info->max_rss_kib = exit.usage.ru_maxrss;
        if (start_ns != 0 && end_ns >= start_ns)
            info->wall_time = static_cast<double>(end_ns - start_ns) / 1e9;
    }
    info->stderr_data = err_data;
    info->stderr_length = err_size;
    err_data = nullptr;
    err_size = err_capacity = 0;
}

} // namespace procreact
