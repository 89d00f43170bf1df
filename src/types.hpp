// SPDX-License-Identifier: MIT
//
// Internals of the result types: the library's own reading states, shared with the future code.
//
// Two kinds of state exist, and nothing is recognised by its address:
// - a *built-in* state, made by builtin_initialize() for a type whose three
//   functions are all the library's (builtin_kind() says which). Only the
//   library holds it (inside a future) and only the functions below touch it;
//   the caller knows it made the state because it called builtin_initialize()
//   itself, and passes the same type to every later call;
// - a *bare* state: any pointer handed to the exported building blocks
//   (types_bare.cpp), read and written as the 0.1 public struct only.
#pragma once

#include <cerrno>
#include <cstddef>

#include <sys/types.h>

#include "procreact_control.h"
#include "procreact_types.h"

namespace procreact {

/// Which built-in type a ProcReact_Type is, when all of its initialize,
/// append and finalize are the library's own (a type that mixes in a
/// function of the client's is a custom type, read through its pointers).
enum class BuiltinKind { None, Bytes, String, StringArray, Output };

BuiltinKind builtin_kind(const ProcReact_Type &type) noexcept;

/// Whether @p type is one of the built-in types (builtin_kind() is not None).
bool is_builtin_type(const ProcReact_Type &type) noexcept;

/// A new built-in reading state for @p type (not one of the exported
/// initializers: those make bare public structs). nullptr for a custom type
/// or when out of memory.
void *builtin_initialize(const ProcReact_Type &type) noexcept;

/// Reads what @p fd has into a state from builtin_initialize(@p type):
/// bytes read, 0 at end of stream, -1 with errno (EAGAIN on a non-blocking
/// descriptor with nothing to read; ENOMEM for a missing state). After a
/// failure it records, it reads and discards, so the child runs to its end.
ssize_t builtin_append(const ProcReact_Type &type, void *state, int fd) noexcept;

/// Frees a result that a built-in finalize (or an exported finalize) produced,
/// by the type's finalize function. Does nothing for other types.
void free_builtin_result(const ProcReact_Type &type, void *result) noexcept;

/// How a child ended, as a built-in finalize needs it.
struct Outcome {
    ProcReact_Status status = PROCREACT_STATUS_OK; ///< WAIT_FAIL, ABNORMAL_TERMINATION or OK
    bool exited_zero = false;                      ///< exited normally with code 0
    bool keep_output = false;                      ///< build the result whatever the exit (output type, stopped child)
};

/// The outcome of a waitpid()-style status.
Outcome outcome_of(int wstatus) noexcept;

/// A built-in type's finalize for a child whose end is already known (the
/// library reaped it through its own watch): builds the result from a state
/// of builtin_initialize(@p type) and frees the state. nullptr for a custom type.
void *finalize_builtin(const ProcReact_Type &type, void *state, Outcome outcome, ProcReact_Status *status) noexcept;

/// Keeps only the first @p size bytes read into a built-in bytes, string or
/// output state. Returns false for other types (which cannot be cut exactly).
bool truncate_builtin_state(const ProcReact_Type &type, void *state, std::size_t size) noexcept;

/// Frees a reading state that will not be finalized: a built-in state of a
/// built-in @p type, or a bare public struct when @p type is custom but its
/// finalize is one of the exported ones (which would have freed it that
/// way). Any other custom state has no free function and is left alone.
void free_builtin_state(const ProcReact_Type &type, void *state) noexcept;

/// The first buffer size of the built-in types (a default pipe's capacity).
constexpr std::size_t kReadChunk = 64 * 1024;

/// The buffer grows when less than this is free, so that no read is smaller
/// (and the read that only finds end of stream never grows it).
constexpr std::size_t kMinRead = 16 * 1024;

/// A single read never asks for more than this (the kernel returns at most
/// what the pipe holds anyway).
constexpr std::size_t kMaxRead = std::size_t{16} << 20;

/// read() retried on EINTR.
ssize_t read_retry(int fd, void *buf, std::size_t len) noexcept;

/// Reads and throws away what is available, so that a child whose result can
/// no longer be kept still runs to its end instead of blocking on a full pipe.
ssize_t read_discard(int fd) noexcept;

/// A read failure other than "nothing yet".
inline bool is_read_error(ssize_t n) noexcept
{
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
}

// Bare public structs (types_bare.cpp), for free_builtin_state().
void free_bare_bytes(ProcReact_BytesState *state) noexcept;
void free_bare_string_array(ProcReact_StringArrayState *state) noexcept;

} // namespace procreact
