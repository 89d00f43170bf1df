// SPDX-License-Identifier: MIT
//
// The launcher: starts a ProcReact_Command with posix_spawn() (the description is in command.cpp).
//
// Why posix_spawn(): glibc starts the child with clone(CLONE_VM|CLONE_VFORK)
// on a stack of its own, so the parent's page tables are not copied (a
// fork() costs more the bigger the parent: see bench/bench-spawn), no
// pthread_atfork handler runs, and an exec failure comes back as the
// function's return value, its failed child already reaped. The file actions
// say everything the child must do (dup2 onto 0-2, keep the passed
// descriptors, close every other one with closefrom, chdir), so no code of
// ours runs in the child either. Measured (bench/bench-spawn): spawning this
// way costs 0.96-1.01x a hand-written posix_spawn()+waitpid() loop from a
// parent of 10 MiB to 4 GiB, and 1.3x from 4 GiB what it costs from 10 MiB,
// where fork()+execve() costs 150x. A clone3()/vfork() path of our own was
// not built: with the library already at the hand loop's cost there is
// nothing measurable left for it to win, and it would have to redo glibc's
// signal handling in the child.
#include "command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/boundary.hpp"
#include "engine/channel_end.hpp"
#include "os/child_watch.hpp"

extern char **environ;

namespace procreact
{
namespace
{

bool is_open(int fd) noexcept
{
    return fd >= 0 && ::fcntl(fd, F_GETFD) != -1;
}

// The program's environment: the parent's (unless cleared) with the edits,
// and @p channel_fd's variables when it is a channel's end (>= 0).
// @p storage owns the strings that @p envp points into.
void build_env(const ProcReact_Command &c, int channel_fd, std::vector<std::string> &storage,
               std::vector<char *> &envp)
{
    storage.clear();
    if (!c.clear_env && environ != nullptr)
        for (char **e = environ; *e != nullptr; ++e)
            storage.emplace_back(*e);
    std::vector<ProcReact_Command::EnvEdit> edits(c.env_edits);
    if (channel_fd >= 0) {
        edits.push_back({PROCREACT_CHANNEL_FD_ENV, std::to_string(channel_fd), true});
        edits.push_back({PROCREACT_CHANNEL_MODE_ENV,
                         c.channel_mode == PROCREACT_CHANNEL_LINES ? "lines" : "framed", true});
    } else {
        // An inherited number would name some other descriptor of the program's.
        edits.push_back({PROCREACT_CHANNEL_FD_ENV, std::string(), false});
        edits.push_back({PROCREACT_CHANNEL_MODE_ENV, std::string(), false});
    }
    for (const auto &edit : edits) {
        const std::size_t len = edit.name.size();
        storage.erase(std::remove_if(storage.begin(), storage.end(),
                                     [&](const std::string &entry) {
                                         return entry.size() > len && entry.compare(0, len, edit.name) == 0 &&
                                                entry[len] == '=';
                                     }),
                      storage.end());
        if (edit.set)
            storage.push_back(edit.name + "=" + edit.value);
    }
    envp.clear();
    envp.reserve(storage.size() + 1);
    for (auto &entry : storage)
        envp.push_back(&entry[0]);
    envp.push_back(nullptr);
}

const char *find_in(const std::vector<std::string> &storage, const char *name) noexcept
{
    const std::size_t len = std::strlen(name);
    for (const auto &entry : storage)
        if (entry.size() > len && entry.compare(0, len, name) == 0 && entry[len] == '=')
            return entry.c_str() + len + 1;
    return nullptr;
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
int resolve(const std::string &program, const std::vector<std::string> &env, const ProcReact_Command &c,
            std::string &path)
{
    const std::string cwd = c.has_cwd ? c.cwd : std::string();
    if (program.find('/') != std::string::npos) {
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
constexpr int kDevNull = -2;

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

class SpawnSetup
{
  public:
    SpawnSetup() noexcept
    {
        actions_ok_ = ::posix_spawn_file_actions_init(&actions_) == 0;
        attr_ok_ = ::posix_spawnattr_init(&attr_) == 0;
    }
    ~SpawnSetup()
    {
        if (actions_ok_)
            ::posix_spawn_file_actions_destroy(&actions_);
        if (attr_ok_)
            ::posix_spawnattr_destroy(&attr_);
    }
    SpawnSetup(const SpawnSetup &) = delete;
    SpawnSetup &operator=(const SpawnSetup &) = delete;

    bool ok() const noexcept { return actions_ok_ && attr_ok_; }
    posix_spawn_file_actions_t *actions() noexcept { return &actions_; }
    posix_spawnattr_t *attr() noexcept { return &attr_; }

  private:
    posix_spawn_file_actions_t actions_{};
    posix_spawnattr_t attr_{};
    bool actions_ok_ = false;
    bool attr_ok_ = false;
};

} // namespace

int launch(const ProcReact_Command &c, Launched &launched) noexcept
{
    try {
        // Descriptors the caller named must be open now.
        if (c.stdin_mode == PROCREACT_STDIN_FD && !is_open(c.stdin_fd))
            return EBADF;
        if (c.stdout_mode == PROCREACT_OUTPUT_FD && !is_open(c.stdout_fd))
            return EBADF;
        if (c.stderr_mode == PROCREACT_OUTPUT_FD && !is_open(c.stderr_fd))
            return EBADF;
        for (int fd : c.pass_fds)
            if (!is_open(fd))
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

        std::vector<std::string> env_storage;
        std::vector<char *> envp;
        // In the program, its end is the lowest number above 2 that no
        // passed descriptor takes (a shell redirects only 0-9: `<&$fd`).
        int chan_target = -1;
        if (child_chan.valid())
            for (chan_target = STDERR_FILENO + 1;
                 std::find(c.pass_fds.begin(), c.pass_fds.end(), chan_target) != c.pass_fds.end(); ++chan_target)
                ;
        build_env(c, chan_target, env_storage, envp);
        std::string path;
        if (const int error = resolve(c.argv[0], env_storage, c, path))
            return error;
        std::vector<char *> argv;
        argv.reserve(c.argv.size() + 1);
        for (const auto &arg : c.argv)
            argv.push_back(const_cast<char *>(arg.c_str()));
        argv.push_back(nullptr);

        SpawnSetup setup;
        if (!setup.ok())
            return ENOMEM;
        posix_spawn_file_actions_t *fa = setup.actions();

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

        int r = 0;
        const auto redirect = [fa](int source, int target) {
            if (source == kDevNull)
                return ::posix_spawn_file_actions_addopen(fa, target, "/dev/null",
                                                          target == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0);
            return source >= 0 ? ::posix_spawn_file_actions_adddup2(fa, source, target) : 0;
        };
        r = redirect(in_source, STDIN_FILENO);
        r = r ? r : redirect(out_source, STDOUT_FILENO);
        if (c.stderr_mode == PROCREACT_OUTPUT_MERGE)
            r = r ? r : ::posix_spawn_file_actions_adddup2(fa, STDOUT_FILENO, STDERR_FILENO);
        else
            r = r ? r : redirect(err_source, STDERR_FILENO);
        // Passed descriptors stay (a dup2 onto itself clears close-on-exec),
        // the channel's end moves to its number; every other descriptor
        // above 2 is closed. Pairs of (source, number in the program).
        std::vector<std::pair<int, int>> pass;
        pass.reserve(c.pass_fds.size() + 1);
        for (int fd : c.pass_fds)
            pass.emplace_back(fd, fd);
        if (child_chan.valid())
            pass.emplace_back(child_chan.get(), chan_target);
        std::sort(pass.begin(), pass.end(), [](const auto &a, const auto &b) { return a.second < b.second; });
        pass.erase(std::unique(pass.begin(), pass.end()), pass.end());
        int next_closed = STDERR_FILENO + 1;
        for (const auto &[source, target] : pass) {
            for (int gap = next_closed; gap < target && r == 0; ++gap)
                r = ::posix_spawn_file_actions_addclose(fa, gap);
            r = r ? r : ::posix_spawn_file_actions_adddup2(fa, source, target);
            next_closed = target + 1;
        }
        r = r ? r : ::posix_spawn_file_actions_addclosefrom_np(fa, next_closed);
        if (c.has_cwd)
            r = r ? r : ::posix_spawn_file_actions_addchdir_np(fa, c.cwd.c_str());

        // Default dispositions for every signal, an empty mask, and a group.
        posix_spawnattr_t *attr = setup.attr();
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
#if defined(__GLIBC__) && defined(__linux__)
        // glibc's sigfillset() leaves out its two internal signals (32 and
        // 33), and its posix_spawn() then sets them to SIG_IGN in the child,
        // which exec keeps: the program would start with real-time signals
        // ignored. Their bits go into the set directly, so they get SIG_DFL.
        for (int sig = 32; sig <= 33; ++sig)
            reinterpret_cast<unsigned long *>(&all)[(sig - 1) / (8 * sizeof(unsigned long))] |=
                1UL << ((sig - 1) % (8 * sizeof(unsigned long)));
#endif
        short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
        if (c.new_group) {
            flags |= POSIX_SPAWN_SETPGROUP;
            r = r ? r : ::posix_spawnattr_setpgroup(attr, 0);
        }
        r = r ? r : ::posix_spawnattr_setsigdefault(attr, &all);
        r = r ? r : ::posix_spawnattr_setsigmask(attr, &none);
        r = r ? r : ::posix_spawnattr_setflags(attr, flags);
        if (r != 0)
            return r;

        launched.start_ns = monotonic_ns();
        pid_t pid = -1;
        r = ::posix_spawn(&pid, path.c_str(), fa, attr, argv.data(), envp.data());
        if (r != 0)
            return r; // no child: glibc reaped the one that failed to exec
        launched.pid = pid;
        return 0; // the child's ends close here, the write ends off the fork list
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

} // namespace procreact
