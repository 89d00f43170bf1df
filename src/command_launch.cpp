// SPDX-License-Identifier: MIT
//
// The launcher: starts a ProcReact_Command (the description is in command.cpp)
// with clone_exec() (os/clone_exec.hpp) where it works, else posix_spawn().
//
// Why a launcher of our own (measured: doc/design.md, "Spawning programs"):
// it costs the parent three system calls per program (the signal mask twice
// and the clone, which also gives the pidfd), where posix_spawn() costs a
// stack mapped and unmapped per call, a check of every file action's
// descriptor against RLIMIT_NOFILE (prlimit64), and a pidfd_open() after.
// Either way the child shares the parent's memory (CLONE_VM|CLONE_VFORK):
// no page tables are copied and no pthread_atfork handler runs, and an
// exec failure comes back to the parent, the failed child reaped.
//
// The program is looked for in the parent (stat and access of each
// candidate) only where the spawn cannot report an exec error itself: with
// posix_spawn() (valgrind, for one, emulates its child as a copy that cannot
// report it), and with the launcher until one launch has shown that the
// child shares our memory (under valgrind it does not, and the launcher
// turns itself off). Otherwise the child searches, as execvp() does.
#include "command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/boundary.hpp"
#include "engine/channel_end.hpp"
#include "engine/spawn_window.hpp"
#include "os/child_watch.hpp"
#include "os/clone_exec.hpp"
#include "os/small_array.hpp"

namespace procreact
{
namespace
{

// What a spawn keeps on its stack: argv pointers, kept descriptors.
constexpr std::size_t kStackWords = 32;
constexpr std::size_t kStackFds = 16;

bool is_open(int fd) noexcept
{
    return fd >= 0 && ::fcntl(fd, F_GETFD) != -1;
}

// Whether every descriptor that @p c names is open.
bool named_fds_open(const ProcReact_Command &c) noexcept
{
    if (c.stdin_mode == PROCREACT_STDIN_FD && !is_open(c.stdin_fd))
        return false;
    if (c.stdout_mode == PROCREACT_OUTPUT_FD && !is_open(c.stdout_fd))
        return false;
    if (c.stderr_mode == PROCREACT_OUTPUT_FD && !is_open(c.stderr_fd))
        return false;
    return std::all_of(c.pass_fds.begin(), c.pass_fds.end(), is_open);
}

// 0 when @p path names an executable regular file, else the errno that
// execve() would give. A relative @p path is looked at from @p cwd (the
// program's working directory, empty for the parent's), since the child
// changes directory before it executes.
int executable(const std::string &path, const std::string &cwd)
{
    const std::string seen = path[0] == '/' || cwd.empty() ? path : cwd + "/" + path;
    struct stat st;
    if (::stat(seen.c_str(), &st) != 0)
        return errno;
    if (!S_ISREG(st.st_mode) || ::access(seen.c_str(), X_OK) != 0)
        return EACCES;
    return 0;
}

// execvp()'s search: the path to run, or an errno value.
int resolve(const char *program, char *const *env, const ProcReact_Command &c, std::string &path)
{
    const std::string cwd = c.has_cwd ? c.cwd : std::string();
    if (std::strchr(program, '/') != nullptr) {
        // Checked here, as for a PATH lookup, so that the common failures
        // never depend on how posix_spawn() reports an exec error (valgrind,
        // for one, emulates its child in a way that cannot report it).
        path = program;
        return executable(path, cwd);
    }
    // The program's own environment decides, as for execvp() in the child
    // and Python's subprocess (os.defpath): an inherited PATH is in it; a
    // cleared or unset one means the default path, never the parent's.
    const char *search = find_in(env, "PATH");
    if (search == nullptr || search[0] == '\0')
        search = "/bin:/usr/bin";
    int error = ENOENT;
    for (const char *p = search;; ++p) {
        const char *end = std::strchr(p, ':');
        const std::string dir = end ? std::string(p, end) : std::string(p);
        path = (dir.empty() ? std::string(".") : dir) + "/" + program;
        const int found = executable(path, cwd);
        if (found == 0)
            return 0;
        if (found == EACCES)
            error = EACCES; // there, not executable: go on, remember
        if (end == nullptr)
            break;
        p = end;
    }
    return error;
}

// A stream that reads from or writes to /dev/null: the child opens it
// itself (a posix_spawn file action), so the program never gets a
// descriptor of the parent's that an application may have closed and
// reused since (a cached one would be handed over whatever it had become).
constexpr int kDevNull = kChildDevNull;

// A descriptor of the caller's in 0-2 may be overwritten by another
// stream's dup2 before its own: a copy above 2 is used instead.
int safe_source(int fd, int target, UniqueFd &copy) noexcept
{
    if (fd > STDERR_FILENO || fd == target)
        return fd;
    copy.reset(::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
    return copy.get();
}

// The child's end of an output stream, held by the parent until the spawn.
struct OutputEnds {
    WriteEnd pipe; // a captured stream's write end (listed: see fd.hpp)
    UniqueFd copy; // a caller's descriptor in 0-2, copied above 2
};

// Prepares stdout or stderr (@p target): @p source becomes the descriptor to
// dup2 onto @p target (-1: leave the target as it is; kDevNull: open
// /dev/null there), and @p parent_end the read end of a captured stream.
// Returns 0 or an errno value.
int setup_output(ProcReact_OutputMode mode, int fd, int target, UniqueFd &parent_end, OutputEnds &ends,
                 int &source) noexcept
{
    switch (mode) {
    case PROCREACT_OUTPUT_CAPTURE:
        if (!make_pipe(parent_end, ends.pipe))
            return errno;
        source = ends.pipe.get();
        return 0;
    case PROCREACT_OUTPUT_DISCARD:
        source = kDevNull;
        return 0;
    case PROCREACT_OUTPUT_FD:
        source = safe_source(fd, target, ends.copy);
        return source < 0 ? errno : 0;
    default: // inherit; merge is a dup2 of stdout, added by the caller
        return 0;
    }
}

} // namespace

int launch(const ProcReact_Command &c, Launched &launched) noexcept
{
    return launch(c, nullptr, launched);
}

int launch(const ProcReact_Command &c, char *const *words, Launched &launched) noexcept
{
    try {
        const bool cloning = clone_exec_enabled();
        // The checks, where the spawn could not report the error itself (see
        // the top of this file): the program, and the descriptors the caller
        // named, which must be open (the launcher's child reports a failed
        // dup as it reports a failed exec).
        const bool checked = !cloning || !clone_exec_verified();
        if (checked && !named_fds_open(c))
            return EBADF;
        // A missing directory is told apart from a missing program.
        if (c.has_cwd) {
            struct stat st;
            if (::stat(c.cwd.c_str(), &st) != 0)
                return errno;
            if (!S_ISDIR(st.st_mode))
                return ENOTDIR;
            if (::access(c.cwd.c_str(), X_OK) != 0)
                return errno;
        }

        // The channel: the program's end is the one descriptor of it that
        // it inherits (the parent's end is listed, kept from every child).
        WriteEnd child_chan;
        if (c.channel_mode != PROCREACT_CHANNEL_NONE && !make_channel_pair(launched.chan, child_chan, false))
            return errno;
        // In the program, its end takes the command's channel number.
        const int chan_target = child_chan.valid() ? c.channel_target : -1;

        std::vector<std::string> env_storage;
        std::vector<char *> env_array;
        char *const *envp = build_env(c, chan_target, env_storage, env_array);
        // The command's argv as execve() takes it, on the stack (no
        // allocation per spawn for the usual few arguments).
        SmallArray<char *, kStackWords> own_argv(words == nullptr ? c.argv.size() + 1 : 0);
        if (words == nullptr) {
            for (const auto &arg : c.argv)
                own_argv.push_back(const_cast<char *>(arg.c_str()));
            own_argv.push_back(nullptr);
        }
        char *const *argv = words != nullptr ? words : own_argv.data();
        const char *const program = argv[0];
        const bool has_slash = std::strchr(program, '/') != nullptr;
        std::string path;
        if (checked)
            if (const int error = resolve(program, envp, c, path))
                return error;

        // The child's ends: held here until the spawn, then closed.
        UniqueFd child_in, copy_in;
        int in_source = -1;

        switch (c.stdin_mode) {
        case PROCREACT_STDIN_NULL:
            in_source = kDevNull;
            break;
        case PROCREACT_STDIN_FD:
            in_source = safe_source(c.stdin_fd, STDIN_FILENO, copy_in);
            break;
        case PROCREACT_STDIN_BYTES: {
            // Our end is the write end: listed for its whole life, so no
            // forked child keeps it (the program would never see end of input).
            if (!make_pipe(child_in, launched.in))
                return errno;
            ::fcntl(launched.in.get(), F_SETFL, ::fcntl(launched.in.get(), F_GETFL) | O_NONBLOCK);
            in_source = child_in.get();
            break;
        }
        default: // inherit
            break;
        }
        OutputEnds out_ends, err_ends;
        int out_source = -1, err_source = -1;
        if (const int error =
                setup_output(c.stdout_mode, c.stdout_fd, STDOUT_FILENO, launched.out, out_ends, out_source))
            return error;
        if (const int error =
                setup_output(c.stderr_mode, c.stderr_fd, STDERR_FILENO, launched.err, err_ends, err_source))
            return error;
        if (in_source < 0 && c.stdin_mode == PROCREACT_STDIN_FD)
            return errno;
        const int sources[3] = {in_source, out_source, err_source};

        // Kept in the program: the passed descriptors (sorted once per
        // command), and the channel's number (its end is moved there first;
        // no passed descriptor takes it).
        SmallArray<int, kStackFds> pass(c.kept_fds.size() + 1);
        bool chan_placed = !child_chan.valid();
        for (int fd : c.kept_fds) {
            if (!chan_placed && chan_target < fd) {
                pass.push_back(chan_target);
                chan_placed = true;
            }
            pass.push_back(fd);
        }
        if (!chan_placed)
            pass.push_back(chan_target);
        const ChannelMove move{child_chan.get(), chan_target};

        if (cloning) {
            ChildPlan plan;
            if (checked || has_slash) {
                plan.path = checked ? path.c_str() : program;
            } else {
                // As resolve(): the program's own PATH, else the default.
                plan.file = program;
                plan.search = find_in(envp, "PATH");
                if (plan.search == nullptr || plan.search[0] == '\0')
                    plan.search = "/bin:/usr/bin";
            }
            plan.argv = argv;
            plan.envp = envp;
            std::copy(sources, sources + 3, plan.sources);
            plan.merge_stderr = c.stderr_mode == PROCREACT_OUTPUT_MERGE;
            if (plan.merge_stderr)
                plan.sources[STDERR_FILENO] = -1;
            plan.pass = pass.data();
            plan.pass_count = pass.size();
            plan.cwd = c.has_cwd ? c.cwd.c_str() : nullptr;
            plan.new_group = c.new_group;
            plan.move_source = move.source;
            plan.move_target = move.target;
            plan.want_pidfd = launched.want_pidfd;
            launched.start_ns = monotonic_ns();
            pid_t pid = -1;
            int r;
            {
                SpawnWindow window; // a fill's other threads go on meanwhile
                r = clone_exec(plan, pid, launched.pidfd);
            }
            if (r == 0)
                launched.pid = pid;
            if (r >= 0)
                return r; // started, or failed with no child left
            // The launcher does not work here: posix_spawn(), with the checks.
            if (!checked) {
                if (!named_fds_open(c))
                    return EBADF;
                if (const int error = resolve(program, envp, c, path))
                    return error;
            }
        }
        SpawnWindow window;
        return spawn_with_posix(c, path.c_str(), argv, envp, sources, pass.data(), pass.size(), move, launched);
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

} // namespace procreact
