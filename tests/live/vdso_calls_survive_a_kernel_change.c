/* Proves: every function the vDSO exports keeps working, called straight
 * through the addresses the program resolved at start (as libc does), after
 * a restore on a kernel whose vDSO differs (through stasis's vDSO proxy) or
 * through a proxy forced on the same kernel (STASIS_VDSO_PROXY=always):
 * each clock_gettime/gettimeofday/time/clock_getres/getcpu entry agrees
 * with its raw syscall and time never goes back; a thread keeps calling
 * them in a tight loop (so the checkpoint catches it inside the vDSO) while
 * another sends it signals, whose handler runs while it is inside vDSO code
 * and returns into it; backtrace() works in that handler; a third thread
 * sits inside a signal handler at every checkpoint and returns from it
 * after the restore, through the frame the dumping kernel wrote, with the
 * values it had live across the signal intact; dladdr() of each
 * vDSO function answers as before, and the vDSO's ELF symbol table at the
 * old address still lists the same functions.
 *
 *   PROG WORKDIR                   the live protocol: one check, then the verdict
 *   PROG WORKDIR --repeat-checks   checked after every restore (the xkernel
 *                                  tier: dump, restore on another kernel,
 *                                  check, dump, restore back, check): each
 *                                  WORKDIR/check is answered with a verdict and
 *                                  the program keeps running, until a check
 *                                  finds WORKDIR/finish. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "live.h"
#include "registers.h"

#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr Ehdr;
typedef Elf64_Shdr Shdr;
typedef Elf64_Phdr Phdr;
typedef Elf64_Sym Sym;
#define SYM_TYPE ELF64_ST_TYPE
#else
typedef Elf32_Ehdr Ehdr;
typedef Elf32_Shdr Shdr;
typedef Elf32_Phdr Phdr;
typedef Elf32_Sym Sym;
#define SYM_TYPE ELF32_ST_TYPE
#endif

enum kind { K_GETTIME, K_GETTIME64, K_GETTIMEOFDAY, K_TIME, K_GETRES, K_GETCPU };
struct fn {
    char name[64];
    enum kind kind;
    uintptr_t addr;      /* as resolved at start (Thumb bit kept) */
    char dl_name[64];    /* dladdr's answer at start ("" if none) */
    int64_t last_ns;     /* the latest reading, per function */
};
enum { MAX_FNS = 16 };
static struct fn fns[MAX_FNS];
static int nfns;
static uintptr_t vdso_base, vdso_end;
/* Checked across several restores, possibly on other boots: CLOCK_MONOTONIC
 * starts again at each boot, so "never goes back" holds within one check. */
static bool repeat;

struct ts_long { long sec, nsec; };          /* the vDSO's own timespec/timeval width */
struct ts_64 { int64_t sec, nsec; };         /* __kernel_timespec */

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool classify(const char *name, enum kind *k) {
    if (ends_with(name, "clock_gettime64")) *k = K_GETTIME64;
    else if (ends_with(name, "clock_gettime")) *k = K_GETTIME;
    else if (ends_with(name, "gettimeofday")) *k = K_GETTIMEOFDAY;
    else if (ends_with(name, "_time") || strcmp(name, "time") == 0) *k = K_TIME;
    else if (ends_with(name, "clock_getres")) *k = K_GETRES;
    else if (ends_with(name, "getcpu")) *k = K_GETCPU;
    else return false;
    return true;
}

/* The vDSO's function symbols, from its section headers (the kernel maps
 * the whole ELF file). Returns the number found. */
static int read_symbols(uintptr_t base, struct fn *out, int max) {
    const Ehdr *eh = (const Ehdr *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || !eh->e_shoff) return -1;
    const Phdr *ph = (const Phdr *)(base + eh->e_phoff);
    uintptr_t bias = 0;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) {
            bias = ph[i].p_vaddr - ph[i].p_offset;
            break;
        }
    const Shdr *sh = (const Shdr *)(base + eh->e_shoff);
    int n = 0;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM) continue;
        const Sym *sym = (const Sym *)(base + sh[i].sh_offset);
        const char *str = (const char *)(base + sh[sh[i].sh_link].sh_offset);
        for (size_t k = 0; k < sh[i].sh_size / sizeof(Sym); k++) {
            enum kind kd;
            if (SYM_TYPE(sym[k].st_info) != STT_FUNC || !sym[k].st_shndx || sym[k].st_shndx == SHN_ABS) continue;
            const char *name = str + sym[k].st_name;
            if (!classify(name, &kd) || n >= max) continue;
            bool dup = false;
            for (int j = 0; j < n; j++) dup |= out[j].addr == base + sym[k].st_value - bias;
            if (dup) continue; /* an alias (time and __vdso_time) */
            snprintf(out[n].name, sizeof(out[n].name), "%s", name);
            out[n].kind = kd;
            out[n].addr = base + sym[k].st_value - bias;
            n++;
        }
    }
    return n;
}

static clockid_t clock_for(int round) {
    static const clockid_t c[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE};
    return c[round % 4];
}

/* Calls one vDSO function; returns its reading in ns (time: s * 1e9,
 * getcpu: the CPU) or -1 when it reported an error. */
static int64_t call(const struct fn *f, clockid_t clk) {
    switch (f->kind) {
        case K_GETTIME: {
            struct ts_long t = {0, 0};
            int r = ((int (*)(clockid_t, struct ts_long *))f->addr)(clk, &t);
            return r ? -1 : (int64_t)t.sec * 1000000000 + t.nsec;
        }
        case K_GETTIME64: {
            struct ts_64 t = {0, 0};
            int r = ((int (*)(clockid_t, struct ts_64 *))f->addr)(clk, &t);
            return r ? -1 : t.sec * 1000000000 + t.nsec;
        }
        case K_GETTIMEOFDAY: {
            struct ts_long t = {0, 0};
            int r = ((int (*)(struct ts_long *, void *))f->addr)(&t, NULL);
            return r ? -1 : ((int64_t)t.sec * 1000000 + t.nsec) * 1000;
        }
        case K_TIME: {
            long t = ((long (*)(long *))f->addr)(NULL);
            return (int64_t)t * 1000000000;
        }
        case K_GETRES: {
            struct ts_long t = {0, 0};
            int r = ((int (*)(clockid_t, struct ts_long *))f->addr)(clk, &t);
            return r ? -1 : (int64_t)t.sec * 1000000000 + t.nsec;
        }
        case K_GETCPU: {
            unsigned cpu = ~0u, node = ~0u;
            int r = ((int (*)(unsigned *, unsigned *, void *))f->addr)(&cpu, &node, NULL);
            return r ? -1 : (int64_t)cpu;
        }
    }
    return -1;
}

static int64_t syscall_clock(clockid_t clk) {
    struct timespec t;
    syscall(SYS_clock_gettime, clk, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Every function against its syscall; a reading never goes back. */
static void check_functions(const char *when) {
    const int64_t tolerance = 50 * 1000000;
    if (repeat)
        for (int i = 0; i < nfns; i++) fns[i].last_ns = 0;
    for (int i = 0; i < nfns; i++) {
        struct fn *f = &fns[i];
        clockid_t clk = f->kind == K_GETTIMEOFDAY || f->kind == K_TIME ? CLOCK_REALTIME : CLOCK_MONOTONIC;
        if (f->kind == K_GETRES) {
            struct timespec raw;
            syscall(SYS_clock_getres, CLOCK_MONOTONIC, &raw);
            int64_t v = call(f, CLOCK_MONOTONIC);
            LIVE_EXPECT(v == (int64_t)raw.tv_sec * 1000000000 + raw.tv_nsec, "%s: %s says %lld ns, the syscall %lld ns",
                        when, f->name, (long long)v, (long long)(raw.tv_sec * 1000000000LL + raw.tv_nsec));
            continue;
        }
        if (f->kind == K_GETCPU) {
            int64_t v = call(f, 0);
            unsigned cpu = ~0u;
            syscall(SYS_getcpu, &cpu, NULL, NULL);
            LIVE_EXPECT(v >= 0 && v < 4096, "%s: %s returns CPU %lld (the syscall says %u)", when, f->name,
                        (long long)v, cpu);
            continue;
        }
        int64_t a = syscall_clock(clk), v = call(f, clk), b = syscall_clock(clk);
        int64_t slack = f->kind == K_TIME ? 1000000000 : f->kind == K_GETTIMEOFDAY ? 1000 : 0;
        LIVE_EXPECT(v >= a - tolerance - slack && v <= b + tolerance,
                    "%s: %s reads %lld ns, the syscall %lld..%lld ns", when, f->name, (long long)v, (long long)a,
                    (long long)b);
        LIVE_EXPECT(v + slack >= f->last_ns || clk == CLOCK_REALTIME,
                    "%s: %s went back from %lld to %lld ns", when, f->name, (long long)f->last_ns, (long long)v);
        f->last_ns = v;
    }
}

/* ---- the looping thread and the signals it takes ----------------------- */

static atomic_int stop;
static atomic_ulong loops, signals_taken, signals_in_vdso, backtraces_in_vdso, shallow_backtraces;
static bool backtrace_works; /* before the checkpoint (static arm binaries have no unwind tables) */
static atomic_bool checkpointed;
static atomic_uintptr_t cur_vdso_start, cur_vdso_end; /* this kernel's [vdso], wherever it is now */
static pid_t looper_tid;

static bool in_vdso(uintptr_t pc) {
    return (pc >= vdso_base && pc < vdso_end) || (pc >= atomic_load(&cur_vdso_start) && pc < atomic_load(&cur_vdso_end));
}

static void on_signal(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)si;
    atomic_fetch_add(&signals_taken, 1);
    if (!in_vdso(live_signal_pc(uc))) return;
    atomic_fetch_add(&signals_in_vdso, 1);
    /* After the checkpoint only where it worked before, and where the
     * arch's unwinder copes with a proxy (registers.h). */
    if (atomic_load(&backtraces_in_vdso) < 64 &&
        (!checkpointed || (backtrace_works && live_backtrace_survives_vdso_proxy()))) {
        void *frames[32];
        int n = backtrace(frames, 32);
        atomic_fetch_add(&backtraces_in_vdso, 1);
        if (n < 1) atomic_fetch_add(&shallow_backtraces, 1);
    }
}

static void *looper(void *arg) {
    (void)arg;
    looper_tid = live_gettid();
    for (unsigned round = 0; !atomic_load_explicit(&stop, memory_order_relaxed); round++) {
        for (int i = 0; i < nfns; i++) (void)call(&fns[i], clock_for(round));
        struct timespec t;
        clock_gettime(clock_for(round), &t); /* and through libc */
        atomic_fetch_add_explicit(&loops, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *poker(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        if (looper_tid) syscall(SYS_tgkill, getpid(), looper_tid, SIGUSR1);
        live_sleep_ns(500000);
    }
    return NULL;
}

/* ---- a thread parked inside a signal handler ---------------------------- */

static atomic_int parked, release_parked;
static atomic_ulong parked_returns, parked_mismatches;
static pid_t parker_tid;

static void on_park(int sig) {
    (void)sig;
    atomic_store(&parked, 1);
    while (!atomic_exchange(&release_parked, 0) && !atomic_load(&stop)) live_sleep_ns(1000000);
    atomic_store(&parked, 0);
}

/* Values live across the signal, in registers sigreturn reloads from the
 * frame or on the stack. */
static __attribute__((noinline)) double parked_round(unsigned k) {
    double a = k * 3.0, b = k + 0.25, c = k / 7.0;
    syscall(SYS_tgkill, getpid(), parker_tid, SIGUSR2);
    return a + b * 2.0 + c * 4.0;
}

static __attribute__((noinline)) double expected_round(unsigned k) {
    return k * 3.0 + (k + 0.25) * 2.0 + k / 7.0 * 4.0;
}

static void *parker(void *arg) {
    (void)arg;
    parker_tid = live_gettid();
    for (unsigned k = 1; !atomic_load(&stop); k++) {
        if (parked_round(k) != expected_round(k)) atomic_fetch_add(&parked_mismatches, 1);
        atomic_fetch_add(&parked_returns, 1);
    }
    return NULL;
}

/* The parker is inside its handler (as it was at the checkpoint); let it
 * return once and wait until it is back inside. */
static void check_parked(const char *when) {
    LIVE_EXPECT(atomic_load(&parked), "%s: the thread parked in a signal handler is not in it", when);
    unsigned long r0 = atomic_load(&parked_returns);
    atomic_store(&release_parked, 1);
    for (int i = 0; i < 500 && (atomic_load(&parked_returns) == r0 || !atomic_load(&parked)); i++)
        live_sleep_ns(10 * 1000000);
    LIVE_EXPECT(atomic_load(&parked_returns) > r0, "%s: the thread parked in a signal handler never returned from it",
                when);
    LIVE_EXPECT(atomic_load(&parked), "%s: the parked thread did not enter its handler again", when);
    LIVE_EXPECT(atomic_load(&parked_mismatches) == 0, "%s: values live across the parked signal changed (%lu times)",
                when, atomic_load(&parked_mismatches));
}

static void find_current_vdso(void) {
    struct live_vma v[512];
    int n = live_read_maps(v, 512);
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].path, "[vdso]") == 0) {
            atomic_store(&cur_vdso_start, v[i].start);
            atomic_store(&cur_vdso_end, v[i].end);
        }
}

/* Signals must land inside vDSO code within a few seconds, and the loop go on. */
static void check_signals_and_progress(const char *when, bool expect_in_vdso) {
    find_current_vdso();
    unsigned long l0 = atomic_load(&loops), s0 = atomic_load(&signals_taken), v0 = atomic_load(&signals_in_vdso);
    for (int i = 0; i < 500 && (atomic_load(&loops) == l0 || atomic_load(&signals_taken) == s0 ||
                                (expect_in_vdso && atomic_load(&signals_in_vdso) == v0));
         i++)
        live_sleep_ns(10 * 1000000);
    LIVE_EXPECT(atomic_load(&loops) > l0, "%s: the looping thread makes no progress", when);
    LIVE_EXPECT(atomic_load(&signals_taken) > s0, "%s: the looping thread takes no signals", when);
    if (expect_in_vdso)
        LIVE_EXPECT(atomic_load(&signals_in_vdso) > v0, "%s: no signal landed inside vDSO code in 5 s (%lu taken)",
                    when, atomic_load(&signals_taken) - s0);
    if (backtrace_works)
        LIVE_EXPECT(atomic_load(&shallow_backtraces) == 0,
                    "%s: backtrace() in a handler inside the vDSO found no frame", when);
}

/* The symbols at the old address and dladdr's answers are what they were. */
static void check_symbols(const char *when) {
    struct fn again[MAX_FNS];
    memset(again, 0, sizeof(again));
    int n = read_symbols(vdso_base, again, MAX_FNS);
    LIVE_EXPECT(n == nfns, "%s: the vDSO at %#lx lists %d functions, %d at start", when, (unsigned long)vdso_base, n,
                nfns);
    for (int i = 0; i < n && i < nfns; i++) {
        LIVE_EXPECT(strcmp(again[i].name, fns[i].name) == 0 && again[i].addr == fns[i].addr,
                    "%s: vDSO function #%d is %s at %#lx, was %s at %#lx", when, i, again[i].name,
                    (unsigned long)again[i].addr, fns[i].name, (unsigned long)fns[i].addr);
        Dl_info info;
        memset(&info, 0, sizeof(info));
        const char *now = dladdr((void *)fns[i].addr, &info) && info.dli_sname ? info.dli_sname : "";
        LIVE_EXPECT(strcmp(now, fns[i].dl_name) == 0, "%s: dladdr(%s) says \"%s\", said \"%s\" at start", when,
                    fns[i].name, now, fns[i].dl_name);
    }
}

static void check_all(const char *when, bool expect_in_vdso) {
    live_expect_same_identity();
    check_functions(when);
    check_symbols(when);
    check_signals_and_progress(when, expect_in_vdso);
    check_parked(when);
}

/* In a function of its own: no vDSO address stays in main's frame, where
 * the dump would take it for a frame leading back into the vDSO. */
static __attribute__((noinline)) void find_functions(void) {
    vdso_base = getauxval(AT_SYSINFO_EHDR);
    struct live_vma v;
    if (!vdso_base || !live_find_vma((void *)vdso_base, &v) || strcmp(v.path, "[vdso]") != 0)
        live_skip("this process has no vDSO (AT_SYSINFO_EHDR %#lx)", (unsigned long)vdso_base);
    vdso_end = v.end;
    nfns = read_symbols(vdso_base, fns, MAX_FNS);
    if (nfns <= 0) live_fail("setup: no clock function found in the vDSO at %#lx", (unsigned long)vdso_base);
    for (int i = 0; i < nfns; i++) {
        Dl_info info;
        memset(&info, 0, sizeof(info));
        if (dladdr((void *)fns[i].addr, &info) && info.dli_sname)
            snprintf(fns[i].dl_name, sizeof(fns[i].dl_name), "%s", info.dli_sname);
        live_log("vDSO function %s at %#lx (dladdr: \"%s\")", fns[i].name, (unsigned long)fns[i].addr, fns[i].dl_name);
    }
}

int main(int argc, char **argv) {
    repeat = argc == 3 && strcmp(argv[2], "--repeat-checks") == 0;
    live_init(repeat ? 2 : argc, argv);
    find_functions();
    void *warm[4];
    (void)backtrace(warm, 4); /* loads what backtrace needs before any handler runs */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_park;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    pthread_t t1, t2, t3;
    if (pthread_create(&t1, NULL, looper, NULL) != 0 || pthread_create(&t2, NULL, poker, NULL) != 0 ||
        pthread_create(&t3, NULL, parker, NULL) != 0)
        live_fail("setup: pthread_create failed");
    for (int i = 0; i < 500 && !atomic_load(&parked); i++) live_sleep_ns(10 * 1000000);
    check_all("before the checkpoint", false);
    /* Signals inside the vDSO are required after the restore only where
     * they happen at all before it (and this arch says where a handler was). */
    bool vdso_signals = atomic_load(&signals_in_vdso) > 0;
    backtrace_works = atomic_load(&backtraces_in_vdso) > 0 && atomic_load(&shallow_backtraces) == 0;
    live_log("%d vDSO functions, %lu signals so far, %lu inside the vDSO, backtrace() there %s", nfns,
             atomic_load(&signals_taken), atomic_load(&signals_in_vdso), backtrace_works ? "works" : "finds no frame");
    if (live_failures()) live_finish();
    atomic_store(&checkpointed, true); /* from here on, any moment may be after a restore */
    live_ready();
    for (int hop = 1;; hop++) {
        char when[64];
        snprintf(when, sizeof(when), repeat ? "after restore #%d" : "after restore", hop);
        live_wait_for_check();
        if (repeat) {
            char path[600];
            unlink(live_path(path, sizeof(path), "check"));
        }
        check_all(when, vdso_signals);
        if (!repeat || live_file_exists("finish")) break;
        live_verdict_keep_running();
    }
    atomic_store(&stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    live_finish();
}
