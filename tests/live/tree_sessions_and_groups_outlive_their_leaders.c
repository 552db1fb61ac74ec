/* Proves: sessions and process groups whose leader exited long before the
 * dump come back with the same numbers, and their members with their PIDs
 * and their parent (the subreaper that took them in):
 *   root (session leader, child subreaper)
 *   ├── in_gone_session:  session S, group S      (S's leader exited)
 *   ├── leads_own_group:  session S, its own group
 *   │   └── its_member:   session S, leads_own_group's group
 *   ├── in_gone_group_of_gone_session: session S, group G (both leaders exited)
 *   └── in_gone_group:    the root's session, group H (H's leader exited)
 * After restore every process checks its own identity; the root checks that
 * no extra process (a helper the restore used) is its child, zombie or not,
 * and reaps exactly its own. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "live.h"

static pid_t root_pid;

static void write_result(const char *name, const char *text) {
    char file[96], path[512];
    snprintf(file, sizeof file, "%s.result", name);
    live_write_file_atomic(live_path(path, sizeof path, file), text, strlen(text));
}

/* Waits until `parent` is its parent (re-parented to the subreaper once
 * the leader exits), records itself, waits for "verify", checks its own
 * identity, reports, waits for "done". The parent-death signal is set only
 * then: set earlier, the exiting leader would kill it. */
_Noreturn static void member_loop(const char *name, pid_t parent, int children) {
    for (int i = 0; i < 3000 && getppid() != parent; ++i) live_sleep_ns(1000 * 1000);
    if (getppid() != parent) _exit(3);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pid_t pid = getpid(), ppid = getppid(), pgid = getpgid(0), sid = getsid(0);
    char ready[96];
    snprintf(ready, sizeof ready, "%s.ready", name);
    write_result(ready, "");
    (void)live_wait_for_file("verify");
    char msg[512] = "ok";
    if (getpid() != pid || getppid() != ppid || getpgid(0) != pgid || getsid(0) != sid)
        snprintf(msg, sizeof msg, "%s: pid/ppid/pgid/sid %d/%d/%d/%d, was %d/%d/%d/%d", name, getpid(), getppid(),
                 getpgid(0), getsid(0), pid, ppid, pgid, sid);
    write_result(name, msg);
    (void)live_wait_for_file("done");
    /* Reaped before exiting: its parent-death signal would kill it first. */
    for (int status; children > 0; --children)
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) _exit(4);
    _exit(0);
}

static pid_t fork_member(const char *name, pid_t parent) {
    pid_t p = fork();
    if (p == 0) member_loop(name, parent, 0);
    return p;
}

static void leads_own_group(void) {
    if (setpgid(0, 0) != 0) _exit(3);
    pid_t me = getpid();
    if (fork() == 0) member_loop("its_member", me, 0);
    member_loop("leads_own_group", root_pid, 1);
}

/* Leads session S, makes its members, and exits (the root reaps it). */
static void session_leader(void) {
    if (setsid() < 0) _exit(3);
    if (fork_member("in_gone_session", root_pid) < 0) _exit(3);
    pid_t p = fork();
    if (p == 0) leads_own_group();
    pid_t g = fork();
    if (g == 0) {
        /* Leader of group G inside S: makes a member and exits. */
        if (setpgid(0, 0) != 0) _exit(3);
        _exit(fork_member("in_gone_group_of_gone_session", root_pid) > 0 ? 0 : 3);
    }
    int st;
    if (p < 0 || g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(3);
    _exit(0);
}

static void group_leader(void) {
    if (setpgid(0, 0) != 0) _exit(3);
    _exit(fork_member("in_gone_group", root_pid) > 0 ? 0 : 3);
}

static const char *names[] = {"in_gone_session", "leads_own_group", "its_member", "in_gone_group_of_gone_session",
                              "in_gone_group"};
enum { NAMES = sizeof names / sizeof *names };

int main(int argc, char **argv) {
    live_init(argc, argv);
    LIVE_SETUP(prctl(PR_SET_CHILD_SUBREAPER, 1));
    root_pid = getpid();
    pid_t leaders[2];
    leaders[0] = LIVE_SETUP(fork());
    if (leaders[0] == 0) session_leader();
    leaders[1] = LIVE_SETUP(fork());
    if (leaders[1] == 0) group_leader();
    for (int i = 0; i < 2; ++i) {
        int st;
        LIVE_SETUP(waitpid(leaders[i], &st, 0));
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) live_fail("setup: leader %d failed (0x%x)", leaders[i], st);
    }
    for (int i = 0; i < NAMES; ++i) {
        char ready[96];
        snprintf(ready, sizeof ready, "%s.ready.result", names[i]);
        (void)live_wait_for_file(ready);
        if (!live_file_exists(ready)) live_fail("setup: %s never got ready", names[i]);
    }
    live_log("root %d: session leader %d and group leader %d exited", getpid(), leaders[0], leaders[1]);
    live_ready();
    live_wait_for_check();

    /* No child of ours has exited: a helper of the restore would show here
     * as a zombie (or have been reaped by the restore, which is the point). */
    siginfo_t si = {0};
    LIVE_EXPECT(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0,
                "a child %d has exited already (a leftover helper?)", si.si_pid);
    char path[512];
    live_write_file_atomic(live_path(path, sizeof path, "verify"), "1", 1);
    for (int i = 0; i < NAMES; ++i) {
        char file[96], text[512] = "";
        snprintf(file, sizeof file, "%s.result", names[i]);
        (void)live_wait_for_file(file);
        ssize_t n = live_read_file(live_path(path, sizeof path, file), text, sizeof text);
        LIVE_EXPECT(n > 0 && strcmp(text, "ok") == 0, "%s: %s", names[i], n > 0 ? text : "no report after restore");
    }
    live_write_file_atomic(live_path(path, sizeof path, "done"), "1", 1);

    /* Our four children (leads_own_group reaps its_member). */
    int reaped = 0, status;
    for (int i = 0; i < 3000; ++i) {
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p > 0) {
            LIVE_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d ended with 0x%x", p, status);
            ++reaped;
            continue;
        }
        if (p < 0) break; /* no children left */
        live_sleep_ns(10 * 1000 * 1000);
    }
    LIVE_EXPECT(reaped == NAMES - 1, "reaped %d processes, expected %d", reaped, NAMES - 1);
    live_finish();
}
