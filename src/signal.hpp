// SPDX-License-Identifier: MIT
//
// What the compatibility SIGCHLD handler tells the rest of the library.
#pragma once

namespace procreact {

/// Whether procreact_register_signal_handler() installed the handler.
bool sigchld_counting() noexcept;

/// How many SIGCHLD the handler has seen.
unsigned long sigchld_count() noexcept;

} // namespace procreact
