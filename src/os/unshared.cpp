// SPDX-License-Identifier: MIT
//
// Unshared memory: a MADV_WIPEONFORK region with a small size-class allocator.
#include "unshared.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <pthread.h>
#include <sys/mman.h>

#include "instrumented.hpp"
#include "threads.hpp"

namespace procreact
{
namespace
{

// AddressSanitizer and MemorySanitizer check blocks the heap hands out.
// ThreadSanitizer is served from the region: the allocator's mutex orders
// a block's last use before its reuse, as it must (kAddressSanitizer and
// under_valgrind() in instrumented.hpp).

// Reserved, not committed: a page costs memory once a block in it is used.
// 32 MiB holds the records of tens of thousands of children in flight;
// beyond it blocks come from the heap.
constexpr std::size_t kRegionSize = std::size_t{32} << 20;
constexpr std::size_t kMinBlock = 16;
constexpr int kClasses = 13; // 16, 32, ..., 64 KiB (a flat table's array: thousands of children)
static_assert(kMinBlock << (kClasses - 1) == kUnsharedMax, "one class per power of two up to the largest block");

// The allocator's own state sits at the start of the region, so that
// allocating never writes a page that a child shares either. All zero is
// its starting state: what a forked child finds there.
struct Header {
    pthread_mutex_t lock; // all zero is PTHREAD_MUTEX_INITIALIZER on Linux
    std::size_t used;     // bytes handed out from the region's start (0: none yet)
    void *free_list[kClasses];
};
constexpr std::size_t kFirstBlock = 4096; // the header's page
static_assert(sizeof(Header) <= kFirstBlock, "the header fits its page");

// The region, once made; null when the heap serves every block. Written
// once, then only read (a page only read stays shared and costs nothing).
// (std::call_once would write thread-local pointers on every call.)
std::atomic<char *> g_region{nullptr};

char *make_region() noexcept
{
    if (kAddressSanitizer || under_valgrind())
        return nullptr; // their checks must see every block
    void *region = ::mmap(nullptr, kRegionSize, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED)
        return nullptr;
#ifdef MADV_WIPEONFORK
    if (::madvise(region, kRegionSize, MADV_WIPEONFORK) == 0) {
        g_region.store(static_cast<char *>(region), std::memory_order_release);
        return static_cast<char *>(region);
    }
#endif
    ::munmap(region, kRegionSize); // no gain without it: the heap serves
    return nullptr;
}

char *region() noexcept
{
    static char *const made = make_region(); // its guard is only read once set
    return made;
}

// Made when the library is loaded: the first record is often allocated
// under the table lock, where no system call may run.
__attribute__((constructor)) void make_region_at_load()
{
    region();
}

int class_of(std::size_t size) noexcept
{
    int c = 0;
    for (std::size_t block = kMinBlock; block < size; block <<= 1)
        ++c;
    return c;
}

// The allocator's lock, not taken while the process has one thread (as
// the table lock, os/fd.hpp). Returns whether it was.
bool lock_region(Header *h) noexcept
{
    if (single_threaded())
        return false;
    pthread_mutex_lock(&h->lock);
    return true;
}

void unlock_region(Header *h, bool locked) noexcept
{
    if (locked)
        pthread_mutex_unlock(&h->lock);
}

bool in_region(const void *block) noexcept
{
    const char *base = g_region.load(std::memory_order_acquire);
    const auto *p = static_cast<const char *>(block);
    return base != nullptr && p >= base && p < base + kRegionSize;
}

} // namespace

void *unshared_alloc(std::size_t size) noexcept
{
    if (size == 0)
        size = 1;
    char *base = size <= kUnsharedMax ? region() : nullptr;
    if (base == nullptr)
        return std::malloc(size);
    auto *h = reinterpret_cast<Header *>(base);
    const int c = class_of(size);
    const std::size_t block_size = kMinBlock << c;
    void *block = nullptr;
    const bool locked = lock_region(h);
    if (h->free_list[c] != nullptr) {
        block = h->free_list[c];
        std::memcpy(&h->free_list[c], block, sizeof(void *));
    } else {
        // A block never straddles more pages than its size needs: the
        // offset is rounded up to the block's own size.
        std::size_t offset = h->used < kFirstBlock ? kFirstBlock : h->used;
        offset = (offset + block_size - 1) & ~(block_size - 1);
        if (offset + block_size <= kRegionSize) {
            block = base + offset;
            h->used = offset + block_size;
        }
    }
    unlock_region(h, locked);
    return block != nullptr ? block : std::malloc(size);
}

void unshared_free(void *block, std::size_t size) noexcept
{
    if (block == nullptr)
        return;
    if (!in_region(block)) {
        std::free(block);
        return;
    }
    auto *h = reinterpret_cast<Header *>(g_region.load(std::memory_order_relaxed));
    const int c = class_of(size == 0 ? 1 : size);
    const bool locked = lock_region(h);
    std::memcpy(block, &h->free_list[c], sizeof(void *));
    h->free_list[c] = block;
    unlock_region(h, locked);
}

} // namespace procreact
