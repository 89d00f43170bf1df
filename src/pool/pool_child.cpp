// SPDX-License-Identifier: MIT
//
// What runs in forked processes: the C worker's loop and the fork server.
//
// Both run after fork() in a copy of the parent: no C++ object is destroyed
// there and nothing unwinds; every way out is _exit(). They use plain system
// calls and malloc()/free() only for the request and reply buffers.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../engine/channel_frame.hpp"
#include "pool.hpp"

namespace procreact
{
namespace
{

// Exit codes of a worker that cannot go on (its death is reported as such).
constexpr int kExitProtocol = 70; // the parent's stream broke mid-message
constexpr int kExitNoMemory = 71; // a request could not be held

// Reads exactly @p size bytes: 1 done, 0 clean end before the first byte,
// -1 an error or an end inside.
int read_exact(int fd, void *buf, std::size_t size) noexcept
{
    auto *p = static_cast<unsigned char *>(buf);
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::read(fd, p + got, size - got);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n == 0 && got == 0 ? 0 : -1;
    }
    return 1;
}

// Writes every byte of @p iov (MSG_NOSIGNAL: a parent gone is an error, not a signal).
bool write_all(int fd, iovec *iov, int count) noexcept
{
    while (count > 0) {
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<std::size_t>(count);
        ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        while (count > 0 && static_cast<std::size_t>(n) >= iov->iov_len) {
            n -= static_cast<ssize_t>(iov->iov_len);
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char *>(iov->iov_base) + n;
            iov->iov_len -= static_cast<std::size_t>(n);
        }
    }
    return true;
}

void put_be32(unsigned char *p, std::uint32_t v) noexcept
{
    p[0] = static_cast<unsigned char>(v >> 24);
    p[1] = static_cast<unsigned char>(v >> 16);
    p[2] = static_cast<unsigned char>(v >> 8);
    p[3] = static_cast<unsigned char>(v);
}

std::uint64_t get_be(const unsigned char *p, int n) noexcept
{
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
        v = (v << 8) | p[i];
    return v;
}

} // namespace

void run_worker(int fd, const WorkerPoolSettings &s) noexcept
{
    // The mask of the thread that forked it is not the worker's: a parent
    // thread that blocks SIGTERM (for a signalfd) would otherwise make every
    // stop wait for the grace and SIGKILL. Program workers start so too.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (s.init != nullptr) {
        const int rc = s.init(s.data);
        if (rc != 0)
            ::_exit((rc & 0xff) != 0 ? (rc & 0xff) : 1);
    }
    // Ready: an empty message (the parent sends no task before it).
    unsigned char ready[4] = {0, 0, 0, 0};
    iovec ready_iov{ready, sizeof ready};
    if (!write_all(fd, &ready_iov, 1))
        ::_exit(0);
    for (;;) {
        unsigned char head[12];
        const int r = read_exact(fd, head, 4);
        if (r == 0)
            ::_exit(0); // the pool closed the channel: retired or shut down
        if (r < 0)
            ::_exit(kExitProtocol);
        std::uint64_t size = get_be(head, 4);
        if (size == 0xffffffffu) {
            if (read_exact(fd, head + 4, 8) != 1)
                ::_exit(kExitProtocol);
            size = get_be(head + 4, 8);
        }
        void *request = nullptr;
        if (size != 0) {
            request = std::malloc(static_cast<std::size_t>(size));
            if (request == nullptr)
                ::_exit(kExitNoMemory);
            if (read_exact(fd, request, static_cast<std::size_t>(size)) != 1)
                ::_exit(kExitProtocol);
        }
        void *reply = nullptr;
        std::size_t reply_size = 0;
        const int rc = s.function(s.data, request, static_cast<std::size_t>(size), &reply, &reply_size);
        std::free(request);
        if (reply == nullptr)
            reply_size = 0;
        // The reply: the function's value (4 bytes, big-endian), then its bytes.
        unsigned char out_head[kMaxHeader];
        unsigned char status[4];
        put_be32(status, static_cast<std::uint32_t>(rc));
        iovec iov[3];
        iov[0] = {out_head, encode_header(4 + static_cast<std::uint64_t>(reply_size), out_head)};
        iov[1] = {status, sizeof status};
        iov[2] = {reply, reply_size};
        const bool sent = write_all(fd, iov, reply_size != 0 ? 3 : 2);
        std::free(reply);
        if (!sent)
            ::_exit(0); // the pool is gone
    }
}

void run_fork_server(int fd, const WorkerPoolSettings &s) noexcept
{
    for (;;) {
        char request;
        const ssize_t n = ::read(fd, &request, 1);
        if (n == 0)
            ::_exit(0); // the pool is gone
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ::_exit(kExitProtocol);
        }
        // The worker: a child of the pool's process (CLONE_PARENT), so the
        // pool watches, signals and reaps it as any child of its own.
        int pair[2];
        std::int32_t answer;
        long pid = -1;
        const bool paired = ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0;
        if (!paired) {
            answer = -errno;
        } else {
#if defined(__s390__) || defined(__CRIS__)
            // These take the stack first and the flags second.
            pid = ::syscall(SYS_clone, nullptr, static_cast<unsigned long>(CLONE_PARENT | SIGCHLD), nullptr, nullptr,
                            nullptr);
#else
            pid = ::syscall(SYS_clone, static_cast<unsigned long>(CLONE_PARENT | SIGCHLD), nullptr, nullptr, nullptr,
                            nullptr);
#endif
            if (pid == 0) {
                ::close(fd);
                ::close(pair[0]);
                run_worker(pair[1], s);
            }
            answer = pid < 0 ? -errno : static_cast<std::int32_t>(pid);
            ::close(pair[1]);
        }
        iovec iov{&answer, sizeof answer};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        if (pid > 0) {
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(c), &pair[0], sizeof(int));
        }
        ssize_t w;
        do
            w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        while (w < 0 && errno == EINTR);
        if (paired)
            ::close(pair[0]); // the pool has its own copy now
        if (w < 0)
            ::_exit(0);
    }
}

} // namespace procreact
