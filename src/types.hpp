// SPDX-License-Identifier: MIT
//
// Internals of the built-in result types shared with the future code.
#pragma once

#include "procreact_types.h"

namespace procreact {

/// Whether @p type is one of the three built-in types (by its finalize function).
bool is_builtin_type(const ProcReact_Type &type) noexcept;

/// Frees a result that a built-in type produced. Does nothing for other types.
void free_builtin_result(const ProcReact_Type &type, void *result) noexcept;

/// The smallest read the built-in types make room for, and the first buffer size.
constexpr std::size_t kReadChunk = 64 * 1024;

} // namespace procreact
