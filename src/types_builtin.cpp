// SPDX-License-Identifier: MIT
//
// The library's own reading states of the built-in types, used only inside futures.
//
// A future of a built-in type (see builtin_kind()) gets its state from
// builtin_initialize() and reads through builtin_append(): the state keeps
// the real size as size_t, the capacity and the first error, so reading is
// linear and a failure is reported instead of dropped. No client ever sees
// one of these states, so none is ever looked up: the future that made it
// says so by its type. Buffers are malloc'ed because they are handed to C
// callers as results.
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/unshared.hpp"
#include "types_parts.hpp"

namespace procreact
{
namespace
{

// The first bytes are read into the state itself, which lives in unshared
// memory (os/unshared.hpp): a forked child shares every page of the parent
// until it exits, and each such page the parent writes meanwhile costs a
// copy. A large first buffer would also make malloc() consolidate its free
// lists (writing more pages) while the child still runs. Small results, the
// common case, then get one allocation of their exact size at the end.
constexpr std::size_t kSmall = 448;

struct BytesState {
    char *data; // the buffer, once the bytes outgrow `small` (else null)
    std::size_t size;
    std::size_t capacity;
    std::size_t populated; // bytes of data known to be faulted in (see prefault())
    ProcReact_Status error;
    char small[kSmall];
};

// A malloc'ed copy of the bytes still in `small` (with @p extra bytes more
// room), or null when out of memory.
char *copy_small(const BytesState *s, std::size_t extra) noexcept
{
    auto *copy = static_cast<char *>(std::malloc(s->size + extra));
    if (copy != nullptr && s->size != 0)
        std::memcpy(copy, s->small, s->size);
    return copy;
}

// Once a transfer is large, the parent's time goes mostly to page faults on
// the fresh buffer, one per 4 KiB that a read() fills. MADV_POPULATE_WRITE
// (Linux 5.14) faults a whole range in with one call, a few MiB ahead of the
// reads. It is advice only: on an older kernel it fails once with EINVAL and
// is not tried again; any other failure just leaves the faults to the reads.
constexpr std::size_t kPrefaultFrom = std::size_t{1} << 20;
constexpr std::size_t kPrefaultStep = std::size_t{4} << 20;
std::atomic<bool> g_populate_works{true};

void prefault(BytesState *s) noexcept
{
#ifdef MADV_POPULATE_WRITE
    if (s->size < kPrefaultFrom || !g_populate_works.load(std::memory_order_relaxed))
        return;
    const std::size_t want_end = std::min(s->capacity, s->size + kPrefaultStep);
    if (s->populated >= s->size + kPrefaultStep / 2 || s->populated >= want_end)
        return;
    constexpr std::uintptr_t kPage = 4096;
    const auto base = reinterpret_cast<std::uintptr_t>(s->data);
    const auto begin = (base + std::max(s->populated, s->size)) & ~(kPage - 1);
    const auto end = (base + want_end) & ~(kPage - 1);
    if (end <= begin)
        return;
    if (::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_POPULATE_WRITE) != 0) {
        if (errno == EINVAL)
            g_populate_works.store(false, std::memory_order_relaxed);
        return;
    }
    s->populated = end - base;
#else
    (void)s;
#endif
}

void fail_bytes(BytesState *s, ProcReact_Status error) noexcept
{
    std::free(s->data);
    s->data = nullptr;
    s->size = s->capacity = s->populated = 0;
    s->error = error;
}

void free_bytes_state(BytesState *s) noexcept
{
    if (s == nullptr)
        return;
    std::free(s->data);
    unshared_free(s, sizeof *s);
}

void *finish_bytes(BytesState *s, Outcome outcome, StatusOut &out) noexcept
{
    void *result = nullptr;
    if (wants_result(s, outcome, out)) {
        if (s->size > UINT_MAX) {
            out.set(PROCREACT_STATUS_RESULT_TOO_LARGE);
        } else if (auto *bytes = static_cast<ProcReact_BytesState *>(std::malloc(sizeof(ProcReact_BytesState)))) {
            void *data = s->data;
            if (s->size == 0) {
                std::free(data);
                data = nullptr;
            } else if (data == nullptr) {
                data = copy_small(s, 0);
                if (data == nullptr) {
                    std::free(bytes);
                    out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
                    free_bytes_state(s);
                    return nullptr;
                }
            } else if (s->capacity - s->size > s->size / 8) {
                if (void *shrunk = std::realloc(data, s->size))
                    data = shrunk;
            }
            bytes->data = data;
            bytes->data_size = static_cast<unsigned int>(s->size);
            s->data = nullptr;
            result = bytes;
        } else {
            out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        }
    }
    free_bytes_state(s);
    return result;
}

void *finish_string(BytesState *s, Outcome outcome, StatusOut &out) noexcept
{
    char *result = nullptr;
    if (wants_result(s, outcome, out)) {
        char *data = s->data;
        const bool no_room = s->capacity == s->size;
        if (data == nullptr) {
            data = copy_small(s, 1);
        } else if (no_room || s->capacity - s->size > s->size / 8 + 1) {
            if (auto *resized = static_cast<char *>(std::realloc(data, s->size + 1)))
                data = resized;
            else if (no_room)
                data = nullptr;
        }
        if (data != nullptr) {
            data[s->size] = '\0';
            s->data = nullptr;
            result = data;
        } else {
            out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        }
    }
    free_bytes_state(s);
    return result;
}

ssize_t append_bytes(BytesState *s, BuiltinKind kind, int fd) noexcept
{
    if (s->error != PROCREACT_STATUS_OK)
        return read_discard(fd);
    if (s->data == nullptr && s->size < kSmall) {
        const ssize_t n = read_retry(fd, s->small + s->size, kSmall - s->size);
        if (n > 0)
            s->size += static_cast<std::size_t>(n);
        else if (is_read_error(n)) {
            const int err = errno;
            fail_bytes(s, PROCREACT_STATUS_READ_FAIL);
            errno = err;
        }
        return n;
    }
    if (s->data == nullptr) {
        // `small` is full: the bytes move to a buffer that grows.
        char *moved = nullptr;
        std::size_t capacity = 0;
        if (!ensure_room(moved, capacity, 0, s->size + kMinRead)) {
            fail_bytes(s, PROCREACT_STATUS_OUT_OF_MEMORY);
            return read_discard(fd);
        }
        std::memcpy(moved, s->small, s->size);
        s->data = moved;
        s->capacity = capacity;
        s->populated = 0;
    }
    char *data = s->data;
    if (!ensure_room(data, s->capacity, s->size, kMinRead)) {
        fail_bytes(s, PROCREACT_STATUS_OUT_OF_MEMORY);
        return read_discard(fd);
    }
    if (data != s->data)
        s->populated = std::min(s->populated, s->size); // moved: only what was copied is known to be there
    s->data = data;
    prefault(s);
    const ssize_t n = read_retry(fd, data + s->size, std::min(s->capacity - s->size, kMaxRead));
    if (n <= 0) {
        if (is_read_error(n)) {
            const int err = errno;
            fail_bytes(s, PROCREACT_STATUS_READ_FAIL);
            errno = err;
        }
        return n;
    }
    s->size += static_cast<std::size_t>(n);
    // A bytes result describes its size with an unsigned int: past that,
    // fail instead of wrapping. Only the string type, whose result has no
    // size field, goes on.
    if (kind != BuiltinKind::String && s->size > UINT_MAX)
        fail_bytes(s, PROCREACT_STATUS_RESULT_TOO_LARGE);
    return n;
}

} // namespace

ssize_t read_retry(int fd, void *buf, std::size_t len) noexcept
{
    ssize_t n;
    do
        n = ::read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

ssize_t read_discard(int fd) noexcept
{
    char sink[16384];
    return read_retry(fd, sink, sizeof sink);
}

BuiltinKind builtin_kind(const ProcReact_Type &type) noexcept
{
    if (type.initialize == procreact_type_initialize_bytes && type.append == procreact_type_append_bytes) {
        if (type.finalize == procreact_type_finalize_bytes)
            return BuiltinKind::Bytes;
        if (type.finalize == procreact_type_finalize_string)
            return BuiltinKind::String;
        if (type.finalize == procreact_type_finalize_output)
            return BuiltinKind::Output;
    } else if (type.initialize == procreact_type_initialize_string_array &&
               type.append == procreact_type_append_strings_to_array &&
               type.finalize == procreact_type_finalize_string_array) {
        return BuiltinKind::StringArray;
    }
    return BuiltinKind::None;
}

bool is_builtin_type(const ProcReact_Type &type) noexcept
{
    return builtin_kind(type) != BuiltinKind::None;
}

void *builtin_initialize(const ProcReact_Type &type) noexcept
{
    // Buffers come with the first read: made up front, every future in
    // flight would hold 64 KiB, and every fork copies the page tables of all
    // of it (spawn cost would grow with the size of a collection).
    switch (builtin_kind(type)) {
    case BuiltinKind::None:
        return nullptr;
    case BuiltinKind::StringArray:
        return builtin_array_new();
    default:
        // The first bytes are read into it while the child may run: in
        // unshared memory (see os/unshared.hpp).
        if (void *s = unshared_alloc(sizeof(BytesState)))
            return std::memset(s, 0, sizeof(BytesState));
        return nullptr;
    }
}

ssize_t builtin_append(const ProcReact_Type &type, void *state, int fd) noexcept
{
    const BuiltinKind kind = builtin_kind(type);
    if (state == nullptr || kind == BuiltinKind::None) {
        errno = state == nullptr ? ENOMEM : EINVAL; // a missing state is builtin_initialize()'s ENOMEM
        return -1;
    }
    if (kind == BuiltinKind::StringArray)
        return builtin_array_append(state, type.delimiter, fd);
    return append_bytes(static_cast<BytesState *>(state), kind, fd);
}

void free_builtin_result(const ProcReact_Type &type, void *result) noexcept
{
    if (result == nullptr)
        return;
    if (type.finalize == procreact_type_finalize_bytes || type.finalize == procreact_type_finalize_output) {
        auto *bytes = static_cast<ProcReact_BytesState *>(result);
        std::free(bytes->data);
        std::free(bytes);
    } else if (type.finalize == procreact_type_finalize_string) {
        std::free(result);
    } else if (type.finalize == procreact_type_finalize_string_array) {
        procreact_free_string_array(static_cast<char **>(result));
    }
}

Outcome outcome_of(int wstatus) noexcept
{
    Outcome outcome;
    if (WIFEXITED(wstatus))
        outcome.exited_zero = WEXITSTATUS(wstatus) == 0;
    else
        outcome.status = PROCREACT_STATUS_ABNORMAL_TERMINATION;
    return outcome;
}

void *finalize_builtin(const ProcReact_Type &type, void *state, Outcome outcome, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    switch (builtin_kind(type)) {
    case BuiltinKind::None:
        out.set(PROCREACT_STATUS_READ_FAIL);
        return nullptr;
    case BuiltinKind::Bytes:
        return finish_bytes(static_cast<BytesState *>(state), outcome, out);
    case BuiltinKind::Output:
        outcome.keep_output = true;
        return finish_bytes(static_cast<BytesState *>(state), outcome, out);
    case BuiltinKind::String:
        return finish_string(static_cast<BytesState *>(state), outcome, out);
    case BuiltinKind::StringArray:
        return builtin_array_finish(state, outcome, out);
    }
    return nullptr;
}

bool truncate_builtin_state(const ProcReact_Type &type, void *state, std::size_t size) noexcept
{
    const BuiltinKind kind = builtin_kind(type);
    if (state == nullptr || kind == BuiltinKind::None || kind == BuiltinKind::StringArray)
        return false;
    auto *s = static_cast<BytesState *>(state);
    s->size = std::min(s->size, size);
    return true;
}

void free_builtin_state(const ProcReact_Type &type, void *state) noexcept
{
    if (state == nullptr)
        return;
    switch (builtin_kind(type)) {
    case BuiltinKind::StringArray:
        builtin_array_free(state);
        return;
    case BuiltinKind::None:
        // A custom type: only a state meant for an exported finalize has a
        // known way to be freed (the bare public struct's).
        if (type.finalize == procreact_type_finalize_string_array)
            free_bare_string_array(static_cast<ProcReact_StringArrayState *>(state));
        else if (type.finalize == procreact_type_finalize_bytes || type.finalize == procreact_type_finalize_string ||
                 type.finalize == procreact_type_finalize_output)
            free_bare_bytes(static_cast<ProcReact_BytesState *>(state));
        return;
    default:
        free_bytes_state(static_cast<BytesState *>(state));
        return;
    }
}

} // namespace procreact
