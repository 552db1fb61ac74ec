/* Proves: a process tree comes back whole. Every process keeps its PID, its
 * parent, its process group and its session:
 *   root (session leader, child subreaper)
 *   ├── grouped: leader of a process group of its own, with a member child
 *   │   └── member: in grouped's group
 *   ├── session: leader of a session of its own
 *   │   └── inner: in that session
 *   ├── zombie: exited with status 7, not yet reaped
 *   └── orphan: its parent exited; re-parented to root (the subreaper)
 * Each process checks its own identity after restore and reports through a
 * file; the root then reaps the zombie (status 7) and every child. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"

enum { ZOMBIE_STATUS = 7 };

struct expect {
    const char *name;
    pid_t pid, ppid, pgid, sid;
};

static void write_result(const char *name, const char *text) {
    char file[64], path[512];
    snprintf(file, sizeof file, "%s.result", name);
    live_write_file_atomic(live_path(path, sizeof path, file), text, strlen(text));
}

/* A non-root process: records itself, waits for "verify", checks its own
 * identity against what it recorded, reports, waits for "done". */
_Noreturn static void member_loop(const char *name) {
    struct expect e = {name, getpid(), getppid(), getpgid(0), getsid(0)};
    char ready[64];
    snprintf(ready, sizeof ready, "%s.ready", name);
    write_result(ready, "");
    (void)live_wait_for_file("verify");
    char msg[512] = "ok";
    if (getpid() != e.pid || getppid() != e.ppid || getpgid(0) != e.pgid || getsid(0) != e.sid)
        snprintf(msg, sizeof msg, "%s: pid/ppid/pgid/sid %d/%d/%d/%d, was %d/%d/%d/%d", name, getpid(), getppid(),
                 getpgid(0), getsid(0), e.pid, e.ppid, e.pgid, e.sid);
    write_result(name, msg);
    (void)live_wait_for_file("done");
    _exit(0);
}

static pid_t spawn(void (*body)(void)) {
    pid_t p = LIVE_SETUP(fork());
    if (p == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        body();
        _exit(0);
    }
    return p;
}

static void member_body(void) { member_loop("member"); }
static void grouped_body(void) {
    if (setpgid(0, 0) != 0) _exit(3);
    spawn(member_body);
    member_loop("grouped");
}
static void inner_body(void) { member_loop("inner"); }
static void session_body(void) {
    if (setsid() < 0) _exit(3);
    spawn(inner_body);
    member_loop("session");
}
static pid_t root_pid;
static void orphan_parent_body(void) {
    pid_t p = fork();
    if (p == 0) {
        /* Outlives this parent: wait to be re-parented to the root (the
         * subreaper), then die with the root like the others. */
        for (int i = 0; i < 3000 && getppid() != root_pid; ++i) live_sleep_ns(1000 * 1000);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != root_pid) _exit(3);
        member_loop("orphan");
    }
    _exit(p > 0 ? 0 : 3);
}

static const char *names[] = {"grouped", "member", "session", "inner", "orphan"};

int main(int argc, char **argv) {
    live_init(argc, argv);
    LIVE_SETUP(prctl(PR_SET_CHILD_SUBREAPER, 1));
    root_pid = getpid();
    pid_t grouped = spawn(grouped_body);
    pid_t session = spawn(session_body);
    pid_t orphan_parent = LIVE_SETUP(fork());
    if (orphan_parent == 0) orphan_parent_body();
    int st;
    LIVE_SETUP(waitpid(orphan_parent, &st, 0));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) live_fail("setup: the orphan's parent failed");
    pid_t zombie = LIVE_SETUP(fork());
    if (zombie == 0) _exit(ZOMBIE_STATUS);
    for (size_t i = 0; i < sizeof names / sizeof *names; ++i) {
        char ready[64];
        snprintf(ready, sizeof ready, "%s.ready.result", names[i]);
        (void)live_wait_for_file(ready);
        if (!live_file_exists(ready)) live_fail("setup: %s never got ready", names[i]);
    }
    /* The zombie is a zombie before the dump. */
    siginfo_t si = {0};
    for (int i = 0; i < 500; ++i) {
        si.si_pid = 0;
        if (waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == zombie) break;
        live_sleep_ns(10 * 1000 * 1000);
    }
    if (si.si_pid != zombie) live_fail("setup: process %d did not become a zombie", zombie);
    live_log("root %d: grouped %d, session %d, zombie %d, orphan's parent %d (gone)", getpid(), grouped, session,
             zombie, orphan_parent);
    live_ready();
    live_wait_for_check();

    char path[512];
    live_write_file_atomic(live_path(path, sizeof path, "verify"), "1", 1);
    for (size_t i = 0; i < sizeof names / sizeof *names; ++i) {
        char file[64], text[512] = "";
        snprintf(file, sizeof file, "%s.result", names[i]);
        (void)live_wait_for_file(file);
        ssize_t n = live_read_file(live_path(path, sizeof path, file), text, sizeof text);
        LIVE_EXPECT(n > 0 && strcmp(text, "ok") == 0, "%s: %s", names[i], n > 0 ? text : "no report after restore");
    }
    live_write_file_atomic(live_path(path, sizeof path, "done"), "1", 1);

    int status = 0;
    pid_t r = waitpid(zombie, &status, 0);
    LIVE_EXPECT(r == zombie && WIFEXITED(status) && WEXITSTATUS(status) == ZOMBIE_STATUS,
                "the zombie %d: waitpid gave %d, status 0x%x (expected exit %d)", zombie, r, status, ZOMBIE_STATUS);
    /* Everyone else: grouped, session, the orphan (ours as subreaper), and
     * the grandchildren re-parented to us when their parents exit. */
    int reaped = 0;
    for (int i = 0; i < 3000; ++i) {
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p > 0) {
            ++reaped;
            continue;
        }
        if (p < 0) break;  /* no children left */
        live_sleep_ns(10 * 1000 * 1000);
    }
    LIVE_EXPECT(reaped == 5, "reaped %d processes after the zombie, expected 5", reaped);
    live_finish();
}
