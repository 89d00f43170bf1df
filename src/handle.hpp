// SPDX-License-Identifier: MIT
//
// Tokens: how the library recognises its own objects in the public structs
// that clients hold by value, copy and build by hand.
//
// A future's `state` and an iterator's `futures` hold a token, never a
// pointer: a serial number, unique among the library's live objects of that
// kind, sealed with a check derived from a per-process secret. The token is
// only ever compared as a number and looked up in a table the library owns
// (the serial is the key; the pid and descriptor in the struct must match
// the entry). So
//  - a live future is found in the table;
//  - a stale copy (its token sealed but no longer in the table, or naming
//    another pid) is recognised without reading any memory through it;
//  - a future built by hand, with `state` zeroed or holding garbage, carries
//    no valid seal (a chance of 2^-32 on 64-bit systems, 2^-12 on 32-bit
//    ones) and is treated as 0.1 treats it.
#pragma once

#include <cstdint>

namespace procreact {

enum class TokenKind : unsigned { Future = 1, Iterator = 2 };

/// The serial space: the key of a token.
using Serial = std::uint32_t;

/// A fresh token value for @p serial (never 0).
void *make_token(TokenKind kind, Serial serial) noexcept;

/// Whether @p value is a sealed token of @p kind; its serial goes to @p serial.
bool open_token(const void *value, TokenKind kind, Serial *serial) noexcept;

/// The next serial for a table of @p kind (never 0; wraps within the serial
/// space, which tables skip while an entry with that serial lives).
Serial next_serial(TokenKind kind) noexcept;

} // namespace procreact
