/* /init of the VM tier's guest (tests/qemu/README.md).
 *
 * Runs as PID 1 from an initramfs holding a static stasis (/bin/stasis), the
 * static live scenario programs (/live/<scenario>) and a list of scenarios
 * (/etc/stasis-vm/scenarios). It mounts the pseudo file systems, prints
 * `stasis check`, then drives every scenario through the protocol of
 * tests/live/run-scenario.sh (start, ready, dump, reap, restore with the
 * same PID, check, verdict), prints one line per scenario on the console
 *
 *   STASIS-VM <arch> <scenario> PASS|FAIL|SKIP <reason> (<seconds> s)
 *
 * with the tails of the logs after a failure, and powers the machine off.
 *
 * Knobs, from the kernel command line (unknown name=value words end up in
 * init's environment):
 *   STASIS_VM_ONLY=a,b      run only these scenarios
 *   STASIS_VM_TIMEOUT=S     seconds for each wait (default 180: TCG is slow)
 *   STASIS_VM_TAIL=N        log lines shown per file after a failure (40)
 *   STASIS_VM_PASS_LOGS=1   show the log tails after a pass too
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

#ifndef STASIS_VM_ARCH
#error "build with -DSTASIS_VM_ARCH=\"<arch>\""
#endif

#define STASIS "/bin/stasis"
#define SCENARIO_DIR "/live"
#define SCENARIO_LIST "/etc/stasis-vm/scenarios"
#define WORK_ROOT "/tmp/w"

enum result { PASS, FAIL, SKIP };
static const char *const result_names[] = {"PASS", "FAIL", "SKIP"};

/* lazy: restore --lazy-pages from a stasis lazy-pages; page-server-lazy:
 * the same with the pages pushed by the dump to a stasis page-server on
 * the loopback and fetched from it (post-copy). */
enum mode { MODE_CR, MODE_LEAVE_RUNNING, MODE_PRE_DUMP, MODE_LAZY, MODE_PAGE_SERVER_LAZY, MODE_VDSO_PROXY,
           MODE_VDSO_FALLBACK };

struct scenario {
    char name[128]; /* of the run: the program's, or <program>.<mode> */
    char prog[128];
    enum mode mode;
    char needs[256]; /* comma-separated `stasis check` feature names */
};

struct settings {
    int timeout_s;
    int tail_lines;
    bool pass_logs;
    const char *only;
};

/* What one scenario run knows about itself. */
struct run {
    const struct scenario *sc;
    char workdir[256];
    pid_t pid;          /* the program: original, then restored (same PID) */
    bool pid_reaped;    /* the original was reaped after the dump */
    char cmdline[512];  /* /proc/PID/cmdline at ready, NULs as spaces */
    enum result result;
    char reason[1024];
    pid_t lazy_pid;    /* stasis lazy-pages, lazy modes */
    pid_t server_pid;  /* stasis page-server, page-server-lazy */
};

#define PAGE_SERVER_PORT "27027"

static struct settings settings = {180, 40, false, NULL};

/* ---- console ------------------------------------------------------------ */

/* A block of text of any length, ending in a newline. */
static void say_text(const char *text, size_t len) {
    write_all(STDOUT_FILENO, text, len);
    if (len > 0 && text[len - 1] != '\n') write_all(STDOUT_FILENO, "\n", 1);
}

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    say("STASIS-VM %s ABORT %s", STASIS_VM_ARCH, buf);
    power_off();
}

/* ---- small file helpers ------------------------------------------------- */

static void join(char *out, size_t size, const char *dir, const char *name) {
    if (snprintf(out, size, "%s/%s", dir, name) >= (int)size) die("path too long: %s/%s", dir, name);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- setup of the machine ----------------------------------------------- */

static void mount_or_die(const char *src, const char *dst, const char *type, const char *opts) {
    mkdir(dst, 0755);
    if (mount(src, dst, type, MS_NOSUID, opts) != 0 && errno != EBUSY)
        die("mount %s on %s: %s", type, dst, strerror(errno));
}

static void setup_machine(void) {
    /* No /dev/console in the initramfs: the kernel started us without fds. */
    setup_console();

    mount_or_die("proc", "/proc", "proc", NULL);
    mount_or_die("sysfs", "/sys", "sysfs", NULL);
    mount_or_die("tmpfs", "/tmp", "tmpfs", "mode=1777");
    mount_or_die("tmpfs", "/dev/shm", "tmpfs", "mode=1777");
    /* Pseudo-terminals: /dev/ptmx needs the devpts instance at /dev/pts. */
    mount_or_die("devpts", "/dev/pts", "devpts", "ptmxmode=0666,mode=0620");
    mkdir(WORK_ROOT, 0755);

    /* A program killed by a signal: the kernel prints where (info level). */
    int pf = open("/proc/sys/kernel/print-fatal-signals", O_WRONLY);
    int pk = open("/proc/sys/kernel/printk", O_WRONLY);
    if (pf < 0 || pk < 0 || write(pf, "1", 1) != 1 || write(pk, "7", 1) != 1)
        say("STASIS-VM %s WARNING cannot enable print-fatal-signals: %s", STASIS_VM_ARCH, strerror(errno));
    if (pf >= 0) close(pf);
    if (pk >= 0) close(pk);

    /* The loopback interface, for the page server's TCP and the TCP scenarios. */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) != 0))
        say("STASIS-VM %s WARNING cannot bring up lo: %s", STASIS_VM_ARCH, strerror(errno));
    if (s >= 0) close(s);
}

static void read_settings(void) {
    const char *v;
    if ((v = getenv("STASIS_VM_TIMEOUT")) && atoi(v) > 0) settings.timeout_s = atoi(v);
    if ((v = getenv("STASIS_VM_TAIL")) && atoi(v) >= 0) settings.tail_lines = atoi(v);
    if ((v = getenv("STASIS_VM_PASS_LOGS"))) settings.pass_logs = strcmp(v, "1") == 0;
    if ((v = getenv("STASIS_VM_ONLY")) && *v) settings.only = v;
}

/* ---- processes ---------------------------------------------------------- */

/* In a forked child: stdin from /dev/null, stdout and stderr to `log`, no
 * other fd (each would be state the dump has to handle). */
static char *const clean_env[] = {"PATH=/bin", "HOME=/", "LANG=C", NULL};
/* vdso-proxy mode: the restore goes through a vDSO proxy on this kernel. */
static char *const proxy_env[] = {"PATH=/bin", "HOME=/", "LANG=C", "STASIS_VDSO_PROXY=always", NULL};
/* vdso-fallback mode: a proxy whose every function makes its syscall. */
static char *const fallback_env[] = {"PATH=/bin", "HOME=/", "LANG=C", "STASIS_VDSO_PROXY=fallback", NULL};
static char *const *spawn_env = clean_env;

/* Starts argv[0] with its output in `log`; returns the PID or -1. */
static pid_t spawn(char *const argv[], const char *log, bool new_session) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    child_fds(log);
    if (new_session) setsid();
    execve(argv[0], argv, (char *const *)spawn_env);
    _exit(127);
}

/* Waits up to `secs` for the child `pid` to end. Returns true and its wait
 * status when it ended; false on timeout (the child still runs). */
static void describe_status(char *out, size_t size, int status) {
    if (WIFEXITED(status))
        snprintf(out, size, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "status 0x%x", status);
}

/* Runs a command to completion with a timeout. Returns its wait status, or
 * -1 when it timed out (then it has been killed). */
static int run_command(char *const argv[], const char *log, int timeout_s) {
    pid_t pid = spawn(argv, log, false);
    if (pid < 0) return -1;
    int status;
    if (wait_child(pid, timeout_s, &status)) return status;
    kill(pid, SIGKILL);
    waitpid(pid, &status, __WALL);
    return -1;
}

static bool read_cmdline(pid_t pid, char *out, size_t size) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    ssize_t n = read_file(path, out, size);
    if (n <= 0) return false;
    for (ssize_t i = 0; i < n; i++)
        if (out[i] == '\0') out[i] = ' ';
    return true;
}

/* Is the scenario's PID alive and still (or again) the program we started? */
static bool ours_alive(const struct run *r) {
    char state = task_state(r->pid);
    if (state == '\0' || state == 'Z' || state == 'X') return false;
    char cmd[sizeof(r->cmdline)];
    if (r->cmdline[0] && (!read_cmdline(r->pid, cmd, sizeof(cmd)) || strcmp(cmd, r->cmdline) != 0)) return false;
    return true;
}

/* Every thread untraced and not stopped (after dump --leave-running). */
static bool untraced_and_running(pid_t pid, char *why, size_t size) {
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(why, size, "cannot list %s: %s", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int tid = atoi(e->d_name);
        char path[128], buf[4096];
        snprintf(path, sizeof(path), "%s/%d/status", dir, tid);
        if (read_file(path, buf, sizeof(buf)) <= 0) continue; /* exited meanwhile */
        const char *t = strstr(buf, "\nTracerPid:");
        const char *s = strstr(buf, "\nState:");
        int tracer = t ? atoi(t + strlen("\nTracerPid:")) : 0;
        char state = '?';
        if (s) {
            s += strlen("\nState:");
            while (*s == ' ' || *s == '\t') s++;
            state = *s;
        }
        if (tracer != 0 || state == 't' || state == 'T') {
            snprintf(why, size, "task %d %s (tracer %d, state %c)", tid,
                     tracer ? "still traced" : "left stopped", tracer, state);
            ok = false;
            break;
        }
    }
    closedir(d);
    return ok;
}

/* Kills every process but us and reaps everything: PID 1 may signal all at
 * once (kill(-1) spares init and kernel threads). */
static void kill_everything(void) {
    kill(-1, SIGKILL);
    double deadline = now_s() + 10;
    for (;;) {
        int status;
        pid_t r = waitpid(-1, &status, WNOHANG | __WALL);
        if (r < 0 && errno == ECHILD) return;
        if (r > 0) continue;
        if (now_s() >= deadline) {
            say("STASIS-VM %s WARNING processes survived SIGKILL for 10 s", STASIS_VM_ARCH);
            return;
        }
        sleep_ms(10);
    }
}

/* ---- stasis check -------------------------------------------------------- */

static char check_json[64 * 1024];
static bool check_json_ok;

/* One line naming the command's outcome: "exit 0", "killed by ...", "timed out". */
static void say_outcome(const char *what, int status) {
    char how[128] = "timed out";
    if (status != -1) describe_status(how, sizeof(how), status);
    say("STASIS-VM %s %s %s", STASIS_VM_ARCH, what, how);
}

static void run_stasis_check(void) {
    /* Which stasis this is (a release check boots a release binary here):
     * "STASIS-VM <arch> VERSION stasis 0.1.0 (git ..., <arch>)". */
    char *version[] = {STASIS, "--version", NULL};
    int st = run_command(version, "/tmp/version.txt", settings.timeout_s);
    static char buf[32 * 1024];
    if (read_file("/tmp/version.txt", buf, sizeof(buf)) < 0) buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    say("STASIS-VM %s VERSION %s", STASIS_VM_ARCH, st == 0 ? buf : "(stasis --version failed)");

    char *table[] = {STASIS, "check", NULL};
    st = run_command(table, "/tmp/check.txt", settings.timeout_s);
    if (read_file("/tmp/check.txt", buf, sizeof(buf)) < 0) buf[0] = '\0';
    say("---- stasis check ----");
    say_text(buf, strlen(buf));
    say("---- end of stasis check ----");
    say_outcome("CHECK", st);

    char *json[] = {STASIS, "check", "--json", NULL};
    st = run_command(json, "/tmp/check.json", settings.timeout_s);
    check_json_ok = read_file("/tmp/check.json", check_json, sizeof(check_json)) > 0 && strchr(check_json, '{');
    /* A verdict of "cannot work" does not skip anything: every scenario still
     * runs, and fails if stasis really cannot checkpoint it (a probe can be
     * wrong, and skipping the whole tier on its word would hide that). */
    if (check_json_ok && strstr(check_json, "\"can_checkpoint_restore\": false")) {
        const char *m = strstr(check_json, "\"missing_required\": \"");
        char feat[96] = "?";
        if (m) sscanf(m + strlen("\"missing_required\": \""), "%95[^\"]", feat);
        say("STASIS-VM %s WARNING stasis check says checkpoint/restore cannot work here (%s is missing);"
            " running every scenario anyway", STASIS_VM_ARCH, feat);
    }
    if (!check_json_ok) {
        char how[128] = "timed out";
        if (st != -1) describe_status(how, sizeof(how), st);
        say("STASIS-VM %s WARNING stasis check --json gave no report (%s); no scenario is gated on features",
            STASIS_VM_ARCH, how);
    }
}

/* The status `stasis check --json` gives feature `name` ("ok", "warn",
 * "missing"), or NULL when the report does not list it. */
static bool feature_status(const char *name, char *out, size_t size) {
    char key[160];
    snprintf(key, sizeof(key), "\"name\": \"%s\", \"status\": \"", name);
    const char *p = strstr(check_json, key);
    if (!p) return false;
    p += strlen(key);
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < size) n++;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Why the scenario cannot run on this kernel, or false when it can. */
static bool missing_feature(const struct scenario *sc, char *why, size_t size) {
    if (!check_json_ok) return false;
    char needs[sizeof(sc->needs)];
    snprintf(needs, sizeof(needs), "%s", sc->needs);
    for (char *save = NULL, *f = strtok_r(needs, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        char status[32];
        if (!feature_status(f, status, sizeof(status))) {
            snprintf(why, size, "needs kernel feature %s, which stasis check does not report", f);
            return true;
        }
        if (strcmp(status, "ok") != 0 && strcmp(status, "warn") != 0) {
            snprintf(why, size, "needs kernel feature %s (stasis check: %s)", f, status);
            return true;
        }
    }
    return false;
}

/* ---- one scenario --------------------------------------------------------- */

static bool finish(struct run *r, enum result res, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool finish(struct run *r, enum result res, const char *fmt, ...) {
    r->result = res;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
    va_end(ap);
    return false;
}

static void workfile(const struct run *r, char *out, size_t size, const char *name) {
    join(out, size, r->workdir, name);
}

/* Start the program and wait for `ready` (or an early verdict). */
static bool start_and_wait_ready(struct run *r) {
    char prog[256], log[300];
    join(prog, sizeof(prog), SCENARIO_DIR, r->sc->prog);
    if (!exists(prog)) return finish(r, FAIL, "%s is not in the initramfs", prog);
    workfile(r, log, sizeof(log), "prog.log");
    char *argv[] = {prog, r->workdir, NULL};
    r->pid = spawn(argv, log, true);
    if (r->pid < 0) return finish(r, FAIL, "fork: %s", strerror(errno));

    char ready[300], verdict[300];
    workfile(r, ready, sizeof(ready), "ready");
    workfile(r, verdict, sizeof(verdict), "verdict");
    double deadline = now_s() + settings.timeout_s;
    for (;;) {
        if (exists(ready) || exists(verdict)) break;
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            r->pid_reaped = true;
            if (exists(verdict)) break;
            char how[128];
            describe_status(how, sizeof(how), status);
            return finish(r, FAIL, "the program ended before it was ready (%s)", how);
        }
        if (now_s() >= deadline) return finish(r, FAIL, "timed out after %ds waiting for ready", settings.timeout_s);
        sleep_ms(20);
    }
    if (exists(verdict)) { /* it gave up (or skipped) during setup */
        char v[1024];
        read_file(verdict, v, sizeof(v));
        v[strcspn(v, "\n")] = '\0';
        if (strncmp(v, "SKIP", 4) == 0) return finish(r, SKIP, "%s", v[4] == ':' ? v + 6 : v + 4);
        return finish(r, FAIL, "during setup: %s", v);
    }
    read_cmdline(r->pid, r->cmdline, sizeof(r->cmdline));
    return true;
}

static long file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Two pre-dumps, each on top of the one before, while the program runs
 * (tests/live/run-scenario.sh --pre-dumps 2): after pre-dump i the program
 * may change its memory (WORKDIR/predumped.i, then its WORKDIR/phase.i). */
static bool pre_dumps(struct run *r) {
    char pid[16], phases[300];
    snprintf(pid, sizeof(pid), "%d", (int)r->pid);
    workfile(r, phases, sizeof(phases), "phases");
    for (int i = 1; i <= 2; i++) {
        char name[32], dir[300], log[300], err[300], mark[300], prev[32];
        snprintf(name, sizeof(name), "pre%d", i);
        workfile(r, dir, sizeof(dir), name);
        snprintf(name, sizeof(name), "pre%d.log", i);
        workfile(r, log, sizeof(log), name);
        snprintf(name, sizeof(name), "pre%d.err", i);
        workfile(r, err, sizeof(err), name);
        snprintf(prev, sizeof(prev), "../pre%d", i - 1);
        mkdir(dir, 0755);
        char *argv[] = {STASIS, "pre-dump", "-t", pid, "-D", dir, "-o", log, "-v4", NULL, NULL, NULL};
        if (i > 1) argv[9] = "--prev-images-dir", argv[10] = prev;
        double t0 = now_s();
        int st = run_command(argv, err, settings.timeout_s);
        if (st != 0) return finish(r, FAIL, "stasis pre-dump %d failed (status %d)", i, st);
        char why[256];
        if (!ours_alive(r)) return finish(r, FAIL, "PID %d is gone after pre-dump %d", (int)r->pid, i);
        if (!untraced_and_running(r->pid, why, sizeof(why)))
            return finish(r, FAIL, "PID %d after pre-dump %d: %s", (int)r->pid, i, why);
        say("STASIS-VM %s %s PRE-DUMPED %d in %.1f s", STASIS_VM_ARCH, r->sc->name, i, now_s() - t0);
        snprintf(name, sizeof(name), "predumped.%d", i);
        workfile(r, mark, sizeof(mark), name);
        int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) close(fd);
        if (exists(phases)) {
            snprintf(name, sizeof(name), "phase.%d", i);
            workfile(r, mark, sizeof(mark), name);
            double deadline = now_s() + settings.timeout_s;
            while (!exists(mark)) {
                if (now_s() >= deadline) return finish(r, FAIL, "timed out waiting for the program's phase %d", i);
                sleep_ms(20);
            }
        }
    }
    return true;
}

static bool dump(struct run *r) {
    char pid[16], images[300], log[300], err[300];
    snprintf(pid, sizeof(pid), "%d", (int)r->pid);
    workfile(r, images, sizeof(images), "images");
    workfile(r, log, sizeof(log), "dump.log");
    workfile(r, err, sizeof(err), "dump.err");
    mkdir(images, 0755);
    char *argv[] = {STASIS, "dump", "-t", pid, "-D", images, "-o", log, "-v4", NULL, NULL, NULL, NULL, NULL};
    if (r->sc->mode == MODE_LEAVE_RUNNING) argv[9] = "--leave-running";
    if (r->sc->mode == MODE_PRE_DUMP) argv[9] = "--prev-images-dir", argv[10] = "../pre2";
    if (r->sc->mode == MODE_PAGE_SERVER_LAZY)
        argv[9] = "--page-server", argv[10] = "--port", argv[11] = PAGE_SERVER_PORT, argv[12] = "--lazy-pages";
    double t0 = now_s();
    int st = run_command(argv, err, settings.timeout_s);
    if (st == -1) return finish(r, FAIL, "stasis dump timed out after %ds", settings.timeout_s);
    if (st != 0) {
        char how[128];
        describe_status(how, sizeof(how), st);
        return finish(r, FAIL, "stasis dump failed (%s)", how);
    }
    char inventory[320];
    join(inventory, sizeof(inventory), images, "inventory.img");
    if (!exists(inventory)) return finish(r, FAIL, "dump succeeded but wrote no inventory.img");
    say("STASIS-VM %s %s DUMPED in %.1f s", STASIS_VM_ARCH, r->sc->name, now_s() - t0);
    if (r->sc->mode == MODE_PRE_DUMP) {
        /* It really was incremental: clearly less than the first pre-dump
         * (a dump that is not saves as much or more). Not by a fixed factor:
         * with 64 KiB pages the few pages the program writes are a larger
         * share of its memory. */
        char first[320], last[320], name[64];
        snprintf(name, sizeof(name), "pre1/pages-%d.img", (int)r->pid);
        workfile(r, first, sizeof(first), name);
        snprintf(name, sizeof(name), "pages-%d.img", (int)r->pid);
        join(last, sizeof(last), images, name);
        long a = file_bytes(first), b = file_bytes(last);
        if (a <= 0 || b < 0 || b >= a / 4 * 3)
            return finish(r, FAIL, "the dump on top of 2 pre-dumps saved %ld bytes, pre-dump 1 %ld: not incremental",
                          b, a);
        say("STASIS-VM %s %s INCREMENTAL %ld bytes after %ld", STASIS_VM_ARCH, r->sc->name, b, a);
        /* With the pre-dump's tracking alive, the dump made a pre-copy pass
         * and, counting what its frozen pass would save, reserved the pages
         * image before the freeze (uffd-wp, or soft-dirty without
         * PAGEMAP_SCAN on older kernels). */
        static char text[1 << 20];
        ssize_t n = read_file(log, text, sizeof(text) - 1);
        text[n > 0 ? n : 0] = '\0';
        if (strstr(text, "pre-copy pass into")) {
            if (!strstr(text, "reserved before the freeze"))
                return finish(r, FAIL, "the dump made a pre-copy pass but reserved no pages image before its freeze");
            say("STASIS-VM %s %s PRE-COPY pass; pages image reserved before the freeze", STASIS_VM_ARCH, r->sc->name);
        }
    }

    if (r->sc->mode == MODE_LEAVE_RUNNING) {
        char why[256];
        if (!ours_alive(r)) return finish(r, FAIL, "PID %d is gone after dump --leave-running", (int)r->pid);
        if (!untraced_and_running(r->pid, why, sizeof(why)))
            return finish(r, FAIL, "PID %d after dump --leave-running: %s", (int)r->pid, why);
        return true;
    }
    /* The dump kills the program; reap it so that its PID is free. */
    int status;
    if (!wait_child(r->pid, settings.timeout_s, &status))
        return finish(r, FAIL, "PID %d still runs %ds after the dump", (int)r->pid, settings.timeout_s);
    r->pid_reaped = true;
    /* The program's children were re-parented to us when it died: reap
     * them too, or their zombies keep their PIDs from the restore. */
    for (double quiet_since = now_s(); now_s() - quiet_since < 0.3;) {
        pid_t z = waitpid(-1, &status, WNOHANG | __WALL);
        if (z > 0) quiet_since = now_s();
        else if (z < 0) break;
        else sleep_ms(10);
    }
    if (task_state(r->pid) != '\0') return finish(r, FAIL, "PID %d is still taken after the dump was reaped", (int)r->pid);
    return true;
}

/* page-server-lazy: the page server, before the dump. */
static bool start_page_server(struct run *r) {
    char dir[300], log[300], out[300];
    workfile(r, dir, sizeof(dir), "server");
    workfile(r, log, sizeof(log), "server.log");
    workfile(r, out, sizeof(out), "server.out");
    mkdir(dir, 0755);
    char *argv[] = {STASIS, "page-server", "-D", dir, "--port", PAGE_SERVER_PORT, "-o", log, "-v4", NULL};
    r->server_pid = spawn(argv, out, false);
    if (r->server_pid < 0) return finish(r, FAIL, "fork: %s", strerror(errno));
    double deadline = now_s() + settings.timeout_s;
    for (;;) {
        char text[512] = "";
        read_file(out, text, sizeof(text));
        if (strstr(text, "listening on port")) return true;
        int status;
        if (waitpid(r->server_pid, &status, WNOHANG) == r->server_pid) {
            r->server_pid = 0;
            text[strcspn(text, "\n")] = '\0';
            return finish(r, FAIL, "stasis page-server did not start: %s", text);
        }
        if (now_s() >= deadline) return finish(r, FAIL, "stasis page-server never listened");
        sleep_ms(20);
    }
}

/* Lazy modes: lazy-pages must end by itself, with status 0, once the
 * program has all its memory (and then the page server too). */
static bool servers_finish(struct run *r) {
    pid_t *pids[] = {&r->lazy_pid, &r->server_pid};
    const char *names[] = {"lazy-pages", "page-server"};
    for (int i = 0; i < 2; i++) {
        if (*pids[i] <= 0) continue;
        int status;
        if (!wait_child(*pids[i], settings.timeout_s, &status))
            return finish(r, FAIL, "stasis %s still runs %ds after the check", names[i], settings.timeout_s);
        *pids[i] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char how[128];
            describe_status(how, sizeof(how), status);
            return finish(r, FAIL, "stasis %s ended with %s", names[i], how);
        }
    }
    return true;
}

static bool restore(struct run *r) {
    char images[300], log[300], err[300], pidfile[300];
    workfile(r, images, sizeof(images), "images");
    workfile(r, log, sizeof(log), "restore.log");
    workfile(r, err, sizeof(err), "restore.err");
    workfile(r, pidfile, sizeof(pidfile), "restored.pid");
    char *argv[] = {STASIS, "restore", "-D", images, "-d", "--pidfile", pidfile, "-o", log, "-v4",
                    NULL, NULL, NULL, NULL, NULL};
    bool lazy = r->sc->mode == MODE_LAZY || r->sc->mode == MODE_PAGE_SERVER_LAZY;
    if (lazy) {
        char lazy_log[300], lazy_out[300];
        workfile(r, lazy_log, sizeof(lazy_log), "lazy.log");
        workfile(r, lazy_out, sizeof(lazy_out), "lazy.err");
        char *largv[] = {STASIS, "lazy-pages", "-D", images, "-o", lazy_log, "-v4", NULL, NULL, NULL, NULL};
        argv[10] = "--lazy-pages";
        if (r->sc->mode == MODE_PAGE_SERVER_LAZY) {
            largv[7] = "--page-server", largv[8] = "--port", largv[9] = PAGE_SERVER_PORT;
            argv[11] = "--page-server", argv[12] = "--port", argv[13] = PAGE_SERVER_PORT;
        }
        r->lazy_pid = spawn(largv, lazy_out, false);
        if (r->lazy_pid < 0) return finish(r, FAIL, "fork: %s", strerror(errno));
    }
    double t0 = now_s();
    if (r->sc->mode == MODE_VDSO_PROXY) spawn_env = proxy_env;
    if (r->sc->mode == MODE_VDSO_FALLBACK) spawn_env = fallback_env;
    int st = run_command(argv, err, settings.timeout_s);
    spawn_env = clean_env;
    if (st == -1) return finish(r, FAIL, "stasis restore timed out after %ds", settings.timeout_s);
    if (st != 0) {
        char how[128];
        describe_status(how, sizeof(how), st);
        return finish(r, FAIL, "stasis restore failed (%s)", how);
    }
    char buf[64];
    if (read_file(pidfile, buf, sizeof(buf)) <= 0) return finish(r, FAIL, "restore wrote no pidfile");
    int restored = atoi(buf);
    if (restored != (int)r->pid)
        return finish(r, FAIL, "restored PID is %d, the original was %d", restored, (int)r->pid);
    if (!ours_alive(r)) return finish(r, FAIL, "restored PID %d is not alive (or not the same program)", (int)r->pid);
    say("STASIS-VM %s %s RESTORED in %.1f s", STASIS_VM_ARCH, r->sc->name, now_s() - t0);
    return true;
}

/* Touch `check` and wait for the verdict. */
static bool check(struct run *r) {
    char check_path[300], verdict[300];
    workfile(r, check_path, sizeof(check_path), "check");
    workfile(r, verdict, sizeof(verdict), "verdict");
    int fd = open(check_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return finish(r, FAIL, "create %s: %s", check_path, strerror(errno));
    close(fd);
    double deadline = now_s() + settings.timeout_s;
    while (!exists(verdict)) {
        if (!ours_alive(r)) {
            sleep_ms(100); /* it may be writing the verdict right now */
            if (exists(verdict)) break;
            return finish(r, FAIL, "the program died without a verdict");
        }
        if (now_s() >= deadline)
            return finish(r, FAIL, "timed out after %ds waiting for the verdict", settings.timeout_s);
        sleep_ms(20);
    }
    char v[1024];
    read_file(verdict, v, sizeof(v));
    v[strcspn(v, "\n")] = '\0';
    if (strcmp(v, "PASS") == 0) return finish(r, PASS, "%s", "");
    if (strncmp(v, "SKIP", 4) == 0) return finish(r, SKIP, "%s", v[4] == ':' ? v + 6 : v + 4);
    return finish(r, FAIL, "%s", strncmp(v, "FAIL: ", 6) == 0 ? v + 6 : v);
}

static void show_tail(const struct run *r, const char *name) {
    char path[300];
    workfile(r, path, sizeof(path), name);
    static char buf[1 << 20];
    ssize_t n = read_file(path, buf, sizeof(buf));
    if (n <= 0) return;
    /* Back up over the last tail_lines lines. */
    ssize_t start = n;
    int lines = 0;
    if (start > 0 && buf[start - 1] == '\n') start--;
    while (start > 0 && lines < settings.tail_lines) {
        if (buf[start - 1] == '\n') lines++;
        if (lines < settings.tail_lines) start--;
    }
    say("---- %s %s: tail of %s ----", STASIS_VM_ARCH, r->sc->name, name);
    say_text(buf + start, (size_t)(n - start));
    say("---- end of %s ----", name);
}

static enum result run_scenario(const struct scenario *sc) {
    struct run r = {.sc = sc, .result = FAIL};
    double t0 = now_s();
    say("STASIS-VM %s %s START", STASIS_VM_ARCH, sc->name);
    char why[512];
    if (missing_feature(sc, why, sizeof(why))) {
        finish(&r, SKIP, "%s", why);
    } else {
        join(r.workdir, sizeof(r.workdir), WORK_ROOT, sc->name);
        remove_tree(r.workdir);
        mkdir(r.workdir, 0755);
        if (start_and_wait_ready(&r) && (sc->mode != MODE_PRE_DUMP || pre_dumps(&r)) &&
            (sc->mode != MODE_PAGE_SERVER_LAZY || start_page_server(&r)) && dump(&r) &&
            (sc->mode == MODE_LEAVE_RUNNING || restore(&r))) {
            check(&r);
            if (r.result == PASS) servers_finish(&r);
        }
    }
    say("STASIS-VM %s %s %s %s%s(%.1f s)", STASIS_VM_ARCH, sc->name, result_names[r.result], r.reason,
        r.reason[0] ? " " : "", now_s() - t0);
    if (r.workdir[0] && (r.result == FAIL || settings.pass_logs)) {
        const char *logs[] = {"prog.log",    "verdict",     "pre1.log", "pre2.log", "dump.err",  "dump.log",
                              "restore.err", "restore.log", "lazy.err", "lazy.log", "server.out", "server.log"};
        for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) show_tail(&r, logs[i]);
    }
    kill_everything();
    if (r.workdir[0]) remove_tree(r.workdir);
    return r.result;
}

/* ---- the scenario list ---------------------------------------------------- */

static bool selected(const char *name) {
    if (!settings.only) return true;
    size_t len = strlen(name);
    for (const char *p = settings.only; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, name, n) == 0) return true;
        p += n;
        if (*p == ',') p++;
    }
    return false;
}

/* Lines: "<scenario> cr|leave-running|pre-dump|lazy|page-server-lazy|vdso-proxy|vdso-fallback
 * [feature,...]"; '#' comments. vdso-proxy: cr, the restore with STASIS_VDSO_PROXY=always;
 * vdso-fallback: with STASIS_VDSO_PROXY=fallback. */
static int read_scenarios(struct scenario *out, int max) {
    static char buf[64 * 1024];
    if (read_file(SCENARIO_LIST, buf, sizeof(buf)) < 0) die("cannot read %s: %s", SCENARIO_LIST, strerror(errno));
    int count = 0;
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0') continue;
        char name[128], mode[32], needs[256] = "";
        if (sscanf(line, "%127s %31s %255s", name, mode, needs) < 2) die("bad line in %s: %s", SCENARIO_LIST, line);
        if (!selected(name)) continue;
        if (count == max) die("more than %d scenarios in %s", max, SCENARIO_LIST);
        struct scenario *sc = &out[count++];
        snprintf(sc->name, sizeof(sc->name), "%s", name);
        snprintf(sc->prog, sizeof(sc->prog), "%.*s", (int)strcspn(name, "."), name);
        snprintf(sc->needs, sizeof(sc->needs), "%s", needs);
        if (strcmp(mode, "cr") == 0)
            sc->mode = MODE_CR;
        else if (strcmp(mode, "leave-running") == 0)
            sc->mode = MODE_LEAVE_RUNNING;
        else if (strcmp(mode, "pre-dump") == 0)
            sc->mode = MODE_PRE_DUMP;
        else if (strcmp(mode, "lazy") == 0)
            sc->mode = MODE_LAZY;
        else if (strcmp(mode, "page-server-lazy") == 0)
            sc->mode = MODE_PAGE_SERVER_LAZY;
        else if (strcmp(mode, "vdso-proxy") == 0)
            sc->mode = MODE_VDSO_PROXY;
        else if (strcmp(mode, "vdso-fallback") == 0)
            sc->mode = MODE_VDSO_FALLBACK;
        else
            die("unknown mode '%s' in %s", mode, SCENARIO_LIST);
    }
    return count;
}

int main(void) {
    if (getpid() != 1) {
        fprintf(stderr, "vm_init: the VM tier's /init; runs only as PID 1 in its guest\n");
        return 2;
    }
    setup_machine();
    read_settings();
    double t0 = now_s();

    static struct scenario scenarios[256];
    int count = read_scenarios(scenarios, 256);
    struct utsname u;
    uname(&u);
    /* The kernel may have left a line unfinished on the console (ppc64le's
     * hvc0 does): start ours on a fresh one. */
    write_all(STDOUT_FILENO, "\n", 1);
    say("STASIS-VM %s BEGIN %d scenarios, kernel %s %s, page size %ld, timeout %ds", STASIS_VM_ARCH, count,
        u.release, u.machine, sysconf(_SC_PAGESIZE), settings.timeout_s);
    run_stasis_check();

    int counts[3] = {0, 0, 0};
    for (int i = 0; i < count; i++) counts[run_scenario(&scenarios[i])]++;
    say("STASIS-VM %s END pass=%d fail=%d skip=%d in %.1f s", STASIS_VM_ARCH, counts[PASS], counts[FAIL],
        counts[SKIP], now_s() - t0);
    power_off();
}
