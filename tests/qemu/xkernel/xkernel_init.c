/* /init of the cross-kernel tier's guest (tests/qemu/run-xkernel.sh,
 * README.md "Cross-kernel restore").
 *
 * One boot is one hop of a checkpoint moving between kernels: it loads the
 * 9p modules the initramfs carries (/modules/load, in order), mounts the
 * host's share at the same absolute path as on the host, and runs a list of
 * actions on the program whose work directory is SHARE/work:
 *
 *   start      start the program (/live/<its name>, or STASIS_XK_PROG) as
 *              `PROG SHARE/work --repeat-checks`, own session, fds 0-2 only,
 *              output to SHARE/work/prog.log; wait for SHARE/work/ready;
 *              its PID goes to SHARE/pid
 *   check      remove a stale verdict, touch SHARE/work/check, wait for a
 *              new SHARE/work/verdict; PASS only if it says PASS
 *   dump:N     stasis dump -t PID -D SHARE/imagesN -v4 -o SHARE/dumpN.log;
 *              the PID must die
 *   restore:N  stasis restore -D SHARE/imagesN -d --pidfile
 *              SHARE/restoredN.pid -v4 -o SHARE/restoreN.log; the same PID
 *              must run the program again. Prints the restore log's lines
 *              that mention the vDSO.
 *   finish     touch SHARE/work/finish, then check, then the program must
 *              exit 0 by itself
 *
 * Console lines (the host script reads them):
 *
 *   STASIS-VM <arch> BEGIN xkernel hop <H>, kernel <release>, page size <N>
 *   STASIS-XK <arch> <H> <action> PASS|FAIL <detail> (<seconds> s)
 *   STASIS-XK <arch> <H> VDSO <line of the restore log>
 *   STASIS-VM <arch> END xkernel hop <H> pass=<n> fail=<n>
 *
 * The first failing action ends the list. Knobs from the kernel command
 * line: STASIS_XK_SHARE (required), STASIS_XK_ACTIONS (required, comma
 * list), STASIS_XK_HOP (label, default 1), STASIS_XK_PROG,
 * STASIS_XK_TIMEOUT (seconds per wait, default 300).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../init/guest.h"

#ifndef STASIS_VM_ARCH
#error "build with -DSTASIS_VM_ARCH=\"<arch>\""
#endif
#define ARCH STASIS_VM_ARCH
#define STASIS "/bin/stasis"
#define MODULE_DIR "/modules"
#define PROG_DIR "/live"
#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static const char *share, *hop = "1";
static int timeout_s = 300;

/* ---- console and small helpers ------------------------------------------ */

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    say("STASIS-XK %s %s ABORT %s", ARCH, hop, buf);
    say("STASIS-VM %s END xkernel hop %s pass=0 fail=1", ARCH, hop);
    power_off();
}

static bool write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    write_all(fd, text, strlen(text));
    return close(fd) == 0;
}

static void on_share(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void on_share(char *out, size_t size, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (snprintf(out, size, "%s/%s", share, name) >= (int)size) die("path too long: %s/%s", share, name);
}

/* mkdir -p */
static void make_dirs(const char *path) {
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(buf, 0755);
        *p = '/';
    }
    mkdir(buf, 0755);
}

/* ---- the machine ---------------------------------------------------------- */

static void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags, const char *opts) {
    make_dirs(dst);
    if (mount(src, dst, type, flags, opts) != 0 && errno != EBUSY)
        die("mount %s on %s: %s", type, dst, strerror(errno));
}

/* The modules of /modules/load, in its order (dependencies first). */
static void load_modules(void) {
    static char list[4096];
    if (read_file(MODULE_DIR "/load", list, sizeof(list)) < 0) {
        say("STASIS-XK %s %s NOTE no %s/load: loading no modules", ARCH, hop, MODULE_DIR);
        return;
    }
    for (char *save = NULL, *name = strtok_r(list, " \n", &save); name; name = strtok_r(NULL, " \n", &save)) {
        char path[256];
        int flags = 0;
        snprintf(path, sizeof(path), "%s/%s.ko", MODULE_DIR, name);
        if (!exists(path)) {
            snprintf(path, sizeof(path), "%s/%s.ko.xz", MODULE_DIR, name);
            flags = MODULE_INIT_COMPRESSED_FILE;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("module %s: %s", name, strerror(errno));
        if (syscall(SYS_finit_module, fd, "", flags) != 0 && errno != EEXIST)
            die("loading module %s: %s", name, strerror(errno));
        close(fd);
    }
}

static void setup_machine(void) {
    mount_or_die("proc", "/proc", "proc", MS_NOSUID, NULL);
    mount_or_die("sysfs", "/sys", "sysfs", MS_NOSUID, NULL);
    mount_or_die("tmpfs", "/tmp", "tmpfs", MS_NOSUID, "mode=1777");
    mount_or_die("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID, "mode=1777");
    /* The host's PIDs can be far above the default limit of 32768 (or
     * 4194304 with many CPUs), and a restore needs the very same PID. */
    if (!write_file("/proc/sys/kernel/pid_max", "4194304"))
        say("STASIS-XK %s %s WARNING cannot raise pid_max: %s", ARCH, hop, strerror(errno));
    /* A restored program killed by a signal: the kernel prints where. */
    if (!write_file("/proc/sys/kernel/print-fatal-signals", "1") || !write_file("/proc/sys/kernel/printk", "7"))
        say("STASIS-XK %s %s WARNING cannot enable print-fatal-signals: %s", ARCH, hop, strerror(errno));
    load_modules();
    /* The share where it is on the host: paths in the images stay valid. */
    mount_or_die("xkshare", share, "9p", 0, "trans=virtio,version=9p2000.L,msize=262144,cache=none");
}

/* ---- processes ------------------------------------------------------------ */

static char *const clean_env[] = {"PATH=/bin", "HOME=/", "LANG=C", NULL};

static pid_t spawn(char *const argv[], const char *log, bool new_session) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    child_fds(log);
    if (new_session) setsid();
    execve(argv[0], argv, clean_env);
    _exit(127);
}

static void describe_status(char *out, size_t size, int status) {
    if (status == -1)
        snprintf(out, size, "timed out after %ds", timeout_s);
    else if (WIFEXITED(status))
        snprintf(out, size, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "status 0x%x", status);
}

static int run_command(char *const argv[], const char *log) {
    pid_t pid = spawn(argv, log, false);
    if (pid < 0) return -1;
    int status;
    if (wait_child(pid, timeout_s, &status)) return status;
    kill(pid, SIGKILL);
    waitpid(pid, &status, __WALL);
    return -1;
}

static bool alive(pid_t pid) {
    char s = task_state(pid);
    return s != '\0' && s != 'Z' && s != 'X';
}

/* Reaps whatever ended (the restored program is our child once the restore
 * detached it: orphans go to PID 1). */
static void reap_zombies(void) {
    int status;
    while (waitpid(-1, &status, WNOHANG | __WALL) > 0) {
    }
}

/* ---- the actions ------------------------------------------------------------ */

static pid_t prog_pid;
static char workdir[512], reason[1024], prog_path[256];

static bool fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return false;
}

static void work_file(char *out, size_t size, const char *name) {
    if (snprintf(out, size, "%s/%s", workdir, name) >= (int)size) die("path too long: %s/%s", workdir, name);
}

/* The last `lines` lines of a file on the console, after a failure. */
static void show_tail(const char *path, int lines) {
    static char buf[256 * 1024];
    ssize_t n = read_file(path, buf, sizeof(buf));
    if (n <= 0) return;
    ssize_t start = n;
    int seen = 0;
    if (start > 0 && buf[start - 1] == '\n') start--;
    while (start > 0) {
        if (buf[start - 1] == '\n' && ++seen == lines) break;
        start--;
    }
    say("---- %s %s: tail of %s ----", ARCH, hop, path);
    write_all(STDOUT_FILENO, buf + start, (size_t)(n - start));
    if (buf[n - 1] != '\n') write_all(STDOUT_FILENO, "\n", 1);
    say("---- end of %s ----", path);
}

static bool find_program(void) {
    const char *p = getenv("STASIS_XK_PROG");
    if (p && *p) {
        snprintf(prog_path, sizeof(prog_path), "%s", p);
        return true;
    }
    DIR *d = opendir(PROG_DIR);
    if (!d) return fail("no %s in the initramfs", PROG_DIR);
    struct dirent *e;
    prog_path[0] = '\0';
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') snprintf(prog_path, sizeof(prog_path), "%s/%.200s", PROG_DIR, e->d_name);
    closedir(d);
    return prog_path[0] ? true : fail("no program in %s", PROG_DIR);
}

static bool act_start(void) {
    if (!find_program()) return false;
    char log[600], ready[600], verdict[600], pidfile[600];
    make_dirs(workdir);
    work_file(log, sizeof(log), "prog.log");
    work_file(ready, sizeof(ready), "ready");
    work_file(verdict, sizeof(verdict), "verdict");
    unlink(ready);
    unlink(verdict);
    /* Away from the low PIDs a later boot's own processes take. */
    write_file("/proc/sys/kernel/ns_last_pid", "29999");
    char *argv[] = {prog_path, workdir, "--repeat-checks", NULL};
    prog_pid = spawn(argv, log, true);
    if (prog_pid < 0) return fail("fork: %s", strerror(errno));
    double deadline = now_s() + timeout_s;
    while (!exists(ready)) {
        int status;
        if (exists(verdict)) {
            char v[512];
            read_file(verdict, v, sizeof(v));
            v[strcspn(v, "\n")] = '\0';
            return fail("verdict during setup: %s", v);
        }
        if (waitpid(prog_pid, &status, WNOHANG) == prog_pid) {
            char how[128];
            describe_status(how, sizeof(how), status);
            return fail("%s ended before it was ready (%s)", prog_path, how);
        }
        if (now_s() >= deadline) return fail("timed out after %ds waiting for ready", timeout_s);
        sleep_ms(20);
    }
    char text[32];
    snprintf(text, sizeof(text), "%d\n", (int)prog_pid);
    on_share(pidfile, sizeof(pidfile), "pid");
    if (!write_file(pidfile, text)) return fail("cannot write %s: %s", pidfile, strerror(errno));
    snprintf(reason, sizeof(reason), "%s PID %d", prog_path, (int)prog_pid);
    return true;
}

static bool act_check(void) {
    char check[600], verdict[600];
    work_file(check, sizeof(check), "check");
    work_file(verdict, sizeof(verdict), "verdict");
    unlink(verdict);
    if (!write_file(check, "")) return fail("cannot create %s: %s", check, strerror(errno));
    double deadline = now_s() + timeout_s;
    while (!exists(verdict)) {
        if (!alive(prog_pid)) {
            sleep_ms(200);
            if (exists(verdict)) break;
            return fail("PID %d died without a verdict", (int)prog_pid);
        }
        if (now_s() >= deadline) return fail("timed out after %ds waiting for the verdict", timeout_s);
        sleep_ms(20);
    }
    char v[1024];
    read_file(verdict, v, sizeof(v));
    v[strcspn(v, "\n")] = '\0';
    snprintf(reason, sizeof(reason), "verdict %.1000s", v);
    return strcmp(v, "PASS") == 0;
}

static bool act_dump(int n) {
    char pid[16], images[600], log[600], err[600];
    snprintf(pid, sizeof(pid), "%d", (int)prog_pid);
    on_share(images, sizeof(images), "images%d", n);
    on_share(log, sizeof(log), "dump%d.log", n);
    on_share(err, sizeof(err), "dump%d.err", n);
    make_dirs(images);
    char *argv[] = {STASIS, "dump", "-t", pid, "-D", images, "-v4", "-o", log, NULL};
    int st = run_command(argv, err);
    if (st != 0) {
        char how[128];
        describe_status(how, sizeof(how), st);
        show_tail(err, 20);
        return fail("stasis dump -t %d failed (%s)", (int)prog_pid, how);
    }
    double deadline = now_s() + timeout_s;
    for (;;) {
        reap_zombies();
        if (task_state(prog_pid) == '\0') break;
        if (now_s() >= deadline) return fail("PID %d still there %ds after the dump", (int)prog_pid, timeout_s);
        sleep_ms(20);
    }
    snprintf(reason, sizeof(reason), "PID %d into %s", (int)prog_pid, images);
    return true;
}

/* The restore log's lines about the vDSO, on the console. */
static void show_vdso_lines(const char *log) {
    static char buf[4 << 20];
    if (read_file(log, buf, sizeof(buf)) <= 0) return;
    int shown = 0;
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strstr(line, "vDSO") && shown++ < 20) say("STASIS-XK %s %s VDSO %s", ARCH, hop, line);
    if (!shown) say("STASIS-XK %s %s VDSO (no line of %s mentions the vDSO)", ARCH, hop, log);
}

static bool act_restore(int n) {
    char images[600], log[600], err[600], pidfile[600], text[64];
    on_share(images, sizeof(images), "images%d", n);
    on_share(log, sizeof(log), "restore%d.log", n);
    on_share(err, sizeof(err), "restore%d.err", n);
    on_share(pidfile, sizeof(pidfile), "restored%d.pid", n);
    unlink(pidfile);
    if (prog_pid == 0) {
        char path[600];
        on_share(path, sizeof(path), "pid");
        if (read_file(path, text, sizeof(text)) <= 0) return fail("no %s: who was dumped?", path);
        prog_pid = (pid_t)atoi(text);
    }
    if (alive(prog_pid)) return fail("PID %d is taken before the restore", (int)prog_pid);
    char *argv[] = {STASIS, "restore", "-D", images, "-d", "--pidfile", pidfile, "-v4", "-o", log, NULL};
    int st = run_command(argv, err);
    show_vdso_lines(log);
    if (st != 0) {
        char how[128];
        describe_status(how, sizeof(how), st);
        show_tail(err, 20);
        return fail("stasis restore failed (%s)", how);
    }
    if (read_file(pidfile, text, sizeof(text)) <= 0) return fail("the restore wrote no %s", pidfile);
    if (atoi(text) != (int)prog_pid) return fail("restored PID %d, dumped PID %d", atoi(text), (int)prog_pid);
    if (!alive(prog_pid)) return fail("restored PID %d is not running", (int)prog_pid);
    snprintf(reason, sizeof(reason), "PID %d from %s", (int)prog_pid, images);
    return true;
}

static bool act_finish(void) {
    char finish[600];
    work_file(finish, sizeof(finish), "finish");
    if (!write_file(finish, "")) return fail("cannot create %s: %s", finish, strerror(errno));
    if (!act_check()) return false;
    char verdict[sizeof(reason)];
    snprintf(verdict, sizeof(verdict), "%s", reason);
    double deadline = now_s() + timeout_s;
    for (;;) {
        int status;
        pid_t r = waitpid(prog_pid, &status, WNOHANG | __WALL);
        if (r == prog_pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) break;
            char how[128];
            describe_status(how, sizeof(how), status);
            return fail("%.800s, then the program ended with %s", verdict, how);
        }
        if (r < 0 && task_state(prog_pid) == '\0') break; /* not ours: gone is all we can see */
        if (now_s() >= deadline) return fail("%.800s, but the program still runs %ds later", verdict, timeout_s);
        sleep_ms(20);
    }
    snprintf(reason, sizeof(reason), "%.1000s, program exited 0", verdict);
    return true;
}

int main(void) {
    if (getpid() != 1) {
        fprintf(stderr, "xkernel_init: the cross-kernel tier's /init; runs only as PID 1 in its guest\n");
        return 2;
    }
    setup_console();
    const char *v;
    if ((v = getenv("STASIS_XK_HOP")) && *v) hop = v;
    if ((v = getenv("STASIS_XK_TIMEOUT")) && atoi(v) > 0) timeout_s = atoi(v);
    share = getenv("STASIS_XK_SHARE");
    const char *actions = getenv("STASIS_XK_ACTIONS");
    write_all(STDOUT_FILENO, "\n", 1); /* after a half line of the kernel's */
    if (!share || share[0] != '/' || !actions) die("STASIS_XK_SHARE (absolute) and STASIS_XK_ACTIONS are required");
    setup_machine();
    snprintf(workdir, sizeof(workdir), "%s/work", share);

    struct utsname u;
    uname(&u);
    say("STASIS-VM %s BEGIN xkernel hop %s, kernel %s, page size %ld, share %s, actions %s", ARCH, hop, u.release,
        sysconf(_SC_PAGESIZE), share, actions);
    int passed = 0, failed = 0;
    char list[512];
    snprintf(list, sizeof(list), "%s", actions);
    for (char *save = NULL, *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        double t0 = now_s();
        reason[0] = '\0';
        bool ok;
        const char *colon = strchr(a, ':');
        int n = colon ? atoi(colon + 1) : 0;
        if (strcmp(a, "start") == 0)
            ok = act_start();
        else if (strcmp(a, "check") == 0)
            ok = act_check();
        else if (strcmp(a, "finish") == 0)
            ok = act_finish();
        else if (strncmp(a, "dump:", 5) == 0 && n > 0)
            ok = act_dump(n);
        else if (strncmp(a, "restore:", 8) == 0 && n > 0)
            ok = act_restore(n);
        else
            ok = fail("unknown action");
        say("STASIS-XK %s %s %s %s %s (%.1f s)", ARCH, hop, a, ok ? "PASS" : "FAIL", reason, now_s() - t0);
        if (ok) {
            passed++;
        } else {
            failed++;
            char path[600];
            work_file(path, sizeof(path), "prog.log");
            show_tail(path, 20);
            break;
        }
    }
    say("STASIS-VM %s END xkernel hop %s pass=%d fail=%d", ARCH, hop, passed, failed);
    /* Nothing of ours may keep writing to the share while the next boot
     * (or the host) uses it. */
    kill(-1, SIGKILL);
    reap_zombies();
    sync();
    umount2(share, MNT_DETACH);
    power_off();
}
