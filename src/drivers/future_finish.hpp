// SPDX-License-Identifier: MIT
//
// Finishing a future whose streams have ended and whose child has exited.
#pragma once

#include <memory>

#include "../engine/member.hpp"
#include "procreact_future.h"

namespace procreact
{

/// Finishes: closes the streams, reaps the child (a built-in type through
/// the watch; a custom type's finalize waits itself, and a child it leaves is
/// reaped by the library, now or later), stores the result in
/// `future.result` and marks @p future finished. With @p details, the exit
/// details move there.
void *finish(ProcReact_Future &future, std::unique_ptr<Member> member, ProcReact_Status *status,
             Details *details = nullptr) noexcept;

} // namespace procreact
