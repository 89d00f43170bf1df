// SPDX-License-Identifier: MIT
//
// The exported building blocks of the built-in types, over the bare 0.1 public structs.
//
// Every state handed to procreact_type_append_bytes() and the other exported
// functions is read and written as the public struct of 0.1 and nothing
// more, whoever made it: the library's initializers make exactly that struct,
// and a client may make its own (with fields of its own after it, which are
// never touched). Nothing is looked up by address. Room in a buffer is what
// malloc_usable_size() says, so buffers grow geometrically and reading stays
// linear. A failure that must not pass for a short result is recorded in the
// public fields as a value no valid state has: a NULL buffer with a size
// (is_failed() in types_parts.hpp); the finalize reports it.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <malloc.h>
#include <sys/wait.h>

#include "os/child_watch.hpp"
#include "types_parts.hpp"

namespace procreact
{
namespace
{

// --- bytes

void fail_bytes(ProcReact_BytesState *s, int err) noexcept
{
    std::free(s->data);
    s->data = nullptr;
    s->data_size = failure_mark(err);
    errno = err;
}

ssize_t append_bytes(ProcReact_BytesState *s, int fd) noexcept
{
    if (is_failed(s->data, s->data_size))
        return read_discard(fd);
    const std::size_t size = s->data_size;
    const std::size_t allowed = UINT_MAX - size; // what the size field can still count
    // One byte more than allowed is asked for, so that too much output is seen.
    const std::size_t want = std::min(allowed, kMaxRead - 1) + 1;
    std::size_t capacity = usable(s->data);
    std::size_t room = capacity > size ? capacity - size : 0;
    if (room < std::min(want, kMinRead)) {
        const std::size_t grown = std::max(capacity * 2, size + kMinRead);
        void *data = std::realloc(s->data, std::min(grown, size + want));
        if (data == nullptr) {
            fail_bytes(s, ENOMEM);
            return -1;
        }
        s->data = data;
        room = usable(data) - size;
    }
    const ssize_t n = read_retry(fd, static_cast<char *>(s->data) + size, std::min(room, want));
    if (n <= 0) {
        if (is_read_error(n))
            fail_bytes(s, errno);
        return n;
    }
    if (static_cast<std::size_t>(n) > allowed) {
        fail_bytes(s, EFBIG); // the public struct cannot describe more
        return -1;
    }
    s->data_size = static_cast<unsigned int>(size + static_cast<std::size_t>(n));
    return n;
}

void *finish_bytes(ProcReact_BytesState *s, Outcome outcome, bool as_string, StatusOut &out) noexcept
{
    out.set(outcome.status);
    if (s == nullptr)
        return nullptr;
    const bool wanted = outcome.keep_output || (outcome.status == PROCREACT_STATUS_OK && outcome.exited_zero);
    if (wanted && is_failed(s->data, s->data_size))
        out.set(failure_status(s->data_size));
    if (!wanted || is_failed(s->data, s->data_size)) {
        free_bare_bytes(s);
        return nullptr;
    }
    const std::size_t size = s->data_size;
    if (as_string) {
        // Trimmed when much of the buffer is unused (or there is no room for the NUL).
        auto *data = static_cast<char *>(s->data);
        const std::size_t capacity = usable(data);
        if (capacity < size + 1 || capacity > size + size / 8 + 64) {
            auto *resized = static_cast<char *>(std::realloc(data, size + 1));
            if (resized != nullptr) {
                data = resized;
            } else if (capacity < size + 1) {
                out.set(PROCREACT_STATUS_OUT_OF_MEMORY);
                free_bare_bytes(s);
                return nullptr;
            }
        }
        data[size] = '\0';
        std::free(s);
        return data;
    }
    // 0.1 hands the state itself over as the result.
    if (size == 0) {
        std::free(s->data);
        s->data = nullptr;
    } else if (usable(s->data) > size + size / 8 + 64) {
        if (void *shrunk = std::realloc(s->data, size))
            s->data = shrunk;
    }
    return s;
}

} // namespace

void free_bare_bytes(ProcReact_BytesState *s) noexcept
{
    if (s == nullptr)
        return;
    std::free(s->data);
    std::free(s);
}

} // namespace procreact

using namespace procreact;

namespace
{

// What the exported finalize functions wait for: the child named by pid.
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

} // namespace

extern "C" {

void *procreact_type_initialize_bytes(void) noexcept
{
    return std::calloc(1, sizeof(ProcReact_BytesState)); // the buffer comes with the first read
}

ssize_t procreact_type_append_bytes(ProcReact_Type *type, void *state, int fd) noexcept
{
    (void)type;
    if (state == nullptr) {
        errno = EINVAL;
        return -1;
    }
    return append_bytes(static_cast<ProcReact_BytesState *>(state), fd);
}

void *procreact_type_finalize_bytes(void *state, pid_t pid, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    return finish_bytes(static_cast<ProcReact_BytesState *>(state), wait_outcome(pid), false, out);
}

void *procreact_type_finalize_output(void *state, pid_t pid, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    Outcome outcome = wait_outcome(pid);
    outcome.keep_output = outcome.status == PROCREACT_STATUS_OK || outcome.status == PROCREACT_STATUS_ABNORMAL_TERMINATION;
    return finish_bytes(static_cast<ProcReact_BytesState *>(state), outcome, false, out);
}

void *procreact_type_finalize_string(void *state, pid_t pid, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    return finish_bytes(static_cast<ProcReact_BytesState *>(state), wait_outcome(pid), true, out);
}

void *procreact_type_initialize_string_array(void) noexcept
{
    // As in 0.1, one (NULL) slot from the start: result_length is 1.
    auto *s = static_cast<ProcReact_StringArrayState *>(std::calloc(1, sizeof(ProcReact_StringArrayState)));
    if (s == nullptr)
        return nullptr;
    if (!bare_array_open(s)) {
        std::free(s);
        return nullptr;
    }
    return s;
}

ssize_t procreact_type_append_strings_to_array(ProcReact_Type *type, void *state, int fd) noexcept
{
    if (state == nullptr) {
        errno = EINVAL;
        return -1;
    }
    const char delimiter = type != nullptr ? type->delimiter : '\n';
    return bare_array_append(static_cast<ProcReact_StringArrayState *>(state), delimiter, fd);
}

void *procreact_type_finalize_string_array(void *state, pid_t pid, ProcReact_Status *status) noexcept
{
    StatusOut out(status);
    return bare_array_finish(static_cast<ProcReact_StringArrayState *>(state), wait_outcome(pid), out);
}

ProcReact_Type procreact_create_bytes_type(void) noexcept
{
    return ProcReact_Type{procreact_type_initialize_bytes, procreact_type_append_bytes, procreact_type_finalize_bytes,
                          '\0'};
}

ProcReact_Type procreact_create_string_type(void) noexcept
{
    return ProcReact_Type{procreact_type_initialize_bytes, procreact_type_append_bytes,
                          procreact_type_finalize_string, '\0'};
}

ProcReact_Type procreact_create_output_type(void) noexcept
{
    return ProcReact_Type{procreact_type_initialize_bytes, procreact_type_append_bytes,
                          procreact_type_finalize_output, '\0'};
}

ProcReact_Type procreact_create_string_array_type(char delimiter) noexcept
{
    return ProcReact_Type{procreact_type_initialize_string_array, procreact_type_append_strings_to_array,
                          procreact_type_finalize_string_array, delimiter};
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
