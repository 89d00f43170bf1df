// SPDX-License-Identifier: MIT
//
// FlatTable (src/os/flat_table.hpp), the library's internal hash table of
// serials and pids: checked against std::map through inserts, looks and
// erases (the backward shift after an erase, wrapping around the array,
// is where an open-addressing table goes wrong), with values that own memory.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <map>
#include <memory>

extern "C" {
#include <cmocka.h>
}

#include "os/flat_table.hpp"

using procreact::FlatTable;

namespace
{

void test_insert_find_erase(void **)
{
    FlatTable<std::uint32_t, int> t;
    assert_null(t.find(7));
    assert_false(t.erase(7));
    bool added = false;
    t.insert(7, &added) = 70;
    assert_true(added);
    t.insert(7, &added) = 71; // the same key: found, not added
    assert_false(added);
    assert_int_equal(t.size(), 1);
    assert_non_null(t.find(7));
    assert_int_equal(*t.find(7), 71);
    assert_true(t.contains(7));
    assert_false(t.contains(8));
    assert_true(t.erase(7));
    assert_false(t.erase(7));
    assert_null(t.find(7));
    assert_int_equal(t.size(), 0);
}

// Sequential keys (serials, pids) through several growths, then every other
// one erased and the rest still found.
void test_sequential(void **)
{
    FlatTable<std::uint32_t, std::uint32_t> t;
    constexpr std::uint32_t kCount = 20000;
    for (std::uint32_t k = 1; k <= kCount; ++k)
        t.insert(k) = k * 3;
    assert_int_equal(t.size(), kCount);
    for (std::uint32_t k = 1; k <= kCount; k += 2)
        assert_true(t.erase(k));
    for (std::uint32_t k = 1; k <= kCount; ++k) {
        const std::uint32_t *v = t.find(k);
        if (k % 2 == 1) {
            assert_null(v);
        } else {
            assert_non_null(v);
            assert_int_equal(*v, k * 3);
        }
    }
    std::size_t seen = 0;
    t.for_each([&](std::uint32_t k, std::uint32_t v) {
        assert_int_equal(k % 2, 0);
        assert_int_equal(v, k * 3);
        ++seen;
    });
    assert_int_equal(seen, kCount / 2);
}

// Random inserts and erases over a few keys in a small table (many
// collisions and runs that wrap around), against std::map.
void test_against_map(void **)
{
    FlatTable<int, std::unique_ptr<int>> t; // values that own memory: moved, never copied
    std::map<int, int> reference;
    std::uint64_t state = 0x2545f4914f6cdd1dULL;
    const auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    for (int round = 0; round < 200000; ++round) {
        const int key = static_cast<int>(next() % 40) + 1;
        if (next() % 3 != 0) {
            bool added = false;
            std::unique_ptr<int> &slot = t.insert(key, &added);
            assert_int_equal(added, reference.count(key) == 0);
            slot.reset(new int(round));
            reference[key] = round;
        } else {
            std::unique_ptr<int> *found = t.find(key);
            assert_int_equal(found != nullptr, reference.count(key) != 0);
            std::unique_ptr<int> taken;
            if (found != nullptr)
                taken = std::move(*found);
            assert_int_equal(t.erase(key), reference.erase(key) != 0);
        }
        if (round % 997 == 0) {
            assert_int_equal(t.size(), reference.size());
            for (int k = 1; k <= 40; ++k) {
                std::unique_ptr<int> *v = t.find(k);
                const auto it = reference.find(k);
                assert_int_equal(v != nullptr, it != reference.end());
                if (v != nullptr)
                    assert_int_equal(**v, it->second);
            }
        }
    }
}

} // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_find_erase),
        cmocka_unit_test(test_sequential),
        cmocka_unit_test(test_against_map),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
