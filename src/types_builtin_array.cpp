// SPDX-License-Identifier: MIT
//
// The string-array reading state of a built-in future (the library's own, see types_builtin.cpp).
//
// Finished tokens go to a NULL-terminated array; the token being read stays
// in a buffer of its own, of which only the bytes of each new read are
// scanned, so splitting is linear however long a token grows.
#include <cstdint>
#include <cstring>

#include "types_parts.hpp"

namespace procreact
{
namespace
{

struct StringArrayState {
    char **result;          // finished tokens, NULL-terminated
    std::size_t count;      // tokens in result
    std::size_t slots;      // capacity of result
    char *pending;          // bytes of the token being read
    std::size_t pending_size;
    std::size_t pending_capacity;
    ProcReact_Status error;
};

void free_tokens(StringArrayState *s) noexcept
{
    for (std::size_t i = 0; i < s->count; ++i)
        std::free(s->result[i]);
    std::free(s->result);
    std::free(s->pending);
}

void free_string_array_state(StringArrayState *s) noexcept
{
    if (s == nullptr)
        return;
    free_tokens(s);
    std::free(s);
}

void fail_string_array(StringArrayState *s, ProcReact_Status error) noexcept
{
    free_tokens(s);
    s->result = nullptr;
    s->count = s->slots = 0;
    s->pending = nullptr;
    s->pending_size = s->pending_capacity = 0;
    s->error = error;
}

bool push_token(StringArrayState *s, const char *begin, std::size_t len) noexcept
{
    if (s->count + 1 >= s->slots) { // keep room for the NULL terminator
        const std::size_t slots = s->slots ? s->slots * 2 : 16;
        if (slots > SIZE_MAX / sizeof(char *))
            return false;
        auto **grown = static_cast<char **>(std::realloc(s->result, slots * sizeof(char *)));
        if (grown == nullptr)
            return false;
        s->result = grown;
        s->slots = slots;
    }
    auto *token = static_cast<char *>(std::malloc(len + 1));
    if (token == nullptr)
        return false;
    if (len != 0)
        std::memcpy(token, begin, len);
    token[len] = '\0';
    s->result[s->count++] = token;
    s->result[s->count] = nullptr;
    return true;
}

} // namespace

void *builtin_array_finish(void *state, Outcome outcome, StatusOut &out) noexcept
{
    auto *s = static_cast<StringArrayState *>(state);
    if (!wants_result(s, outcome, out)) {
        free_string_array_state(s);
        return nullptr;
    }
    // A last token without a trailing delimiter still counts; a child that
    // wrote nothing gets the empty array.
    if (s->pending_size != 0 && !push_token(s, s->pending, s->pending_size)) {
        out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        free_string_array_state(s);
        return nullptr;
    }
    if (s->result == nullptr) {
        s->result = static_cast<char **>(std::calloc(1, sizeof(char *)));
        if (s->result == nullptr) {
            out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
            free_string_array_state(s);
            return nullptr;
        }
        s->slots = 1;
    }
    char **result = s->result;
    if (s->slots > s->count + 1 + s->count / 4) {
        if (auto **shrunk = static_cast<char **>(std::realloc(result, (s->count + 1) * sizeof(char *))))
            result = shrunk;
    }
    result[s->count] = nullptr;
    std::free(s->pending);
    std::free(s);
    return result;
}

ssize_t builtin_array_append(void *state, char delimiter, int fd) noexcept
{
    auto *s = static_cast<StringArrayState *>(state);
    if (s->error != PROCREACT_STATUS_OK)
        return read_discard(fd);
    if (!ensure_room(s->pending, s->pending_capacity, s->pending_size, kMinRead)) {
        fail_string_array(s, PROCREACT_STATUS_OUT_OF_MEMORY);
        return read_discard(fd);
    }
    const ssize_t n =
        read_retry(fd, s->pending + s->pending_size, std::min(s->pending_capacity - s->pending_size, kMaxRead));
    if (n <= 0) {
        if (is_read_error(n)) {
            const int err = errno;
            fail_string_array(s, PROCREACT_STATUS_READ_FAIL);
            errno = err;
        }
        return n;
    }
    // Only the new bytes are scanned: everything before them holds no delimiter.
    char *const base = s->pending;
    const char *token = base;
    const char *scan = base + s->pending_size;
    const char *const end = scan + n;
    while (scan < end) {
        const auto *hit = static_cast<const char *>(std::memchr(scan, delimiter, static_cast<std::size_t>(end - scan)));
        if (hit == nullptr)
            break;
        if (!push_token(s, token, static_cast<std::size_t>(hit - token))) {
            fail_string_array(s, PROCREACT_STATUS_OUT_OF_MEMORY);
            return n;
        }
        token = hit + 1;
        scan = token;
    }
    // What follows the last delimiter is at most this read's bytes: moving it
    // keeps the whole split linear.
    const std::size_t rest = static_cast<std::size_t>(end - token);
    if (token != base && rest != 0)
        std::memmove(base, token, rest);
    s->pending_size = rest;
    return n;
}

void *builtin_array_new() noexcept
{
    return std::calloc(1, sizeof(StringArrayState)); // the buffers come with the first read
}

void builtin_array_free(void *state) noexcept
{
    free_string_array_state(static_cast<StringArrayState *>(state));
}

} // namespace procreact
