/* Proves: a root process that reduced its capabilities comes back with
 * exactly the same sets — effective, permitted, inheritable, ambient and
 * bounding — and securebits, and the dropped capabilities stay dropped
 * (a raw socket still needs the CAP_NET_RAW it gave up). Needs root to set
 * up; skips otherwise. */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <linux/securebits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "live.h"

struct caps {
    struct __user_cap_data_struct data[2];
    bool bounding[64], ambient[64];
    long securebits;
    char status[5][64]; /* CapInh CapPrm CapEff CapBnd CapAmb */
};
static const char *status_names[5] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
static int last_cap;

static void take(struct caps *c) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    memset(c, 0, sizeof(*c));
    if (syscall(SYS_capget, &hdr, c->data) != 0) live_fail("capget: %s", strerror(errno));
    for (int cap = 0; cap <= last_cap; cap++) {
        c->bounding[cap] = prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1;
        c->ambient[cap] = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1;
    }
    c->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    for (int i = 0; i < 5; i++) live_status_field("/proc/self/status", status_names[i], c->status[i], sizeof(c->status[i]));
}

static void set_caps(struct __user_cap_data_struct data[2]) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    if (syscall(SYS_capset, &hdr, data) != 0) live_fail("setup: capset: %s", strerror(errno));
}

#define BIT(cap) (1u << ((cap) % 32))
#define WORD(cap) ((cap) / 32)

int main(int argc, char **argv) {
    live_init(argc, argv);
    if (geteuid() != 0) live_skip("needs root to set up capabilities");
    char v[16];
    if (live_read_file("/proc/sys/kernel/cap_last_cap", v, sizeof(v)) < 0) live_fail("setup: cap_last_cap unreadable");
    last_cap = atoi(v);

    struct caps now;
    take(&now);
    if (!(now.data[WORD(CAP_SETPCAP)].effective & BIT(CAP_SETPCAP)) ||
        !(now.data[WORD(CAP_NET_RAW)].permitted & BIT(CAP_NET_RAW)))
        live_skip("needs CAP_SETPCAP and CAP_NET_RAW to set up");
    /* Bounding set: drop two. */
    LIVE_SETUP(prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE, 0, 0, 0));
    LIVE_SETUP(prctl(PR_CAPBSET_DROP, CAP_AUDIT_CONTROL, 0, 0, 0));
    /* Securebits: keep capabilities over setuid, stay unlocked. */
    LIVE_SETUP(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP, 0, 0, 0));
    struct __user_cap_data_struct d[2];
    memcpy(d, now.data, sizeof(d));
    d[WORD(CAP_NET_RAW)].effective &= ~BIT(CAP_NET_RAW);          /* effective only */
    d[WORD(CAP_SYS_TIME)].effective &= ~BIT(CAP_SYS_TIME);
    d[WORD(CAP_MKNOD)].effective &= ~BIT(CAP_MKNOD);              /* gone for good */
    d[WORD(CAP_MKNOD)].permitted &= ~BIT(CAP_MKNOD);
    d[WORD(CAP_SYS_BOOT)].effective &= ~BIT(CAP_SYS_BOOT);
    d[WORD(CAP_SYS_BOOT)].permitted &= ~BIT(CAP_SYS_BOOT);
    d[WORD(CAP_NET_BIND_SERVICE)].inheritable |= BIT(CAP_NET_BIND_SERVICE);
    d[WORD(CAP_CHOWN)].inheritable |= BIT(CAP_CHOWN);
    set_caps(d);
    LIVE_SETUP(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0));

    static struct caps before, after;
    take(&before);
    live_log("CapEff %s CapPrm %s CapInh %s CapBnd %s CapAmb %s securebits %#lx", before.status[2], before.status[1],
             before.status[0], before.status[3], before.status[4], before.securebits);

    live_ready();
    live_wait_for_check();

    take(&after);
    for (int i = 0; i < 2; i++) {
        LIVE_EXPECT(after.data[i].effective == before.data[i].effective, "effective word %d is %#x, was %#x", i,
                    after.data[i].effective, before.data[i].effective);
        LIVE_EXPECT(after.data[i].permitted == before.data[i].permitted, "permitted word %d is %#x, was %#x", i,
                    after.data[i].permitted, before.data[i].permitted);
        LIVE_EXPECT(after.data[i].inheritable == before.data[i].inheritable, "inheritable word %d is %#x, was %#x", i,
                    after.data[i].inheritable, before.data[i].inheritable);
    }
    for (int cap = 0; cap <= last_cap; cap++) {
        LIVE_EXPECT(after.bounding[cap] == before.bounding[cap], "capability %d in the bounding set: %d, was %d", cap,
                    after.bounding[cap], before.bounding[cap]);
        LIVE_EXPECT(after.ambient[cap] == before.ambient[cap], "capability %d ambient: %d, was %d", cap,
                    after.ambient[cap], before.ambient[cap]);
    }
    LIVE_EXPECT(after.securebits == before.securebits, "securebits are %#lx, were %#lx", after.securebits,
                before.securebits);
    for (int i = 0; i < 5; i++)
        LIVE_EXPECT(strcmp(after.status[i], before.status[i]) == 0, "%s is %s, was %s", status_names[i],
                    after.status[i], before.status[i]);
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    LIVE_EXPECT(s < 0 && errno == EPERM, "a raw socket opened without CAP_NET_RAW in the effective set (fd %d, %s)",
                s, s < 0 ? strerror(errno) : "no error");
    if (s >= 0) close(s);
    live_finish();
}
