// SPDX-License-Identifier: MIT
//
// A batch (procreact_batch.h): queued argument lists, one collection that
// runs up to a limit of them, and the ended jobs waiting to be handed out.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "../command.hpp"
#include "../engine/collection.hpp"
#include "../engine/exit_details.hpp"
#include "procreact_batch.h"

struct ProcReact_Batch;

namespace procreact
{

struct FreeDeleter {
    void operator()(void *p) const noexcept { std::free(p); }
};
using MallocBytes = std::unique_ptr<char, FreeDeleter>;

/// A queued job: its arguments, each followed by a NUL, in one string.
struct QueuedJob {
    std::size_t index;
    std::string args;
    std::size_t words; ///< how many arguments
};

/// An ended job, waiting to be handed out.
struct EndedJob {
    std::size_t index = 0;
    ProcReact_Status status = PROCREACT_STATUS_OK;
    Details details;
    MallocBytes out;
    std::size_t out_size = 0;
};

/// Queues @p count jobs (see procreact_batch_submit()). -1 with errno set.
ssize_t submit_jobs(ProcReact_Batch &batch, const char *const *argv, const std::size_t *counts,
                    std::size_t count) noexcept;

/// procreact_batch_wait() on a checked batch.
ssize_t wait_jobs(ProcReact_Batch &batch, ProcReact_BatchResult *out, std::size_t max, int timeout_ms) noexcept;

} // namespace procreact

struct ProcReact_Batch {
    /// Throws std::bad_alloc (the collection's waker, the template's copy).
    ProcReact_Batch(const ProcReact_Command &command, unsigned int limit);

    ProcReact_Command command; // the template (its argv unused)
    unsigned int limit;
    std::size_t output_limit = SIZE_MAX;
    procreact::Collection collection;
    unsigned int spawn_threads = 0; // 0: the library's default (drivers/spawn_threads.hpp)
    std::list<procreact::QueuedJob> queued; // a job is claimed by moving its node out
    std::deque<procreact::EndedJob> ended;
    std::vector<procreact::MallocBytes> handed; // the last results' data, freed by the next wait
    std::size_t submitted = 0;
    std::size_t delivered = 0;
};
