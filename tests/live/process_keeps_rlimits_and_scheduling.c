/* Proves: every resource limit (unusual soft limits below unchanged hard
 * ones, and some lowered hard limits) comes back exactly, with the nice
 * value, the scheduling policy (SCHED_BATCH) and the CPU affinity mask. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "live.h"

static const char *rlimit_name(int r) {
    static const char *names[] = {"CPU",   "FSIZE",   "DATA",   "STACK",    "CORE",       "RSS",
                                  "NPROC", "NOFILE",  "MEMLOCK", "AS",      "LOCKS",      "SIGPENDING",
                                  "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"};
    return r >= 0 && r < (int)(sizeof(names) / sizeof(names[0])) ? names[r] : "?";
}

static void lower(int resource, rlim_t soft, rlim_t hard_or_0) {
    struct rlimit rl;
    LIVE_SETUP(getrlimit(resource, &rl));
    if (hard_or_0 && (rl.rlim_max == RLIM_INFINITY || hard_or_0 < rl.rlim_max)) rl.rlim_max = hard_or_0;
    rl.rlim_cur = soft < rl.rlim_max ? soft : rl.rlim_max;
    if (setrlimit(resource, &rl) != 0) live_fail("setup: setrlimit(%s): %s", rlimit_name(resource), strerror(errno));
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    lower(RLIMIT_NOFILE, 1000, 0);
    lower(RLIMIT_CORE, 12345 * 4096, 0);
    lower(RLIMIT_STACK, 7 << 20, 0);
    lower(RLIMIT_CPU, 86400, 0);
    lower(RLIMIT_FSIZE, (rlim_t)1 << 30, 0);
    lower(RLIMIT_MSGQUEUE, 4096, 8192);
    lower(RLIMIT_LOCKS, 777, 0);
    lower(RLIMIT_SIGPENDING, 999, 0);
    lower(RLIMIT_RTTIME, 5000000, 6000000);
    lower(RLIMIT_MEMLOCK, 65536, 0);
    LIVE_SETUP(setpriority(PRIO_PROCESS, 0, 7));
    struct sched_param sp = {.sched_priority = 0};
    LIVE_SETUP(sched_setscheduler(0, SCHED_BATCH, &sp));
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    LIVE_SETUP(sched_getaffinity(0, sizeof(cpus), &cpus));
    if (CPU_COUNT(&cpus) > 1) { /* drop the highest allowed CPU */
        for (int c = CPU_SETSIZE - 1; c >= 0; c--)
            if (CPU_ISSET(c, &cpus)) {
                CPU_CLR(c, &cpus);
                break;
            }
        LIVE_SETUP(sched_setaffinity(0, sizeof(cpus), &cpus));
    }

    struct rlimit before[RLIM_NLIMITS];
    for (int r = 0; r < RLIM_NLIMITS; r++) LIVE_SETUP(prlimit(0, r, NULL, &before[r]));
    int nice_before = getpriority(PRIO_PROCESS, 0);
    CPU_ZERO(&cpus);
    sched_getaffinity(0, sizeof(cpus), &cpus);
    live_log("nice %d, SCHED_BATCH, %d CPUs allowed", nice_before, CPU_COUNT(&cpus));

    live_ready();
    live_wait_for_check();

    for (int r = 0; r < RLIM_NLIMITS; r++) {
        struct rlimit now;
        if (prlimit(0, r, NULL, &now) != 0) {
            LIVE_EXPECT(false, "prlimit(RLIMIT_%s): %s", rlimit_name(r), strerror(errno));
            continue;
        }
        LIVE_EXPECT(now.rlim_cur == before[r].rlim_cur && now.rlim_max == before[r].rlim_max,
                    "RLIMIT_%s is %llu/%llu, was %llu/%llu", rlimit_name(r), (unsigned long long)now.rlim_cur,
                    (unsigned long long)now.rlim_max, (unsigned long long)before[r].rlim_cur,
                    (unsigned long long)before[r].rlim_max);
    }
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, 0);
    LIVE_EXPECT(nice_now == nice_before && errno == 0, "nice is %d, was %d", nice_now, nice_before);
    int policy = sched_getscheduler(0);
    LIVE_EXPECT(policy == SCHED_BATCH, "scheduling policy is %d, was SCHED_BATCH (%d)", policy, SCHED_BATCH);
    cpu_set_t now_cpus;
    CPU_ZERO(&now_cpus);
    sched_getaffinity(0, sizeof(now_cpus), &now_cpus);
    LIVE_EXPECT(CPU_EQUAL(&now_cpus, &cpus), "CPU affinity changed: %d CPUs allowed, were %d", CPU_COUNT(&now_cpus),
                CPU_COUNT(&cpus));
    live_finish();
}
