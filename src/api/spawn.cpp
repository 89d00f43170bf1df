// SPDX-License-Identifier: MIT
//
// procreact_command_spawn(): a launched program becomes a future.
#include <cerrno>
#include <new>

#include "../drivers/future_iterators.hpp"
#include "../drivers/future_table.hpp"
#include "../drivers/spawn_member.hpp"

using namespace procreact;

namespace
{

ProcReact_Future failed(const ProcReact_Type &type, int error) noexcept
{
    ProcReact_Future future;
    future.pid = -1;
    future.fd = -1;
    future.type = type;
    future.result = nullptr;
    future.state = spawn_failed_marker(error); // finished: FORK_FAIL, with the reason
    errno = error;
    return future;
}

} // namespace

extern "C" {

ProcReact_Future procreact_command_spawn(const ProcReact_Command *command, ProcReact_Type type) noexcept
{
    if (command == nullptr || type.append == nullptr || type.finalize == nullptr)
        return failed(type, EINVAL);
    reap_leftovers();
    std::unique_ptr<Member> core;
    if (const int error = spawn_member(*command, nullptr, type, core, filling_exit_wait()))
        return failed(type, error);
    return publish_future(std::move(core));
}

} // extern "C"
