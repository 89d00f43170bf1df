// SPDX-License-Identifier: MIT
//
// The string-array building blocks over the bare 0.1 public struct (see types_bare.cpp).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "types_parts.hpp"

namespace procreact
{
namespace
{

// What one read of a string-array state takes (0.1 took 1 KiB).
constexpr std::size_t kChunk = 16 * 1024;

// As in 0.1, the last slot holds the token being read (NULL before one has
// started), and result_length counts it. To add to a long token without
// scanning it again, a slot buffer of kHintFrom bytes or more that the
// library grew ends with a hint: the token's length and a check word derived
// from it and the buffer's address. A shorter buffer, or one without a valid
// hint (the client's own), is measured with strlen(): at most kHintFrom
// bytes per read for the short ones, so reading stays linear, and no byte a
// client left uninitialized in a small buffer is looked at.

struct Hint {
    std::size_t length;
    std::uintptr_t check;
};
constexpr std::uintptr_t kHintMagic = static_cast<std::uintptr_t>(0x9e3779b97f4a7c15ULL); // its low half on 32-bit systems
constexpr std::size_t kHintFrom = 4096;

std::uintptr_t hint_check(const char *slot, std::size_t length) noexcept
{
    return reinterpret_cast<std::uintptr_t>(slot) ^ static_cast<std::uintptr_t>(length) ^ kHintMagic;
}

std::size_t slot_length(char *slot) noexcept
{
    if (slot == nullptr)
        return 0;
    const std::size_t capacity = usable(slot);
    if (capacity >= kHintFrom) {
        Hint hint;
        std::memcpy(&hint, slot + capacity - sizeof(Hint), sizeof hint);
        if (hint.check == hint_check(slot, hint.length) && hint.length < capacity - sizeof(Hint) &&
            slot[hint.length] == '\0')
            return hint.length;
    }
    return std::strlen(slot);
}

// Appends [begin, end) to the token in the last slot; @p complete when a
// delimiter ends it (a token that starts and ends in one read gets a buffer
// of its exact size, with no hint).
bool extend_last_slot(ProcReact_StringArrayState *s, const char *begin, const char *end, bool complete) noexcept
{
    char *&slot = s->result[s->result_length - 1];
    const auto add = static_cast<std::size_t>(end - begin);
    if (slot == nullptr && complete) {
        slot = static_cast<char *>(std::malloc(add + 1));
        if (slot == nullptr)
            return false;
        std::memcpy(slot, begin, add);
        slot[add] = '\0';
        return true;
    }
    const std::size_t length = slot_length(slot);
    const std::size_t need = length + add + 1 + sizeof(Hint);
    std::size_t capacity = usable(slot);
    if (capacity < need) {
        auto *grown = static_cast<char *>(std::realloc(slot, std::max(need, capacity * 2)));
        if (grown == nullptr)
            return false;
        slot = grown;
        capacity = usable(grown);
    }
    std::memcpy(slot + length, begin, add);
    slot[length + add] = '\0';
    if (capacity >= kHintFrom) {
        const Hint hint{length + add, hint_check(slot, length + add)};
        std::memcpy(slot + capacity - sizeof(Hint), &hint, sizeof hint);
    }
    return true;
}

// Opens a new, empty last slot (the previous token is complete).
bool add_slot(ProcReact_StringArrayState *s) noexcept
{
    if (s->result_length == UINT_MAX) {
        errno = EFBIG;
        return false;
    }
    const std::size_t slots = usable(s->result) / sizeof(char *);
    if (s->result_length + std::size_t{1} > slots) {
        const std::size_t wanted = std::max<std::size_t>(slots * 2, 16);
        auto **grown = static_cast<char **>(std::realloc(s->result, wanted * sizeof(char *)));
        if (grown == nullptr)
            return false;
        s->result = grown;
    }
    s->result[s->result_length++] = nullptr;
    return true;
}

void free_tokens(ProcReact_StringArrayState *s) noexcept
{
    if (s->result == nullptr)
        return;
    for (unsigned int i = 0; i < s->result_length; ++i)
        std::free(s->result[i]);
    std::free(s->result);
}

void fail_strings(ProcReact_StringArrayState *s, int err) noexcept
{
    free_tokens(s);
    s->result = nullptr;
    s->result_length = failure_mark(err);
    errno = err;
}

} // namespace

ssize_t bare_array_append(ProcReact_StringArrayState *s, char delimiter, int fd) noexcept
{
    if (is_failed(s->result, s->result_length))
        return read_discard(fd);
    if (s->result == nullptr || s->result_length == 0) {
        // 0.1's initial state has one (NULL) slot; make it if the client did not.
        s->result_length = 0;
        if (!add_slot(s)) {
            fail_strings(s, ENOMEM);
            return -1;
        }
    }
    char chunk[kChunk];
    const ssize_t n = read_retry(fd, chunk, sizeof chunk);
    if (n <= 0) {
        if (is_read_error(n))
            fail_strings(s, errno);
        return n;
    }
    const char *token = chunk;
    const char *const end = chunk + n;
    while (token < end) {
        const auto *hit = static_cast<const char *>(std::memchr(token, delimiter, static_cast<std::size_t>(end - token)));
        if (hit == nullptr)
            break;
        // A delimiter finishes the slot (an empty token is "") and opens a new one.
        if (!extend_last_slot(s, token, hit, true) || !add_slot(s)) {
            fail_strings(s, errno == EFBIG ? EFBIG : ENOMEM);
            return -1;
        }
        token = hit + 1;
    }
    if (token < end && !extend_last_slot(s, token, end, false)) {
        fail_strings(s, ENOMEM);
        return -1;
    }
    return n;
}

void *bare_array_finish(ProcReact_StringArrayState *s, Outcome outcome, StatusOut &out) noexcept
{
    out.set(outcome.status);
    if (s == nullptr)
        return nullptr;
    const bool wanted = outcome.status == PROCREACT_STATUS_OK && outcome.exited_zero;
    if (wanted && is_failed(s->result, s->result_length))
        out.set(failure_status(s->result_length));
    if (!wanted || is_failed(s->result, s->result_length)) {
        free_bare_string_array(s);
        return nullptr;
    }
    if (s->result == nullptr)
        s->result_length = 0;
    // NULL-terminated: a token still being read counts, an empty last slot is the terminator.
    const bool terminated = s->result_length != 0 && s->result[s->result_length - 1] == nullptr;
    if (!terminated && !add_slot(s)) {
        out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        free_bare_string_array(s);
        return nullptr;
    }
    char **result = s->result;
    std::free(s);
    return result;
}

bool bare_array_open(ProcReact_StringArrayState *s) noexcept
{
    s->result_length = 0;
    return add_slot(s);
}

void free_bare_string_array(ProcReact_StringArrayState *s) noexcept
{
    if (s == nullptr)
        return;
    if (!is_failed(s->result, s->result_length))
        free_tokens(s);
    std::free(s);
}

} // namespace procreact
