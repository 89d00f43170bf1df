/* SPDX-License-Identifier: MIT */
/**
 * @file procreact_util.h
 * @brief Shared definitions: the boolean type and the export macro.
 *
 * @defgroup Util Utilities
 * @brief The boolean typedef every module uses, and the macros that mark the
 *        library's public functions.
 * @{
 */
#ifndef PROCREACT_UTIL_H
#define PROCREACT_UTIL_H

/**
 * @brief A boolean as libprocreact 0.1 defines it: an `int`, true when non-zero.
 */
typedef int ProcReact_bool;

/**
 * @def PROCREACT_API
 * @brief Marks a function that the shared library exports.
 *
 * The library is built with hidden visibility; only declarations carrying this
 * macro are visible to clients. Clients never need to define anything.
 */
#if defined(PROCREACT_BUILDING_LIBRARY) && (defined(__GNUC__) || defined(__clang__))
#define PROCREACT_API __attribute__((visibility("default")))
#else
#define PROCREACT_API
#endif

/**
 * @def PROCREACT_NOEXCEPT
 * @brief Marks a function that never throws a C++ exception (`noexcept` in C++,
 *        empty in C). No C++ exception ever leaves the library.
 */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define PROCREACT_NOEXCEPT noexcept
#elif defined(__cplusplus)
#define PROCREACT_NOEXCEPT throw()
#else
#define PROCREACT_NOEXCEPT
#endif

/**
 * @def PROCREACT_BEGIN_DECLS
 * @brief Opens a block of C declarations (`extern "C" {` when compiled as C++).
 * @def PROCREACT_END_DECLS
 * @brief Closes a block opened with #PROCREACT_BEGIN_DECLS.
 */
#ifdef __cplusplus
#define PROCREACT_BEGIN_DECLS extern "C" {
#define PROCREACT_END_DECLS }
#else
#define PROCREACT_BEGIN_DECLS
#define PROCREACT_END_DECLS
#endif

#endif /* PROCREACT_UTIL_H */

/** @} */
