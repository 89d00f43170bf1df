// SPDX-License-Identifier: MIT
//
// The launcher's fallback: a program started with posix_spawn(), its file
// actions and attributes saying everything the child does.
//
// They are built once and reused by every later spawn, of this command or
// another, for as long as what they say stays the same: each
// posix_spawn_file_actions_add*() call checks its descriptor against
// RLIMIT_NOFILE with a system call (prlimit64), so building them cost up to
// seven system calls per spawn. What they say is the key below: the
// command's directory and group, and the descriptors of this spawn, which
// repeat from spawn to spawn where nothing is captured (and often where
// something is, since a closed pipe's numbers are the lowest free ones and
// come back). The argv and the environment are not in them.
#include "command.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <new>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "os/clock.hpp"
#include "os/clone_exec.hpp"

namespace procreact
{

/// What a setup says, compared (in spawn_with_posix()) before it is reused.
struct PosixSpawnKey {
    int sources[3] = {-1, -1, -1};
    bool merge = false;
    ChannelMove move{-1, -1};
    std::vector<int> pass;
    bool has_cwd = false;
    std::string cwd;
    bool new_group = false;

};

/// File actions and attributes, read-only once built (posix_spawn() takes
/// them as const, so several threads may spawn with one at once).
struct PosixSpawnSetup {
    PosixSpawnSetup() noexcept
    {
        actions_ok = ::posix_spawn_file_actions_init(&actions) == 0;
        attr_ok = ::posix_spawnattr_init(&attr) == 0;
    }
    ~PosixSpawnSetup()
    {
        if (actions_ok)
            ::posix_spawn_file_actions_destroy(&actions);
        if (attr_ok)
            ::posix_spawnattr_destroy(&attr);
    }
    PosixSpawnSetup(const PosixSpawnSetup &) = delete;
    PosixSpawnSetup &operator=(const PosixSpawnSetup &) = delete;

    PosixSpawnKey key;
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attr{};
    bool actions_ok = false;
    bool attr_ok = false;
};

namespace
{

// The last setup built, shared by every thread (posix_spawn() only reads
// it; a thread that needs another key builds its own and puts it here).
// Never destroyed, so that a thread still spawning while the process exits
// does not read it after its destructor ran.
std::shared_ptr<const PosixSpawnSetup> &last_setup()
{
    static auto *last = new std::shared_ptr<const PosixSpawnSetup>();
    return *last;
}

// Fills @p s from its key; 0 or an errno value.
int build(PosixSpawnSetup &s) noexcept
{
    if (!s.actions_ok || !s.attr_ok)
        return ENOMEM;
    const PosixSpawnKey &k = s.key;
    posix_spawn_file_actions_t *fa = &s.actions;
    int r = 0;
    const auto redirect = [fa](int source, int target) {
        if (source == kChildDevNull)
            return ::posix_spawn_file_actions_addopen(fa, target, "/dev/null",
                                                      target == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0);
        return source >= 0 ? ::posix_spawn_file_actions_adddup2(fa, source, target) : 0;
    };
    r = redirect(k.sources[STDIN_FILENO], STDIN_FILENO);
    r = r ? r : redirect(k.sources[STDOUT_FILENO], STDOUT_FILENO);
    if (k.merge)
        r = r ? r : ::posix_spawn_file_actions_adddup2(fa, STDOUT_FILENO, STDERR_FILENO);
    else
        r = r ? r : redirect(k.sources[STDERR_FILENO], STDERR_FILENO);
    // The channel's end moves to its number (after 0-2, whose sources it
    // may overwrite); passed descriptors stay (a dup2 onto itself clears
    // close-on-exec); every other descriptor above 2 is closed.
    if (k.move.source >= 0)
        r = r ? r : ::posix_spawn_file_actions_adddup2(fa, k.move.source, k.move.target);
    int next_closed = STDERR_FILENO + 1;
    for (int fd : k.pass) {
        for (int gap = next_closed; gap < fd && r == 0; ++gap)
            r = ::posix_spawn_file_actions_addclose(fa, gap);
        r = r ? r : ::posix_spawn_file_actions_adddup2(fa, fd, fd);
        next_closed = fd + 1;
    }
    r = r ? r : ::posix_spawn_file_actions_addclosefrom_np(fa, next_closed);
    if (k.has_cwd)
        r = r ? r : ::posix_spawn_file_actions_addchdir_np(fa, k.cwd.c_str());

    // Default dispositions for every signal, an empty mask, and a group.
    posix_spawnattr_t *attr = &s.attr;
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
    if (k.new_group) {
        flags |= POSIX_SPAWN_SETPGROUP;
        r = r ? r : ::posix_spawnattr_setpgroup(attr, 0);
    }
    r = r ? r : ::posix_spawnattr_setsigdefault(attr, &all);
    r = r ? r : ::posix_spawnattr_setsigmask(attr, &none);
    r = r ? r : ::posix_spawnattr_setflags(attr, flags);
    return r;
}

} // namespace

int spawn_with_posix(const ProcReact_Command &c, const char *path, char *const *argv, char *const *envp,
                     const int sources[3], const int *pass, std::size_t pass_count, ChannelMove move,
                     Launched &launched)
{
    const bool merge = c.stderr_mode == PROCREACT_OUTPUT_MERGE;
    std::shared_ptr<const PosixSpawnSetup> setup = std::atomic_load(&last_setup());
    // Compared in place: a key is made (and its lists copied) only when
    // the setup has to be built anew.
    const auto same = [&](const PosixSpawnKey &k) {
        return std::equal(sources, sources + 3, k.sources) && k.merge == merge && k.move.source == move.source &&
               k.move.target == move.target && std::equal(pass, pass + pass_count, k.pass.begin(), k.pass.end()) &&
               k.has_cwd == c.has_cwd && (!c.has_cwd || k.cwd == c.cwd) && k.new_group == c.new_group;
    };
    if (!setup || !same(setup->key)) {
        auto made = std::make_shared<PosixSpawnSetup>();
        PosixSpawnKey &key = made->key;
        std::copy(sources, sources + 3, key.sources);
        key.merge = merge;
        key.move = move;
        key.pass.assign(pass, pass + pass_count);
        key.has_cwd = c.has_cwd;
        if (c.has_cwd)
            key.cwd = c.cwd;
        key.new_group = c.new_group;
        if (const int error = build(*made))
            return error;
        setup = made;
        std::atomic_store(&last_setup(), setup); // for the next spawn with this key
    }

    launched.start_ns = monotonic_ns();
    pid_t pid = -1;
    const int r = ::posix_spawn(&pid, path, &setup->actions, &setup->attr, argv, envp);
    if (r != 0)
        return r; // no child: glibc reaped the one that failed to exec
    launched.pid = pid;
    return 0;
}

} // namespace procreact
