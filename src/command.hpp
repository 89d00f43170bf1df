// SPDX-License-Identifier: MIT
//
// A command description, and the launcher that starts it (clone_exec() or posix_spawn()).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "os/fd.hpp"
#include "procreact_channel.h"
#include "procreact_spawn.h"

struct ProcReact_Command {
    std::vector<std::string> argv;
    bool clear_env = false;
    // In order; a later edit of the same name wins. An unset has no value.
    struct EnvEdit {
        std::string name;
        std::string value;
        bool set;
    };
    std::vector<EnvEdit> env_edits;
    bool has_cwd = false;
    std::string cwd;
    bool new_group = false;
    std::vector<int> pass_fds;
    // Derived from pass_fds once per command, when one is added (every spawn
    // reads them): the passed descriptors sorted and unique, and the number
    // that a channel's end takes in the program (the lowest above 2 that no
    // passed descriptor takes: a shell redirects only 0-9, `<&$fd`).
    std::vector<int> kept_fds;
    int channel_target = 3;
    ProcReact_StdinMode stdin_mode = PROCREACT_STDIN_NULL;
    int stdin_fd = -1;
    std::shared_ptr<const std::string> stdin_bytes;
    ProcReact_OutputMode stdout_mode = PROCREACT_OUTPUT_CAPTURE;
    int stdout_fd = -1;
    ProcReact_OutputMode stderr_mode = PROCREACT_OUTPUT_INHERIT;
    int stderr_fd = -1;
    ProcReact_ChannelMode channel_mode = PROCREACT_CHANNEL_NONE;
};

namespace procreact
{

/// A started program: its pid and the parent's ends of its pipes.
struct Launched {
    pid_t pid = -1;
    UniqueFd out;   ///< read end of captured stdout (with stderr when merged)
    UniqueFd err;   ///< read end of captured stderr
    WriteEnd in;    ///< write end of stdin fed from bytes (non-blocking)
    UniqueFd chan;  ///< the parent's end of the channel (with a channel mode)
    UniqueFd pidfd; ///< the child's pidfd, when the launcher made one
    long long start_ns = 0;
    bool want_pidfd = true; ///< in: the launcher makes the pidfd with the child (see spawn_member.hpp)
};

/// A descriptor moved to another number in the program (a channel's end);
/// source -1 moves nothing.
struct ChannelMove {
    int source;
    int target;
};

/// Starts the program at @p path with posix_spawn() (the launcher's
/// fallback): @p sources are dup2'ed onto 0-2 (-1: left alone;
/// kChildDevNull: /dev/null), @p move's source dup2'ed onto its target,
/// @p pass (@p pass_count of them, sorted, unique; the move's target among them) kept, every other
/// descriptor closed. Returns 0 with @p launched's pid and start time set,
/// or an errno value with no child left.
int spawn_with_posix(const ProcReact_Command &command, const char *path, char *const *argv, char *const *envp,
                     const int sources[3], const int *pass, std::size_t pass_count, ChannelMove move,
                     Launched &launched);

/// The program's environment: the parent's (unless cleared) with the
/// command's edits, and @p channel_fd's variables when it is a channel's end
/// (>= 0). Without edits (and no channel variable to set or drop) it is the
/// parent's own array, used as it is (no copy per spawn); otherwise
/// @p storage owns the strings that @p envp points into. Throws std::bad_alloc.
char *const *build_env(const ProcReact_Command &command, int channel_fd, std::vector<std::string> &storage,
                       std::vector<char *> &envp);

/// The value of @p name in @p env, or null.
const char *find_in(char *const *env, const char *name) noexcept;

/// Starts @p command. Returns 0 with @p launched filled, or an errno value:
/// no child exists then and nothing leaks (see procreact_command_spawn()).
int launch(const ProcReact_Command &command, Launched &launched) noexcept;

/// The same with @p argv (NULL-terminated, not empty) in place of the
/// command's own argument list (a batch's job); NULL: the command's own.
int launch(const ProcReact_Command &command, char *const *argv, Launched &launched) noexcept;

} // namespace procreact
