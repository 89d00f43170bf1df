// SPDX-License-Identifier: MIT
//
// Room in a vector for more elements, grown geometrically.
//
// std::vector::reserve(size() + 1) allocates exactly what it is asked for,
// so calling it before every push_back copies the whole vector each time:
// a collection of N members cost O(N) per member added (bench-scaling's pid
// iterator: 1.66x the per-child cost at 4,000 children than at 500).
// make_room() reserves at least double the capacity when it must grow, so
// that "room for one more, then a push that cannot throw" stays amortized
// O(1).
#pragma once

#include <algorithm>
#include <cstddef>

namespace procreact
{

/// Makes room in @p v for @p extra more elements without a reallocation on
/// the pushes that follow. May throw std::bad_alloc (then @p v is unchanged).
template <typename Vector> void make_room(Vector &v, std::size_t extra)
{
    const std::size_t want = v.size() + extra;
    if (want > v.capacity())
        v.reserve(std::max<std::size_t>({want, 2 * v.capacity(), 8}));
}

} // namespace procreact
