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

/// The first buffer size of the built-in types (a default pipe's capacity).
constexpr std::size_t kReadChunk = 64 * 1024;

/// The buffer grows when less than this is free, so that no read is smaller
/// (and the read that only finds end of stream never grows it).
constexpr std::size_t kMinRead = 16 * 1024;

} // namespace procreact
