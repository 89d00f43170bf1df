// SPDX-License-Identifier: MIT
//
// A launched program as an engine member: what procreact_command_spawn()
// and a batch share.
#pragma once

#include <memory>

#include "../command.hpp"
#include "../engine/member.hpp"

namespace procreact
{

/// Where a spawned program's exit will be waited for, as far as the spawn
/// knows: that decides whether its pidfd is made with it (a pidfd costs
/// about as much as the rest of the parent's own work per program, and only
/// a wait on descriptors needs one; engine/collection_exits.cpp).
enum class ExitWait {
    Unknown,     ///< nobody has said: with one thread none (a get needs none; opened later where needed)
    ByPid,       ///< a collection that waits for exits by pid: a pidfd only with pipes to watch as well
    Descriptors, ///< a collection that waits on descriptors: made with the child
    Ring,        ///< a collection that watches exits through its exit ring: none (but for a channel)
};

/// Launches @p command (with @p argv in place of its own when not null) as
/// a member whose output @p type decodes, for a wait of kind @p wait.
/// Returns 0 with @p member set, or an errno value with no child left and
/// nothing leaked.
int spawn_member(const ProcReact_Command &command, char *const *argv, const ProcReact_Type &type,
                 std::unique_ptr<Member> &member, ExitWait wait) noexcept;

} // namespace procreact
