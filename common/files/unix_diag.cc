#include "common/files/unix_diag.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/images/file_io.h"

namespace stasis::files {

std::string unix_name_label(const std::string &name) {
    if (!name.empty() && name[0] == '\0') return "abstract @" + name.substr(1);
    return name;
}

std::string unix_socket_label(uint64_t ino, const std::string &name) {
    std::string s = "socket:[" + std::to_string(ino) + "]";
    return name.empty() ? s : s + " (" + unix_name_label(name) + ")";
}

namespace {

void read_attrs(const unix_diag_msg *msg, size_t len, UnixDiag *out) {
    auto *attr = reinterpret_cast<const rtattr *>(msg + 1);
    size_t left = len - NLMSG_ALIGN(sizeof *msg);
    for (; RTA_OK(attr, left); attr = RTA_NEXT(attr, left)) {
        const char *data = static_cast<const char *>(RTA_DATA(attr));
        size_t n = RTA_PAYLOAD(attr);
        switch (attr->rta_type) {
            case UNIX_DIAG_NAME:
                out->name.assign(data, n);
                // A path as the kernel keeps it ends with its NUL (or more).
                if (!out->name.empty() && out->name[0] != '\0') out->name.resize(std::strlen(out->name.c_str()));
                break;
            case UNIX_DIAG_PEER:
                if (n >= sizeof(uint32_t)) {
                    uint32_t v;
                    std::memcpy(&v, data, sizeof v);
                    out->peer_ino = v;
                }
                break;
            case UNIX_DIAG_RQLEN:
                if (n >= sizeof(unix_diag_rqlen)) {
                    unix_diag_rqlen q;
                    std::memcpy(&q, data, sizeof q);
                    out->rqueue = q.udiag_rqueue;
                    out->wqueue = q.udiag_wqueue;
                }
                break;
            case UNIX_DIAG_VFS:
                if (n >= sizeof(unix_diag_vfs)) {
                    unix_diag_vfs v;
                    std::memcpy(&v, data, sizeof v);
                    out->vfs_ino = v.udiag_vfs_ino;
                }
                break;
            case UNIX_DIAG_SHUTDOWN:
                if (n >= 1) out->shutdown = uint8_t(data[0]);
                break;
            default: break;
        }
    }
}

}  // namespace

Result<UnixDiag> unix_diag(uint64_t ino) {
    std::string what = "sock_diag of socket:[" + std::to_string(ino) + "]";
    if (ino > UINT32_MAX) return Error(what + ": inode beyond what sock_diag can look up");
    images::Fd nl(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!nl.valid()) return Error::from_errno(what + ": socket(NETLINK_SOCK_DIAG)");
    struct {
        nlmsghdr hdr;
        unix_diag_req req;
    } q {};
    q.hdr.nlmsg_len = sizeof q;
    q.hdr.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.hdr.nlmsg_flags = NLM_F_REQUEST;
    q.req.sdiag_family = AF_UNIX;
    q.req.udiag_states = ~0u;
    q.req.udiag_ino = uint32_t(ino);
    q.req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
    q.req.udiag_cookie[0] = q.req.udiag_cookie[1] = ~0u;  // no cookie: look up by inode alone
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(nl.get(), &q, sizeof q, 0, reinterpret_cast<sockaddr *>(&kernel), sizeof kernel) < 0)
        return Error::from_errno(what + ": send");
    alignas(nlmsghdr) char buf[8192];
    ssize_t n;
    do n = ::recv(nl.get(), buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return Error::from_errno(what + ": receive");
    auto *h = reinterpret_cast<nlmsghdr *>(buf);
    size_t left = size_t(n);
    for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
            auto *e = static_cast<nlmsgerr *>(NLMSG_DATA(h));
            if (e->error == 0) continue;
            if (e->error == -ENOENT) return Error(what + ": no such socket in this network namespace");
            return Error::from_errno(what, -e->error);
        }
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg))) continue;
        auto *msg = static_cast<const unix_diag_msg *>(NLMSG_DATA(h));
        if (msg->udiag_ino != ino) continue;
        UnixDiag d;
        d.ino = ino;
        d.type = msg->udiag_type;
        d.state = msg->udiag_state;
        read_attrs(msg, h->nlmsg_len - NLMSG_LENGTH(0), &d);
        return d;
    }
    return Error(what + ": no answer for this socket");
}

}  // namespace stasis::files
