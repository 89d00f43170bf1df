// SPDX-License-Identifier: MIT
//
// procreact_pool_config_*(): a pool's settings.
#include <cerrno>
#include <new>

#include "../engine/boundary.hpp"
#include "../pool/pool.hpp"

using namespace procreact;

namespace
{

int invalid() noexcept
{
    errno = EINVAL;
    return -1;
}

bool to_ns(double seconds, long long *ns) noexcept
{
    return seconds_to_ns(seconds, ns) && *ns >= 0;
}

} // namespace

extern "C" {

ProcReact_PoolConfig *procreact_pool_config_new(void) noexcept
{
    auto *config = new (std::nothrow) ProcReact_PoolConfig();
    if (config == nullptr)
        errno = ENOMEM;
    return config;
}

void procreact_pool_config_free(ProcReact_PoolConfig *config) noexcept
{
    delete config;
}

int procreact_pool_config_set_function(ProcReact_PoolConfig *config, ProcReact_WorkerInit init,
                                       ProcReact_TaskFunction function, void *data) noexcept
{
    if (config == nullptr || function == nullptr)
        return invalid();
    config->s.init = init;
    config->s.function = function;
    config->s.data = data;
    config->s.command.reset();
    config->s.mode = PROCREACT_CHANNEL_FRAMED;
    return 0;
}

int procreact_pool_config_set_program(ProcReact_PoolConfig *config, const ProcReact_Command *command,
                                      ProcReact_ChannelMode mode) noexcept
{
    if (config == nullptr || command == nullptr || command->argv.empty() ||
        (mode != PROCREACT_CHANNEL_FRAMED && mode != PROCREACT_CHANNEL_LINES))
        return invalid();
    return guard(-1, [&] {
        auto copy = std::make_shared<ProcReact_Command>(*command);
        copy->channel_mode = mode;
        // A worker's output is not read by the pool: what would be captured
        // goes where the parent's goes, and bytes for its stdin make no sense.
        if (copy->stdout_mode == PROCREACT_OUTPUT_CAPTURE)
            copy->stdout_mode = PROCREACT_OUTPUT_INHERIT;
        if (copy->stderr_mode == PROCREACT_OUTPUT_CAPTURE)
            copy->stderr_mode = PROCREACT_OUTPUT_INHERIT;
        if (copy->stdin_mode == PROCREACT_STDIN_BYTES) {
            copy->stdin_mode = PROCREACT_STDIN_NULL;
            copy->stdin_bytes.reset();
        }
        config->s.command = std::move(copy);
        config->s.mode = mode;
        config->s.init = nullptr;
        config->s.function = nullptr;
        config->s.data = nullptr;
        return 0;
    });
}

int procreact_pool_config_set_workers(ProcReact_PoolConfig *config, unsigned int workers) noexcept
{
    if (config == nullptr || workers > 4096)
        return invalid();
    config->s.workers = workers;
    return 0;
}

int procreact_pool_config_set_recycle(ProcReact_PoolConfig *config, unsigned int max_tasks,
                                      uint64_t max_rss_bytes) noexcept
{
    if (config == nullptr)
        return invalid();
    config->s.max_tasks = max_tasks;
    config->s.max_rss = max_rss_bytes;
    return 0;
}

int procreact_pool_config_set_stop(ProcReact_PoolConfig *config, int signo, double grace_seconds) noexcept
{
    long long grace_ns = 0;
    if (config == nullptr || !parse_stop(signo, grace_seconds, &grace_ns))
        return invalid();
    config->s.signo = signo;
    config->s.grace_ns = grace_ns;
    return 0;
}

int procreact_pool_config_set_crash_limit(ProcReact_PoolConfig *config, unsigned int limit,
                                          double first_delay_seconds) noexcept
{
    long long delay_ns = 0;
    if (config == nullptr || limit == 0 || !to_ns(first_delay_seconds, &delay_ns))
        return invalid();
    config->s.crash_limit = limit;
    config->s.first_delay_ns = delay_ns;
    return 0;
}

int procreact_pool_config_set_max_message(ProcReact_PoolConfig *config, uint64_t max_bytes) noexcept
{
    if (config == nullptr || max_bytes == 0)
        return invalid();
    config->s.max_message = max_bytes;
    return 0;
}

int procreact_pool_config_set_fork_server(ProcReact_PoolConfig *config, int enabled) noexcept
{
    if (config == nullptr)
        return invalid();
    config->s.fork_server = enabled != 0;
    return 0;
}

int procreact_pool_config_set_ready_message(ProcReact_PoolConfig *config, int enabled) noexcept
{
    if (config == nullptr)
        return invalid();
    config->s.ready_message = enabled != 0;
    return 0;
}

} // extern "C"
