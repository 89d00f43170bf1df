/* SPDX-License-Identifier: MIT */
/*
 * Suite 'slow': results of several GiB. A bytes result of 4 GiB or more must
 * fail with PROCREACT_STATUS_RESULT_TOO_LARGE (never wrap its unsigned int
 * size); below that it arrives whole; the string type has no 4 GiB limit and
 * a 4.5 GiB string must arrive intact.
 *
 * The output is made of 1 MiB blocks: a 16-character hexadecimal block
 * number, then fixed letters. Checking every block's number and 64 sampled
 * positions in each, plus the exact length, finds any lost, repeated,
 * reordered or shifted block without comparing every byte.
 */
#include "hard.h"

#include <inttypes.h>

#include <procreact.h>

#define BLOCK (1UL << 20)
#define GiB (1ULL << 30)

static unsigned char fixed_byte(size_t k) { return (unsigned char)('A' + (k * 7 + k / 26) % 26); }

static void fill_block(unsigned char *block, uint64_t number)
{
    char head[17];
    snprintf(head, sizeof head, "%016" PRIx64, number);
    memcpy(block, head, 16);
}

/* Child: writes @p size bytes of the block pattern to @p fd, then exits. */
static void write_large(int fd, uint64_t size)
{
    unsigned char *block = malloc(BLOCK);
    if (block == NULL)
        _exit(2);
    for (size_t k = 0; k < BLOCK; ++k)
        block[k] = fixed_byte(k);
    uint64_t done = 0;
    for (uint64_t number = 0; done < size; ++number) {
        fill_block(block, number);
        const uint64_t left = size - done;
        const size_t n = left < BLOCK ? (size_t)left : BLOCK;
        if (hard_write_all(fd, block, n) != 0)
            _exit(3);
        done += n;
    }
    _exit(0);
}

static int check_large(const unsigned char *data, uint64_t size)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (uint64_t off = 0, number = 0; off < size; off += BLOCK, ++number) {
        const uint64_t left = size - off;
        const size_t n = left < BLOCK ? (size_t)left : BLOCK;
        char head[17];
        snprintf(head, sizeof head, "%016" PRIx64, number);
        if (memcmp(data + off, head, n < 16 ? n : 16) != 0) {
            print_error("block %" PRIu64 ": wrong number\n", number);
            return 0;
        }
        for (int s = 0; s < 64 && n > 16; ++s) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            const size_t k = 16 + (size_t)(seed % (n - 16));
            if (data[off + k] != fixed_byte(k)) {
                print_error("block %" PRIu64 " byte %zu wrong\n", number, k);
                return 0;
            }
        }
        if (n > 16 && data[off + n - 1] != fixed_byte(n - 1))
            return 0;
    }
    return 1;
}

static ProcReact_Future start_large(ProcReact_Type type, uint64_t size)
{
    ProcReact_Future f = procreact_initialize_future(type);
    if (f.pid == 0)
        write_large(f.fd, size);
    assert_true(f.pid > 0);
    return f;
}

static void bytes_three_gib(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    const uint64_t size = 3 * GiB + 123;
    const double t0 = hard_now();
    ProcReact_Future f = start_large(procreact_create_bytes_type(), size);
    ProcReact_Status st;
    ProcReact_BytesState *b = procreact_future_get(&f, &st);
    const double t1 = hard_now();
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_non_null(b);
    assert_int_equal(b->data_size, (unsigned int)size);
    assert_true(check_large(b->data, size));
    print_message("slow: bytes %" PRIu64 " bytes in %.1f s: ok\n", size, t1 - t0);
    free(b->data);
    free(b);
    HARD_ASSERT_NO_LEAK(before);
}

static void bytes_exactly_four_gib_is_too_large(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    const uint64_t size = 4 * GiB; /* UINT_MAX + 1: the first size that would wrap to 0 */
    ProcReact_Future f = start_large(procreact_create_bytes_type(), size);
    ProcReact_Status st = PROCREACT_STATUS_OK;
    void *r = procreact_future_get(&f, &st);
    print_message("slow: bytes %" PRIu64 " bytes: status %d, result %p\n", size, (int)st, r);
    assert_null(r);
    assert_int_equal(st, PROCREACT_STATUS_RESULT_TOO_LARGE);
    HARD_ASSERT_NO_LEAK(before);
}

/* over 4 GiB through an iterator, next to a small sibling that must succeed */
typedef struct {
    int next;
    int too_large, small_ok, wrong;
} Pair;

static ProcReact_bool pair_has_next(void *data) { return ((Pair *)data)->next < 2; }

static ProcReact_Future pair_next(void *data)
{
    Pair *p = data;
    if (p->next++ == 0)
        return start_large(procreact_create_bytes_type(), 4 * GiB + 512 * (GiB / 1024) + 7);
    ProcReact_Future f = procreact_initialize_future(procreact_create_bytes_type());
    if (f.pid == 0)
        _exit(hard_write_all(f.fd, "small", 5) == 0 ? 0 : 1);
    return f;
}

static void pair_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    Pair *p = data;
    ProcReact_BytesState *b = future->result;
    if (status == PROCREACT_STATUS_RESULT_TOO_LARGE && b == NULL)
        p->too_large++;
    else if (status == PROCREACT_STATUS_OK && b != NULL && b->data_size == 5 && memcmp(b->data, "small", 5) == 0)
        p->small_ok++;
    else
        p->wrong++;
    if (b != NULL)
        free(b->data);
    free(b);
}

static void bytes_over_four_gib_in_iterator(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    Pair p = { 0, 0, 0, 0 };
    ProcReact_FutureIterator it = procreact_initialize_future_iterator(pair_has_next, pair_next, pair_complete, &p);
    procreact_fork_in_parallel_buffer_and_wait(&it);
    procreact_destroy_future_iterator(&it);
    print_message("slow: 4.5 GiB bytes in an iterator: too large %d, small sibling ok %d, wrong %d\n", p.too_large,
                  p.small_ok, p.wrong);
    assert_int_equal(p.too_large, 1);
    assert_int_equal(p.small_ok, 1);
    assert_int_equal(p.wrong, 0);
    HARD_ASSERT_NO_LEAK(before);
}

static void string_over_four_gib(void **unused)
{
    (void)unused;
    HardSnapshot before = hard_snapshot();
    const uint64_t size = 4 * GiB + 512 * (GiB / 1024) + 123;
    const double t0 = hard_now();
    ProcReact_Future f = start_large(procreact_create_string_type(), size);
    ProcReact_Status st;
    char *s = procreact_future_get(&f, &st);
    const double t1 = hard_now();
    assert_int_equal(st, PROCREACT_STATUS_OK);
    assert_non_null(s);
    assert_int_equal(s[size], '\0');
    assert_true(strlen(s) == size);
    assert_true(check_large((const unsigned char *)s, size));
    print_message("slow: string %" PRIu64 " bytes in %.1f s: intact\n", size, t1 - t0);
    free(s);
    HARD_ASSERT_NO_LEAK(before);
}

int main(void)
{
    hard_watchdog("the large-result tests", 900);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bytes_three_gib),
        cmocka_unit_test(bytes_exactly_four_gib_is_too_large),
        cmocka_unit_test(bytes_over_four_gib_in_iterator),
        cmocka_unit_test(string_over_four_gib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
