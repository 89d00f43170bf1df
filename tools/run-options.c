/* SPDX-License-Identifier: MIT */
/* procreact-run: the command line: options, the program template and the ::: argument lists. */
#define _GNU_SOURCE
#include "run-options.h"
#include "run-util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <procreact_control.h>

static void usage(FILE *to)
{
    fputs("Usage: procreact-run [OPTION]... [--] [PROGRAM [ARG]...] [::: VALUE... | :::: FILE...]...\n"
          "Run many commands at once. Items come from standard input (one per line),\n"
          "from -a FILE, or from ::: lists (several lists: every combination).\n"
          "Without PROGRAM each item is a command for /bin/sh -c. With PROGRAM, it runs\n"
          "without a shell, the item in place of {} in its arguments (or appended when\n"
          "none holds a replacement string); a PROGRAM given as one word with spaces\n"
          "is a shell command line, the items quoted into it. Each job runs in its own\n"
          "process group; its output is printed in one piece when it ends.\n"
          "\n"
          "Input:\n"
          "  -a, --arg-file FILE   read items from FILE (several: every combination)\n"
          "  -0, --null            items end with a NUL byte instead of a newline\n"
          "  -d, --delimiter CHAR  items end with CHAR (\\n, \\t, \\0, \\\\ allowed)\n"
          "      --colsep SEP      split each item at SEP into several ({1}, {2}...)\n"
          "  -r, --no-run-if-empty accepted for xargs: empty items never run anyway\n"
          "  -n, --max-args N      give N items to each job\n"
          "  -N N                  the same; -N 0 takes an item per job and inserts none\n"
          "  -I STR                replace STR instead of {}\n"
          "      --pipe            give the input to the jobs' standard input, in blocks\n"
          "                        of whole lines (records) instead of as arguments\n"
          "      --block SIZE      the size of those blocks (default 1M; k m g: 1000s,\n"
          "                        K M G: 1024s)\n"
          "Replacement strings: {} {.} {/} {//} {/.} {#} (job number) {%} (slot)\n"
          "  {N} {N.} {N/} {N//} {N/.} (the Nth item of the job)\n"
          "\n",
          to);
    fputs("Running:\n"
          "  -j, -P, --jobs N      run at most N jobs at once (default: the number of CPUs;\n"
          "                        0: as many as possible; N%, +N, -N: of the CPUs)\n"
          "      --timeout SECONDS stop a job that runs longer (SIGTERM to its group);\n"
          "                        0: no timeout\n"
          "      --kill-after SECONDS\n"
          "                        then SIGKILL it after this grace period (default: 2)\n"
          "      --retries N       run a failing job up to N times in all\n"
          "      --halt WHEN,fail=N | WHEN,success=N  (WHEN: now or soon; N or N%)\n"
          "                        stop after N failed (succeeded) jobs: now stops the\n"
          "                        running ones, soon lets them end; never is the default\n"
          "      --halt-on-error   the same as --halt now,fail=1\n"
          "      --dry-run         print the commands instead of running them\n"
          "  -t, --verbose         print each command on standard error as it starts\n"
          "      --delay SECONDS   wait this long between job starts\n"
          "      --joblog FILE     log each job (GNU parallel's format)\n"
          "      --resume          skip the jobs the --joblog file has already\n"
          "\n"
          "Output:\n"
          "  -k, --keep-order      print results in input order\n"
          "      --tag             print the job's items and a tab before each line\n"
          "      --tagstring STR   --tag with STR (replacement strings allowed) as the tag\n"
          "      --line-buffer     print whole lines as they come instead of per job\n"
          "  -u, --ungroup         print output as it comes, lines of jobs may mix\n"
          "      --json            print one JSON object per job and line instead of its\n"
          "                        output: index, command, exit_code, signal, timed_out,\n"
          "                        exec_errno, wall_ms, cpu_ms, max_rss_kib, stdout,\n"
          "                        stderr (bytes that are not UTF-8 become U+FFFD)\n"
          "      --eta             on a terminal, add the estimated time left\n"
          "      --bar             on a terminal, draw a progress bar\n"
          "      --progress        accepted for GNU parallel: the progress line is shown\n"
          "                        whenever standard error is a terminal\n"
          "  -h, --help            show this help and exit\n"
          "  -V, --version         show the version and exit\n"
          "\n"
          "Empty items are skipped; a line holding a NUL byte is reported, not run.\n"
          "A progress line is shown on standard error when it is a terminal.\n"
          "Captured output stays in memory up to 256 KiB per stream and 16 MiB in all;\n"
          "the rest goes to unlinked files in $TMPDIR (or /tmp).\n"
          "Differences from GNU parallel and xargs: see man procreact-run.\n"
          "\n"
          "Exit status:\n"
          "  0        every job succeeded (or --halt ...,success=N was met)\n"
          "  1        a job failed (non-zero exit, signal, timeout, or could not run),\n"
          "           an input line held a NUL byte, or writing the output failed\n"
          "  2        bad usage\n"
          "  128+N    stopped by signal N (130 for Ctrl-C); every job was stopped\n"
          "  141      the output's reader left (EPIPE); every job was stopped\n",
          to);
}

void usage_error(const char *format, ...)
{
    va_list ap;
    fputs("procreact-run: ", stderr);
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputs("\nTry 'procreact-run --help' for more information.\n", stderr);
    exit(EXIT_USAGE);
}

static double parse_seconds(const char *option, const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= 0) || isinf(v))
        usage_error("%s: not a number of seconds: '%s'", option, text);
    return v;
}

static long parse_count(const char *option, const char *text, long min)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > INT_MAX)
        usage_error("%s: not a number of %s or more: '%s'", option, min == 0 ? "0" : "1", text);
    return v;
}

/* A size in bytes with an optional unit, as GNU parallel's --block takes
 * it: k, m, g are powers of 1000; K, M, G powers of 1024. */
static size_t parse_size(const char *option, const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    const char *units = "kKmMgG";
    const char *unit = *end != '\0' ? strchr(units, *end) : NULL;
    if (unit != NULL) {
        int power = 1 + (int)(unit - units) / 2;
        v *= (unit - units) % 2 ? (double)(1ull << (10 * power)) : pow(1000.0, power);
        end++;
    }
    if (errno != 0 || end == text || *end != '\0' || !(v >= 1) || v > (double)(1ull << 40))
        usage_error("%s: not a size (bytes, or with k, m, g, K, M, G): '%s'", option, text);
    return (size_t)v;
}

/* -j N, 0, N% (of the CPUs), +N and -N (CPUs plus or minus N), as GNU parallel reads them. */
static unsigned int parse_jobs(const char *text)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    size_t len = strlen(text);
    char *end;
    errno = 0;
    if (len > 1 && text[len - 1] == '%') {
        double pct = strtod(text, &end);
        if (errno != 0 || end != text + len - 1 || !(pct > 0) || pct > 1e6)
            usage_error("--jobs: not a percentage: '%s'", text);
        double v = floor((double)cpus * pct / 100.0);
        return v < 1 ? 1 : (unsigned int)v;
    }
    if (text[0] == '+' || text[0] == '-') {
        long d = strtol(text + 1, &end, 10);
        if (errno != 0 || end == text + 1 || *end != '\0' || d < 0 || d > INT_MAX / 2)
            usage_error("--jobs: not a number: '%s'", text);
        long v = text[0] == '+' ? cpus + d : cpus - d;
        return v < 1 ? 1 : (unsigned int)v;
    }
    return (unsigned int)parse_count("--jobs", text, 0);
}

static void parse_halt(Options *o, const char *text)
{
    if (strcmp(text, "never") == 0 || strcmp(text, "0") == 0) {
        o->halt_when = HALT_NEVER;
        return;
    }
    const char *comma = strchr(text, ',');
    const char *what = comma != NULL ? comma + 1 : "";
    size_t when = comma != NULL ? (size_t)(comma - text) : 0;
    if (when == 3 && strncmp(text, "now", 3) == 0)
        o->halt_when = HALT_NOW;
    else if (when == 4 && strncmp(text, "soon", 4) == 0)
        o->halt_when = HALT_SOON;
    else
        usage_error("--halt: not now,fail=N, soon,fail=N, now,success=N, soon,success=N or never: '%s'", text);
    if (strncmp(what, "fail=", 5) == 0)
        what += 5;
    else if (strncmp(what, "success=", 8) == 0) {
        o->halt_on_success = 1;
        what += 8;
    } else {
        usage_error("--halt: fail=N or success=N expected: '%s'", text);
    }
    char *end;
    errno = 0;
    o->halt_count = strtod(what, &end);
    o->halt_percent = *end == '%';
    if (errno != 0 || end == what || *(end + o->halt_percent) != '\0' || !(o->halt_count > 0) ||
        (o->halt_percent && o->halt_count > 100) || (!o->halt_percent && o->halt_count != floor(o->halt_count)))
        usage_error("--halt: not a count or a percentage: '%s'", text);
}

/* -d and --colsep text with \\n, \\t, \\r, \\0 and \\\\ turned into bytes (in place);
 * returns its length. */
static size_t unescape(char *text)
{
    char *out = text;
    for (const char *p = text; *p; p++) {
        if (*p != '\\' || p[1] == '\0') {
            *out++ = *p;
            continue;
        }
        const char *from = "ntr0\\", *to = "\n\t\r\0\\";
        const char *hit = strchr(from, *++p);
        if (hit == NULL)
            usage_error("unknown escape '\\%c' (\\n, \\t, \\r, \\0 and \\\\ are known)", *p);
        *out++ = to[hit - from];
    }
    *out = '\0';
    return (size_t)(out - text);
}

static void add_source(Options *o, Source s)
{
    o->sources = xrealloc(o->sources, (o->nsources + 1) * sizeof *o->sources);
    o->sources[o->nsources++] = s;
}

/* PROGRAM [ARG]... then ::: and :::: groups. */
static void parse_operands(Options *o, int argc, char **argv)
{
    int i = 0;
    while (i < argc && strcmp(argv[i], ":::") != 0 && strcmp(argv[i], "::::") != 0)
        i++;
    if (i > 0) {
        o->program = argv;
        o->program_argc = i;
    }
    while (i < argc) {
        int files = strcmp(argv[i], "::::") == 0;
        int start = ++i;
        while (i < argc && strcmp(argv[i], ":::") != 0 && strcmp(argv[i], "::::") != 0)
            i++;
        if (files) {
            for (int k = start; k < i; k++)
                add_source(o, (Source){NULL, 0, argv[k]});
        } else {
            add_source(o, (Source){argv + start, (size_t)(i - start), NULL});
        }
    }
}

void options_parse(Options *o, int argc, char **argv)
{
    enum { O_TIMEOUT = 256, O_KILL_AFTER, O_HALT_ON_ERROR, O_JSON, O_TAG, O_DRY_RUN, O_JOBLOG,
           O_RESUME, O_RETRIES, O_HALT, O_LINE_BUFFER, O_ETA, O_BAR, O_COLSEP, O_DELAY,
           O_PROGRESS, O_TAGSTRING, O_PIPE, O_BLOCK };
    static const struct option options[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"kill-after", required_argument, NULL, O_KILL_AFTER},
        {"keep-order", no_argument, NULL, 'k'},
        {"halt-on-error", no_argument, NULL, O_HALT_ON_ERROR},
        {"halt", required_argument, NULL, O_HALT},
        {"json", no_argument, NULL, O_JSON},
        {"null", no_argument, NULL, '0'},
        {"delimiter", required_argument, NULL, 'd'},
        {"colsep", required_argument, NULL, O_COLSEP},
        {"no-run-if-empty", no_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 't'},
        {"delay", required_argument, NULL, O_DELAY},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"arg-file", required_argument, NULL, 'a'},
        {"max-args", required_argument, NULL, 'n'},
        {"tag", no_argument, NULL, O_TAG},
        {"tagstring", required_argument, NULL, O_TAGSTRING},
        {"pipe", no_argument, NULL, O_PIPE},
        {"block", required_argument, NULL, O_BLOCK},
        {"dry-run", no_argument, NULL, O_DRY_RUN},
        {"joblog", required_argument, NULL, O_JOBLOG},
        {"resume", no_argument, NULL, O_RESUME},
        {"retries", required_argument, NULL, O_RETRIES},
        {"line-buffer", no_argument, NULL, O_LINE_BUFFER},
        {"ungroup", no_argument, NULL, 'u'},
        {"eta", no_argument, NULL, O_ETA},
        {"bar", no_argument, NULL, O_BAR},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = cpus > 0 ? (unsigned int)cpus : 1;
    o->kill_after = 2.0;
    o->max_args = 1;
    o->delimiter = '\n';
    o->block = 1024 * 1024;
    int c;
    while ((c = getopt_long(argc, argv, "+j:P:kh0a:n:N:I:uVd:rt", options, NULL)) != -1) {
        switch (c) {
        case 'j':
        case 'P': o->jobs = parse_jobs(optarg); o->jobs_given = 1; break;
        case O_TIMEOUT: o->timeout = parse_seconds("--timeout", optarg); break;
        case O_KILL_AFTER: o->kill_after = parse_seconds("--kill-after", optarg); break;
        case 'k': o->keep_order = 1; break;
        case O_HALT_ON_ERROR: parse_halt(o, "now,fail=1"); break;
        case O_HALT: parse_halt(o, optarg); break;
        case O_JSON: o->json = 1; break;
        case '0': o->delimiter = '\0'; break;
        case 'd':
            if (unescape(optarg) != 1)
                usage_error("--delimiter: one character expected (or \\n, \\t, \\r, \\0, \\\\)");
            o->delimiter = optarg[0];
            break;
        case O_COLSEP:
            if (unescape(optarg) != strlen(optarg) || optarg[0] == '\0')
                usage_error("--colsep: a non-empty separator without NUL expected");
            o->colsep = optarg;
            break;
        case 'r': break; /* empty items never run */
        case 't': o->verbose = 1; break;
        case O_DELAY: o->delay = parse_seconds("--delay", optarg); break;
        case O_PROGRESS: break; /* the progress line is on whenever stderr is a terminal */
        case 'a': add_source(o, (Source){NULL, 0, optarg}); break;
        case 'n': o->max_args = (unsigned int)parse_count("--max-args", optarg, 1); break;
        case 'N':
            o->max_args = (unsigned int)parse_count("-N", optarg, 0);
            o->no_items = o->max_args == 0;
            if (o->no_items)
                o->max_args = 1;
            break;
        case 'I':
            if (*optarg == '\0')
                usage_error("-I: the replacement string is empty");
            o->replace = optarg;
            break;
        case O_TAG: o->tag = 1; break;
        case O_TAGSTRING: o->tag = 1; o->tagstring = optarg; break;
        case O_PIPE: o->pipe = 1; break;
        case O_BLOCK: o->block = parse_size("--block", optarg); break;
        case O_DRY_RUN: o->dry_run = 1; break;
        case O_JOBLOG: o->joblog = optarg; break;
        case O_RESUME: o->resume = 1; break;
        case O_RETRIES: o->retries = (unsigned int)parse_count("--retries", optarg, 0); break;
        case O_LINE_BUFFER: o->line_buffer = 1; break;
        case 'u': o->ungroup = 1; break;
        case O_ETA: o->eta = 1; break;
        case O_BAR: o->bar = 1; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("procreact-run %s\n", procreact_version()); exit(0);
        default: fputs("Try 'procreact-run --help' for more information.\n", stderr); exit(EXIT_USAGE);
        }
    }
    parse_operands(o, argc - optind, argv + optind);
    if (o->pipe && (o->nsources > 1 || (o->nsources == 1 && o->sources[0].values != NULL)))
        usage_error("--pipe reads one file or standard input, not ::: lists or several sources");
    if (o->pipe && o->program == NULL)
        usage_error("--pipe needs a PROGRAM to feed");
    if (o->resume && o->joblog == NULL)
        usage_error("--resume needs --joblog FILE");
    if (o->json && (o->tag || o->line_buffer || o->ungroup))
        usage_error("--json cannot be combined with --tag, --line-buffer or --ungroup");
    if (o->ungroup && o->tag)
        usage_error("--tag needs the output captured: not with --ungroup");
    if (o->ungroup && o->line_buffer)
        usage_error("--ungroup and --line-buffer exclude each other");
    if (o->max_args > 1 && o->nsources > 1)
        usage_error("-n with several input sources is not supported");
}

void options_free(Options *o)
{
    free(o->sources);
    o->sources = NULL;
}
