// SPDX-License-Identifier: MIT
//
// procreact_types.h: the built-in result types.
//
// The states that procreact_type_initialize_bytes() and
// procreact_type_initialize_string_array() make start with the public struct
// of 0.1 (so a client that looks at `data`/`data_size` or
// `result`/`result_length` sees what 0.1 shows) and add what linear-time
// reading needs: the real size as size_t, the capacity, the first error.
// The library lists the states it made in a table of its own; the building
// blocks look a state up there and treat any other pointer as a bare public
// struct that a 0.1 client allocated itself, read the way 0.1 reads it.
// Buffers are malloc'ed because they are handed to C callers as results.
#include "procreact_types.h"
#include "procreact_control.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <unordered_set>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boundary.hpp"
#include "fd.hpp"
#include "process.hpp"
#include "types.hpp"

namespace procreact
{
namespace
{

// A single read never asks for more than this (the kernel returns at most
// what the pipe holds anyway).
constexpr std::size_t kMaxRead = std::size_t{16} << 20;

// What one read of a bare public state takes (0.1 took 1 KiB).
constexpr std::size_t kBareChunk = 16 * 1024;

ssize_t read_retry(int fd, void *buf, std::size_t len) noexcept
{
    ssize_t n;
    do
        n = ::read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

// The states this library made (see the top of this file). Guarded by the
// global lock; a forked child keeps its copy, which is consistent (the lock
// is held across fork) and describes memory the child has too.
std::unordered_set<const void *> *g_states = nullptr;

bool list_state(const void *state) noexcept
{
    GlobalLock lock;
    try {
        if (g_states == nullptr)
            g_states = new std::unordered_set<const void *>();
        g_states->insert(state);
        return true;
    } catch (...) {
        return false;
    }
}

void unlist_state(const void *state) noexcept
{
    GlobalLock lock;
    if (g_states != nullptr)
        g_states->erase(state);
}

bool is_listed_state(const void *state) noexcept
{
    GlobalLock lock;
    return g_states != nullptr && g_states->count(state) != 0;
}

// A read failure other than "nothing yet" ends reading with READ_FAIL.
bool is_read_error(ssize_t n) noexcept
{
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
}

// Reads and throws away what is available, so that a child whose result can
// no longer be kept still runs to its end instead of blocking on a full pipe.
ssize_t read_discard(int fd) noexcept
{
    char sink[16384];
    return read_retry(fd, sink, sizeof sink);
}

// Grows a malloc'ed buffer so that at least `room` bytes follow `size`.
bool ensure_room(char *&data, std::size_t &capacity, std::size_t size, std::size_t room) noexcept
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

struct BytesState {
    ProcReact_BytesState pub; // must stay first
    std::size_t size;
    std::size_t capacity;
    std::size_t populated; // bytes of data known to be faulted in (see prefault())
    ProcReact_Status error;
};

// Once a transfer is large, the parent's time goes mostly to page faults on
// the fresh buffer, one per 4 KiB that a read() fills. MADV_POPULATE_WRITE
// (Linux 5.14) faults a whole range in with one call, a few MiB ahead of the
// reads. It is advice only: on an older kernel it fails once with EINVAL and
// is not tried again; any other failure just leaves the faults to the reads.
constexpr std::size_t kPrefaultFrom = std::size_t{1} << 20;
constexpr std::size_t kPrefaultStep = std::size_t{4} << 20;
std::atomic<bool> g_populate_works{true};

void prefault(BytesState *s, char *data) noexcept
{
#ifdef MADV_POPULATE_WRITE
    if (s->size < kPrefaultFrom || !g_populate_works.load(std::memory_order_relaxed))
        return;
    const std::size_t want_end = std::min(s->capacity, s->size + kPrefaultStep);
    if (s->populated >= s->size + kPrefaultStep / 2 || s->populated >= want_end)
        return;
    constexpr std::uintptr_t kPage = 4096;
    const auto base = reinterpret_cast<std::uintptr_t>(data);
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
    (void)data;
#endif
}

struct StringArrayState {
    ProcReact_StringArrayState pub; // must stay first
    std::size_t count;              // tokens in pub.result
    std::size_t slots;              // capacity of pub.result
    char *pending;                  // bytes of the token being read
    std::size_t pending_size;
    std::size_t pending_capacity;
    ProcReact_Status error;
};

void fail_bytes(BytesState *s, ProcReact_Status error) noexcept
{
    std::free(s->pub.data);
    s->pub.data = nullptr;
    s->pub.data_size = 0;
    s->size = s->capacity = s->populated = 0;
    s->error = error;
}

void free_bytes_state(BytesState *s) noexcept
{
    if (s == nullptr)
        return;
    unlist_state(s);
    std::free(s->pub.data);
    std::free(s);
}

void free_string_array_state(StringArrayState *s) noexcept
{
    if (s == nullptr)
        return;
    unlist_state(s);
    for (std::size_t i = 0; i < s->count; ++i)
        std::free(s->pub.result[i]);
    std::free(s->pub.result);
    std::free(s->pending);
    std::free(s);
}

void fail_string_array(StringArrayState *s, ProcReact_Status error) noexcept
{
    for (std::size_t i = 0; i < s->count; ++i)
        std::free(s->pub.result[i]);
    std::free(s->pub.result);
    std::free(s->pending);
    s->pub.result = nullptr;
    s->pub.result_length = 0;
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
        auto **grown = static_cast<char **>(std::realloc(s->pub.result, slots * sizeof(char *)));
        if (grown == nullptr)
            return false;
        s->pub.result = grown;
        s->slots = slots;
    }
    auto *token = static_cast<char *>(std::malloc(len + 1));
    if (token == nullptr)
        return false;
    if (len != 0)
        std::memcpy(token, begin, len);
    token[len] = '\0';
    s->pub.result[s->count++] = token;
    s->pub.result[s->count] = nullptr;
    // As 0.1 counts: the finished tokens plus the slot of the one being read.
    s->pub.result_length = s->count >= UINT_MAX ? UINT_MAX : static_cast<unsigned int>(s->count + 1);
    return true;
}

// Whether a built-in finalize builds a result: when the child exited with
// code 0 (status OK) and reading recorded no error; otherwise @p out says why
// not (a non-zero exit stays OK with no result, as in 0.1).
template <typename State> bool wants_result(const State *s, Outcome outcome, StatusOut &out) noexcept
{
    out.set(outcome.status);
    if (s == nullptr)
        return false;
    if (!outcome.keep_output && (!outcome.exited_zero || outcome.status != PROCREACT_STATUS_OK))
        return false;
    if (s->error != PROCREACT_STATUS_OK) {
        out.set(s->error);
        return false;
    }
    return true;
}

// What the public finalize functions wait for: the child named by pid.
Outcome wait_outcome(pid_t pid) noexcept
{
    Outcome outcome;
    if (pid == -1) {
        outcome.status = PROCREACT_STATUS_FORK_FAIL;
        return outcome;
    }
    int wstatus = 0;
    if (pid <= 0 || waitpid_retry(pid, &wstatus, 0) != pid) {
        outcome.status = PROCREACT_STATUS_WAIT_FAIL;
        return outcome;
    }
    return outcome_of(wstatus);
}

void *finish_bytes(BytesState *s, Outcome outcome, StatusOut &out) noexcept
{
    void *result = nullptr;
    if (wants_result(s, outcome, out)) {
        if (s->size > UINT_MAX) {
            out.set(PROCREACT_STATUS_RESULT_TOO_LARGE);
        } else if (auto *bytes = static_cast<ProcReact_BytesState *>(std::malloc(sizeof(ProcReact_BytesState)))) {
            void *data = s->pub.data;
            if (s->size == 0) {
                std::free(data);
                data = nullptr;
            } else if (s->capacity - s->size > s->size / 8) {
                if (void *shrunk = std::realloc(data, s->size))
                    data = shrunk;
            }
            bytes->data = data;
            bytes->data_size = static_cast<unsigned int>(s->size);
            s->pub.data = nullptr;
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
        char *data = static_cast<char *>(s->pub.data);
        const bool no_room = s->capacity == s->size;
        if (no_room || s->capacity - s->size > s->size / 8 + 1) {
            if (auto *resized = static_cast<char *>(std::realloc(data, s->size + 1)))
                data = resized;
            else if (no_room)
                data = nullptr;
        }
        if (data != nullptr) {
            data[s->size] = '\0';
            s->pub.data = nullptr;
            result = data;
        } else {
            out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        }
    }
    free_bytes_state(s);
    return result;
}

void *finish_string_array(StringArrayState *s, Outcome outcome, StatusOut &out) noexcept
{
    if (!wants_result(s, outcome, out)) {
        free_string_array_state(s);
        return nullptr;
    }
    // A last token without a trailing delimiter still counts.
    if (s->pending_size != 0 && !push_token(s, s->pending, s->pending_size)) {
        out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        free_string_array_state(s);
        return nullptr;
    }
    char **result = s->pub.result;
    if (s->slots > s->count + 1 + s->count / 4) {
        if (auto **shrunk = static_cast<char **>(std::realloc(result, (s->count + 1) * sizeof(char *))))
            result = shrunk;
    }
    result[s->count] = nullptr;
    unlist_state(s);
    std::free(s->pending);
    std::free(s);
    return result;
}

// --- Bare public structs that a 0.1 client allocated itself (with malloc,
// as 0.1 frees them), read the way 0.1 reads them.

ssize_t append_bare_bytes(ProcReact_BytesState *s, int fd) noexcept
{
    char chunk[kBareChunk];
    const ssize_t n = read_retry(fd, chunk, sizeof chunk);
    if (n <= 0)
        return n;
    const std::size_t size = static_cast<std::size_t>(s->data_size) + static_cast<std::size_t>(n);
    if (size > UINT_MAX) {
        errno = EFBIG; // the public struct cannot describe more
        return -1;
    }
    auto *grown = static_cast<char *>(std::realloc(s->data, size));
    if (grown == nullptr)
        return -1;
    std::memcpy(grown + s->data_size, chunk, static_cast<std::size_t>(n));
    s->data = grown;
    s->data_size = static_cast<unsigned int>(size);
    return n;
}

// Appends [begin, end) to the last slot of a bare string array (0.1 keeps
// the token being read there, NULL when none has started).
bool extend_bare_slot(ProcReact_StringArrayState *s, const char *begin, const char *end) noexcept
{
    char *&slot = s->result[s->result_length - 1];
    const std::size_t old_len = slot != nullptr ? std::strlen(slot) : 0;
    const auto add = static_cast<std::size_t>(end - begin);
    auto *grown = static_cast<char *>(std::realloc(slot, old_len + add + 1));
    if (grown == nullptr)
        return false;
    std::memcpy(grown + old_len, begin, add);
    grown[old_len + add] = '\0';
    slot = grown;
    return true;
}

bool add_bare_slot(ProcReact_StringArrayState *s) noexcept
{
    if (s->result_length == UINT_MAX)
        return false;
    auto **grown = static_cast<char **>(std::realloc(s->result, (s->result_length + 1u) * sizeof(char *)));
    if (grown == nullptr)
        return false;
    grown[s->result_length] = nullptr;
    s->result = grown;
    s->result_length++;
    return true;
}

ssize_t append_bare_strings(ProcReact_StringArrayState *s, char delimiter, int fd) noexcept
{
    if (s->result == nullptr || s->result_length == 0) {
        // 0.1's initial state has one (NULL) slot; make it if the client did not.
        s->result_length = 0;
        if (!add_bare_slot(s))
            return -1;
    }
    char chunk[kBareChunk];
    const ssize_t n = read_retry(fd, chunk, sizeof chunk);
    if (n <= 0)
        return n;
    const char *token = chunk;
    const char *const end = chunk + n;
    for (const char *scan = chunk; scan < end; ++scan) {
        if (*scan != delimiter)
            continue;
        // A delimiter finishes the slot (an empty token is "") and opens a new one.
        if (!extend_bare_slot(s, token, scan) || !add_bare_slot(s))
            return -1;
        token = scan + 1;
    }
    if (token < end && !extend_bare_slot(s, token, end))
        return -1;
    return n;
}

void *finish_bare_bytes(ProcReact_BytesState *s, Outcome outcome, bool as_string, StatusOut &out) noexcept
{
    out.set(outcome.status);
    if (outcome.status != PROCREACT_STATUS_OK || !outcome.exited_zero) {
        std::free(s->data);
        std::free(s);
        return nullptr;
    }
    if (!as_string)
        return s; // 0.1 hands the state itself over as the result
    auto *data = static_cast<char *>(std::realloc(s->data, static_cast<std::size_t>(s->data_size) + 1));
    if (data == nullptr) {
        out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        std::free(s->data);
        std::free(s);
        return nullptr;
    }
    data[s->data_size] = '\0';
    std::free(s);
    return data;
}

void *finish_bare_strings(ProcReact_StringArrayState *s, Outcome outcome, StatusOut &out) noexcept
{
    out.set(outcome.status);
    char **result = s->result;
    const bool terminated = result != nullptr && s->result_length != 0 && result[s->result_length - 1] == nullptr;
    if (!terminated && !add_bare_slot(s)) {
        out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
        outcome.exited_zero = false;
    }
    result = s->result;
    if (outcome.status != PROCREACT_STATUS_OK || !outcome.exited_zero) {
        if (result != nullptr) {
            for (unsigned int i = 0; i < s->result_length; ++i)
                std::free(result[i]);
            std::free(result);
        }
        result = nullptr;
    }
    std::free(s);
    return result;
}

} // namespace

bool is_builtin_type(const ProcReact_Type &type) noexcept
{
    return type.finalize == procreact_type_finalize_bytes || type.finalize == procreact_type_finalize_string ||
           type.finalize == procreact_type_finalize_string_array || type.finalize == procreact_type_finalize_output;
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
    if (state != nullptr && !is_listed_state(state)) {
        // Not a state this library made: the public finalize knows how.
        out.set(PROCREACT_STATUS_READ_FAIL);
        return nullptr;
    }
    if (type.finalize == procreact_type_finalize_bytes)
        return finish_bytes(static_cast<BytesState *>(state), outcome, out);
    if (type.finalize == procreact_type_finalize_output) {
        outcome.keep_output = true;
        return finish_bytes(static_cast<BytesState *>(state), outcome, out);
    }
    if (type.finalize == procreact_type_finalize_string)
        return finish_string(static_cast<BytesState *>(state), outcome, out);
    if (type.finalize == procreact_type_finalize_string_array)
        return finish_string_array(static_cast<StringArrayState *>(state), outcome, out);
    return nullptr;
}

bool truncate_builtin_state(const ProcReact_Type &type, void *state, std::size_t size) noexcept
{
    if (state == nullptr || !is_listed_state(state) || type.finalize == procreact_type_finalize_string_array ||
        !is_builtin_type(type))
        return false;
    auto *s = static_cast<BytesState *>(state);
    if (s->size > size) {
        s->size = size;
        s->pub.data_size = static_cast<unsigned int>(std::min<std::size_t>(size, UINT_MAX));
    }
    return true;
}

void free_builtin_state(const ProcReact_Type &type, void *state) noexcept
{
    if (state == nullptr || !is_listed_state(state))
        return;
    if (type.finalize == procreact_type_finalize_string_array)
        free_string_array_state(static_cast<StringArrayState *>(state));
    else if (is_builtin_type(type))
        free_bytes_state(static_cast<BytesState *>(state));
}

} // namespace procreact

using namespace procreact;

extern "C" {

void *procreact_type_initialize_bytes(void) noexcept
{
    auto *s = static_cast<BytesState *>(std::calloc(1, sizeof(BytesState)));
    if (s == nullptr)
        return nullptr;
    if (!list_state(s)) {
        std::free(s);
        return nullptr;
    }
    // The buffer comes with the first read: made up front, every future in
    // flight would hold 64 KiB, and every fork copies the page tables of
    // all of it (spawn cost would grow with the size of a collection).
    return s;
}

ssize_t procreact_type_append_bytes(ProcReact_Type *type, void *state, int fd) noexcept
{
    if (state == nullptr) {
        errno = EINVAL;
        return -1;
    }
    if (!is_listed_state(state))
        return append_bare_bytes(static_cast<ProcReact_BytesState *>(state), fd);
    auto *s = static_cast<BytesState *>(state);
    if (s->error != PROCREACT_STATUS_OK)
        return read_discard(fd);

    char *data = static_cast<char *>(s->pub.data);
    if (!ensure_room(data, s->capacity, s->size, kMinRead)) {
        fail_bytes(s, PROCREACT_STATUS_OUT_OF_MEMORY);
        return read_discard(fd);
    }
    if (data != s->pub.data)
        s->populated = std::min(s->populated, s->size); // moved: only what was copied is known to be there
    s->pub.data = data;
    prefault(s, data);
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
    // A bytes state describes its size with an unsigned int: past that, fail
    // instead of wrapping. Only the string type, whose result has no size
    // field, goes on.
    const bool sized_result = type == nullptr || type->finalize != procreact_type_finalize_string;
    if (sized_result && s->size > UINT_MAX) {
        fail_bytes(s, PROCREACT_STATUS_RESULT_TOO_LARGE);
        return n;
    }
    s->pub.data_size = s->size > UINT_MAX ? UINT_MAX : static_cast<unsigned int>(s->size);
    return n;
}

void *procreact_type_finalize_bytes(void *state, pid_t pid, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    const Outcome outcome = wait_outcome(pid);
    if (state != nullptr && !is_listed_state(state))
        return finish_bare_bytes(static_cast<ProcReact_BytesState *>(state), outcome, false, out);
    return finish_bytes(static_cast<BytesState *>(state), outcome, out);
}

void *procreact_type_finalize_output(void *state, pid_t pid, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    Outcome outcome = wait_outcome(pid);
    outcome.keep_output = outcome.status == PROCREACT_STATUS_OK || outcome.status == PROCREACT_STATUS_ABNORMAL_TERMINATION;
    if (state != nullptr && !is_listed_state(state)) {
        out.set(PROCREACT_STATUS_READ_FAIL); // only states of procreact_type_initialize_bytes()
        return nullptr;
    }
    return finish_bytes(static_cast<BytesState *>(state), outcome, out);
}

ProcReact_Type procreact_create_output_type(void) noexcept
{
    ProcReact_Type type;
    type.initialize = procreact_type_initialize_bytes;
    type.append = procreact_type_append_bytes;
    type.finalize = procreact_type_finalize_output;
    type.delimiter = '\0';
    return type;
}

void *procreact_type_finalize_string(void *state, pid_t pid, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    const Outcome outcome = wait_outcome(pid);
    if (state != nullptr && !is_listed_state(state))
        return finish_bare_bytes(static_cast<ProcReact_BytesState *>(state), outcome, true, out);
    return finish_string(static_cast<BytesState *>(state), outcome, out);
}

void *procreact_type_initialize_string_array(void) noexcept
{
    auto *s = static_cast<StringArrayState *>(std::calloc(1, sizeof(StringArrayState)));
    if (s == nullptr)
        return nullptr;
    // As in 0.1, one (NULL) slot from the start: result_length is 1.
    s->pub.result = static_cast<char **>(std::calloc(16, sizeof(char *)));
    if (s->pub.result == nullptr || !list_state(s)) {
        std::free(s->pub.result);
        std::free(s);
        return nullptr;
    }
    s->slots = 16;
    s->pub.result_length = 1;
    return s; // the token buffer comes with the first read, as for bytes
}

ssize_t procreact_type_append_strings_to_array(ProcReact_Type *type, void *state, int fd) noexcept
{
    if (state == nullptr) {
        errno = EINVAL;
        return -1;
    }
    const char delimiter = type != nullptr ? type->delimiter : '\n';
    if (!is_listed_state(state))
        return append_bare_strings(static_cast<ProcReact_StringArrayState *>(state), delimiter, fd);
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

void *procreact_type_finalize_string_array(void *state, pid_t pid, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    const Outcome outcome = wait_outcome(pid);
    if (state != nullptr && !is_listed_state(state))
        return finish_bare_strings(static_cast<ProcReact_StringArrayState *>(state), outcome, out);
    return finish_string_array(static_cast<StringArrayState *>(state), outcome, out);
}

ProcReact_Type procreact_create_bytes_type(void) noexcept
{
    ProcReact_Type type;
    type.initialize = procreact_type_initialize_bytes;
    type.append = procreact_type_append_bytes;
    type.finalize = procreact_type_finalize_bytes;
    type.delimiter = '\0';
    return type;
}

ProcReact_Type procreact_create_string_type(void) noexcept
{
    ProcReact_Type type;
    type.initialize = procreact_type_initialize_bytes;
    type.append = procreact_type_append_bytes;
    type.finalize = procreact_type_finalize_string;
    type.delimiter = '\0';
    return type;
}

ProcReact_Type procreact_create_string_array_type(char delimiter) noexcept
{
    ProcReact_Type type;
    type.initialize = procreact_type_initialize_string_array;
    type.append = procreact_type_append_strings_to_array;
    type.finalize = procreact_type_finalize_string_array;
    type.delimiter = delimiter;
    return type;
}

void procreact_free_string_array(char **arr) noexcept
{
    if (arr == nullptr)
        return;
    for (char **p = arr; *p != nullptr; ++p)
        std::free(*p);
    std::free(arr);
}

} // extern "C"
