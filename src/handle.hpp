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
#include <unordered_map>

#include "fd.hpp"

namespace procreact
{

enum class TokenKind : unsigned { Future = 1, Iterator = 2 };

/// The serial space: the key of a token.
using Serial = std::uint32_t;

/// A fresh token value for @p serial (never 0).
void *make_token(TokenKind kind, Serial serial) noexcept;

/// Whether @p value is a sealed token of @p kind; its serial goes to @p serial.
bool open_token(const void *value, TokenKind kind, Serial *serial) noexcept;

/// The next serial for a table of @p kind (never 0; wraps within the serial
/// space, which tables skip while an entry with that serial lives).
Serial next_serial(TokenKind kind) noexcept;

/// Objects of one kind that the library owns, keyed by the serial of the
/// token the public structs carry. Every method takes the global lock. In a
/// forked child drop_in_child() forgets the parent's objects (nothing is
/// freed there; see fd.hpp).
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
            map_ = new Map();
        Serial serial;
        do
            serial = next_serial(kind_);
        while (map_->count(serial) != 0);
        auto &slot = (*map_)[serial]; // may throw: nothing is moved yet
        slot = std::move(item);
        return make_token(kind_, serial);
    }

    /// The object that @p token names, or nullptr; @p accept (called under
    /// the lock) may refuse it. With @p take, it leaves the table.
    template <typename Accept> std::unique_ptr<T> take_if(const void *token, Accept &&accept) noexcept
    {
        std::unique_ptr<T> item;
        Serial serial;
        if (!open_token(token, kind_, &serial))
            return item;
        GlobalLock lock;
        if (map_ == nullptr)
            return item;
        auto it = map_->find(serial);
        if (it != map_->end() && accept(*it->second)) {
            item = std::move(it->second);
            map_->erase(it);
        }
        return item;
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
        if (map_ == nullptr)
            return nullptr;
        auto it = map_->find(serial);
        return it == map_->end() ? nullptr : it->second.get();
    }

    /// find() for a caller that holds the global lock already.
    T *find_locked(const void *token) noexcept
    {
        Serial serial;
        if (map_ == nullptr || !open_token(token, kind_, &serial))
            return nullptr;
        auto it = map_->find(serial);
        return it == map_->end() ? nullptr : it->second.get();
    }

    void drop_in_child() noexcept
    {
        park_in_child(map_);
        map_ = nullptr;
    }

  private:
    using Map = std::unordered_map<Serial, std::unique_ptr<T>>;
    TokenKind kind_;
    Map *map_ = nullptr;
};

} // namespace procreact
