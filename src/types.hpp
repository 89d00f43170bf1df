// SPDX-License-Identifier: MIT
//
// Internals of the built-in result types shared with the future code.
#pragma once

#include <cstddef>

#include "procreact_types.h"

namespace procreact {

/// Whether @p type is one of the three built-in types (by its finalize function).
bool is_builtin_type(const ProcReact_Type &type) noexcept;

/// Frees a result that a built-in type produced. Does nothing for other types.
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
/// library reaped it through its own watch): builds the result from @p state
/// and frees the state. Does nothing but return nullptr for other types.
void *finalize_builtin(const ProcReact_Type &type, void *state, Outcome outcome, ProcReact_Status *status) noexcept;

/// Keeps only the first @p size bytes read into a bytes or string state.
/// Returns false for other types (which cannot be cut exactly).
bool truncate_builtin_state(const ProcReact_Type &type, void *state, std::size_t size) noexcept;

/// Frees a built-in type's reading state without building a result.
void free_builtin_state(const ProcReact_Type &type, void *state) noexcept;

/// The first buffer size of the built-in types (a default pipe's capacity).
constexpr std::size_t kReadChunk = 64 * 1024;

/// The buffer grows when less than this is free, so that no read is smaller
/// (and the read that only finds end of stream never grows it).
constexpr std::size_t kMinRead = 16 * 1024;

} // namespace procreact
