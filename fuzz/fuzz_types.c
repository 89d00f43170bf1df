/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the bytes and string types, fed the same output cut into
 * arbitrary chunks, must give back exactly that output: every byte, in order,
 * with the right size (bytes) or a terminating NUL after it (string).
 */
#include "feed.h"

static void *run(ProcReact_Type type, FeedPlan *plan, int whole)
{
    void *state = type.initialize();
    if (state == NULL)
        feed_die("initialize failed\n");
    feed(&type, state, plan, whole);
    ProcReact_Status status = PROCREACT_STATUS_WAIT_FAIL;
    void *result = type.finalize(state, exited_child(), &status);
    if (status != PROCREACT_STATUS_OK)
        feed_die("status not OK\n");
    return result;
}

static void check_bytes(ProcReact_BytesState *b, const FeedPlan *plan)
{
    if (b == NULL)
        feed_die("bytes: NULL result\n");
    if (b->data_size != plan->out_len)
        feed_die("bytes: wrong size\n");
    if (plan->out_len == 0 && b->data != NULL)
        feed_die("bytes: data not NULL for no output\n");
    if (plan->out_len != 0 && memcmp(b->data, plan->out, plan->out_len) != 0)
        feed_die("bytes: content differs\n");
    free(b->data);
    free(b);
}

static void check_string(char *s, const FeedPlan *plan)
{
    if (s == NULL)
        feed_die("string: NULL result\n");
    if (plan->out_len != 0 && memcmp(s, plan->out, plan->out_len) != 0)
        feed_die("string: content differs\n");
    if (s[plan->out_len] != '\0')
        feed_die("string: not terminated after the output\n");
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FeedPlan plan;
    if (!feed_plan(data, size, &plan))
        return 0;
    for (int whole = 0; whole < 2; ++whole) {
        FeedPlan p = plan;
        check_bytes(run(procreact_create_bytes_type(), &p, whole), &plan);
        p = plan;
        check_string(run(procreact_create_string_type(), &p, whole), &plan);
    }
    return 0;
}
