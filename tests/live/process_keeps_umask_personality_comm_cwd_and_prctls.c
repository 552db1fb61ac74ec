/* Proves: per-process attributes set through umask, personality, prctl and
 * chdir come back: umask, personality (ADDR_NO_RANDOMIZE | UNAME26, and
 * uname still reports a 2.6 release), comm, cwd (a subdirectory of the work
 * directory, relative opens still resolve there), no_new_privs, the
 * dumpable flag, child-subreaper, THP-disable and the timer slack. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "live.h"

#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#define PR_GET_THP_DISABLE 42
#endif

static long get(int option) { return prctl(option, 0, 0, 0, 0); }

int main(int argc, char **argv) {
    live_init(argc, argv);
    const mode_t mask = 0027;
    const unsigned long persona = PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26;
    const char comm[] = "live-comm-ok";
    const unsigned long slack_ns = 123457;

    umask(mask);
    LIVE_SETUP(personality(persona));
    LIVE_SETUP(prctl(PR_SET_NAME, comm, 0, 0, 0));
    LIVE_SETUP(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    LIVE_SETUP(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    LIVE_SETUP(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    LIVE_SETUP(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
    LIVE_SETUP(prctl(PR_SET_TIMERSLACK, slack_ns, 0, 0, 0));
    char dir[600], cwd_before[600], marker[] = "marker-in-cwd";
    live_path(dir, sizeof(dir), "cwd-here");
    LIVE_SETUP(mkdir(dir, 0755));
    LIVE_SETUP(chdir(dir));
    int fd = LIVE_SETUP(open(marker, O_WRONLY | O_CREAT, 0644));
    close(fd);
    LIVE_SETUP(getcwd(cwd_before, sizeof(cwd_before)) ? 0 : -1);
    struct utsname u;
    uname(&u);
    live_log("personality %#lx: uname release \"%s\"; cwd %s", persona, u.release, cwd_before);

    live_ready();
    live_wait_for_check();

    mode_t now_mask = umask(mask);
    LIVE_EXPECT(now_mask == mask, "umask is %03o, was %03o", now_mask, mask);
    int p = personality(0xffffffff);
    LIVE_EXPECT((unsigned long)p == persona, "personality is %#x, was %#lx", p, persona);
    uname(&u);
    LIVE_EXPECT(strncmp(u.release, "2.6.", 4) == 0, "UNAME26 no longer applies: release \"%s\"", u.release);
    char name[17] = "", proc_comm[32] = "";
    prctl(PR_GET_NAME, name, 0, 0, 0);
    LIVE_EXPECT(strcmp(name, comm) == 0, "comm is \"%s\", was \"%s\"", name, comm);
    live_read_file("/proc/self/comm", proc_comm, sizeof(proc_comm));
    LIVE_EXPECT(strncmp(proc_comm, comm, strlen(comm)) == 0, "/proc/self/comm is \"%s\"", proc_comm);
    char cwd[600] = "";
    LIVE_EXPECT(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, cwd_before) == 0, "cwd is \"%s\", was \"%s\"", cwd, cwd_before);
    LIVE_EXPECT(access(marker, F_OK) == 0, "a relative path no longer resolves in the cwd: %s", strerror(errno));
    LIVE_EXPECT(get(PR_GET_NO_NEW_PRIVS) == 1, "no_new_privs is %ld", get(PR_GET_NO_NEW_PRIVS));
    LIVE_EXPECT(get(PR_GET_DUMPABLE) == 0, "dumpable is %ld, was 0", get(PR_GET_DUMPABLE));
    int subreaper = -1;
    prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
    LIVE_EXPECT(subreaper == 1, "child subreaper is %d", subreaper);
    LIVE_EXPECT(get(PR_GET_THP_DISABLE) == 1, "THP disable is %ld", get(PR_GET_THP_DISABLE));
    LIVE_EXPECT((unsigned long)get(PR_GET_TIMERSLACK) == slack_ns, "timer slack is %ld ns, was %lu ns",
                get(PR_GET_TIMERSLACK), slack_ns);
    live_finish();
}
