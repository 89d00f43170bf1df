// SPDX-License-Identifier: MIT
//
// Helpers shared by the types_*.cpp files, and the string-array halves they call.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <malloc.h>

#include "engine/boundary.hpp"
#include "types.hpp"

namespace procreact {

// --- the library's own states (types_builtin*.cpp)

// Grows a malloc'ed buffer so that at least `room` bytes follow `size`.
inline bool ensure_room(char *&data, std::size_t &capacity, std::size_t size, std::size_t room) noexcept
{
    if (capacity - size >= room)
        return true;
    std::size_t wanted = std::max(capacity * 2, kReadChunk);
    if (wanted - size < room)
        wanted = size + room;
    if (wanted < size) { // overflow
        errno = ENOMEM;
        return false;
    }
    auto *grown = static_cast<char *>(std::realloc(data, wanted));
    if (grown == nullptr)
        return false;
    data = grown;
    capacity = wanted;
    return true;
}


// Whether a built-in finalize builds a result: when the child exited with
// code 0 (status OK) and reading recorded no error; otherwise @p out says why
// not (a non-zero exit stays OK with no result, as in 0.1).
template <typename State> inline bool wants_result(const State *s, Outcome outcome, StatusOut &out) noexcept
{
    out.set(outcome.status);
    if (!outcome.keep_output && (!outcome.exited_zero || outcome.status != PROCREACT_STATUS_OK))
        return false;
    if (s == nullptr) { // builtin_initialize() found no memory
        out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        return false;
    }
    if (s->error != PROCREACT_STATUS_OK) {
        out.set(s->error);
        return false;
    }
    return true;
}


// The string-array state of a built-in future (types_builtin_array.cpp).
void *builtin_array_new() noexcept;
ssize_t builtin_array_append(void *state, char delimiter, int fd) noexcept;
void *builtin_array_finish(void *state, Outcome outcome, StatusOut &out) noexcept;
void builtin_array_free(void *state) noexcept;

// --- bare public structs (types_bare*.cpp)

// A failed state: NULL data (or result) with one of these sizes (lengths).
constexpr unsigned int kTooLarge = UINT_MAX;
constexpr unsigned int kOutOfMemory = UINT_MAX - 1;
constexpr unsigned int kReadFailed = UINT_MAX - 2;

inline bool is_failed(const void *buffer, unsigned int size) noexcept
{
    return buffer == nullptr && size >= kReadFailed;
}

inline ProcReact_Status failure_status(unsigned int size) noexcept
{
    return size == kTooLarge ? PROCREACT_STATUS_RESULT_TOO_LARGE
           : size == kOutOfMemory ? PROCREACT_STATUS_OUT_OF_MEMORY
                                  : PROCREACT_STATUS_READ_FAIL;
}

inline unsigned int failure_mark(int err) noexcept
{
    return err == EFBIG ? kTooLarge : err == ENOMEM ? kOutOfMemory : kReadFailed;
}

inline std::size_t usable(void *buffer) noexcept
{
    return buffer != nullptr ? ::malloc_usable_size(buffer) : 0;
}


// The string-array building blocks (types_bare_array.cpp).
bool bare_array_open(ProcReact_StringArrayState *s) noexcept;
ssize_t bare_array_append(ProcReact_StringArrayState *s, char delimiter, int fd) noexcept;
void *bare_array_finish(ProcReact_StringArrayState *s, Outcome outcome, StatusOut &out) noexcept;

} // namespace procreact
