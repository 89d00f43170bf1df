// SPDX-License-Identifier: MIT
//
// The compatibility SIGCHLD handler: an async-signal-safe counter that
// chains to the handler the application had before.
#pragma once

namespace procreact
{

/// Installs the handler once (later calls do nothing). Returns what
/// sigaction() returns.
int install_sigchld_counter() noexcept;

/// Whether the handler is installed.
bool sigchld_counting() noexcept;

/// How many SIGCHLD the handler has seen.
unsigned long sigchld_count() noexcept;

} // namespace procreact
