/* SPDX-License-Identifier: MIT */
/*
 * A client of the installed library, written in the subset of C and C++ that
 * compiles as both: the test builds it once as C and once as C++ against
 * the headers and library that pkg-config finds, and runs both. It uses
 * every upstream header by its upstream name, so a declaration without
 * extern "C" (upstream's procreact_pid_iterator.h) fails to link as C++.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <procreact_future.h>
#include <procreact_future_iterator.h>
#include <procreact_pid.h>
#include <procreact_pid_iterator.h>
#include <procreact_signal.h>
#include <procreact_types.h>
#include <procreact_util.h>
#include <procreact_exit.h>
#include <procreact_spawn.h>
#include <procreact_channel.h>
#include <procreact_batch.h>
#include <procreact_pool.h>
#include <procreact.h>

/* The x86_64 ABI, checked at compile time in both languages. */
#if defined(__x86_64__) && defined(__LP64__)
typedef char check_type_size[sizeof(ProcReact_Type) == 32 ? 1 : -1];
typedef char check_future_size[sizeof(ProcReact_Future) == 56 ? 1 : -1];
typedef char check_future_iterator_size[sizeof(ProcReact_FutureIterator) == 48 ? 1 : -1];
typedef char check_pid_iterator_size[sizeof(ProcReact_PidIterator) == 48 ? 1 : -1];
typedef char check_exit_info_size[sizeof(ProcReact_ExitInfo) == 120 ? 1 : -1];
typedef char check_exit_info_times[offsetof(ProcReact_ExitInfo, wall_time) == 24 ? 1 : -1];
typedef char check_exit_info_stderr[offsetof(ProcReact_ExitInfo, stderr_data) == 56 ? 1 : -1];
typedef char check_pool_stats_size[sizeof(ProcReact_PoolStats) == 80 ? 1 : -1];
#endif

static int failures = 0;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                         \
            ++failures;                                                                                      \
        }                                                                                                    \
    } while (0)

static void check_future(void)
{
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_type());
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    char *s;
    if (future.pid == 0) {
        const char *msg = "hello from the child";
        ssize_t n = write(future.fd, msg, strlen(msg));
        _exit(n == (ssize_t)strlen(msg) ? 0 : 1);
    }
    CHECK(future.pid > 0);
    s = (char *)procreact_future_get(&future, &status);
    CHECK(status == PROCREACT_STATUS_OK);
    CHECK(s != NULL && strcmp(s, "hello from the child") == 0);
    CHECK(procreact_future_get(&future, &status) == s);
    free(s);
    procreact_destroy_future(&future);
}

/* A future iterator over three words, collecting string arrays. */
typedef struct {
    int next;
    int completed;
    int ok;
} WordsData;

static ProcReact_bool words_has_next(void *data)
{
    return ((WordsData *)data)->next < 3;
}

static ProcReact_Future words_next(void *data)
{
    WordsData *d = (WordsData *)data;
    const int index = d->next++;
    ProcReact_Future future = procreact_initialize_future(procreact_create_string_array_type(':'));
    if (future.pid == 0) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "w%d:x%d:", index, index);
        _exit(write(future.fd, buf, (size_t)len) == len ? 0 : 1);
    }
    return future;
}

static void words_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    WordsData *d = (WordsData *)data;
    char **tokens = (char **)future->result;
    ++d->completed;
    if (status == PROCREACT_STATUS_OK && tokens != NULL && tokens[0] != NULL && tokens[1] != NULL &&
        tokens[2] == NULL && tokens[0][0] == 'w' && tokens[1][0] == 'x' && tokens[0][1] == tokens[1][1])
        ++d->ok;
    procreact_free_string_array(tokens);
}

static void check_future_iterator(void)
{
    WordsData data;
    ProcReact_FutureIterator it;
    memset(&data, 0, sizeof data);
    it = procreact_initialize_future_iterator(words_has_next, words_next, words_complete, &data);
    procreact_fork_buffer_and_wait_in_parallel_limit(&it, 2);
    CHECK(data.completed == 3);
    CHECK(data.ok == 3);
    CHECK(it.running_processes == 0);
    procreact_destroy_future_iterator(&it);
}

/* A pid iterator over exit codes. */
typedef struct {
    int next;
    int sum;
    int completed;
} CodesData;

static ProcReact_bool codes_has_next(void *data)
{
    return ((CodesData *)data)->next < 4;
}

static pid_t codes_next(void *data)
{
    CodesData *d = (CodesData *)data;
    const int code = ++d->next;
    pid_t pid = fork();
    if (pid == 0)
        _exit(code);
    return pid;
}

static void codes_complete(void *data, pid_t pid, ProcReact_Status status, int result)
{
    CodesData *d = (CodesData *)data;
    (void)pid;
    ++d->completed;
    if (status == PROCREACT_STATUS_OK)
        d->sum += result;
}

static void check_pid_iterator(void)
{
    CodesData data;
    ProcReact_PidIterator it;
    memset(&data, 0, sizeof data);
    it = procreact_initialize_pid_iterator(codes_has_next, codes_next, procreact_retrieve_exit_status,
                                           codes_complete, &data);
    procreact_fork_and_wait_in_parallel_limit(&it, 2);
    CHECK(data.completed == 4);
    CHECK(data.sum == 1 + 2 + 3 + 4);

    /* The main-loop style with the signal handler. */
    memset(&data, 0, sizeof data);
    it = procreact_initialize_pid_iterator(codes_has_next, codes_next, NULL, codes_complete, &data);
    CHECK(procreact_register_signal_handler() == 0);
    while (procreact_spawn_next_pid(&it))
        ;
    {
        int rounds = 0;
        while (data.completed < 4 && rounds++ < 10000) {
            struct timespec ts;
            procreact_complete_all_finished_processes(&it);
            ts.tv_sec = 0;
            ts.tv_nsec = 1000000;
            nanosleep(&ts, NULL);
        }
    }
    CHECK(data.completed == 4);
    CHECK(data.sum == 10);
    procreact_destroy_pid_iterator(&it);
}

static void check_pid_functions(void)
{
    ProcReact_Status status = PROCREACT_STATUS_OK;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    CHECK(procreact_wait_for_boolean(pid, &status));
    CHECK(status == PROCREACT_STATUS_OK);
    pid = fork();
    if (pid == 0)
        _exit(9);
    CHECK(procreact_wait_and_retrieve(pid, procreact_retrieve_exit_status, &status) == 9);
    CHECK(procreact_wait_for_exit_status(-1, &status) == -1);
    CHECK(status == PROCREACT_STATUS_FORK_FAIL);
    CHECK(procreact_retrieve_boolean(-1, 0, &status) == 0);
    CHECK(status == PROCREACT_STATUS_WAIT_FAIL);
}

static void check_building_blocks(void)
{
    /* The public building blocks keep their names: take their addresses. */
    void *(*init_bytes)(void) = procreact_type_initialize_bytes;
    ssize_t (*append_bytes)(ProcReact_Type *, void *, int) = procreact_type_append_bytes;
    void *(*fin_bytes)(void *, pid_t, ProcReact_Status *) = procreact_type_finalize_bytes;
    void *(*fin_string)(void *, pid_t, ProcReact_Status *) = procreact_type_finalize_string;
    void *(*init_array)(void) = procreact_type_initialize_string_array;
    ssize_t (*append_array)(ProcReact_Type *, void *, int) = procreact_type_append_strings_to_array;
    void *(*fin_array)(void *, pid_t, ProcReact_Status *) = procreact_type_finalize_string_array;
    ProcReact_Type bytes = procreact_create_bytes_type();
    CHECK(init_bytes != NULL && append_bytes != NULL && fin_bytes != NULL && fin_string != NULL);
    CHECK(init_array != NULL && append_array != NULL && fin_array != NULL);
    CHECK(bytes.append == append_bytes);
}

/* The spawn module (procreact_spawn.h) and exit details (procreact_exit.h). */
static void check_spawn(void)
{
    const char *argv[] = {"sh", "-c", "cat; echo oops >&2; exit 3", NULL};
    const char *missing[] = {"procreact-client-no-such-program", NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    ProcReact_ExitInfo info;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    CHECK(command != NULL);
    if (command == NULL)
        return;
    CHECK(procreact_command_set_stdin_bytes(command, "in", 2) == 0);
    CHECK(procreact_command_set_stderr(command, PROCREACT_OUTPUT_CAPTURE, -1) == 0);
    future = procreact_command_spawn(command, procreact_create_bytes_type());
    procreact_command_free(command);
    CHECK(future.pid > 0);
    CHECK(procreact_future_get_with_info(&future, &status, &info) == NULL); /* exit 3: no result */
    CHECK(status == PROCREACT_STATUS_OK);
    CHECK(info.exited == 1 && info.exit_code == 3 && info.exec_errno == 0);
    CHECK(info.stderr_length == 5 && info.stderr_data != NULL && memcmp(info.stderr_data, "oops\n", 5) == 0);
    free(info.stderr_data);

    command = procreact_command_new(missing);
    future = procreact_command_spawn(command, procreact_create_string_type());
    procreact_command_free(command);
    CHECK(future.pid == -1);
    CHECK(procreact_future_get_with_info(&future, &status, &info) == NULL);
    CHECK(status == PROCREACT_STATUS_FORK_FAIL);
    CHECK(info.exec_errno != 0);
}

/* Message channels (procreact_channel.h): a shell child in line mode. */
static void check_channel(void)
{
    const char *argv[] = {"sh", "-c", "fd=$PROCREACT_CHANNEL_FD; read l <&$fd; echo \"re:$l\" >&$fd", NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future;
    ProcReact_Channel *channel;
    ProcReact_Message *message = NULL;
    ProcReact_Status status = PROCREACT_STATUS_FORK_FAIL;
    CHECK(command != NULL);
    if (command == NULL)
        return;
    CHECK(procreact_command_set_channel(command, PROCREACT_CHANNEL_LINES) == 0);
    future = procreact_command_spawn(command, procreact_create_string_type());
    procreact_command_free(command);
    channel = procreact_future_channel(&future);
    CHECK(channel != NULL);
    if (channel != NULL) {
        /* 0.6: a coalesced send, written by the flush, and a batched receive. */
        CHECK(procreact_channel_set_coalesce(channel, 1) == 0);
        CHECK(procreact_channel_send(channel, "hi", 2, NULL, 0) == 0);
        CHECK(procreact_channel_flush(channel, 10000) == 0);
        CHECK(procreact_channel_recv_many(channel, &message, 1, 10000) == 1);
        CHECK(procreact_message_size(message) == 5 && memcmp(procreact_message_data(message), "re:hi", 5) == 0);
        procreact_message_free(message);
    }
    free(procreact_future_get(&future, &status));
    CHECK(status == PROCREACT_STATUS_OK);
    if (channel != NULL)
        CHECK(procreact_channel_recv(channel, &message, 1000) == 1);
    procreact_channel_free(channel);
}

/* Batches (procreact_batch.h): two jobs in one submit, their results in waits. */
static void check_batch(void)
{
    const char *template_argv[] = {"true", NULL};
    const char *jobs[] = {"echo", "one", "sh", "-c", "exit 3"};
    size_t counts[] = {2, 3};
    ProcReact_BatchResult out[2];
    ProcReact_Command *command = procreact_command_new(template_argv);
    ProcReact_Batch *batch = command != NULL ? procreact_batch_new(command, 2) : NULL;
    int seen = 0;
    procreact_command_free(command);
    CHECK(batch != NULL);
    if (batch == NULL)
        return;
    /* 0.6: two threads start the jobs (0 would be the library's default). */
    CHECK(procreact_batch_set_spawn_threads(batch, 2) == 0);
    CHECK(procreact_batch_submit(batch, jobs, counts, 2) == 0);
    while (procreact_batch_remaining(batch) > 0) {
        ssize_t n = procreact_batch_wait(batch, out, 2, 10000);
        ssize_t i;
        CHECK(n > 0);
        if (n <= 0)
            break;
        for (i = 0; i < n; i++) {
            if (out[i].index == 0)
                CHECK(out[i].stdout_length == 4 && memcmp(out[i].stdout_data, "one\n", 4) == 0);
            else
                CHECK(out[i].info.exited && out[i].info.exit_code == 3);
            seen++;
        }
    }
    CHECK(seen == 2);
    procreact_batch_free(batch);
}

/* Worker pools (procreact_pool.h): a forked C worker answers a task. */
static int pool_upper(void *data, const void *request, size_t size, void **reply, size_t *reply_size)
{
    char *out = (char *)malloc(size ? size : 1);
    size_t i;
    (void)data;
    if (out == NULL)
        return 1;
    for (i = 0; i < size; ++i)
        out[i] = (char)(((const char *)request)[i] & ~0x20);
    *reply = out;
    *reply_size = size;
    return 0;
}

static void check_pool(void)
{
    ProcReact_PoolConfig *config = procreact_pool_config_new();
    ProcReact_Pool *pool;
    ProcReact_Task *task;
    const void *reply;
    size_t size = 0;
    CHECK(config != NULL);
    if (config == NULL)
        return;
    CHECK(procreact_pool_config_set_function(config, NULL, pool_upper, NULL) == 0);
    CHECK(procreact_pool_config_set_workers(config, 1) == 0);
    CHECK(procreact_pool_config_set_ready_message(config, 1) == 0); /* forked workers do it anyway */
    pool = procreact_pool_new(config);
    procreact_pool_config_free(config);
    CHECK(pool != NULL);
    if (pool == NULL)
        return;
    task = procreact_pool_submit(pool, "abc", 3, 0);
    CHECK(task != NULL);
    CHECK(procreact_task_wait(task, 10000) == 0);
    CHECK(procreact_task_status(task) == PROCREACT_TASK_DONE);
    reply = procreact_task_reply(task, &size);
    CHECK(size == 3 && memcmp(reply, "ABC", 3) == 0);
    procreact_task_free(task);
    CHECK(procreact_pool_shutdown(pool, 1, 10) == 0);
    procreact_pool_free(pool);
}

/* Time and control (procreact_control.h). */
static ProcReact_bool one_has_next(void *data)
{
    return *(int *)data == 0;
}

static ProcReact_Future one_next(void *data)
{
    const char *argv[] = {"sleep", "100", NULL};
    ProcReact_Command *command = procreact_command_new(argv);
    ProcReact_Future future = procreact_command_spawn(command, procreact_create_output_type());
    procreact_command_free(command);
    *(int *)data = 1;
    return future;
}

static void one_complete(void *data, ProcReact_Future *future, ProcReact_Status status)
{
    ProcReact_ExitInfo info;
    (void)status;
    CHECK(procreact_future_info(future, &info) == 0);
    CHECK((info.flags & PROCREACT_EXIT_TIMED_OUT) != 0);
    if (future->result != NULL) {
        free(((ProcReact_BytesState *)future->result)->data);
        free(future->result);
    }
    *(int *)data = 2;
}

static void check_control(void)
{
    int state = 0;
    ProcReact_FutureIterator iterator =
        procreact_initialize_future_iterator(one_has_next, one_next, one_complete, &state);
    struct pollfd p;
    int active;
    CHECK(procreact_version() != NULL && strncmp(procreact_version(), "0.", 2) == 0);
    CHECK(procreact_future_iterator_set_timeout(&iterator, 0.1) == 0);
    CHECK(procreact_future_iterator_set_spawn_threads(&iterator, 1) == 0); /* 0.6: one thread */
    p.fd = procreact_future_iterator_fd(&iterator);
    p.events = POLLIN;
    CHECK(p.fd > 2);
    active = procreact_future_iterator_step(&iterator, 1);
    while (active == 1 && poll(&p, 1, 10000) == 1)
        active = procreact_future_iterator_step(&iterator, 1);
    CHECK(active == 0);
    CHECK(state == 2);
    procreact_destroy_future_iterator(&iterator);
}

int main(void)
{
    check_future();
    check_spawn();
    check_channel();
    check_batch();
    check_pool();
    check_control();
    check_future_iterator();
    check_pid_iterator();
    check_pid_functions();
    check_building_blocks();
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
#ifdef __cplusplus
    puts("client (C++): ok");
#else
    puts("client (C): ok");
#endif
    return 0;
}
