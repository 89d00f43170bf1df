// SPDX-License-Identifier: MIT
//
// Sealed tokens: making, opening and numbering them.
#include "tokens.hpp"

#include <atomic>
#include <climits>
#include <cstring>

#include <sys/auxv.h>
#include <unistd.h>

namespace procreact
{
namespace
{

// Pointers carry a 32-bit serial and a 32-bit seal on LP64, a 20-bit serial
// and a 12-bit seal where pointers are 32 bits wide.
constexpr bool kWide = sizeof(std::uintptr_t) >= 8;
constexpr unsigned kSerialBits = kWide ? 32 : 20;
constexpr std::uintptr_t kSerialMask = (std::uintptr_t{1} << kSerialBits) - 1;

std::uint64_t mix(std::uint64_t x) noexcept
{
    // A 64-bit finaliser (xor-shift-multiply): every input bit affects every output bit.
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t secret() noexcept
{
    static const std::uint64_t value = [] {
        std::uint64_t seed = 0;
        // The kernel's 16 random bytes for this process image.
        if (const auto *random = reinterpret_cast<const unsigned char *>(::getauxval(AT_RANDOM)))
            std::memcpy(&seed, random + 8, sizeof seed);
        seed ^= reinterpret_cast<std::uintptr_t>(&seed) ^ static_cast<std::uint64_t>(::getpid());
        return mix(seed | 1);
    }();
    return value;
}

std::uintptr_t seal(TokenKind kind, Serial serial) noexcept
{
    const std::uint64_t m = mix(secret() ^ (static_cast<std::uint64_t>(kind) << 56) ^ serial);
    return static_cast<std::uintptr_t>(m >> (64 - (sizeof(std::uintptr_t) * CHAR_BIT - kSerialBits)));
}

std::atomic<Serial> g_serials[5];

} // namespace

void *make_token(TokenKind kind, Serial serial) noexcept
{
    const std::uintptr_t value =
        (static_cast<std::uintptr_t>(serial) & kSerialMask) | (seal(kind, serial & kSerialMask) << kSerialBits);
    return reinterpret_cast<void *>(value);
}

bool open_token(const void *value, TokenKind kind, Serial *serial) noexcept
{
    const auto raw = reinterpret_cast<std::uintptr_t>(value);
    const auto candidate = static_cast<Serial>(raw & kSerialMask);
    if (candidate == 0 || (raw >> kSerialBits) != seal(kind, candidate))
        return false;
    *serial = candidate;
    return true;
}

// A marker's upper bits: its code (10 bits), its kind (2 bits, never 0, so
// no marker is NULL), and, where pointers are 64 bits wide, a seal in the
// rest (on 32-bit systems a value whose lower 20 bits are zero is a marker
// of the code it carries).
constexpr unsigned kCodeBits = 10;
constexpr unsigned kMarkerSealBits = sizeof(std::uintptr_t) * CHAR_BIT - kSerialBits - kCodeBits - 2;

std::uintptr_t marker_high(TokenKind kind, unsigned code) noexcept
{
    const std::uintptr_t kind_bits = kind == TokenKind::SpawnFailed ? 2 : 1;
    std::uintptr_t high = (code & ((1u << kCodeBits) - 1)) | (kind_bits << kCodeBits);
    if (kMarkerSealBits > 0) {
        const std::uint64_t m = mix(secret() ^ (static_cast<std::uint64_t>(kind) << 48) ^ (code + 0x9e37ULL));
        high |= static_cast<std::uintptr_t>(m >> (64 - kMarkerSealBits)) << (kCodeBits + 2);
    }
    return high;
}

void *make_marker(TokenKind kind, unsigned code) noexcept
{
    return reinterpret_cast<void *>(marker_high(kind, code) << kSerialBits);
}

bool open_marker(const void *value, TokenKind kind, unsigned *code) noexcept
{
    const auto raw = reinterpret_cast<std::uintptr_t>(value);
    if ((raw & kSerialMask) != 0)
        return false; // a token (or garbage)
    const auto high = raw >> kSerialBits;
    const unsigned candidate = static_cast<unsigned>(high & ((1u << kCodeBits) - 1));
    if (high != marker_high(kind, candidate))
        return false;
    *code = candidate;
    return true;
}

Serial next_serial(TokenKind kind) noexcept
{
    auto &counter = g_serials[static_cast<unsigned>(kind)];
    for (;;) {
        const Serial s = static_cast<Serial>((counter.fetch_add(1, std::memory_order_relaxed) + 1) & kSerialMask);
        if (s != 0)
            return s;
    }
}

} // namespace procreact
