// The dump side of files: every open file description of the tree and every
// file behind a mapping becomes one FileEntry (files.img), found again by id.
// Descriptions shared between fds (dup, fork) are recognised with kcmp(2)
// and recorded once, so their offset moves together after restore.
// Files that cannot be reopened by path (deleted while open, memfds) have
// their content saved as ghost-<id>.img.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/dump/dump.h"
#include "common/files/tty.h"
#include "common/files/unix_socket.h"
#include "common/files/tcp_socket.h"
#include "common/images/image_writer.h"
#include "common/proc/fdinfo.h"
#include "common/proc/maps.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

struct FileTableOptions {
    std::string images_dir;
    uint32_t page_size = 4096;
    dump::FileValidation validation = dump::FileValidation::build_id;
    bool shell_job = false;
    bool ext_unix_sk = false;  // dgram sockets connected to a named socket outside the tree: kept by name
    std::vector<pid_t> tree_pids;  // every process of the tree: who holds which end of a pty (tty.h)
};

class FileTable {
public:
    explicit FileTable(FileTableOptions opts) : opts_(std::move(opts)) {}

    // The file behind a file-backed mapping of pid.
    Result<uint32_t> add_mapping(pid_t pid, const proc::Mapping &m);
    // The executable (/proc/PID/exe).
    Result<uint32_t> add_exe(pid_t pid);
    // The SysV shared memory segment behind an attachment (a VMA_SYSV_SHM).
    Result<uint32_t> add_sysv_shm(pid_t pid, const proc::Mapping &m);
    // Open fd `fd` of pid: a file by path, a pipe or FIFO, an eventfd,
    // signalfd, timerfd or epoll instance (its watched fds added too), an
    // AF_UNIX socket (its peer resolved by link_unix_peers), a TCP socket
    // (an established one enters repair mode: see tcp_socket.h).
    // Refuses kinds stasis cannot restore yet, by name.
    Result<uint32_t> add_fd(pid_t pid, int fd);

    // Once every fd of the tree is added: each unix socket's peer as a file
    // id. A socket connected to one outside the tree is refused, naming
    // the process, fd and peer.
    Status link_unix_peers();
    // Once every fd of the tree is added: the queues and repair state of
    // every TCP connection.
    Status read_tcp_connections() { return tcp_.read_connections(entries_); }
    // The tree goes on (--leave-running): TCP connections leave repair
    // mode. A FileTable destroyed without close_tcp_silently does it too.
    Status leave_tcp_repair() { return tcp_.leave_repair(); }
    // The tree is about to be killed: its TCP connections stay in repair
    // mode, so that they vanish without a FIN or an RST.
    void close_tcp_silently() { tcp_.close_silently(); }

    std::vector<images::FileEntry> entries() const { return entries_; }
    // Renames the ghost images into place (called once the dump succeeds).
    // Also warns about pipes with an end outside the tree.
    Status commit();

private:
    struct Known {
        uint32_t id;
        pid_t pid;
        int fd;  // -1 for mappings and the exe
        uint64_t dev, ino;
    };
    Result<uint32_t> add_fd_of_kind(pid_t pid, int fd, const std::string &link, const std::string &target,
                                    const proc::FdInfo &info);
    Result<uint32_t> add_pipe(pid_t pid, int fd, const std::string &link, const proc::FdInfo &info,
                              const std::string &fifo_path);
    // eventfd, signalfd, timerfd, epoll: anon_inode:[<kind>]; inotify: anon_inode:inotify.
    Result<uint32_t> add_anon(pid_t pid, int fd, const std::string &link, const std::string &kind,
                              const proc::FdInfo &info);
    // A pty master or slave, or /dev/tty, of a pty the tree holds (tty.cc);
    // 0 when it is a terminal outside the tree.
    Result<uint32_t> add_tty(pid_t pid, int fd, const std::string &target, const struct stat &st,
                             const proc::FdInfo &info);
    // socket:[N]: AF_UNIX, or TCP over AF_INET/AF_INET6.
    Result<uint32_t> add_socket(pid_t pid, int fd, const std::string &link, const proc::FdInfo &info);
    Status add_in_flight(uint32_t id, std::vector<InFlight> in_flight);
    // The entry of the description fd `fd` of pid shares with an fd seen
    // before (kcmp), or 0.
    uint32_t known_description(pid_t pid, int fd, uint64_t dev, uint64_t ino) const;
    uint32_t push(images::FileEntry e, pid_t pid, int fd, uint64_t dev, uint64_t ino);
    void warn_about_half_pipes() const;
    Result<uint32_t> add_reg(pid_t pid, const std::string &proc_link, const std::string &path, int fd,
                             uint32_t flags, uint64_t pos);
    Status fill_identity(int fd, images::FileIdentity *id);
    Result<uint32_t> save_ghost(int fd, uint64_t size);
    // The ghost already saved for this inode (a memfd mapped and open, a
    // deleted file mapped and open): one content, one file at restore.
    uint32_t ghost_of(uint64_t dev, uint64_t ino) const;

    FileTableOptions opts_;
    std::vector<images::FileEntry> entries_;
    std::vector<Known> known_;
    std::vector<images::RawImageWriter> ghosts_;
    uint32_t next_ghost_ = 1;
    std::set<std::pair<uint64_t, uint64_t>> pipes_with_data_;  // (dev, ino) of pipes whose data is saved
    std::map<uint64_t, uint32_t> unix_by_ino_;                 // socket inode -> file id
    std::map<uint32_t, uint64_t> unix_peer_ino_;               // file id -> its peer's inode
    static constexpr int kMaxInFlightDepth = 4;
    int in_flight_depth_ = 0;
    std::vector<images::Fd> in_flight_fds_;  // this process's copies of descriptors in flight
    TcpSockets tcp_;                                           // copies of the TCP sockets, until the dump ends
    std::optional<PtyHolders> ptys_;         // found at the first terminal fd
};

}  // namespace stasis::files
