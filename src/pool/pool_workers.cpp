// SPDX-License-Identifier: MIT
//
// A pool's workers: starting one (forked, from the fork server, or a
// program), the fork server itself, retiring and stopping a worker.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool.hpp"

namespace procreact
{
namespace
{

// Releases the core's lock for its scope and takes it again at its end.
class Unlocked
{
  public:
    explicit Unlocked(CoreLock &lock) noexcept : lock_(lock) { lock_.unlock(); }
    ~Unlocked() { lock_.lock(); }
    Unlocked(const Unlocked &) = delete;
    Unlocked &operator=(const Unlocked &) = delete;

  private:
    CoreLock &lock_;
};

// Forks a child that runs @p run on its end of a new socket pair (made
// before the fork: the child only takes its end, it allocates nothing);
// @p parent gets ours. Returns the pid, or -1 with errno set.
pid_t fork_with_pair(const WorkerPoolSettings &s, void (*run)(int, const WorkerPoolSettings &) noexcept,
                     UniqueFd &parent)
{
    WriteEnd child;
    if (!make_channel_pair(parent, child, true))
        return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(parent.get()); // our end is not listed: the child drops its copy itself
        run(child.release_in_child(), s); // never returns
    }
    return pid;
}

// A forked C worker, running the worker loop.
int fork_worker(PoolCore &core, Member &m)
{
    UniqueFd parent;
    const pid_t pid = fork_with_pair(core.s, run_worker, parent);
    if (pid < 0)
        return errno;
    m.child = ChildWatch(pid, ChildWatch::Pidfd::Spawn);
    m.chan = std::make_shared<ChannelEnd>(std::move(parent), PROCREACT_CHANNEL_FRAMED);
    return 0;
}

// A C worker from the fork server: it answers with the worker's pid (a
// child of ours: it clones with CLONE_PARENT) and our end of its channel.
int worker_from_server(PoolCore &core, Member &m)
{
    const char request = 1;
    ssize_t n;
    do
        n = ::send(core.server_sock.get(), &request, 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        return n < 0 ? errno : EPIPE;
    std::int32_t answer = 0;
    UniqueFd end;
    {
        iovec iov{&answer, sizeof answer};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        do
            n = ::recvmsg(core.server_sock.get(), &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        int fd = -1;
        if (n > 0 && msg.msg_controllen > 0) {
            cmsghdr *c = CMSG_FIRSTHDR(&msg);
            if (c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
        }
        end.reset(fd);
        if (n != static_cast<ssize_t>(sizeof answer))
            return n < 0 ? errno : EPIPE;
    }
    if (answer <= 0)
        return answer < 0 ? -answer : EPROTO;
    // The pidfd is opened now, while the worker is certainly unreaped.
    m.child = ChildWatch(static_cast<pid_t>(answer), ChildWatch::Pidfd::Spawn);
    if (!end.valid())
        return EPROTO; // the member kills and reaps it
    m.chan = std::make_shared<ChannelEnd>(std::move(end), PROCREACT_CHANNEL_FRAMED);
    return 0;
}

// A fork server that is gone (killed: the OOM killer picks small processes
// too) is reaped and made again, once, from the process as it is now.
int worker_from_fresh_server(PoolCore &core, Member &m)
{
    const int error = worker_from_server(core, m);
    if (error != EPIPE && error != ECONNRESET)
        return error;
    core.server_sock.reset();
    core.server.kill_and_reap(); // its socket ended: it is gone or going
    if (const int again = start_fork_server(core))
        return again;
    return worker_from_server(core, m);
}

int launch_program(PoolCore &core, Member &m)
{
    Launched launched;
    if (const int error = launch(*core.s.command, launched))
        return error;
    m.child = launched.pidfd ? ChildWatch(launched.pid, std::move(launched.pidfd))
                             : ChildWatch(launched.pid, ChildWatch::Pidfd::Spawn);
    m.details.start_ns = launched.start_ns;
    m.chan = std::make_shared<ChannelEnd>(std::move(launched.chan), core.s.mode);
    return 0;
}

} // namespace

int start_worker(PoolCore &core, CoreLock &lock) noexcept
{
    std::unique_ptr<Worker> w;
    std::unique_ptr<Member> m;
    try {
        w.reset(new Worker());
        m.reset(new Member());
        core.workers.reserve(core.workers.size() + 1); // the room for it, taken below
    } catch (...) {
        return ENOMEM;
    }
    const long long now = monotonic_ns();
    int error = 0;
    {
        // The fork (the longer, the larger the parent), the spawn or the fork
        // server's answer, and the collection's part run without the lock:
        // the stepping role keeps the collection, the fork server and the
        // list of workers (only its holder adds or removes) ours meanwhile,
        // while other threads read statuses, submit or free tasks.
        Unlocked unlocked(lock);
        try {
            if (!core.s.forked())
                error = launch_program(core, *m);
            else if (core.server_sock.valid())
                error = worker_from_fresh_server(core, *m);
            else
                error = fork_worker(core, *m);
            if (error == 0) {
                m->chan->set_max_message(core.s.max_message);
                m->plan.signo = core.s.signo;
                m->plan.grace_ns = core.s.grace_ns;
                m->plan.own_stop = m->plan.own_deadline = true;
                if (m->details.start_ns == 0)
                    m->details.start_ns = now;
                w->member = m.get();
                w->pid = m->child.pid();
                if (!core.coll->add(m)) // may throw too
                    error = errno != 0 ? errno : ENOMEM;
            }
        } catch (...) {
            error = ENOMEM;
        }
        if (error != 0)
            m.reset(); // a child started is killed and reaped with the member, still unlocked
    }
    if (error != 0)
        return error;
    // A forked worker says when its init is done; a program, when asked to.
    w->ready = !core.s.forked() && !core.s.ready_message;
    w->started_ns = now;
    core.workers.push_back(std::move(w)); // within the reserved room
    ++core.stats.workers_started;
    return 0;
}

int start_fork_server(PoolCore &core) noexcept
{
    UniqueFd parent;
    const pid_t pid = fork_with_pair(core.s, run_fork_server, parent);
    if (pid < 0)
        return errno;
    core.server = ChildWatch(pid, ChildWatch::Pidfd::Later);
    // Listed, so that no later child keeps the server alive after we close it.
    ForkGuard guard;
    if (!core.server_sock.adopt(parent.release(), guard))
        return ENOMEM; // closed; the server reads its end of stream and leaves
    return 0;
}

void retire_worker(PoolCore &core, Worker &w) noexcept
{
    if (w.retiring)
        return;
    w.retiring = true;
    w.member->chan->shutdown_send(); // it reads the end of its requests and leaves
    // One that does not leave within the grace period gets the stop sequence.
    core.coll->set_deadline(*w.member, add_saturating(monotonic_ns(), std::max(core.s.grace_ns, kNsPerSecond)));
}

void stop_worker(PoolCore &core, Worker &w, StopReason why) noexcept
{
    if (w.stopped == StopReason::None)
        w.stopped = why;
    // The exit details' flags say why (a broken channel adds none: its task crashed).
    unsigned flag = PROCREACT_EXIT_CANCELLED;
    if (why == StopReason::Deadline)
        flag = PROCREACT_EXIT_TIMED_OUT;
    else if (why == StopReason::Broken)
        flag = 0;
    core.coll->stop_member(*w.member, flag);
}

std::uint64_t resident_bytes(pid_t pid) noexcept
{
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid));
    UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
    if (!fd)
        return 0;
    char text[128];
    ssize_t n;
    do
        n = ::read(fd.get(), text, sizeof text - 1);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(text, "%llu %llu", &size, &resident) != 2)
        return 0;
    return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace procreact
