/* Proves: time read through libc (and so through the vDSO) works after
 * restore and keeps going forward: clock_gettime on the realtime, monotonic,
 * boottime and coarse clocks, gettimeofday and time never go backwards
 * across the checkpoint — not even for a thread that was calling them in a
 * tight loop while it was frozen — and agree with the raw system calls. The
 * [vdso] mapping is still where the auxiliary vector says. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "live.h"

static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE,
                                   CLOCK_MONOTONIC_RAW};
static const char *clock_names[] = {"REALTIME", "MONOTONIC", "BOOTTIME", "MONOTONIC_COARSE", "MONOTONIC_RAW"};
enum { NCLOCKS = sizeof(clocks) / sizeof(clocks[0]) };
static const int64_t tolerance_ns = 50 * 1000000; /* libc vs. raw syscall, read one after the other */

static atomic_int stop;
static atomic_ulong loops;

static int64_t ts_ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static int64_t via_libc(int i) {
    struct timespec t;
    clock_gettime(clocks[i], &t);
    return ts_ns(t);
}

static int64_t via_syscall(int i) {
    struct timespec t;
    syscall(SYS_clock_gettime, clocks[i], &t);
    return ts_ns(t);
}

/* Reads every clock in bursts and checks it never goes backwards; the
 * checkpoint will most likely catch it inside the vDSO. */
static void *reader(void *arg) {
    (void)arg;
    int64_t last[NCLOCKS] = {0};
    int64_t last_tod = 0;
    time_t last_time = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int burst = 0; burst < 5000; burst++) {
            for (int i = 0; i < NCLOCKS; i++) {
                int64_t v = via_libc(i);
                /* Realtime may be stepped by an administrator; the others never go back. */
                if (i != 0 && v < last[i]) {
                    LIVE_EXPECT(false, "reader thread: CLOCK_%s went back by %lld ns", clock_names[i],
                                (long long)(last[i] - v));
                    atomic_store(&stop, 1);
                }
                last[i] = v;
            }
            struct timeval tv;
            gettimeofday(&tv, NULL);
            int64_t tod = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
            time_t t = time(NULL);
            LIVE_EXPECT(tod + 1000000 >= last_tod && t + 1 >= last_time, "reader thread: gettimeofday/time went back");
            last_tod = tod;
            last_time = t;
        }
        atomic_fetch_add(&loops, 1);
        live_sleep_ns(1000000);
    }
    return NULL;
}

static void expect_agreement(const char *when) {
    for (int i = 0; i < NCLOCKS; i++) {
        int64_t a = via_libc(i), b = via_syscall(i), c = via_libc(i);
        LIVE_EXPECT(b >= a - tolerance_ns && b <= c + tolerance_ns,
                    "%s: CLOCK_%s via libc %lld..%lld ns, via the syscall %lld ns", when, clock_names[i], (long long)a,
                    (long long)c, (long long)b);
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct timespec raw;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw);
    int64_t tod_ns = ((int64_t)tv.tv_sec * 1000000 + tv.tv_usec) * 1000;
    LIVE_EXPECT(ts_ns(raw) - tod_ns <= tolerance_ns && tod_ns - ts_ns(raw) <= tolerance_ns,
                "%s: gettimeofday is %lld ns off the realtime syscall", when, (long long)(tod_ns - ts_ns(raw)));
    time_t t = time(NULL);
    LIVE_EXPECT(t >= raw.tv_sec - 1 && t <= raw.tv_sec + 1, "%s: time() is %lld, the syscall says %lld", when,
                (long long)t, (long long)raw.tv_sec);
}

int main(int argc, char **argv) {
    live_init(argc, argv);
    unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
    struct live_vma v;
    if (!vdso || !live_find_vma((void *)vdso, &v) || strcmp(v.path, "[vdso]") != 0)
        live_skip("this process has no vDSO (AT_SYSINFO_EHDR %#lx)", vdso);
    expect_agreement("before the checkpoint");
    pthread_t t;
    if (pthread_create(&t, NULL, reader, NULL) != 0) live_fail("setup: pthread_create failed");
    int64_t before[NCLOCKS];
    for (int i = 0; i < NCLOCKS; i++) before[i] = via_libc(i);

    live_ready();
    live_wait_for_check();

    for (int i = 0; i < NCLOCKS; i++) {
        int64_t now = via_libc(i);
        LIVE_EXPECT(now >= before[i], "CLOCK_%s reads %lld ns, less than %lld ns before the checkpoint", clock_names[i],
                    (long long)now, (long long)before[i]);
    }
    expect_agreement("after restore");
    memset(&v, 0, sizeof(v));
    bool found = live_find_vma((void *)vdso, &v); /* before LIVE_EXPECT prints v */
    LIVE_EXPECT(found && v.start == vdso && strcmp(v.path, "[vdso]") == 0,
                "[vdso] is no longer at %#lx (found %lx %s)", vdso, v.start, v.path);
    /* Up to 2 s: on a loaded machine (or one TCG vCPU) the reader may wait for a CPU. */
    unsigned long l0 = atomic_load(&loops);
    for (int i = 0; i < 200 && atomic_load(&loops) == l0; i++) live_sleep_ns(10 * 1000000);
    LIVE_EXPECT(atomic_load(&loops) > l0, "the reader thread no longer makes progress");
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    live_finish();
}
