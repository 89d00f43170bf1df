// SPDX-License-Identifier: MIT
//
// ExitRing: one io_uring instance whose waitid operations report children's
// exits (see exit_ring.hpp), set up with raw system calls: the kernel's
// shared rings, mapped, and nothing else.
#include "exit_ring.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace procreact
{
namespace
{

// The operation is newer than some kernel headers we build with.
constexpr unsigned kOpWaitid = 50; // IORING_OP_WAITID, Linux 6.7

// Waits are submitted as they come, or a few at once: a small submission
// ring. The completion
// ring holds as many exits as a collection usually has members in flight;
// beyond that the kernel keeps them (IORING_FEAT_NODROP) until flushed.
constexpr unsigned kSubmitEntries = 16;
constexpr unsigned kCompleteEntries = 256;

bool switched_off() noexcept
{
    for (const char *name : {"PROCREACT_NO_EXIT_RING", "PROCREACT_NO_PIDFD"}) {
        const char *v = std::getenv(name);
        if (v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0)
            return true;
    }
    return false;
}

// Whether the kernel has failed us once: later collections do not ask again.
std::atomic<bool> g_unavailable{false};

int ring_setup(io_uring_params &params) noexcept
{
    return static_cast<int>(::syscall(SYS_io_uring_setup, kSubmitEntries, &params));
}

int ring_enter(int fd, unsigned submit, unsigned flags) noexcept
{
    int r;
    do
        r = static_cast<int>(::syscall(SYS_io_uring_enter, fd, submit, 0U, flags, nullptr, 0UL));
    while (r < 0 && errno == EINTR);
    return r;
}

bool has_waitid(int fd) noexcept
{
    constexpr unsigned kOps = kOpWaitid + 1;
    alignas(io_uring_probe) unsigned char buffer[sizeof(io_uring_probe) + kOps * sizeof(io_uring_probe_op)] = {};
    auto *probe = reinterpret_cast<io_uring_probe *>(buffer);
    if (::syscall(SYS_io_uring_register, fd, IORING_REGISTER_PROBE, probe, kOps) != 0)
        return false;
    return probe->ops_len > kOpWaitid && (probe->ops[kOpWaitid].flags & IO_URING_OP_SUPPORTED) != 0;
}

void *map(int fd, std::size_t bytes, off_t offset) noexcept
{
    void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
    return p == MAP_FAILED ? nullptr : p;
}

unsigned *at(void *base, unsigned offset) noexcept
{
    return reinterpret_cast<unsigned *>(static_cast<char *>(base) + offset);
}

unsigned load_acquire(const unsigned *p) noexcept
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

void store_release(unsigned *p, unsigned v) noexcept
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

} // namespace

ExitRing::~ExitRing()
{
    unmap();
}

void ExitRing::unmap() noexcept
{
    if (sqes_ != nullptr)
        ::munmap(sqes_, sqes_bytes_);
    if (cq_map_ != nullptr)
        ::munmap(cq_map_, cq_map_bytes_);
    if (sq_map_ != nullptr)
        ::munmap(sq_map_, sq_map_bytes_);
    sqes_ = cq_map_ = sq_map_ = nullptr;
    fd_.reset();
}

bool ExitRing::open() noexcept
{
    if (valid())
        return true;
    if (g_unavailable.load(std::memory_order_relaxed) || switched_off())
        return false;
    io_uring_params params;
    std::memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    params.cq_entries = kCompleteEntries;
    UniqueFd fd(ring_setup(params)); // close-on-exec, as every io_uring descriptor
    if (!fd || (params.features & IORING_FEAT_NODROP) == 0 || !has_waitid(fd.get())) {
        g_unavailable.store(true, std::memory_order_relaxed);
        return false;
    }
    fd_ = std::move(fd);
    const std::size_t sq_bytes = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    const std::size_t cq_bytes = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
    if (!map_rings(sq_bytes, cq_bytes, (params.features & IORING_FEAT_SINGLE_MMAP) != 0)) {
        unmap();
        return false;
    }
    sqes_bytes_ = params.sq_entries * sizeof(io_uring_sqe);
    sqes_ = map(fd_.get(), sqes_bytes_, IORING_OFF_SQES);
    if (sqes_ == nullptr) {
        unmap();
        return false;
    }
    sq_tail_ = at(sq_map_, params.sq_off.tail);
    sq_mask_ = at(sq_map_, params.sq_off.ring_mask);
    sq_flags_ = at(sq_map_, params.sq_off.flags);
    sq_array_ = at(sq_map_, params.sq_off.array);
    void *cq = cq_map_ != nullptr ? cq_map_ : sq_map_;
    cq_head_ = at(cq, params.cq_off.head);
    cq_tail_ = at(cq, params.cq_off.tail);
    cq_mask_ = at(cq, params.cq_off.ring_mask);
    cqes_ = static_cast<char *>(cq) + params.cq_off.cqes;
    return true;
}

bool ExitRing::map_rings(std::size_t sq_bytes, std::size_t cq_bytes, bool single_map) noexcept
{
    if (single_map && cq_bytes > sq_bytes)
        sq_bytes = cq_bytes;
    sq_map_bytes_ = sq_bytes;
    sq_map_ = map(fd_.get(), sq_bytes, IORING_OFF_SQ_RING);
    if (sq_map_ == nullptr || single_map)
        return sq_map_ != nullptr;
    cq_map_bytes_ = cq_bytes;
    cq_map_ = map(fd_.get(), cq_bytes, IORING_OFF_CQ_RING);
    return cq_map_ != nullptr;
}

bool ExitRing::queue(pid_t pid, std::uint64_t token) noexcept
{
    // Only the owner's one thread at a time queues: the kernel takes
    // entries from the head while we add at the tail.
    const unsigned tail = *sq_tail_;
    if (queued_ > *sq_mask_)
        return false;
    const unsigned index = tail & *sq_mask_;
    auto *sqe = static_cast<io_uring_sqe *>(sqes_) + index;
    std::memset(sqe, 0, sizeof *sqe);
    sqe->opcode = static_cast<__u8>(kOpWaitid);
    sqe->fd = pid;
    sqe->len = P_PID;
    sqe->file_index = WEXITED | WNOWAIT; // the options
    sqe->addr2 = 0;                      // no siginfo: the token says whose exit it is
    sqe->user_data = token;
    sq_array_[index] = index;
    store_release(sq_tail_, tail + 1);
    ++queued_;
    return true;
}

bool ExitRing::submit() noexcept
{
    if (queued_ == 0)
        return true;
    const int taken = ring_enter(fd_.get(), queued_, 0);
    if (taken == static_cast<int>(queued_)) {
        queued_ = 0;
        return true;
    }
    // Not all taken: the rest stay queued in the ring, which is not used again.
    if (taken >= 0)
        errno = EBUSY;
    return false;
}

bool ExitRing::flush_overflow() noexcept
{
    if ((load_acquire(sq_flags_) & IORING_SQ_CQ_OVERFLOW) == 0)
        return false;
    return ring_enter(fd_.get(), 0, IORING_ENTER_GETEVENTS) >= 0;
}

bool ExitRing::next(std::uint64_t &token, int &result) noexcept
{
    for (int pass = 0; pass < 2; ++pass) {
        const unsigned head = *cq_head_;
        if (head != load_acquire(cq_tail_)) {
            const auto &cqe = static_cast<const io_uring_cqe *>(cqes_)[head & *cq_mask_];
            token = cqe.user_data;
            result = cqe.res;
            store_release(cq_head_, head + 1);
            return true;
        }
        // Empty: completions the ring could not hold wait in the kernel.
        if (!flush_overflow())
            return false;
    }
    return false;
}

} // namespace procreact
