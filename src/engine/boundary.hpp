// SPDX-License-Identifier: MIT
//
// The C boundary: every exported function is noexcept and runs its body
// through guard(), which turns any C++ exception (in practice std::bad_alloc)
// into the function's documented failure value. No exception ever reaches a
// C caller.
#pragma once

#include <cerrno>
#include <new>

#include "procreact_pid.h"

namespace procreact
{

template <typename R, typename F> R guard(R on_error, F &&body) noexcept
{
    try {
        return body();
    } catch (const std::bad_alloc &) {
        errno = ENOMEM;
        return on_error;
    } catch (...) {
        return on_error;
    }
}

template <typename F> void guard_void(F &&body) noexcept
{
    try {
        body();
    } catch (...) {
    }
}

/// Where a caller passed no status pointer, write to a scratch one.
class StatusOut
{
  public:
    explicit StatusOut(ProcReact_Status *status) noexcept : ptr_(status ? status : &scratch_) {}
    ProcReact_Status *get() noexcept { return ptr_; }
    void set(ProcReact_Status s) noexcept { *ptr_ = s; }

  private:
    ProcReact_Status scratch_ = PROCREACT_STATUS_OK;
    ProcReact_Status *ptr_;
};

} // namespace procreact
