// SPDX-License-Identifier: MIT
//
// Which tools watch this process: the sanitizers it was built with (known
// at compile time) and valgrind (seen at run time from its preload
// library). The launcher and the unshared-memory allocator step aside for
// them.
#pragma once

#include <cstdlib>
#include <cstring>

namespace procreact
{

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kAddressSanitizer = true; // MemorySanitizer checks heap blocks too
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#else
constexpr bool kThreadSanitizer = false;
#endif

/// True when the process runs under valgrind (its preload library is in
/// LD_PRELOAD).
inline bool under_valgrind() noexcept
{
    const char *preload = std::getenv("LD_PRELOAD");
    return preload != nullptr && std::strstr(preload, "vgpreload") != nullptr;
}

} // namespace procreact
