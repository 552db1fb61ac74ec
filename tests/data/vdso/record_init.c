/* /init of the guest record.sh boots to copy a kernel's live vDSO out
 * (README.md in this directory).
 *
 * Runs as PID 1 from an initramfs holding nothing else. Prints on the
 * console, every line starting with "VDSO-RECORD ":
 *
 *   VDSO-RECORD BEGIN
 *   VDSO-RECORD release <uname -r>
 *   VDSO-RECORD machine <uname -m>
 *   VDSO-RECORD page_size <sysconf(_SC_PAGESIZE)>
 *   VDSO-RECORD map <a line of /proc/self/maps>      [vdso] [vvar] [vvar_vclock]
 *                                                    [sigpage] [vectors], in
 *                                                    address order
 *   VDSO-RECORD hex <offset, hex> <up to 32 bytes of [vdso], hex>
 *   VDSO-RECORD END <size of [vdso] in bytes>
 *
 * or "VDSO-RECORD ABORT <why>", and powers the machine off. Also prints
 * "STASIS-VM <arch> BEGIN/END" lines, so that tests/qemu/run-vm.sh, which
 * boots it, sees a guest that started and finished.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../../qemu/init/guest.h"

#ifndef RECORD_ARCH
#error "build with -DRECORD_ARCH=\"<arch>\""
#endif

static _Noreturn void abort_record(const char *what) {
    say("VDSO-RECORD ABORT %s: %s", what, strerror(errno));
    say("STASIS-VM %s END", RECORD_ARCH);
    power_off();
}

static const char *const areas[] = {"[vdso]", "[vvar]", "[vvar_vclock]", "[sigpage]", "[vectors]"};

/* The name at the end of a maps line, when it is one of `areas`. */
static const char *area_of(const char *line) {
    const char *name = strrchr(line, ' ');
    name = name ? name + 1 : line;
    for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
        if (strcmp(name, areas[i]) == 0) return areas[i];
    return NULL;
}

int main(void) {
    if (getpid() != 1) {
        fprintf(stderr, "record_init: the /init of record.sh's guest; runs only as PID 1\n");
        return 2;
    }
    setup_console();
    /* The kernel may have left a line unfinished (ppc64le's hvc0 does). */
    write_all(STDOUT_FILENO, "\n", 1);
    say("STASIS-VM %s BEGIN vdso record", RECORD_ARCH);
    mkdir("/proc", 0755);
    if (mount("proc", "/proc", "proc", MS_NOSUID, NULL) != 0 && errno != EBUSY) abort_record("mount /proc");

    struct utsname u;
    uname(&u);
    say("VDSO-RECORD BEGIN");
    say("VDSO-RECORD release %s", u.release);
    say("VDSO-RECORD machine %s", u.machine);
    say("VDSO-RECORD page_size %ld", sysconf(_SC_PAGESIZE));

    static char maps[64 * 1024];
    int mfd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (mfd < 0) abort_record("open /proc/self/maps");
    size_t len = 0;
    for (;;) {
        ssize_t r = read(mfd, maps + len, sizeof(maps) - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) abort_record("read /proc/self/maps");
        if (r == 0 || len + (size_t)r >= sizeof(maps) - 1) {
            len += (size_t)(r > 0 ? r : 0);
            break;
        }
        len += (size_t)r;
    }
    close(mfd);
    maps[len] = '\0';

    uintptr_t vdso_start = 0, vdso_end = 0;
    for (char *save = NULL, *line = strtok_r(maps, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *area = area_of(line);
        if (!area) continue;
        say("VDSO-RECORD map %s", line);
        if (strcmp(area, "[vdso]") == 0) {
            unsigned long a, b;
            if (sscanf(line, "%lx-%lx", &a, &b) == 2) vdso_start = a, vdso_end = b;
        }
    }
    if (vdso_start == 0 || vdso_end <= vdso_start) {
        errno = ENOENT;
        abort_record("no [vdso] in /proc/self/maps");
    }

    /* The bytes, read where the kernel mapped them. */
    const unsigned char *p = (const unsigned char *)vdso_start;
    size_t size = vdso_end - vdso_start;
    static const char digits[] = "0123456789abcdef";
    for (size_t off = 0; off < size; off += 32) {
        char line[128];
        int n = snprintf(line, sizeof(line), "VDSO-RECORD hex %06zx ", off);
        for (size_t i = off; i < off + 32 && i < size; i++) {
            line[n++] = digits[p[i] >> 4];
            line[n++] = digits[p[i] & 15];
        }
        line[n++] = '\n';
        write_all(STDOUT_FILENO, line, (size_t)n);
    }
    say("VDSO-RECORD END %zu", size);
    say("STASIS-VM %s END", RECORD_ARCH);
    power_off();
}
