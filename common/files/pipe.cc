#include "common/files/pipe.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/images/file_io.h"
#include "common/util/log.h"

namespace stasis::files {
namespace {

// The data queued in the pipe `fd` reads from, left where it is: tee(2)
// duplicates the pipe's buffers into a private pipe of the same size
// (references to the same pages, nothing consumed), and we read that one.
Result<std::string> peek_queued(int fd, uint32_t pipe_size) {
    int queued = 0;
    if (::ioctl(fd, FIONREAD, &queued) != 0) return Error::from_errno("FIONREAD");
    if (queued <= 0) return std::string();
    int priv[2];
    if (::pipe2(priv, O_CLOEXEC | O_NONBLOCK) != 0) return Error::from_errno("pipe for the copy of the queued data");
    images::Fd rd(priv[0]), wr(priv[1]);
    // As many slots as the pipe has, so tee can duplicate every buffer.
    if (::fcntl(wr.get(), F_SETPIPE_SZ, int(pipe_size)) < 0)
        return Error::from_errno("size the copy pipe to " + std::to_string(pipe_size) + " bytes");
    ssize_t n = ::tee(fd, wr.get(), size_t(queued), SPLICE_F_NONBLOCK);
    if (n < 0) return Error::from_errno("tee the queued data");
    if (n != queued)
        return Error("tee copied " + std::to_string(n) + " of the " + std::to_string(queued) + " queued bytes");
    std::string data(size_t(queued), '\0');
    size_t got = 0;
    while (got < data.size()) {
        ssize_t r = ::read(rd.get(), data.data() + got, data.size() - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return Error::from_errno("read the copy of the queued data");
        got += size_t(r);
    }
    return data;
}

bool same_pipe(const images::PipeFile &a, const images::PipeFile &b) {
    return a.pipe_ino() == b.pipe_ino() && a.fifo_path() == b.fifo_path();
}

Status write_queued(int fd, const std::string &data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN)
            return Error("the pipe is full after " + std::to_string(done) + " of " + std::to_string(data.size()) +
                         " queued bytes");
        if (n <= 0) return Error::from_errno("write the queued data back");
        done += size_t(n);
    }
    return ok();
}

}  // namespace

Status describe_pipe(const std::string &proc_link, const proc::FdInfo &info, const std::string &fifo_path,
                     bool with_data, images::PipeFile *out) {
    // A reading description of the pipe (opening a pipe's /proc link is
    // opening it as a FIFO; O_NONBLOCK: a reader never waits for a writer).
    images::Fd f(::open(proc_link.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!f.valid()) return Error::from_errno("open " + proc_link);
    struct stat st {};
    if (::fstat(f.get(), &st) != 0) return Error::from_errno("fstat " + proc_link);
    int size = ::fcntl(f.get(), F_GETPIPE_SZ);
    if (size <= 0) return Error::from_errno("F_GETPIPE_SZ " + proc_link);
    if (info.flags & O_DIRECT) return Error(proc_link + ": a packet-mode pipe (O_DIRECT) is not supported yet");
    out->set_pipe_ino(st.st_ino);
    out->set_flags(info.flags & (O_ACCMODE | O_NONBLOCK));
    out->set_pipe_size(uint32_t(size));
    out->set_fifo_path(fifo_path);
    if (with_data) {
        STASIS_ASSIGN(std::string data, std::move(peek_queued(f.get(), uint32_t(size))).context(proc_link));
        out->set_buffered(std::move(data));
    }
    return ok();
}

Result<std::vector<std::pair<uint32_t, int>>> open_pipe_ends(const std::vector<images::FileEntry> &files,
                                                             const images::FileEntry &entry) {
    const images::PipeFile &want = entry.pipe();
    std::string what = want.fifo_path().empty() ? "pipe:[" + std::to_string(want.pipe_ino()) + "]"
                                                : "FIFO " + want.fifo_path();
    // One description that both reads and writes the new pipe (a FIFO: its
    // O_RDWR open never waits for a peer), kept until every end is open.
    images::Fd reader, writer;
    if (want.fifo_path().empty()) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return Error::from_errno("create " + what);
        reader = images::Fd(p[0]);
        writer = images::Fd(p[1]);
    } else {
        reader = images::Fd(::open(want.fifo_path().c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
        if (!reader.valid()) return Error::from_errno("open " + what);
        struct stat st {};
        if (::fstat(reader.get(), &st) != 0 || !S_ISFIFO(st.st_mode))
            return Error(what + " is no longer a FIFO");
        writer = images::Fd(::fcntl(reader.get(), F_DUPFD_CLOEXEC, 0));
        if (!writer.valid()) return Error::from_errno("dup " + what);
    }
    if (want.pipe_size() && ::fcntl(writer.get(), F_GETPIPE_SZ) != int(want.pipe_size()) &&
        ::fcntl(writer.get(), F_SETPIPE_SZ, int(want.pipe_size())) < 0)
        return Error::from_errno(what + ": set its size to " + std::to_string(want.pipe_size()) + " bytes");
    for (const auto &f : files)
        if (f.has_pipe() && same_pipe(f.pipe(), want) && !f.pipe().buffered().empty())
            STASIS_TRY(std::move(write_queued(writer.get(), f.pipe().buffered())).context(what));

    std::vector<std::pair<uint32_t, int>> ends;
    auto close_all = [&] {
        for (auto &[id, fd] : ends) ::close(fd);
    };
    std::string self = "/proc/self/fd/" + std::to_string(reader.get());
    for (const auto &f : files) {
        if (!f.has_pipe() || !same_pipe(f.pipe(), want)) continue;
        uint32_t flags = f.pipe().flags();
        int fd = ::open(self.c_str(), int(flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            close_all();
            return Error::from_errno(what + ": open an end of it", err);
        }
        ends.emplace_back(f.id(), fd);
        if (::fcntl(fd, F_SETFL, int(flags & O_NONBLOCK)) < 0) {
            int err = errno;
            close_all();
            return Error::from_errno(what + ": set its flags", err);
        }
    }
    log::debug(what, ": ", ends.size(), " descriptions reopened");
    return ends;
}

}  // namespace stasis::files
