/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_channel.h
 * @brief Message channels: talk to a child while it runs.
 *
 * @defgroup Channel Message channels
 * @brief A bidirectional channel of messages between the parent and one
 *        child (a forked future or a spawned program), over an `AF_UNIX`
 *        stream socket pair.
 *
 * **Framing.** In the framed mode (the default) every message is a 4-byte
 * big-endian length and its bytes; a length past 2 GiB - 1 is written as
 * the 4 bytes `ff ff ff ff` and an 8-byte big-endian length. This is byte
 * for byte what Python's `multiprocessing.connection.Connection`
 * `send_bytes()` writes and `recv_bytes()` reads, so a Python child needs
 * nothing of ours:
 * `Connection(int(os.environ["PROCREACT_CHANNEL_FD"]))`. In the line mode
 * (#PROCREACT_CHANNEL_LINES, for shell children) a message is one line: the
 * library adds the newline when sending and strips it when receiving. The
 * library moves bytes; their encoding is the caller's.
 *
 * **Limits.** A received message longer than the maximum message size
 * (procreact_channel_set_max_message(), default
 * #PROCREACT_CHANNEL_DEFAULT_MAX_MESSAGE) is an error found from its header,
 * before anything is allocated. A message is read straight into one buffer
 * of its announced size. procreact_channel_send() never blocks and never
 * queues without bound: it says when the queue passed its high-water mark
 * and fails with `EAGAIN` past its hard cap (procreact_channel_set_queue_limits()).
 * Received messages not yet taken are bounded by the same hard cap: past
 * it, the library stops reading and the child's sends wait (so a
 * procreact_future_get() of a child that sends more than the cap before it
 * exits, with nobody receiving meanwhile, waits for it: receive while it
 * runs, use an iterator with a channel callback, or raise the cap).
 *
 * **Descriptors.** A message may carry up to #PROCREACT_CHANNEL_MAX_FDS
 * descriptors (`SCM_RIGHTS`), tied to it alone: sent with its first byte,
 * never twice, received close-on-exec. Line mode carries none.
 *
 * **Ordering at exit.** A future with a channel is done only once its
 * channel reached its end: every complete message the child sent is in the
 * channel's received queue before the child's exit is reported (and stays
 * there, for procreact_channel_try_recv(), after the future completed). A
 * partial message at the end of the stream is an error, never delivered.
 *
 * **Threads.** A channel is used by one thread at a time, the thread that
 * drives its future (a get or an iterator) included.
 *
 * **Ownership.** Every `ProcReact_Channel *` returned to the caller is the
 * caller's, freed with procreact_channel_free() (the socket closes when the
 * last holder, the caller or the running future, lets go). Every
 * `ProcReact_Message *` is the caller's, freed with procreact_message_free().
 * @{
 */
#ifndef PROCREACT_CHANNEL_H
#define PROCREACT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "procreact_future.h"
#include "procreact_future_iterator.h"
#include "procreact_spawn.h"
#include "procreact_types.h"
#include "procreact_util.h"

PROCREACT_BEGIN_DECLS

/** @brief One end of a channel: opaque. */
typedef struct ProcReact_Channel ProcReact_Channel;

/** @brief One received message (its bytes and descriptors): opaque. */
typedef struct ProcReact_Message ProcReact_Message;

/** @brief How messages are delimited on the stream. */
typedef enum {
    PROCREACT_CHANNEL_NONE = 0,   /**< no channel (procreact_command_set_channel() removes it) */
    PROCREACT_CHANNEL_FRAMED = 1, /**< length-prefixed, as Python's `Connection` */
    PROCREACT_CHANNEL_LINES = 2   /**< one message per line (no newline inside a message) */
} ProcReact_ChannelMode;

/** @brief The environment variable that names a spawned program's end (a descriptor number). */
#define PROCREACT_CHANNEL_FD_ENV "PROCREACT_CHANNEL_FD"
/** @brief The environment variable that names the mode: `framed` or `lines`. */
#define PROCREACT_CHANNEL_MODE_ENV "PROCREACT_CHANNEL_MODE"

/** @brief The default maximum size of a received message: 64 MiB. */
#define PROCREACT_CHANNEL_DEFAULT_MAX_MESSAGE (64u * 1024u * 1024u)
/** @brief The default send high-water mark: 1 MiB queued. */
#define PROCREACT_CHANNEL_DEFAULT_HIGH_WATER (1024u * 1024u)
/** @brief The default hard cap of each queue: 16 MiB (one message bigger than it is still taken alone). */
#define PROCREACT_CHANNEL_DEFAULT_HARD_CAP (16u * 1024u * 1024u)
/** @brief At most this many descriptors per message (the kernel's `SCM_MAX_FD`). */
#define PROCREACT_CHANNEL_MAX_FDS 253

/**
 * @brief Makes a channel end of a connected `AF_UNIX` stream socket (or,
 *        without descriptor passing, any stream) that the caller owns.
 *
 * The descriptor is taken over on success (closed by the last
 * procreact_channel_free()); on failure it is left to the caller.
 * @return the caller's handle, or NULL with errno (`EINVAL`, `ENOMEM`).
 */
PROCREACT_API ProcReact_Channel *procreact_channel_open_fd(int fd, ProcReact_ChannelMode mode) PROCREACT_NOEXCEPT;

/**
 * @brief In a spawned program: its end, from #PROCREACT_CHANNEL_FD_ENV and
 *        #PROCREACT_CHANNEL_MODE_ENV.
 * The descriptor is made close-on-exec (it is not handed on to the
 * programs this one runs).
 * @return the caller's handle, or NULL with errno `ENOENT` (no channel) or
 *         `EBADF` (the number is not an open descriptor).
 */
PROCREACT_API ProcReact_Channel *procreact_channel_child_open(void) PROCREACT_NOEXCEPT;

/** @brief Lets go of the caller's handle (NULL is ignored). Queued messages not yet written are dropped. */
PROCREACT_API void procreact_channel_free(ProcReact_Channel *channel) PROCREACT_NOEXCEPT;

/** @brief The socket descriptor, to poll for reading (owned by the channel). */
PROCREACT_API int procreact_channel_fd(const ProcReact_Channel *channel) PROCREACT_NOEXCEPT;

/** @brief Sets the largest message accepted in either direction (at least 1). Returns 0 or -1 (`EINVAL`). */
PROCREACT_API int procreact_channel_set_max_message(ProcReact_Channel *channel, uint64_t max_bytes) PROCREACT_NOEXCEPT;

/**
 * @brief Sets the send queue's high-water mark and the hard cap of both
 *        queues, in bytes (`high_water <= hard_cap`, both at least 1).
 * @return 0, or -1 with errno `EINVAL`.
 */
PROCREACT_API int procreact_channel_set_queue_limits(ProcReact_Channel *channel, size_t high_water, size_t hard_cap) PROCREACT_NOEXCEPT;

/**
 * @brief Sends one message without blocking: what the socket does not take
 *        now is queued (the bytes and duplicates of @p fds are copied; the
 *        caller keeps its descriptors).
 *
 * Queued bytes are written as the socket drains: by the future's collection
 * while it drives the future, or by procreact_channel_flush().
 * @return 0 when queued bytes stay under the high-water mark, 1 when they
 *         reached it (wait for the queue to drain before sending more), -1
 *         with errno: `EAGAIN` (the hard cap would be passed: nothing is
 *         queued), `EMSGSIZE` (longer than the maximum), `EINVAL` (more than
 *         #PROCREACT_CHANNEL_MAX_FDS descriptors, a newline in line mode),
 *         `EPIPE` (the peer is gone).
 */
PROCREACT_API int procreact_channel_send(ProcReact_Channel *channel, const void *data, size_t size, const int *fds,
                           unsigned int nfds) PROCREACT_NOEXCEPT;

/**
 * @brief Sends one message, waiting up to @p timeout_ms (-1: without limit)
 *        for the socket to take it: the blocking helper of a child (or of a
 *        simple program). The queue goes first; the message is then written
 *        straight from @p data (nothing copied).
 * @return 0 once it is written; 1 when the deadline passed after part of it
 *         was written (the rest is queued and goes out with later flushes or
 *         steps: never resend it); -1 with errno: `ETIMEDOUT` (nothing of it
 *         was written), and the errors of procreact_channel_send().
 */
PROCREACT_API int procreact_channel_send_wait(ProcReact_Channel *channel, const void *data, size_t size,
                                              const int *fds, unsigned int nfds, int timeout_ms) PROCREACT_NOEXCEPT;

/**
 * @brief Writes the queue out, waiting up to @p timeout_ms (-1: without limit).
 * @return 0 once the queue is empty, -1 with errno `ETIMEDOUT` or `EPIPE`.
 */
PROCREACT_API int procreact_channel_flush(ProcReact_Channel *channel, int timeout_ms) PROCREACT_NOEXCEPT;

/**
 * @brief Sends no more: once the queue is written, the peer reads the end
 *        of the stream (`shutdown(SHUT_WR)`); receiving goes on. Later sends
 *        fail with `EPIPE`.
 *
 * A child that reads until the end of the stream needs this (or the
 * parent's exit): the running future holds the parent's end, so freeing
 * the caller's handle alone does not close it.
 * @return 0, or -1 with errno `EINVAL`.
 */
PROCREACT_API int procreact_channel_shutdown(ProcReact_Channel *channel) PROCREACT_NOEXCEPT;

/**
 * @brief With @p on nonzero, procreact_channel_send() coalesces: it queues
 *        every message and writes only once 64 KiB are queued, so a burst
 *        of small messages costs one system call per 64 KiB instead of
 *        one per message. What stays queued goes out with
 *        procreact_channel_flush(), procreact_channel_send_wait(), or the
 *        next step of the collection that drives the channel's future. Off
 *        (0) by default: each send then writes at once when nothing is queued.
 * @return 0, or -1 with errno `EINVAL`.
 * @since 0.6 (version node `PROCREACT_0.6`)
 */
PROCREACT_API int procreact_channel_set_coalesce(ProcReact_Channel *channel, int on) PROCREACT_NOEXCEPT;

/** @brief Bytes queued for sending. */
PROCREACT_API size_t procreact_channel_queued(const ProcReact_Channel *channel) PROCREACT_NOEXCEPT;

/**
 * @brief Takes the next received message, reading what the socket holds
 *        now, without blocking.
 * @return 0 with @p message set (the caller's), 1 at the clean end of the
 *         stream (nothing more will come), -1 with errno: `EAGAIN` (none
 *         yet), `EMSGSIZE` (a message over the maximum was announced),
 *         `EPROTO` (a malformed header, descriptors with no message),
 *         `ECONNRESET` (the stream ended inside a message: it is never
 *         delivered), `ENOMEM`.
 */
PROCREACT_API int procreact_channel_try_recv(ProcReact_Channel *channel, ProcReact_Message **message) PROCREACT_NOEXCEPT;

/**
 * @brief procreact_channel_try_recv(), waiting up to @p timeout_ms
 *        (-1: without limit) for a message; `ETIMEDOUT` when none came.
 */
PROCREACT_API int procreact_channel_recv(ProcReact_Channel *channel, ProcReact_Message **message, int timeout_ms) PROCREACT_NOEXCEPT;

/**
 * @brief Takes up to @p capacity received messages at once into
 *        @p messages (each the caller's), waiting up to @p timeout_ms
 *        (-1: without limit) for the first: procreact_channel_recv() for
 *        many small messages, one call and one read for thousands.
 * @return how many were taken (at least 1), 0 at the clean end of the
 *         stream, -1 with errno: `EINVAL` (NULL, or @p capacity 0),
 *         `ETIMEDOUT`, and the errors of procreact_channel_try_recv().
 *         Messages are taken before an error is reported: an error comes
 *         only with none taken.
 * @since 0.6 (version node `PROCREACT_0.6`)
 */
PROCREACT_API int procreact_channel_recv_many(ProcReact_Channel *channel, ProcReact_Message **messages,
                                              unsigned int capacity, int timeout_ms) PROCREACT_NOEXCEPT;

/** @brief The message's bytes (valid until procreact_message_free(); never NULL). */
PROCREACT_API const void *procreact_message_data(const ProcReact_Message *message) PROCREACT_NOEXCEPT;
/** @brief The message's size in bytes. */
PROCREACT_API uint64_t procreact_message_size(const ProcReact_Message *message) PROCREACT_NOEXCEPT;
/** @brief How many descriptors came with the message. */
PROCREACT_API unsigned int procreact_message_fd_count(const ProcReact_Message *message) PROCREACT_NOEXCEPT;
/**
 * @brief Takes descriptor @p index out of the message: the caller owns it
 *        (close-on-exec). -1 (`EINVAL`) when out of range or already taken.
 */
PROCREACT_API int procreact_message_take_fd(ProcReact_Message *message, unsigned int index) PROCREACT_NOEXCEPT;
/**
 * @brief Nonzero when the kernel truncated the descriptors sent with this
 *        message (`MSG_CTRUNC`: the receiver's limit was reached); the ones
 *        that arrived are in the message.
 */
PROCREACT_API int procreact_message_fds_truncated(const ProcReact_Message *message) PROCREACT_NOEXCEPT;
/** @brief Frees the message and closes the descriptors not taken (NULL is ignored). */
PROCREACT_API void procreact_message_free(ProcReact_Message *message) PROCREACT_NOEXCEPT;

/**
 * @brief Gives the programs spawned from @p command a channel (or none,
 *        with #PROCREACT_CHANNEL_NONE, the default). The program finds its
 *        end's number in #PROCREACT_CHANNEL_FD_ENV and the mode in
 *        #PROCREACT_CHANNEL_MODE_ENV; its end is the only channel descriptor
 *        it inherits (the lowest number above 2 that no passed descriptor
 *        takes). Without a channel, both variables are removed from the
 *        program's environment (an inherited number would name some other
 *        descriptor). The parent's end: procreact_future_channel().
 * @return 0, or -1 with errno `EINVAL`.
 */
PROCREACT_API int procreact_command_set_channel(ProcReact_Command *command, ProcReact_ChannelMode mode) PROCREACT_NOEXCEPT;

/**
 * @brief procreact_initialize_future() with a channel: in the child (pid
 *        0), @p child_end is set to the child's handle; in the parent it is
 *        set to NULL and the parent's end is found with
 *        procreact_future_channel(). The child's end is close-on-exec: a
 *        forked child that runs a program and wants it to have the channel
 *        clears the flag and names the descriptor itself.
 */
PROCREACT_API ProcReact_Future procreact_initialize_future_with_channel(ProcReact_Type type, ProcReact_ChannelMode mode,
                                                          ProcReact_Channel **child_end) PROCREACT_NOEXCEPT;

/**
 * @brief The parent's end of a running future's channel, as a new handle
 *        (the caller's: free it with procreact_channel_free(); it stays valid
 *        after the future completed).
 *
 * Ask while the future is not yet handed to a get or an iterator (for
 * instance right after it was made): a future being driven is not reached
 * through its struct.
 * @return the handle, or NULL with errno `ENOENT` (no channel, or the future
 *         is not waiting) or `ENOMEM`.
 */
PROCREACT_API ProcReact_Channel *procreact_future_channel(const ProcReact_Future *future) PROCREACT_NOEXCEPT;

/** @brief What happened on a channel (procreact_future_iterator_set_channel_callback()). */
typedef enum {
    PROCREACT_CHANNEL_MESSAGE = 0,  /**< a message came: `message` is the callback's to free */
    PROCREACT_CHANNEL_WRITABLE = 1, /**< the send queue drained after reaching its high-water mark */
    PROCREACT_CHANNEL_CLOSED = 2    /**< nothing more will come: `error` 0 for a clean end, else an errno value */
} ProcReact_ChannelEvent;

/**
 * @brief Called by a future iterator's step for each channel event of a
 *        future it drives. @p channel is lent for the call (send replies
 *        through it; procreact_future_channel() before handing the future
 *        over gives a handle of one's own). @p message is the callback's
 *        (procreact_message_free()) for #PROCREACT_CHANNEL_MESSAGE, else
 *        NULL. @p error is set for #PROCREACT_CHANNEL_CLOSED only.
 */
typedef void (*ProcReact_ChannelCallback)(void *data, const ProcReact_Future *future, ProcReact_Channel *channel,
                                          ProcReact_ChannelEvent event, ProcReact_Message *message, int error);

/**
 * @brief Delivers the channel events of every future @p iterator drives to
 *        @p callback (NULL: none; messages then wait in each channel for
 *        procreact_channel_try_recv()).
 *
 * Events come through the iterator's one descriptor
 * (procreact_future_iterator_fd()) and its steps, blocking or not
 * (procreact_future_iterator_step(), procreact_buffer()), so a main loop
 * needs nothing more. A future's messages and then its #PROCREACT_CHANNEL_CLOSED
 * event always come before its `complete` call. The callback may send,
 * spawn, cancel or destroy the iterator, as a `complete` callback may.
 * @return 0, or -1 with errno `EINVAL` or `ENOMEM`.
 */
PROCREACT_API int procreact_future_iterator_set_channel_callback(ProcReact_FutureIterator *iterator,
                                                                 ProcReact_ChannelCallback callback,
                                                                 void *data) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

/** @} */

#endif /* PROCREACT_CHANNEL_H */
