// SPDX-License-Identifier: MIT
//
// FlatTable: a hash table of small keys in one array (open addressing,
// linear probing, backward-shift deletion), for the tables the library
// looks up once or more per spawn and completion (futures, iterators, the
// drive table, owned pids).
//
// Against std::unordered_map it allocates nothing per entry (no node to
// allocate and free under the table lock, no bucket list to follow): an
// insert or erase writes one slot, or a few after a collision. Key 0 marks
// an empty slot: no serial and no pid is ever 0. Keys are spread with a
// multiplicative (Fibonacci) hash, so sequential serials and pids land in
// different slots. The array is in unshared memory while small (see
// unshared.hpp) and grows by doubling at a load of one half; it never shrinks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "unshared.hpp"

namespace procreact
{

template <typename Key, typename Value> class FlatTable
{
  public:
    FlatTable() noexcept = default;
    ~FlatTable() { destroy(slots_, capacity_); }
    FlatTable(const FlatTable &) = delete;
    FlatTable &operator=(const FlatTable &) = delete;

    std::size_t size() const noexcept { return size_; }

    /// The value listed under @p key (not 0), or null.
    Value *find(Key key) noexcept
    {
        const std::size_t i = index_of(key);
        return i == capacity_ ? nullptr : &slots_[i].value;
    }

    bool contains(Key key) noexcept { return find(key) != nullptr; }

    /// The value under @p key (not 0), listed now (value-initialised) when
    /// it was not; @p added says which. Throws std::bad_alloc when the table
    /// must grow and cannot (nothing changes then).
    Value &insert(Key key, bool *added = nullptr)
    {
        if (Value *found = find(key)) {
            if (added != nullptr)
                *added = false;
            return *found;
        }
        if ((size_ + 1) * 2 > capacity_)
            grow();
        std::size_t i = home(key);
        while (slots_[i].key != Key{})
            i = (i + 1) & mask();
        slots_[i].key = key;
        slots_[i].value = Value();
        ++size_;
        if (added != nullptr)
            *added = true;
        return slots_[i].value;
    }

    /// Takes @p key out. Its value is destroyed in place: under the table
    /// lock, move it out first (a member's destructor reaps its child).
    /// Returns whether it was listed.
    bool erase(Key key) noexcept
    {
        std::size_t hole = index_of(key);
        if (hole == capacity_)
            return false;
        // Backward shift: each later entry of the run whose home does not lie
        // between the hole and itself moves into the hole (no tombstones).
        for (std::size_t i = (hole + 1) & mask(); slots_[i].key != Key{}; i = (i + 1) & mask()) {
            const std::size_t want = home(slots_[i].key);
            const bool stays = hole <= i ? (hole < want && want <= i) : (hole < want || want <= i);
            if (stays)
                continue;
            slots_[hole].key = slots_[i].key;
            slots_[hole].value = std::move(slots_[i].value);
            hole = i;
        }
        slots_[hole].key = Key{};
        slots_[hole].value = Value();
        --size_;
        return true;
    }

    /// Calls @p visit(key, value) for every entry (in no particular order);
    /// @p visit must not change the table.
    template <typename Visit> void for_each(Visit &&visit)
    {
        for (std::size_t i = 0; i < capacity_; ++i)
            if (slots_[i].key != Key{})
                visit(slots_[i].key, slots_[i].value);
    }

  private:
    struct Slot {
        Key key{};
        Value value{};
    };
    static constexpr std::size_t kFirstCapacity = 16;

    std::size_t mask() const noexcept { return capacity_ - 1; }

    // The slot of @p key, or capacity_ when it is not listed.
    std::size_t index_of(Key key) const noexcept
    {
        if (size_ == 0)
            return capacity_;
        for (std::size_t i = home(key);; i = (i + 1) & mask()) {
            if (slots_[i].key == key)
                return i;
            if (slots_[i].key == Key{})
                return capacity_;
        }
    }
    std::size_t home(Key key) const noexcept
    {
        const auto h = static_cast<std::uint64_t>(key) * 0x9e3779b97f4a7c15ULL;
        return static_cast<std::size_t>(h >> (64 - bits_));
    }

    void grow()
    {
        const std::size_t capacity = capacity_ == 0 ? kFirstCapacity : capacity_ * 2;
        void *block = unshared_alloc(capacity * sizeof(Slot));
        if (block == nullptr)
            throw std::bad_alloc();
        Slot *slots = static_cast<Slot *>(block);
        for (std::size_t i = 0; i < capacity; ++i)
            new (&slots[i]) Slot();
        Slot *old = slots_;
        const std::size_t old_capacity = capacity_;
        slots_ = slots;
        capacity_ = capacity;
        bits_ = 0;
        while ((std::size_t{1} << bits_) < capacity)
            ++bits_;
        for (std::size_t j = 0; j < old_capacity; ++j) {
            if (old[j].key == Key{})
                continue;
            std::size_t i = home(old[j].key);
            while (slots_[i].key != Key{})
                i = (i + 1) & mask();
            slots_[i].key = old[j].key;
            slots_[i].value = std::move(old[j].value);
        }
        destroy(old, old_capacity);
    }

    static void destroy(Slot *slots, std::size_t capacity) noexcept
    {
        if (slots == nullptr)
            return;
        for (std::size_t i = 0; i < capacity; ++i)
            slots[i].~Slot();
        unshared_free(slots, capacity * sizeof(Slot));
    }

    Slot *slots_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t size_ = 0;
    unsigned bits_ = 0;
};

} // namespace procreact
