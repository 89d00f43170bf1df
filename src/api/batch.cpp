// SPDX-License-Identifier: MIT
//
// procreact_batch.h: many programs, one call per batch.
#include "procreact_batch.h"

#include <cerrno>
#include <cmath>

#include "../drivers/batch_jobs.hpp"
#include "../drivers/spawn_threads.hpp"
#include "../engine/boundary.hpp"
#include "../os/clock.hpp"
#include "../os/child_watch.hpp"

using namespace procreact;

namespace
{

int invalid() noexcept
{
    errno = EINVAL;
    return -1;
}

} // namespace

extern "C" {

ProcReact_Batch *procreact_batch_new(const ProcReact_Command *command, unsigned int max_in_flight) noexcept
{
    if (command == nullptr || max_in_flight == 0 || command->channel_mode != PROCREACT_CHANNEL_NONE) {
        errno = EINVAL;
        return nullptr;
    }
    errno = 0;
    ProcReact_Batch *batch =
        guard(static_cast<ProcReact_Batch *>(nullptr), [&] { return new ProcReact_Batch(*command, max_in_flight); });
    if (batch == nullptr && errno == 0)
        errno = ENOMEM;
    return batch;
}

void procreact_batch_free(ProcReact_Batch *batch) noexcept
{
    delete batch; // the collection kills and reaps every running job
}

int procreact_batch_set_timeout(ProcReact_Batch *batch, double seconds) noexcept
{
    if (batch == nullptr || std::isnan(seconds))
        return invalid();
    long long ns = -1;
    if (seconds >= 0 && !seconds_to_ns(seconds, &ns))
        return invalid();
    batch->collection.defaults().timeout_ns = ns;
    return 0;
}

int procreact_batch_set_stop(ProcReact_Batch *batch, int signo, double grace_seconds) noexcept
{
    long long ns;
    if (batch == nullptr || !parse_stop(signo, grace_seconds, &ns))
        return invalid();
    StopDefaults &d = batch->collection.defaults();
    d.stop_set = true;
    d.signo = signo;
    d.grace_ns = ns;
    return 0;
}

int procreact_batch_set_output_limit(ProcReact_Batch *batch, size_t bytes) noexcept
{
    if (batch == nullptr)
        return invalid();
    batch->output_limit = bytes;
    return 0;
}

int procreact_batch_set_spawn_threads(ProcReact_Batch *batch, unsigned int threads) noexcept
{
    if (batch == nullptr || threads > kMaxSpawnThreads)
        return invalid();
    batch->spawn_threads = threads;
    return 0;
}

ssize_t procreact_batch_submit(ProcReact_Batch *batch, const char *const *argv, const size_t *counts,
                               size_t count) noexcept
{
    if (batch == nullptr)
        return invalid();
    return submit_jobs(*batch, argv, counts, count);
}

ssize_t procreact_batch_wait(ProcReact_Batch *batch, ProcReact_BatchResult *out, size_t max, int timeout_ms) noexcept
{
    if (batch == nullptr || (out == nullptr && max != 0))
        return invalid();
    reap_leftovers();
    return wait_jobs(*batch, out, max, timeout_ms);
}

size_t procreact_batch_remaining(const ProcReact_Batch *batch) noexcept
{
    return batch != nullptr ? batch->submitted - batch->delivered : 0;
}

int procreact_batch_fd(ProcReact_Batch *batch) noexcept
{
    if (batch == nullptr)
        return invalid();
    return batch->collection.fd();
}

int procreact_batch_cancel(ProcReact_Batch *batch) noexcept
{
    if (batch == nullptr)
        return invalid();
    const WakerRef &waker = batch->collection.waker();
    waker->post_all();
    waker->ring();
    return 0;
}

} // extern "C"
