/* The whole memory map of the process (/proc/self/smaps: ranges,
 * protections, offsets, backing files and VmFlags) as a value that can be
 * compared before and after a checkpoint. */
#ifndef STASIS_LIVE_MAPS_SNAPSHOT_H
#define STASIS_LIVE_MAPS_SNAPSHOT_H

#include <stdbool.h>

#include "live.h"

enum { LIVE_MAPS_MAX = 600 };

struct live_maps_snapshot {
    int count;
    struct live_vma vma[LIVE_MAPS_MAX];
    char flags[LIVE_MAPS_MAX][96]; /* VmFlags, as the kernel prints them */
};

/* Reads /proc/self/smaps. Fails the test when it cannot. Big: keep
 * snapshots in static storage, not on the stack. */
void live_maps_take(struct live_maps_snapshot *s);

enum live_maps_rule {
    /* After a restore. Every mapping has the same start, end, permissions,
     * offset and path, and the same VmFlags except "sd" (soft-dirty is
     * tracking state a dump may reset). Device and inode must match only
     * where the object keeps its identity: named files that are not
     * deleted, and SysV segments (the inode is the shmid). memfd, shared
     * anonymous (/dev/zero) and deleted files are new inodes after restore. */
    LIVE_MAPS_SAME_AFTER_RESTORE,
    /* After a dump that left the process running: every field identical. */
    LIVE_MAPS_IDENTICAL,
};

/* Reports every difference through LIVE_EXPECT; returns true when none. */
bool live_maps_expect_same(const struct live_maps_snapshot *before, const struct live_maps_snapshot *after,
                           enum live_maps_rule rule);

#endif
