/* Proves: a process that dropped root for distinct real, effective and
 * saved user and group ids and a supplementary group list comes back with
 * exactly those ids, groups and fs ids, with no capabilities, and with the
 * dumpable flag it set. Needs root to set up; skips otherwise. */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "live.h"

static const uid_t ruid = 1000, euid = 1003, suid = 1004;
static const gid_t rgid = 1000, egid = 1001, sgid = 1002;
static const gid_t groups[] = {1001, 1002, 2345, 65533};
enum { NGROUPS = sizeof(groups) / sizeof(groups[0]) };

int main(int argc, char **argv) {
    live_init(argc, argv);
    if (geteuid() != 0) live_skip("needs root to set up credentials");

    /* Everything the program writes after the switch must be ours to write. */
    LIVE_SETUP(chown(live_workdir(), euid, egid));

    LIVE_SETUP(setgroups(NGROUPS, groups));
    LIVE_SETUP(setresgid(rgid, egid, sgid));
    LIVE_SETUP(setresuid(ruid, euid, suid));
    /* Changing ids clears "dumpable"; set it back as a program would. */
    LIVE_SETUP(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
    char status_uid[64], status_gid[64], status_groups[128];
    live_status_field("/proc/self/status", "Uid", status_uid, sizeof(status_uid));
    live_status_field("/proc/self/status", "Gid", status_gid, sizeof(status_gid));
    live_status_field("/proc/self/status", "Groups", status_groups, sizeof(status_groups));
    live_log("Uid %s / Gid %s / Groups %s", status_uid, status_gid, status_groups);

    live_ready();
    live_wait_for_check();

    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    LIVE_EXPECT(r == ruid && e == euid && s == suid, "uids are %d/%d/%d, were %d/%d/%d", r, e, s, ruid, euid, suid);
    LIVE_EXPECT(gr == rgid && ge == egid && gs == sgid, "gids are %d/%d/%d, were %d/%d/%d", gr, ge, gs, rgid, egid,
                sgid);
    int fsuid = setfsuid((uid_t)-1), fsgid = setfsgid((gid_t)-1);
    LIVE_EXPECT(fsuid == (int)euid && fsgid == (int)egid, "fsuid/fsgid are %d/%d, expected %d/%d", fsuid, fsgid,
                euid, egid);
    gid_t now[64];
    int n = getgroups(64, now);
    bool same = n == NGROUPS;
    for (int i = 0; same && i < n; i++) same = now[i] == groups[i];
    LIVE_EXPECT(same, "supplementary groups changed (%d groups now)", n);
    char v[128];
    live_status_field("/proc/self/status", "Uid", v, sizeof(v));
    LIVE_EXPECT(strcmp(v, status_uid) == 0, "status Uid \"%s\", was \"%s\"", v, status_uid);
    live_status_field("/proc/self/status", "Gid", v, sizeof(v));
    LIVE_EXPECT(strcmp(v, status_gid) == 0, "status Gid \"%s\", was \"%s\"", v, status_gid);
    live_status_field("/proc/self/status", "Groups", v, sizeof(v));
    LIVE_EXPECT(strcmp(v, status_groups) == 0, "status Groups \"%s\", was \"%s\"", v, status_groups);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0xff, sizeof(data));
    LIVE_EXPECT(syscall(SYS_capget, &hdr, data) == 0, "capget: %s", strerror(errno));
    for (int i = 0; i < 2; i++)
        LIVE_EXPECT(data[i].effective == 0 && data[i].permitted == 0 && data[i].inheritable == 0,
                    "capabilities word %d: eff %#x prm %#x inh %#x, expected none", i, data[i].effective,
                    data[i].permitted, data[i].inheritable);
    LIVE_EXPECT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1, "dumpable is %d, was 1", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    live_finish();
}
