// Probes for the kinds of files a dump describes through the kernel.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check/probe.h"
#include "common/files/unix_diag.h"
#include "common/images/file_io.h"

namespace stasis::check {

// Unix sockets are described through NETLINK_SOCK_DIAG (CONFIG_UNIX_DIAG,
// a module in Debian's kernels): ask it about a socketpair of our own.
ProbeOutcome probe_unix_diag(ProbeContext &) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return missing_errno("socketpair");
    images::Fd a(sv[0]), b(sv[1]);
    struct stat st {};
    if (fstat(a.get(), &st) != 0) return missing_errno("fstat of a socket");
    auto d = files::unix_diag(uint64_t(st.st_ino));
    if (!d.ok()) return missing(d.error().message());
    struct stat peer {};
    if (fstat(b.get(), &peer) != 0) return missing_errno("fstat of a socket");
    if (d->peer_ino != uint64_t(peer.st_ino)) return missing("sock_diag names another peer than the socketpair's");
    return passed("sock_diag describes unix sockets and their peers");
}

}  // namespace stasis::check
