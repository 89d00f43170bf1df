// SPDX-License-Identifier: MIT
//
// Tokens: how the library recognises its own objects in the public structs
// that clients hold by value, copy and build by hand.
//
// A future's `state` and an iterator's `futures` hold a token, never a
// pointer: a serial number, unique among the library's live objects of that
// kind, sealed with a check derived from a per-process secret. The token is
// only ever compared as a number and looked up in a table the library owns
// (the serial is the key; the pid and descriptor in the struct must match
// the entry). So
//  - a live future is found in the table;
//  - a stale copy (its token sealed but no longer in the table, or naming
//    another pid) is recognised without reading any memory through it;
//  - a future built by hand, with `state` zeroed or holding garbage, carries
//    no valid seal (a chance of 2^-32 on 64-bit systems, 2^-12 on 32-bit
//    ones) and is treated as 0.1 treats it.
#pragma once

#include <cstdint>
#include <memory>

#include "../os/fd.hpp"
#include "../os/flat_table.hpp"
#include "../os/unshared.hpp"

namespace procreact
{

/// Future and Iterator tokens name objects in a table; Finished and
/// SpawnFailed name no object but a code (a status, an errno): they are
/// markers (make_marker()), whose serial field is 0, which no token has.
enum class TokenKind : unsigned { Future = 1, Iterator = 2, Finished = 3, SpawnFailed = 4 };

/// The serial space: the key of a token.
using Serial = std::uint32_t;

/// A fresh token value for @p serial (never 0).
void *make_token(TokenKind kind, Serial serial) noexcept;

/// Whether @p value is a sealed token of @p kind; its serial goes to @p serial.
bool open_token(const void *value, TokenKind kind, Serial *serial) noexcept;

/// A marker of @p kind (Finished or SpawnFailed) carrying @p code (below
/// 1024); never NULL. Its serial field is 0, so a marker and a token can never be taken
/// for each other, whatever their seals.
void *make_marker(TokenKind kind, unsigned code) noexcept;

/// Whether @p value is a marker of @p kind; its code goes to @p code.
bool open_marker(const void *value, TokenKind kind, unsigned *code) noexcept;

/// The next serial for a table of @p kind (never 0; wraps within the serial
/// space, which tables skip while an entry with that serial lives).
Serial next_serial(TokenKind kind) noexcept;

/// Objects of one kind that the library owns, keyed by the serial of the
/// token the public structs carry (a FlatTable: an insert, a take or a look
/// allocates nothing per object). Every method takes the table lock. An
/// object may be lent out (borrow()) for work that needs system calls; its
/// slot stays, empty, until give_back(), and whoever wants it meanwhile
/// waits. In a forked child drop_in_child() forgets the parent's objects
/// (nothing is freed there; see fd.hpp).
template <typename T> class TokenTable
{
  public:
    explicit constexpr TokenTable(TokenKind kind) noexcept : kind_(kind) {}

    /// Lists @p item under a fresh serial and returns its token; @p item is
    /// moved in only on success. Throws std::bad_alloc.
    void *insert(std::unique_ptr<T> &item)
    {
        GlobalLock lock;
        if (map_ == nullptr)
            map_ = new_unshared_table<Map>();
        Serial serial;
        do
            serial = next_serial(kind_);
        while (map_->contains(serial));
        map_->insert(serial) = std::move(item); // may throw: nothing is moved yet
        return make_token(kind_, serial);
    }

    /// The object that @p token names, or nullptr; @p accept (called under
    /// the lock) may refuse it. It leaves the table; with @p lend, its slot
    /// stays (see give_back()) and @p serial says which it is.
    template <typename Accept>
    std::unique_ptr<T> take_if(const void *token, Accept &&accept, bool lend = false, Serial *serial = nullptr) noexcept
    {
        std::unique_ptr<T> item;
        Serial key;
        if (!open_token(token, kind_, &key))
            return item;
        GlobalLock lock;
        for (;;) {
            std::unique_ptr<T> *slot = map_ != nullptr ? map_->find(key) : nullptr;
            if (slot == nullptr)
                return item;
            if (!*slot) {
                global_wait(); // lent out for a moment
                continue;
            }
            if (accept(**slot)) {
                item = std::move(*slot);
                if (!lend)
                    map_->erase(key);
                if (serial != nullptr)
                    *serial = key;
            }
            return item;
        }
    }

    /// Puts back an object that take_if(..., lend = true) lent out.
    void give_back(Serial serial, std::unique_ptr<T> item) noexcept
    {
        std::unique_ptr<T> orphan; // destroyed after unlocking, if ever
        GlobalLock lock;
        std::unique_ptr<T> *slot = map_ != nullptr ? map_->find(serial) : nullptr;
        if (slot != nullptr)
            *slot = std::move(item);
        else
            orphan = std::move(item);
        global_notify();
    }

    std::unique_ptr<T> take(const void *token) noexcept
    {
        return take_if(token, [](const T &) { return true; });
    }

    /// The object that @p token names, left in the table, or nullptr.
    T *find(const void *token) noexcept
    {
        Serial serial;
        if (!open_token(token, kind_, &serial))
            return nullptr;
        GlobalLock lock;
        return lookup_locked(serial);
    }

    /// find() for a caller that holds the global lock already.
    T *find_locked(const void *token) noexcept
    {
        Serial serial;
        if (!open_token(token, kind_, &serial))
            return nullptr;
        return lookup_locked(serial);
    }

    void drop_in_child() noexcept
    {
        park_in_child(map_);
        map_ = nullptr;
    }

  private:
    using Map = FlatTable<Serial, std::unique_ptr<T>>;

    T *lookup_locked(Serial serial) noexcept
    {
        std::unique_ptr<T> *slot = map_ != nullptr ? map_->find(serial) : nullptr;
        return slot != nullptr ? slot->get() : nullptr; // null while lent
    }

    TokenKind kind_;
    Map *map_ = nullptr;
};

} // namespace procreact
