/* SPDX-License-Identifier: MIT */
/* Control of the test-only malloc() interposer (mallocfail.c). */
#ifndef PROCREACT_MALLOCFAIL_H
#define PROCREACT_MALLOCFAIL_H

/* The next @p skip allocations (malloc, calloc, realloc, hence C++'s new)
 * succeed, the one after them fails with ENOMEM; then it is disarmed. A
 * negative @p skip disarms it (and keeps what mallocfail_fired() says).
 * Forked children start disarmed. */
void mallocfail_arm(long skip);
/* Whether the armed failure happened since the last mallocfail_arm(). */
int mallocfail_fired(void);

#endif
