#define _GNU_SOURCE
#include "maps_snapshot.h"

#include <stdio.h>
#include <string.h>

#include "lines.h"

void live_maps_take(struct live_maps_snapshot *s) {
    static struct live_lines l; /* static: the snapshot is taken from deep stacks too */
    if (live_lines_open(&l, "/proc/self/smaps") != 0) live_fail("open /proc/self/smaps: %s", strerror(errno));
    s->count = 0;
    const char *line;
    while ((line = live_lines_next(&l))) {
        if (strncmp(line, "VmFlags:", 8) == 0) {
            if (s->count > 0) snprintf(s->flags[s->count - 1], sizeof(s->flags[0]), "%s", line + 8 + strspn(line + 8, " "));
            continue;
        }
        struct live_vma v;
        unsigned long a, b;
        char dash;
        /* Header lines start with "start-end "; field lines with "Name:". */
        if (sscanf(line, "%lx%c%lx", &a, &dash, &b) != 3 || dash != '-') continue;
        memset(&v, 0, sizeof(v));
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %4s %llx %x:%x %lu %n", &v.start, &v.end, v.perms, &v.offset, &v.dev_major,
                   &v.dev_minor, &v.inode, &path_at) < 7)
            continue;
        if (path_at > 0) snprintf(v.path, sizeof(v.path), "%s", line + path_at);
        if (s->count == LIVE_MAPS_MAX) live_fail("more than %d mappings: raise LIVE_MAPS_MAX", LIVE_MAPS_MAX);
        s->vma[s->count] = v;
        s->flags[s->count][0] = '\0';
        s->count++;
    }
    live_lines_close(&l);
}

/* VmFlags without the soft-dirty bit, for comparison. */
static void flags_without_sd(const char *in, char *out, size_t size) {
    out[0] = '\0';
    size_t used = 0;
    while (*in) {
        while (*in == ' ') in++;
        size_t n = strcspn(in, " ");
        if (n && !(n == 2 && strncmp(in, "sd", 2) == 0) && used + n + 2 < size) {
            if (used) out[used++] = ' ';
            memcpy(out + used, in, n);
            used += n;
            out[used] = '\0';
        }
        in += n;
    }
}

static bool keeps_identity(const char *path) {
    if (strncmp(path, "/SYSV", 5) == 0) return true;
    if (path[0] != '/') return false;
    if (strncmp(path, "/memfd:", 7) == 0 || strncmp(path, "/dev/zero", 9) == 0) return false;
    size_t n = strlen(path);
    return !(n >= 9 && strcmp(path + n - 9, "(deleted)") == 0);
}

static void describe(const struct live_vma *v, char *out, size_t size) {
    snprintf(out, size, "%lx-%lx %s %llx %s", v->start, v->end, v->perms, v->offset, v->path[0] ? v->path : "[anon]");
}

static bool compare_one(const struct live_maps_snapshot *b, int i, const struct live_maps_snapshot *a, int j,
                        enum live_maps_rule rule) {
    const struct live_vma *x = &b->vma[i], *y = &a->vma[j];
    char dx[400], dy[400];
    describe(x, dx, sizeof(dx));
    describe(y, dy, sizeof(dy));
    bool ok = true;
    if (x->end != y->end || strcmp(x->perms, y->perms) || x->offset != y->offset || strcmp(x->path, y->path)) {
        LIVE_EXPECT(false, "mapping changed: was \"%s\", now \"%s\"", dx, dy);
        ok = false;
    }
    bool identity = rule == LIVE_MAPS_IDENTICAL || keeps_identity(x->path);
    if (identity && (x->dev_major != y->dev_major || x->dev_minor != y->dev_minor || x->inode != y->inode)) {
        LIVE_EXPECT(false, "mapping %s: device:inode was %x:%x %lu, now %x:%x %lu", dx, x->dev_major, x->dev_minor,
                    x->inode, y->dev_major, y->dev_minor, y->inode);
        ok = false;
    }
    if (rule == LIVE_MAPS_IDENTICAL) {
        if (strcmp(b->flags[i], a->flags[j])) {
            LIVE_EXPECT(false, "mapping %s: VmFlags were \"%s\", now \"%s\"", dx, b->flags[i], a->flags[j]);
            ok = false;
        }
    } else {
        char fx[96], fy[96];
        flags_without_sd(b->flags[i], fx, sizeof(fx));
        flags_without_sd(a->flags[j], fy, sizeof(fy));
        if (strcmp(fx, fy)) {
            LIVE_EXPECT(false, "mapping %s: VmFlags (without sd) were \"%s\", now \"%s\"", dx, fx, fy);
            ok = false;
        }
    }
    return ok;
}

bool live_maps_expect_same(const struct live_maps_snapshot *before, const struct live_maps_snapshot *after,
                           enum live_maps_rule rule) {
    bool ok = true;
    int i = 0, j = 0;
    char d[400];
    while (i < before->count || j < after->count) {
        if (j >= after->count || (i < before->count && before->vma[i].start < after->vma[j].start)) {
            describe(&before->vma[i], d, sizeof(d));
            LIVE_EXPECT(false, "mapping gone: \"%s\"", d);
            ok = false;
            i++;
        } else if (i >= before->count || after->vma[j].start < before->vma[i].start) {
            describe(&after->vma[j], d, sizeof(d));
            LIVE_EXPECT(false, "new mapping: \"%s\"", d);
            ok = false;
            j++;
        } else {
            ok &= compare_one(before, i, after, j, rule);
            i++;
            j++;
        }
    }
    return ok;
}
