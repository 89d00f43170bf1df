/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_types.h
 * @brief Result types: how the bytes a child writes become a value.
 *
 * @defgroup Types Result types
 * @brief Built-in result types (bytes, string, string array) and the
 *        interface for types of your own.
 *
 * A ::ProcReact_Type is three functions: @c initialize makes a reading state,
 * @c append moves some bytes from the child's pipe into the state, and
 * @c finalize waits for the child and turns the state into the result.
 *
 * For every built-in type the result is NULL when the child did not exit with
 * code 0; @c status then tells why (a non-zero exit is #PROCREACT_STATUS_OK
 * with a NULL result).
 *
 * Custom types: the library calls @c append only when the descriptor is
 * readable (or at end of stream), so an @c append that does one `read()` on
 * the blocking descriptor never stalls other children. @c finalize is called
 * once the child has exited and its output has ended, so a wait inside it
 * returns at once. A type whose @c append or @c finalize is NULL cannot be
 * used: procreact_initialize_future() refuses it.
 *
 * @par The building blocks and their states
 * The exported functions below (procreact_type_append_bytes() and the
 * others) accept any state that starts with the public struct of its type
 * (::ProcReact_BytesState or ::ProcReact_StringArrayState): the states that
 * procreact_type_initialize_bytes() and procreact_type_initialize_string_array()
 * make, which are exactly that struct, and a struct the client allocated
 * itself with `malloc()` (with fields of its own after it, if it likes).
 * Every such state is read and written the same way, through its public
 * fields only, the way 0.1 reads it: @c data holds @c data_size bytes in a
 * `malloc`'ed buffer (NULL when empty); @c result holds @c result_length
 * `malloc`'ed slots, the last of which is the token being read (NULL before
 * one has started). Nothing after the public struct is ever read or
 * written, and no state is recognised by its address, so a client that
 * frees a state with `free()` (its buffers first) and allocates another,
 * even at the same address, loses nothing. Room is what `malloc_usable_size()`
 * reports for a buffer, so buffers grow geometrically and reading is linear.
 * A state counts at most `UINT_MAX` bytes (tokens): past that append fails
 * with `EFBIG` and the finalize reports #PROCREACT_STATUS_RESULT_TOO_LARGE.
 * A failure (too large, out of memory, a read error) is recorded in the
 * public fields as a NULL buffer with a size of `UINT_MAX - 2` or more,
 * which the finalize turns into its status; later appends only drain the
 * descriptor (they return what they read, so a loop reads to the end).
 * A future whose type is entirely built-in (its three functions all the
 * library's, as procreact_create_bytes_type() and the others make it) does
 * not go through these states: the library reads with states of its own
 * there, which no client sees (with no 4 GiB limit for the string type). A
 * type that mixes in a function of the client's is read through its
 * pointers, with the states above.
 * @{
 */
#ifndef PROCREACT_TYPES_H
#define PROCREACT_TYPES_H

#include <sys/types.h>
#include <unistd.h>

#include "procreact_pid.h"
#include "procreact_util.h"

/** @brief Alias of struct ProcReact_Type. */
typedef struct ProcReact_Type ProcReact_Type;

/**
 * @brief Turns the output of a child process into a value.
 */
struct ProcReact_Type {
    /**
     * @brief Makes the state that collects the output.
     * @return the new state (may be NULL for a type that needs none)
     */
    void *(*initialize)(void);

    /**
     * @brief Reads some bytes from @p fd into @p state.
     * @param type  the type itself (gives access to @c delimiter)
     * @param state the state @c initialize made
     * @param fd    the read end of the child's pipe (blocking)
     * @return the number of bytes read, 0 at end of stream, -1 on error (errno set)
     */
    ssize_t (*append)(ProcReact_Type *type, void *state, int fd);

    /**
     * @brief Waits for @p pid, turns @p state into the result and frees the state.
     * @param state  the state; owned by this function from now on
     * @param pid    the child
     * @param status receives the outcome
     * @return the result, or NULL
     */
    void *(*finalize)(void *state, pid_t pid, ProcReact_Status *status);

    /** @brief The token separator of the string-array type; unused by the others. */
    char delimiter;
};

/**
 * @brief The state, and the result, of the bytes type.
 *
 * As a result (from procreact_create_bytes_type()) both the struct and
 * @c data are `malloc`'ed: free @c data, then the struct. @c data is NULL
 * when the child wrote nothing.
 */
typedef struct {
    /** The bytes read so far (`malloc`'ed, may be NULL when empty). */
    void *data;
    /** The number of bytes in @c data. */
    unsigned int data_size;
} ProcReact_BytesState;

/**
 * @brief The string-array type's reading state for the building blocks.
 *
 * As in 0.1: @c result holds @c result_length `malloc`'ed slots, the last
 * one the token being read (NULL before one has started); a client may
 * allocate it itself (see @ref Types).
 */
typedef struct {
    /** The tokens completed so far. */
    char **result;
    /** The number of tokens in @c result. */
    unsigned int result_length;
} ProcReact_StringArrayState;

PROCREACT_BEGIN_DECLS

/**
 * @brief Makes a reading state for the bytes and string types.
 * @return a state to pass to procreact_type_append_bytes() and later to
 *         procreact_type_finalize_bytes() or procreact_type_finalize_string(),
 *         which free it; NULL when out of memory. It is a zeroed
 *         ::ProcReact_BytesState and nothing more: a struct of your own
 *         works the same (see @ref Types).
 */
PROCREACT_API void *procreact_type_initialize_bytes(void) PROCREACT_NOEXCEPT;

/**
 * @brief Reads the available bytes from @p fd into a bytes state.
 *
 * Does one `read()` (retried on `EINTR`) of up to the free room in the buffer,
 * which grows geometrically, so it blocks only when the descriptor has no data.
 *
 * @param type  unused (may be NULL)
 * @param state a state from procreact_type_initialize_bytes() or a
 *              ::ProcReact_BytesState of your own (see @ref Types)
 * @param fd    the descriptor to read
 * @return bytes read, 0 at end of stream, -1 on error (errno set; `EINVAL`
 *         for a NULL state, `ENOMEM` when the buffer cannot grow, `EFBIG`
 *         past `UINT_MAX` bytes, or the `read()` error; all but `EINVAL`
 *         and `EAGAIN` are recorded in the state for the finalize)
 */
PROCREACT_API ssize_t procreact_type_append_bytes(ProcReact_Type *type, void *state, int fd) PROCREACT_NOEXCEPT;

/**
 * @brief Waits for @p pid and turns a bytes state into a ::ProcReact_BytesState result.
 *
 * Frees @p state in all cases; as in 0.1 the result is the state itself.
 *
 * @return a `malloc`'ed ::ProcReact_BytesState (free its @c data, then it), or
 *         NULL when the child did not exit with code 0 or reading failed
 *         (@p status says why: #PROCREACT_STATUS_RESULT_TOO_LARGE past
 *         `UINT_MAX` bytes, #PROCREACT_STATUS_READ_FAIL,
 *         #PROCREACT_STATUS_OUT_OF_MEMORY).
 */
PROCREACT_API void *procreact_type_finalize_bytes(void *state, pid_t pid, ProcReact_Status *status) PROCREACT_NOEXCEPT;

/**
 * @brief Waits for @p pid and turns a bytes state into a NUL-terminated string.
 *
 * Frees @p state in all cases. A state of the building blocks holds at
 * most `UINT_MAX` bytes; a future of procreact_create_string_type() has no
 * such limit.
 *
 * @return a `malloc`'ed string (free it with `free()`), or NULL when the child
 *         did not exit with code 0.
 */
PROCREACT_API void *procreact_type_finalize_string(void *state, pid_t pid, ProcReact_Status *status) PROCREACT_NOEXCEPT;

/**
 * @brief Makes a reading state for the string-array type.
 * @return a state for procreact_type_append_strings_to_array() and
 *         procreact_type_finalize_string_array(), which frees it; NULL when
 *         out of memory. It is a ::ProcReact_StringArrayState with one NULL
 *         slot, as 0.1 makes it, and nothing more (see @ref Types).
 */
PROCREACT_API void *procreact_type_initialize_string_array(void) PROCREACT_NOEXCEPT;

/**
 * @brief Reads the available bytes from @p fd and splits them at @c type->delimiter.
 *
 * Reading is linear however long a token grows: each new byte is scanned
 * once for the delimiter, and the token being read is measured with
 * `strlen()` only while it is short (under 4 KiB); a longer one keeps its
 * length at the end of its buffer, which the library grew.
 *
 * @param type  the type; its @c delimiter separates tokens (NULL means '\\n')
 * @param state a state from procreact_type_initialize_string_array() or a
 *              ::ProcReact_StringArrayState of your own (see @ref Types)
 * @param fd    the descriptor to read
 * @return bytes read, 0 at end of stream, -1 on error (errno set)
 */
PROCREACT_API ssize_t procreact_type_append_strings_to_array(ProcReact_Type *type, void *state, int fd) PROCREACT_NOEXCEPT;

/**
 * @brief Waits for @p pid and turns a string-array state into a NULL-terminated array.
 *
 * Frees @p state in all cases. A trailing delimiter ends the last token and
 * does not add an empty one; empty tokens between delimiters are kept; no
 * output at all gives an empty array (just the NULL terminator).
 *
 * @return a `malloc`'ed NULL-terminated array of `malloc`'ed strings, freed
 *         with procreact_free_string_array(); NULL when the child did not exit
 *         with code 0.
 */
PROCREACT_API void *procreact_type_finalize_string_array(void *state, pid_t pid, ProcReact_Status *status) PROCREACT_NOEXCEPT;

/**
 * @brief The bytes type: the result is a `malloc`'ed ::ProcReact_BytesState
 *        holding every byte the child wrote.
 * @return the type by value; nothing to free.
 */
PROCREACT_API ProcReact_Type procreact_create_bytes_type(void) PROCREACT_NOEXCEPT;

/**
 * @brief The string type: the result is a `malloc`'ed NUL-terminated `char *`.
 * @return the type by value; nothing to free.
 */
PROCREACT_API ProcReact_Type procreact_create_string_type(void) PROCREACT_NOEXCEPT;

/**
 * @brief The string-array type: the output split at @p delimiter into a
 *        NULL-terminated `char **` (free with procreact_free_string_array()).
 *
 * `"a\nb\n"` and `"a\nb"` both give `{"a", "b", NULL}`; `"a\n\nb"` gives
 * `{"a", "", "b", NULL}`; `"\n"` gives `{"", NULL}`; no output gives `{NULL}`.
 *
 * @param delimiter the byte that separates tokens (any byte, NUL included)
 * @return the type by value; nothing to free.
 */
PROCREACT_API ProcReact_Type procreact_create_string_array_type(char delimiter) PROCREACT_NOEXCEPT;

/**
 * @brief Frees a NULL-terminated array of strings and every string in it.
 * @param arr the array; NULL is allowed and does nothing.
 */
PROCREACT_API void procreact_free_string_array(char **arr) PROCREACT_NOEXCEPT;

PROCREACT_END_DECLS

#endif /* PROCREACT_TYPES_H */

/** @} */
