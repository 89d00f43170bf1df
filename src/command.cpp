// SPDX-License-Identifier: MIT
//
// procreact_spawn.h's command description: the entry points that build a ProcReact_Command.
#include "command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <unistd.h>

#include "engine/boundary.hpp"

using namespace procreact;

namespace
{

bool valid_name(const char *name) noexcept
{
    return name != nullptr && name[0] != '\0' && std::strchr(name, '=') == nullptr;
}

ProcReact_Command *checked(ProcReact_Command *command) noexcept
{
    if (command == nullptr)
        errno = EINVAL;
    return command;
}

template <typename F> int edit(ProcReact_Command *command, F &&body) noexcept
{
    if (checked(command) == nullptr)
        return -1;
    return guard(-1, [&] { return body(*command); });
}

// Sorts the passed descriptors and finds the channel's number (see
// ProcReact_Command::kept_fds). Throws std::bad_alloc, the command unchanged.
void index_passed(ProcReact_Command &c)
{
    std::vector<int> kept(c.pass_fds);
    std::sort(kept.begin(), kept.end());
    kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
    int target = STDERR_FILENO + 1;
    for (int fd : kept) // sorted: a gap, or the end, is the first free number
        if (fd == target)
            ++target;
    c.kept_fds.swap(kept);
    c.channel_target = target;
}

int invalid() noexcept
{
    errno = EINVAL;
    return -1;
}

bool valid_output_mode(ProcReact_OutputMode mode) noexcept
{
    return mode >= PROCREACT_OUTPUT_CAPTURE && mode <= PROCREACT_OUTPUT_MERGE;
}

} // namespace

extern "C" {

ProcReact_Command *procreact_command_new(const char *const *argv) noexcept
{
    if (argv == nullptr || argv[0] == nullptr || argv[0][0] == '\0') {
        errno = EINVAL;
        return nullptr;
    }
    return guard(static_cast<ProcReact_Command *>(nullptr), [&] {
        auto command = std::make_unique<ProcReact_Command>();
        std::size_t count = 0;
        while (argv[count] != nullptr)
            ++count;
        command->argv.reserve(count); // one allocation, not one per doubling
        for (std::size_t i = 0; i < count; ++i)
            command->argv.emplace_back(argv[i]);
        return command.release();
    });
}

void procreact_command_free(ProcReact_Command *command) noexcept
{
    delete command;
}

int procreact_command_set_cwd(ProcReact_Command *command, const char *directory) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        if (directory != nullptr && directory[0] == '\0')
            return invalid();
        c.has_cwd = directory != nullptr;
        c.cwd = directory != nullptr ? directory : "";
        return 0;
    });
}

int procreact_command_clear_env(ProcReact_Command *command) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        c.clear_env = true;
        c.env_edits.clear();
        return 0;
    });
}

int procreact_command_set_env(ProcReact_Command *command, const char *name, const char *value) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        if (!valid_name(name) || value == nullptr)
            return invalid();
        c.env_edits.push_back({name, value, true});
        return 0;
    });
}

int procreact_command_unset_env(ProcReact_Command *command, const char *name) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        if (!valid_name(name))
            return invalid();
        c.env_edits.push_back({name, std::string(), false});
        return 0;
    });
}

int procreact_command_put_env(ProcReact_Command *command, const char *entry) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        const char *eq = entry != nullptr ? std::strchr(entry, '=') : nullptr;
        if (eq == nullptr || eq == entry)
            return invalid();
        c.env_edits.push_back({std::string(entry, eq), std::string(eq + 1), true});
        return 0;
    });
}

int procreact_command_set_new_process_group(ProcReact_Command *command, ProcReact_bool enable) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        c.new_group = enable != 0;
        return 0;
    });
}

int procreact_command_pass_fd(ProcReact_Command *command, int fd) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        if (fd <= STDERR_FILENO)
            return invalid();
        c.pass_fds.push_back(fd);
        try {
            index_passed(c);
        } catch (...) {
            c.pass_fds.pop_back();
            throw;
        }
        return 0;
    });
}

int procreact_command_set_stdin(ProcReact_Command *command, ProcReact_StdinMode mode, int fd) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        if (mode != PROCREACT_STDIN_NULL && mode != PROCREACT_STDIN_INHERIT && mode != PROCREACT_STDIN_FD)
            return invalid();
        if (mode == PROCREACT_STDIN_FD && fd < 0)
            return invalid();
        c.stdin_mode = mode;
        c.stdin_fd = mode == PROCREACT_STDIN_FD ? fd : -1;
        c.stdin_bytes.reset();
        return 0;
    });
}

int procreact_command_set_stdin_bytes(ProcReact_Command *command, const void *data, size_t length) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        if (data == nullptr && length != 0)
            return invalid();
        c.stdin_bytes = std::make_shared<const std::string>(static_cast<const char *>(data), length);
        c.stdin_mode = PROCREACT_STDIN_BYTES;
        c.stdin_fd = -1;
        return 0;
    });
}

int procreact_command_set_stdout(ProcReact_Command *command, ProcReact_OutputMode mode, int fd) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        if (!valid_output_mode(mode) || mode == PROCREACT_OUTPUT_MERGE || (mode == PROCREACT_OUTPUT_FD && fd < 0))
            return invalid();
        c.stdout_mode = mode;
        c.stdout_fd = mode == PROCREACT_OUTPUT_FD ? fd : -1;
        return 0;
    });
}

int procreact_command_set_stderr(ProcReact_Command *command, ProcReact_OutputMode mode, int fd) noexcept
{
    return edit(command, [&](ProcReact_Command &c) {
        if (!valid_output_mode(mode) || (mode == PROCREACT_OUTPUT_FD && fd < 0))
            return invalid();
        c.stderr_mode = mode;
        c.stderr_fd = mode == PROCREACT_OUTPUT_FD ? fd : -1;
        return 0;
    });
}

} // extern "C"
