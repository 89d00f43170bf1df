// SPDX-License-Identifier: MIT
//
// Unshared memory: where the parent keeps its per-child records, in pages
// that a forked child does not share.
//
// After fork() the parent and the child share every private page
// copy-on-write, until the child exits or execs: each page the parent
// writes meanwhile first costs a page fault and a copy (a few microseconds,
// charged to the parent). The library writes its bookkeeping for a child
// (its member, table entries, pid claim, waker, the first bytes read) in
// exactly that window. These records live in one region marked
// MADV_WIPEONFORK: fork() does not write-protect it in the parent, and a
// forked child gets it zeroed, an empty region whose allocator starts
// afresh (the parent's records are gone there, as the child-reset hooks
// already forget them; see fd.hpp). Only library-owned records that a
// forked child never reads go here; nothing that a child keeps using.
//
// Small blocks only (up to kUnsharedMax bytes), in power-of-two classes
// with a free list each; larger blocks, a full region, a kernel without
// MADV_WIPEONFORK (before 4.14) and runs under AddressSanitizer or valgrind
// (whose checks must see every block) use the ordinary heap. Blocks are
// freed with their size, as the C++ allocators free them.
#pragma once

#include <cstddef>
#include <new>

namespace procreact
{

constexpr std::size_t kUnsharedMax = 64 * 1024;

/// A block of @p size bytes (uninitialised), or null when out of memory.
void *unshared_alloc(std::size_t size) noexcept;

/// Frees @p block (null is ignored), allocated with unshared_alloc(@p size).
void unshared_free(void *block, std::size_t size) noexcept;

/// An allocator for the library's containers of per-child records.
template <typename T> struct UnsharedAllocator {
    using value_type = T;

    UnsharedAllocator() noexcept = default;
    template <typename U> UnsharedAllocator(const UnsharedAllocator<U> &) noexcept {}

    T *allocate(std::size_t n)
    {
        if (n > static_cast<std::size_t>(-1) / sizeof(T))
            throw std::bad_alloc();
        void *block = unshared_alloc(n * sizeof(T));
        if (block == nullptr)
            throw std::bad_alloc();
        return static_cast<T *>(block);
    }
    void deallocate(T *block, std::size_t n) noexcept { unshared_free(block, n * sizeof(T)); }

    template <typename U> bool operator==(const UnsharedAllocator<U> &) const noexcept { return true; }
    template <typename U> bool operator!=(const UnsharedAllocator<U> &) const noexcept { return false; }
};

/// A process-wide table of per-child records, made in unshared memory (its
/// size and bucket pointers change with every child). Never freed: a table
/// lives as long as the process, and a forked child forgets it. Throws
/// std::bad_alloc.
template <typename Table> Table *new_unshared_table()
{
    void *block = unshared_alloc(sizeof(Table));
    if (block == nullptr)
        throw std::bad_alloc();
    return new (block) Table();
}

/// Gives a class operator new and delete in unshared memory (new with
/// std::nothrow included).
struct UnsharedObject {
    static void *operator new(std::size_t size)
    {
        void *block = unshared_alloc(size);
        if (block == nullptr)
            throw std::bad_alloc();
        return block;
    }
    static void *operator new(std::size_t size, const std::nothrow_t &) noexcept { return unshared_alloc(size); }
    static void operator delete(void *block, std::size_t size) noexcept { unshared_free(block, size); }
};

} // namespace procreact
