/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the string-array type, fed the same output cut into
 * arbitrary chunks, must give exactly what a reference splitter gives for the
 * whole output at once (and what the library gives for one big chunk).
 *
 * Reference rules (docs/compat-api): split at the delimiter; a trailing
 * delimiter ends the last token without adding an empty one; empty tokens
 * between delimiters stay; no output gives an empty array.
 */
#include "feed.h"

typedef struct {
    const uint8_t *start;
    size_t len;
} Token;

/* Splits @p out into @p tokens (room for out_len + 1). Returns the count. */
static size_t reference_split(const uint8_t *out, size_t out_len, char delimiter, Token *tokens)
{
    size_t count = 0, begin = 0;
    for (size_t k = 0; k < out_len; ++k) {
        if ((char)out[k] == delimiter) {
            tokens[count].start = out + begin;
            tokens[count].len = k - begin;
            ++count;
            begin = k + 1;
        }
    }
    if (begin < out_len) {
        tokens[count].start = out + begin;
        tokens[count].len = out_len - begin;
        ++count;
    }
    return count;
}

static void check(char **result, const Token *tokens, size_t count)
{
    if (result == NULL)
        feed_die("string array: NULL result for a successful child\n");
    for (size_t k = 0; k < count; ++k) {
        if (result[k] == NULL)
            feed_die("string array: too few tokens\n");
        if (tokens[k].len != 0 && memcmp(result[k], tokens[k].start, tokens[k].len) != 0)
            feed_die("string array: token content differs\n");
        if (result[k][tokens[k].len] != '\0')
            feed_die("string array: token not terminated at its length\n");
    }
    if (result[count] != NULL)
        feed_die("string array: too many tokens\n");
}

static char **run(FeedPlan *plan, int whole)
{
    ProcReact_Type type = procreact_create_string_array_type(plan->delimiter);
    void *state = type.initialize();
    if (state == NULL)
        feed_die("initialize failed\n");
    feed(&type, state, plan, whole);
    ProcReact_Status status = PROCREACT_STATUS_WAIT_FAIL;
    char **result = type.finalize(state, exited_child(), &status);
    if (status != PROCREACT_STATUS_OK)
        feed_die("string array: status not OK\n");
    return result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FeedPlan plan;
    if (!feed_plan(data, size, &plan))
        return 0;
    /* The building blocks read a state as the bare 0.1 struct, whose tokens
     * are C strings: a NUL byte inside a token cannot be represented there
     * (0.1 measures tokens with strlen() too). Such outputs are left out. */
    if (plan.delimiter != '\0' && memchr(plan.out, '\0', plan.out_len) != NULL)
        return 0;
    Token *tokens = malloc((plan.out_len + 1) * sizeof *tokens);
    if (tokens == NULL)
        return 0;
    const size_t count = reference_split(plan.out, plan.out_len, plan.delimiter, tokens);

    char **chunked = run(&plan, 0);
    check(chunked, tokens, count);
    procreact_free_string_array(chunked);

    char **whole = run(&plan, 1);
    check(whole, tokens, count);
    procreact_free_string_array(whole);
    free(tokens);
    return 0;
}
