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

/// Launches @p command (with @p argv in place of its own when not null) as
/// a member whose output @p type decodes. Returns 0 with @p member set, or
/// an errno value with no child left and nothing leaked.
int spawn_member(const ProcReact_Command &command, char *const *argv, const ProcReact_Type &type,
                 std::unique_ptr<Member> &member) noexcept;

} // namespace procreact
