/* SPDX-License-Identifier: MIT */
/* Control of the test-only fork() interposer (forkfail.c). */
#ifndef PROCREACT_FORKFAIL_H
#define PROCREACT_FORKFAIL_H

/* The next @p skip fork() calls succeed, the @p count after them fail with EAGAIN. */
void forkfail_arm(long skip, long count);
/* fork() calls seen so far, and how many of them were made to fail. */
long forkfail_calls(void);
long forkfail_failed(void);
/* Every fork() first sleeps @p ms (0: none), as a large parent's would take. */
void forkfail_delay(long ms);
/* fork() calls sleeping in that delay now. */
long forkfail_in_fork(void);

/* The next @p count epoll_wait() calls fail with EINVAL, as from a broken
 * epoll instance (a failure that retrying cannot cure). 0 disarms it. */
/* Makes the next `count` poll() or epoll_wait() calls fail with EINVAL. */
void epollfail_arm(long count);
long epollfail_failed(void);

/* poll() and epoll_wait() calls made by this process image so far. */
long waitcount(void);

/* close() calls made by this process image so far (the interposer counts them). */
long closecount(void);

#endif
