// Pseudo-terminals held by the dumped tree.
//
// Dump: a pty pair is saved when a process of the tree holds its master
// (/dev/ptmx): the master description (with the pair's TtyInfo: termios,
// window size, lock, packet and exclusive modes, the session it controls
// and its foreground group), every description of its slave /dev/pts/N, and
// every /dev/tty opened by a process whose controlling terminal it is. The
// other end held outside the tree (the slave open in a process that is not
// dumped) is refused, as is data queued in the pty: reading it would
// consume it (a tty has no MSG_PEEK). A slave whose master is outside (a
// terminal emulator's) stays what it was: refused, or with --shell-job a
// path reattached to stasis's terminal (file_table.cc).
//
// Restore (tty_restore.cc): the pair is made again with the same index, by
// opening /dev/ptmx until the kernel hands out N (it always hands out the
// lowest free index); the slave descriptions come from TIOCGPTPEER. The
// controlling terminal, foreground group and /dev/tty descriptions are set
// up inside the session (common/restore/tty_session.cc).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

enum class TtyKind { other, pty_master, pty_slave, controlling };

// What a character device an fd opened is: /dev/ptmx (5:2), a Unix98 pty
// slave (major 136..143) or /dev/tty (5:0).
TtyKind tty_kind(const struct stat &st);
// The index N of /dev/pts/N from a slave's device number.
uint32_t pty_slave_index(dev_t rdev);

// Where the tree holds each pty: found once, by a scan of every fd of the
// tree, the first time a pty-like fd is dumped.
struct PtyHolders {
    struct At {
        pid_t pid = 0;
        int fd = -1;
    };
    dev_t devpts = 0;                    // st_dev of /dev/pts
    std::map<uint32_t, At> master;       // index -> a holder of its master
    std::map<uint32_t, At> slave;        // index -> a holder of one of its slaves
    std::set<uint32_t> checked_outside;  // indexes whose outside holders were looked for
};

// Scans the fds of `tree` for pty masters and slaves of the devpts mounted
// at /dev/pts.
Result<PtyHolders> find_pty_holders(const std::vector<pid_t> &tree);

// Refuses a pty whose slave is also open in a process outside `tree`,
// naming that process.
Status check_no_outside_holder(uint32_t index, const PtyHolders &holders, const std::vector<pid_t> &tree);

// The pair's state through a copy of its master (and of one slave, when
// the tree holds one); refuses data queued in either direction. `tree`
// decides which session and foreground group can be restored.
Result<images::TtyInfo> describe_pty(uint32_t index, const PtyHolders &holders,
                                     const std::vector<pid_t> &tree);

// The controlling terminal of `pid` (its stat's tty_nr) as a pty index, if
// it is a Unix98 pty slave.
std::optional<uint32_t> controlling_pty_index(pid_t pid);

}  // namespace stasis::files
