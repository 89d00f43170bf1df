// SPDX-License-Identifier: MIT
//
// The launcher's fallback: a program started with posix_spawn(), its file
// actions and attributes saying everything the child does.
#include "command.hpp"

#include <cerrno>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "os/clock.hpp"
#include "os/clone_exec.hpp"

namespace procreact
{
namespace
{

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

int spawn_with_posix(const ProcReact_Command &c, const std::string &path, std::vector<char *> &argv, char *const *envp,
                     const int sources[3], const std::vector<int> &pass, ChannelMove move, Launched &launched)
{
    SpawnSetup setup;
    if (!setup.ok())
        return ENOMEM;
    posix_spawn_file_actions_t *fa = setup.actions();
    int r = 0;
    const auto redirect = [fa](int source, int target) {
        if (source == kChildDevNull)
            return ::posix_spawn_file_actions_addopen(fa, target, "/dev/null",
                                                      target == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0);
        return source >= 0 ? ::posix_spawn_file_actions_adddup2(fa, source, target) : 0;
    };
    r = redirect(sources[STDIN_FILENO], STDIN_FILENO);
    r = r ? r : redirect(sources[STDOUT_FILENO], STDOUT_FILENO);
    if (c.stderr_mode == PROCREACT_OUTPUT_MERGE)
        r = r ? r : ::posix_spawn_file_actions_adddup2(fa, STDOUT_FILENO, STDERR_FILENO);
    else
        r = r ? r : redirect(sources[STDERR_FILENO], STDERR_FILENO);
    // The channel's end moves to its number (after 0-2, whose sources it
    // may overwrite); passed descriptors stay (a dup2 onto itself clears
    // close-on-exec); every other descriptor above 2 is closed.
    if (move.source >= 0)
        r = r ? r : ::posix_spawn_file_actions_adddup2(fa, move.source, move.target);
    int next_closed = STDERR_FILENO + 1;
    for (int fd : pass) {
        for (int gap = next_closed; gap < fd && r == 0; ++gap)
            r = ::posix_spawn_file_actions_addclose(fa, gap);
        r = r ? r : ::posix_spawn_file_actions_adddup2(fa, fd, fd);
        next_closed = fd + 1;
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
    r = ::posix_spawn(&pid, path.c_str(), fa, attr, argv.data(), envp);
    if (r != 0)
        return r; // no child: glibc reaped the one that failed to exec
    launched.pid = pid;
    return 0;
}

} // namespace procreact
