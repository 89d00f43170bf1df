/* SPDX-License-Identifier: MIT */
/*
 * Suite 'slow': channel messages of 1 GiB and of 2 GiB + 1 byte (past the
 * 4-byte length: the 8-byte escape) from a forked child, read straight into
 * one buffer each; the parent's CPU time stays linear in the size.
 *
 * The child sends from untouched anonymous memory (the kernel's zero page:
 * no resident cost) with the blocking send, which copies nothing; every
 * 4096th byte is set so that a lost or shifted page shows.
 */
#include "hard.h"

#include <stdint.h>
#include <sys/mman.h>

#include <procreact_channel.h>
#include <procreact_future.h>
#include <procreact_types.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char mark(size_t page)
{
    return (unsigned char)(1 + page % 251);
}

/* Sends one message of @p size from a forked child; returns the parent's CPU seconds to receive it. */
static double one_message(uint64_t size)
{
    ProcReact_Channel *child = NULL, *ch;
    ProcReact_Message *m = NULL;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    const unsigned char *p;
    double cpu;
    size_t page;
    ProcReact_Future future = procreact_initialize_future_with_channel(procreact_create_string_type(),
                                                                       PROCREACT_CHANNEL_FRAMED, &child);
    assert_true(future.pid >= 0);
    if (future.pid == 0) {
        unsigned char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED)
            _exit(3);
        for (page = 0; page * 4096 < size; ++page)
            buf[page * 4096] = mark(page);
        procreact_channel_set_max_message(child, size);
        _exit(procreact_channel_send_wait(child, buf, size, NULL, 0, -1) == 0 ? 0 : 4);
    }
    ch = procreact_future_channel(&future);
    assert_non_null(ch);
    assert_int_equal(procreact_channel_set_max_message(ch, size), 0);
    cpu = cpu_now();
    assert_int_equal(procreact_channel_recv(ch, &m, 600000), 0);
    cpu = cpu_now() - cpu;
    assert_int_equal(procreact_message_size(m), size);
    p = procreact_message_data(m);
    for (page = 0; page * 4096 < size; ++page)
        if (p[page * 4096] != mark(page) || p[page * 4096 + 1] != 0)
            fail_msg("page %zu of the message differs", page);
    procreact_message_free(m);
    free(procreact_future_get(&future, &status));
    assert_int_equal(status, PROCREACT_STATUS_OK);
    assert_int_equal(procreact_channel_try_recv(ch, &m), 1);
    procreact_channel_free(ch);
    return cpu;
}

static void test_channel_1_gib_and_past_2_gib(void **state)
{
    double small, big, past;
    (void)state;
    small = one_message((uint64_t)64 << 20);
    big = one_message((uint64_t)1 << 30);
    past = one_message(((uint64_t)2 << 30) + 1);
    fprintf(stderr, "# parent CPU: 64 MiB %.3f s, 1 GiB %.3f s, 2 GiB + 1 %.3f s\n", small, big, past);
    /* Linear, with room for a loaded machine: 16x the size, at most 40x the time. */
    assert_true(big <= 40 * small + 0.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_1_gib_and_past_2_gib),
    };
    return cmocka_run_group_tests_name("channel-large", tests, NULL, NULL);
}
