// A checkpoint that says something impossible is refused with one error
// naming the file and the field, before anything uses it.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <iterator>

#include "common/images/image_writer.h"
#include "common/images/images.h"
#include "tests/unit/images/sample_checkpoint.h"

namespace stasis::images {
namespace {

using testing::kChildPid;
using testing::kRootPid;
using testing::sample_checkpoint;
using testing::sample_read_options;
using testing::TempDir;
using testing::write_sample;

constexpr uint64_t P = 4096;
constexpr uint64_t kText = 0x10000000;

std::string read_error(const std::string &dir, const ReadOptions &opts = sample_read_options()) {
    auto r = read_checkpoint(dir, opts);
    return r.ok() ? "OK" : r.error().message();
}

struct Case {
    const char *name;
    std::function<void(Checkpoint &)> mutate;
    std::string expected;
};

TaskImages &root(Checkpoint &cp) { return cp.tasks[0]; }
TaskImages &child(Checkpoint &cp) { return cp.tasks[1]; }

std::vector<Case> meaning_cases() {
    return {
        {"ForeignArch",
         [](Checkpoint &cp) {
             Checkpoint other = sample_checkpoint(ARCH_AARCH64);
             cp = other;
         },
         "inventory.img: images are for aarch64, this stasis is x86_64"},
        {"NewerFormat", [](Checkpoint &cp) { cp.inventory.set_format_version(2); },
         "inventory.img: format_version 2 is newer than this stasis reads (1)"},
        {"UnknownArch", [](Checkpoint &cp) { cp.inventory.set_arch(Arch(77)); }, "inventory.img: unknown arch 77"},
        {"PageSizeNotPowerOfTwo", [](Checkpoint &cp) { cp.inventory.set_page_size(12288); },
         "inventory.img: page_size 12288 is not a power of two in 4096..1048576"},
        {"UnknownDumpKind", [](Checkpoint &cp) { cp.inventory.set_dump_kind("snapshot"); },
         "inventory.img: dump_kind 'snapshot' is neither dump nor pre-dump"},
        {"XsaveComponentOutsideTheArea",
         [](Checkpoint &cp) {
             cp.inventory.mutable_cpu()->set_xsave_size(1024);
             auto *c = cp.inventory.mutable_cpu()->add_xsave_components();
             c->set_index(2);
             c->set_offset(576);
             c->set_size(512);
         },
         "inventory.img: cpu.xsave_components #0: offset 576 + size 512 is beyond xsave_size 1024"},
        {"DuplicatePid", [](Checkpoint &cp) { child(cp).tree.set_pid(kRootPid); },
         "pstree.img: task #1 (pid 100): pid listed twice"},
        {"PpidOfMissingTask", [](Checkpoint &cp) { child(cp).tree.set_ppid(999); },
         "pstree.img: task #1 (pid 101): ppid 999 is not a task listed before it"},
        {"RootNotFirst", [](Checkpoint &cp) { std::swap(cp.tasks[0], cp.tasks[1]); },
         "pstree.img: task #0 (pid 101): the first task must be the root (pid 100, ppid 0)"},
        {"DuplicateTid", [](Checkpoint &cp) { root(cp).tree.set_threads(1, kChildPid); },
         "pstree.img: task #1 (pid 101): tid 101 listed twice"},
        {"NegativePid", [](Checkpoint &cp) { child(cp).tree.set_pid(-5); },
         "pstree.img: task #1 (pid -5): invalid pid"},
        {"LeaderNotFirstThread", [](Checkpoint &cp) { root(cp).tree.set_threads(0, 103); },
         "pstree.img: task #0 (pid 100): first thread 103 is not the leader"},
        {"FewerThreadsThanPstree", [](Checkpoint &cp) { root(cp).threads.pop_back(); },
         "core-100.img: has 1 ThreadCore records, pstree.img lists 2 threads"},
        {"ThreadOutOfOrder", [](Checkpoint &cp) { std::swap(root(cp).threads[0], root(cp).threads[1]); },
         "core-100.img: thread #0 (tid 102): tid 102 but pstree.img lists tid 100 here"},
        {"RegistersOfAnotherArch",
         [](Checkpoint &cp) { root(cp).threads[1].mutable_regs()->mutable_s390x()->set_psw_addr(1); },
         "core-100.img: thread #1 (tid 102): registers are for s390x, this checkpoint is x86_64"},
        {"NoRegisters", [](Checkpoint &cp) { child(cp).threads[0].clear_regs(); },
         "core-101.img: thread #0 (tid 101): no registers"},
        {"ShortSiginfo", [](Checkpoint &cp) { root(cp).core.mutable_shared_pending(0)->set_raw("short"); },
         "core-100.img: shared pending signal #0: siginfo of 5 bytes, not 128"},
        {"CommTooLong", [](Checkpoint &cp) { root(cp).core.set_comm("a-name-longer-than-15"); },
         "core-100.img: comm of 21 bytes (at most 15)"},
        {"SigactionForSignalZero", [](Checkpoint &cp) { root(cp).core.mutable_sigactions(0)->set_signo(0); },
         "core-100.img: sigaction for signal 0 (valid: 1..64)"},
        {"RlimitSoftAboveHard", [](Checkpoint &cp) { root(cp).core.mutable_rlimits(0)->set_cur(1 << 20); },
         "core-100.img: rlimit 7: soft limit above hard limit"},
        {"PathWithNul", [](Checkpoint &cp) { root(cp).core.set_cwd(std::string("/tm\0p", 5)); },
         "core-100.img: cwd contains a NUL byte"},
        {"OverlappingVmas", [](Checkpoint &cp) { root(cp).vmas[1].set_end(kText + 4 * P); },
         "mm-100.img: vma #2 [0x10003000-0x10008000]: overlaps vma #1 [0x10002000-0x10004000]"},
        {"UnsortedVmas", [](Checkpoint &cp) { std::swap(root(cp).vmas[3], root(cp).vmas[4]); },
         "mm-100.img: vma #4 [0x7f000000-0x7f004000]: is not in address order after vma #3 "
         "[0x7f100000-0x7f102000]"},
        {"UnalignedVma", [](Checkpoint &cp) { root(cp).vmas[2].set_end(kText + 8 * P - 8); },
         "mm-100.img: vma #2 [0x10003000-0x10007ff8]: end 0x10007ff8 is not aligned to the page size 4096"},
        {"EmptyVma", [](Checkpoint &cp) { root(cp).vmas[2].set_end(root(cp).vmas[2].start()); },
         "mm-100.img: vma #2 [0x10003000-0x10003000]: is empty or inverted"},
        {"UnknownVmaKind", [](Checkpoint &cp) { root(cp).vmas[0].set_kind(VmaKind(99)); },
         "mm-100.img: vma #0 [0x10000000-0x10002000]: unknown kind 99"},
        {"VmaFileMissing", [](Checkpoint &cp) { root(cp).vmas[3].set_file_id(77); },
         "mm-100.img: vma #3 [0x7f000000-0x7f004000]: file_id 77 is not in files.img"},
        {"FileVmaWithoutFile", [](Checkpoint &cp) { root(cp).vmas[0].set_file_id(0); },
         "mm-100.img: vma #0 [0x10000000-0x10002000]: VMA_FILE_PRIVATE without file_id"},
        {"ExeFileMissing", [](Checkpoint &cp) { root(cp).mm.set_exe_file_id(55); },
         "mm-100.img: exe_file_id 55 is not a regular file in files.img"},
        {"ExeFileIsAPipe", [](Checkpoint &cp) { root(cp).mm.set_exe_file_id(3); },
         "mm-100.img: exe_file_id 3 is not a regular file in files.img"},
        {"OddAuxv", [](Checkpoint &cp) { root(cp).mm.add_auxv(1); },
         "mm-100.img: auxv of 5 words (pairs, at most 1024)"},
        {"BrkBelowStart", [](Checkpoint &cp) { root(cp).mm.set_brk(0x1000); },
         "mm-100.img: start_brk > brk (0x10003000 > 0x1000)"},
        {"PagemapUnsorted", [](Checkpoint &cp) { std::swap(root(cp).pagemap[0], root(cp).pagemap[1]); },
         "pagemap-100.img: entry #1: is not in address order"},
        {"PagemapOverlapping", [](Checkpoint &cp) { root(cp).pagemap[0].set_nr_pages(2); },
         "pagemap-100.img: entry #1: [0x10003000-0x10006000] overlaps entry #0 [0x10002000-0x10004000]"},
        {"CopyOnWriteFileMapping", [](Checkpoint &cp) { root(cp).vmas[0].set_cow_from_parent(true); },
         "mm-100.img: vma #0 [0x10000000-0x10002000]: is shared copy-on-write with the parent, but is "
         "VMA_FILE_PRIVATE (only private anonymous memory is)"},
        {"ZeroPagesOutsideInheritedMemory",
         [](Checkpoint &cp) { root(cp).pagemap[1].set_flags(PAGEMAP_ZERO); },
         "pagemap-100.img: entry #1: [0x10003000-0x10006000]: PAGEMAP_ZERO in vma #2 [0x10003000-0x10008000], "
         "which is not shared copy-on-write with the parent"},
        {"PagemapOutsideVmas", [](Checkpoint &cp) { root(cp).pagemap[2].set_vaddr(0x7fe00000); },
         "pagemap-100.img: entry #2: [0x7fe00000-0x7fe02000]: lies outside every vma"},
        {"PagemapAcrossAGap", [](Checkpoint &cp) { root(cp).pagemap[1].set_nr_pages(100); },
         "pagemap-100.img: entry #1: [0x10003000-0x10067000]: lies outside every vma"},
        {"PagemapUnaligned", [](Checkpoint &cp) { root(cp).pagemap[1].set_vaddr(kText + 3 * P + 12); },
         "pagemap-100.img: entry #1: vaddr 0x1000300c not aligned to the page size 4096"},
        {"PagemapZeroLength", [](Checkpoint &cp) { root(cp).pagemap[1].set_nr_pages(0); },
         "pagemap-100.img: entry #1: at 0x10003000 has zero pages"},
        {"PagemapHuge", [](Checkpoint &cp) { root(cp).pagemap[2].set_nr_pages(1ull << 62); },
         "pagemap-100.img: entry #2: 4611686018427387904 pages from 0x7ff02000 run past the address space"},
        {"PagemapInVvar",
         [](Checkpoint &cp) {
             PagemapEntry e;
             e.set_vaddr(0x7f100000);
             e.set_nr_pages(1);
             root(cp).pagemap.insert(root(cp).pagemap.begin() + 2, e);
         },
         "pagemap-100.img: entry #2: [0x7f100000-0x7f101000]: has pages in vma #4 [0x7f100000-0x7f102000] "
         "(VMA_VVAR), which never has page data"},
        {"PagemapUnknownFlags", [](Checkpoint &cp) { root(cp).pagemap[0].set_flags(8); },
         "pagemap-100.img: entry #0: unknown flags 0x8"},
        {"PagemapInParentWithoutParent", [](Checkpoint &cp) { root(cp).pagemap[0].set_flags(PAGEMAP_IN_PARENT); },
         "pagemap-100.img: entry #0: is in the parent image, but inventory.img names no parent_dir"},
        {"SharedPagesId", [](Checkpoint &cp) { child(cp).pagemap_head.set_pages_id(1); },
         "pagemap-101.img: pages_id 1 is also used by pid 100"},
        {"DuplicateFd", [](Checkpoint &cp) { root(cp).fds[2].set_fd(1); },
         "fdinfo-100.img: entry #2: fd 1 listed twice"},
        {"NegativeFd", [](Checkpoint &cp) { child(cp).fds[0].set_fd(-1); }, "fdinfo-101.img: entry #0: negative fd -1"},
        {"FdFileMissing", [](Checkpoint &cp) { child(cp).fds[0].set_file_id(42); },
         "fdinfo-101.img: fd 0: file_id 42 is not in files.img"},
        {"DuplicateFileId", [](Checkpoint &cp) { cp.files[3].set_id(1); }, "files.img: file #3 (id 1): id listed twice"},
        {"FileIdZero", [](Checkpoint &cp) { cp.files[4].set_id(0); },
         "files.img: file #4 (id 0): id 0 is reserved for 'no file'"},
        {"FileOfUnknownKind", [](Checkpoint &cp) { cp.files[4].clear_kind(); },
         "files.img: file #4 (id 5): no kind this stasis knows (written by a newer stasis?)"},
        {"PipeOverfull", [](Checkpoint &cp) { cp.files[2].mutable_pipe()->set_pipe_size(4); },
         "files.img: file #2 (id 3): pipe holds 5 buffered bytes, more than its pipe_size 4"},
        {"PipeDataOnBothEnds", [](Checkpoint &cp) { cp.files[3].mutable_pipe()->set_buffered("x"); },
         "files.img: file #3 (id 4): pipe:[555] has buffered data on two ends (file ids 3 and 4)"},
        {"PipeSizeNotAPowerOfTwo", [](Checkpoint &cp) { cp.files[2].mutable_pipe()->set_pipe_size(12288); },
         "files.img: file #2 (id 3): pipe_size 12288 is not a power of two in 4096..1073741824"},
        {"PipeEndsDisagreeOnSize", [](Checkpoint &cp) { cp.files[3].mutable_pipe()->set_pipe_size(131072); },
         "files.img: file #3 (id 4): pipe:[555] has pipe_size 131072 here and 65536 on file id 3"},
        {"PipeEndReadsAndWritesInvalidly", [](Checkpoint &cp) { cp.files[3].mutable_pipe()->set_flags(3); },
         "files.img: file #3 (id 4): flags 0x3: invalid access mode"},
        {"UnixSocketTypeUnknown", [](Checkpoint &cp) { cp.files[9].mutable_unix_sk()->set_type(3); },
         "files.img: file #9 (id 10): unix socket type 3, not stream, dgram or seqpacket"},
        {"UnixSocketNameTooLong", [](Checkpoint &cp) { cp.files[11].mutable_unix_sk()->set_name("/" + std::string(200, 'a')); },
         "files.img: file #11 (id 12): unix socket name of 201 bytes (at most 108)"},
        {"UnixSocketPathRelative", [](Checkpoint &cp) { cp.files[11].mutable_unix_sk()->set_name("run/x.sock"); },
         "files.img: file #11 (id 12): unix socket name is a path that is not absolute"},
        {"UnixListenerWithQueuedData", [](Checkpoint &cp) { cp.files[11].mutable_unix_sk()->add_queued("x"); },
         "files.img: file #11 (id 12): listening unix socket with queued data"},
        {"UnixSocketEmptyMessage", [](Checkpoint &cp) { cp.files[9].mutable_unix_sk()->set_queued(0, ""); },
         "files.img: file #9 (id 10): empty queued message on a stream socket"},
        {"UnixStreamSplitWithoutDescriptorsInFlight",
         [](Checkpoint &cp) { cp.files[9].mutable_unix_sk()->add_queued("more"); },
         "files.img: file #9 (id 10): stream socket with its data in several parts, not split where descriptors are "
         "in flight"},
        {"UnixInFlightOnMissingMessage",
         [](Checkpoint &cp) {
             auto *f = cp.files[9].mutable_unix_sk()->add_in_flight();
             f->set_message(1);
             f->add_file_ids(1);
         },
         "files.img: file #9 (id 10): descriptors in flight on queued message 1 of 1, not in queued order"},
        {"UnixInFlightFileMissing",
         [](Checkpoint &cp) {
             auto *f = cp.files[9].mutable_unix_sk()->add_in_flight();
             f->set_message(0);
             f->add_file_ids(99);
         },
         "files.img: file #9 (id 10): descriptor in flight: file_id 99 is not in files.img"},
        {"UnixInFlightTooMany",
         [](Checkpoint &cp) {
             auto *f = cp.files[9].mutable_unix_sk()->add_in_flight();
             for (int i = 0; i < 254; ++i) f->add_file_ids(1);
         },
         "files.img: file #9 (id 10): 254 descriptors in flight on one message (1 to 253)"},
        {"UnixSocketPeerMissing", [](Checkpoint &cp) { cp.files[9].mutable_unix_sk()->set_peer_id(42); },
         "files.img: file #9 (id 10): unix socket peer file_id 42 is not in files.img"},
        {"UnixSocketPeerNotASocket", [](Checkpoint &cp) { cp.files[9].mutable_unix_sk()->set_peer_id(5); },
         "files.img: file #9 (id 10): unix socket peer file_id 5 is not a unix socket"},
        {"UnixConnectionEndsDisagree", [](Checkpoint &cp) { cp.files[10].mutable_unix_sk()->set_peer_id(12); },
         "files.img: file #9 (id 10): unix socket's peer (file id 11) has peer file id 12: the ends of a connection "
         "disagree"},
        {"UnixExternalPeerOnAStreamSocket",
         [](Checkpoint &cp) { cp.files[9].mutable_unix_sk()->set_external_peer("/dev/log"); },
         "files.img: file #9 (id 10): external_peer on a socket other than a connected dgram socket without peer_id "
         "or queue"},
        {"UnixSocketListedTwice", [](Checkpoint &cp) { cp.files[11].mutable_unix_sk()->set_ino(7009); },
         "files.img: file #11 (id 12): socket:[7009] listed twice"},
        {"TcpSocketOfUnknownFamily", [](Checkpoint &cp) { cp.files[12].mutable_tcp_sk()->set_family(1); },
         "files.img: file #12 (id 13): TCP socket of address family 1, not AF_INET or AF_INET6"},
        {"TcpAddressOfWrongSize",
         [](Checkpoint &cp) { cp.files[12].mutable_tcp_sk()->set_local_addr(std::string(16, '\0')); },
         "files.img: file #12 (id 13): TCP socket local address of 16 bytes (want 4)"},
        {"TcpPortBeyond16Bits", [](Checkpoint &cp) { cp.files[13].mutable_tcp_sk()->set_peer_port(70000); },
         "files.img: file #13 (id 14): TCP socket peer port 70000 beyond 65535"},
        {"TcpListenerWithConnectionState",
         [](Checkpoint &cp) { cp.files[12].mutable_tcp_sk()->mutable_connection()->set_mss_clamp(1460); },
         "files.img: file #12 (id 13): connection state on a TCP socket that is not established"},
        {"TcpEstablishedWithoutConnectionState",
         [](Checkpoint &cp) { cp.files[13].mutable_tcp_sk()->clear_connection(); },
         "files.img: file #13 (id 14): established TCP socket without its connection state"},
        {"TcpEstablishedWithoutPeer", [](Checkpoint &cp) { cp.files[13].mutable_tcp_sk()->set_peer_port(0); },
         "files.img: file #13 (id 14): established TCP socket without both addresses and ports"},
        {"TcpMoreUnsentThanQueued",
         [](Checkpoint &cp) { cp.files[13].mutable_tcp_sk()->mutable_connection()->set_unsent_bytes(1000); },
         "files.img: file #13 (id 14): 1000 unsent bytes in a send queue of 18"},
        {"TcpWindowScaleBeyond14",
         [](Checkpoint &cp) { cp.files[13].mutable_tcp_sk()->mutable_connection()->set_snd_wscale(15); },
         "files.img: file #13 (id 14): TCP window scale 15/7 (at most 14, and only when negotiated)"},
        {"TcpZeroMss", [](Checkpoint &cp) { cp.files[13].mutable_tcp_sk()->mutable_connection()->set_mss_clamp(0); },
         "files.img: file #13 (id 14): TCP mss 0 not in 1..65535"},
        {"TcpWindowBeyondMaxWindow",
         [](Checkpoint &cp) { cp.files[13].mutable_tcp_sk()->mutable_connection()->set_snd_wnd(1 << 20); },
         "files.img: file #13 (id 14): TCP max_window 65536 below snd_wnd 1048576"},
        {"TcpBacklogBeyondInt", [](Checkpoint &cp) { cp.files[12].mutable_tcp_sk()->set_backlog(1u << 31); },
         "files.img: file #12 (id 13): TCP socket backlog, buffer, keepalive, timeout, linger or peek offset beyond "
         "2^31-1"},
        {"TcpSocketListedTwice", [](Checkpoint &cp) { cp.files[13].mutable_tcp_sk()->set_ino(7012); },
         "files.img: file #13 (id 14): socket:[7012] listed twice"},
        {"FifoPathRelative", [](Checkpoint &cp) { cp.files[2].mutable_pipe()->set_fifo_path("fifo"); },
         "files.img: file #2 (id 3): fifo_path is not absolute"},
        {"EventfdCounterOverflows", [](Checkpoint &cp) { cp.files[4].mutable_eventfd()->set_counter(~0ull); },
         "files.img: file #4 (id 5): eventfd counter 2^64-1 (the kernel's maximum is 2^64-2)"},
        {"SignalfdUnknownFlags", [](Checkpoint &cp) { cp.files[6].mutable_signalfd()->set_flags(0x40000000); },
         "files.img: file #6 (id 7): flags 0x40000000 beyond O_ACCMODE|O_NONBLOCK"},
        {"TimerfdOnCpuClock", [](Checkpoint &cp) { cp.files[7].mutable_timerfd()->set_clockid(2); },
         "files.img: file #7 (id 8): timerfd on clock 2, not one timerfd uses"},
        {"TimerfdUnknownSettimeFlags", [](Checkpoint &cp) { cp.files[7].mutable_timerfd()->set_settime_flags(4); },
         "files.img: file #7 (id 8): timerfd settime_flags 0x4 unknown"},
        {"TimerfdValueBeyondRange", [](Checkpoint &cp) { cp.files[7].mutable_timerfd()->set_value_ns(~0ull); },
         "files.img: file #7 (id 8): timerfd value 18446744073709551615 ns or interval 250000000 ns over 2^62"},
        {"EpollWatchOfMissingFile",
         [](Checkpoint &cp) { cp.files[8].mutable_epoll()->mutable_watches(0)->set_file_id(42); },
         "files.img: file #8 (id 9): epoll watch #0: file_id 42 is not in files.img"},
        {"EpollWatchesItself", [](Checkpoint &cp) { cp.files[8].mutable_epoll()->mutable_watches(0)->set_file_id(9); },
         "files.img: file #8 (id 9): epoll watch #0: watches itself"},
        {"EpollWatchOfClosedFd", [](Checkpoint &cp) { cp.files[8].mutable_epoll()->mutable_watches(0)->set_fd(5); },
         "files.img: epoll file id 9 (fd 10 of pid 100) watches fd 5 as file id 5, but that fd is not open there"},
        {"EpollWatchOfAnotherFile",
         [](Checkpoint &cp) { cp.files[8].mutable_epoll()->mutable_watches(0)->set_fd(0); },
         "files.img: epoll file id 9 (fd 10 of pid 100) watches fd 0 as file id 5, but that fd is file id 2"},
        {"InotifyWatchesOutOfOrder",
         [](Checkpoint &cp) { cp.files[14].mutable_inotify()->mutable_watches(1)->set_wd(1); },
         "files.img: file #14 (id 15): inotify watch #1 (wd 1): wd not in 2..1048576 (increasing order)"},
        {"InotifyWdBeyondRestorable",
         [](Checkpoint &cp) { cp.files[14].mutable_inotify()->mutable_watches(1)->set_wd(INT32_MAX); },
         "files.img: file #14 (id 15): inotify watch #1 (wd 2147483647): wd not in 2..1048576 (increasing order)"},
        {"InotifyWdZero", [](Checkpoint &cp) { cp.files[14].mutable_inotify()->mutable_watches(0)->set_wd(0); },
         "files.img: file #14 (id 15): inotify watch #0 (wd 0): wd not in 1..1048576 (increasing order)"},
        {"InotifyMaskWithAddOnlyFlags",
         [](Checkpoint &cp) { cp.files[14].mutable_inotify()->mutable_watches(0)->set_mask(0x20000100); },
         "files.img: file #14 (id 15): inotify watch #0 (wd 1): mask 0x20000100 has unknown bits"},
        {"InotifyPathRelative",
         [](Checkpoint &cp) { cp.files[14].mutable_inotify()->mutable_watches(0)->set_path("tmp/watched"); },
         "files.img: file #14 (id 15): inotify watch #0 (wd 1): path is not absolute"},
        {"InotifyPathWithNul",
         [](Checkpoint &cp) {
             cp.files[14].mutable_inotify()->mutable_watches(0)->set_path(std::string("/tmp/a\0b", 8));
         },
         "files.img: file #14 (id 15): inotify watch #0 (wd 1): path contains a NUL byte"},
        {"InotifyModeBeyondFileType",
         [](Checkpoint &cp) { cp.files[14].mutable_inotify()->mutable_watches(0)->set_mode(0040755); },
         "files.img: file #14 (id 15): inotify watch #0 (wd 1): mode 0x41ed beyond S_IFMT"},
        {"InotifyUnknownFlags", [](Checkpoint &cp) { cp.files[14].mutable_inotify()->set_flags(0x400); /* O_APPEND */ },
         "files.img: file #14 (id 15): flags 0x400 beyond O_ACCMODE|O_NONBLOCK"},
        {"EmptyPath", [](Checkpoint &cp) { cp.files[5].mutable_reg()->clear_path(); },
         "files.img: file #5 (id 6): empty path"},
        {"VdsoAreaOutsideVmas", [](Checkpoint &cp) { root(cp).vdso.mutable_areas(1)->set_end(0x7f100000 + 8 * P); },
         "vdso-100.img: area #1 [0x7f102000-0x7f108000]: lies outside every vma"},
        {"VdsoAreasOverlap", [](Checkpoint &cp) { root(cp).vdso.mutable_areas(0)->set_end(0x7f100000 + 3 * P); },
         "vdso-100.img: areas [0x7f100000-0x7f103000] and [0x7f102000-0x7f104000] overlap"},
        {"VdsoAreaOfHeapKind", [](Checkpoint &cp) { root(cp).vdso.mutable_areas(0)->set_kind(VMA_ANON_PRIVATE); },
         "vdso-100.img: area #0 [0x7f100000-0x7f102000]: kind 1 is not a vDSO-like mapping"},
        {"VdsoSymbolBeyondVdso", [](Checkpoint &cp) { root(cp).vdso.mutable_symbols(0)->set_offset(3 * P); },
         "vdso-100.img: symbol __vdso_clock_gettime: offset 0x3000 beyond the vDSO size 0x2000"},
    };
}

class MeaningTest : public ::testing::TestWithParam<Case> {};

TEST_P(MeaningTest, IsRefusedWithOneClearError) {
    TempDir dir;
    Checkpoint cp = sample_checkpoint();
    GetParam().mutate(cp);
    ASSERT_TRUE(write_sample(dir.path(), cp).ok());
    EXPECT_EQ(read_error(dir.path()), GetParam().expected);
    // The in-memory check agrees wherever it has the data (page files aside).
    std::string in_memory = validate_checkpoint(cp, sample_read_options()).ok()
                                ? "OK"
                                : validate_checkpoint(cp, sample_read_options()).error().message();
    EXPECT_EQ(in_memory, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, MeaningTest, ::testing::ValuesIn(meaning_cases()),
                         [](const ::testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string &path, const std::string &bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class WrittenSample : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(write_sample(dir.path(), sample_checkpoint()).ok()); }
    TempDir dir;
};

TEST(Zombie, NeedsNoThreadsRegistersOrMemory) {
    TempDir dir;
    Checkpoint cp = sample_checkpoint();
    TaskImages &z = child(cp);
    z.tree.set_zombie(true);
    z.tree.set_exit_status(3);
    z.tree.clear_threads();
    z.threads.clear();
    z.vmas.clear();
    z.pagemap.clear();
    z.fds.clear();
    ASSERT_TRUE(write_sample(dir.path(), cp).ok());
    EXPECT_EQ(read_error(dir.path()), "OK");
}

TEST(PreDump, MayLackRegisters) {
    TempDir dir;
    Checkpoint cp = sample_checkpoint();
    cp.inventory.set_dump_kind("pre-dump");
    for (auto &t : cp.tasks)
        for (auto &thread : t.threads) thread.clear_regs();
    ASSERT_TRUE(write_sample(dir.path(), cp).ok());
    EXPECT_EQ(read_error(dir.path()), "OK");
}

TEST_F(WrittenSample, WithoutInventoryIsIncomplete) {
    ASSERT_EQ(::unlink(dir.file("inventory.img").c_str()), 0);
    EXPECT_EQ(read_error(dir.path()), "incomplete checkpoint: no inventory.img in " + dir.path());
}

TEST_F(WrittenSample, MissingImageDirIsNamed) {
    EXPECT_EQ(read_error(dir.path() + "/nope"), "images dir: " + dir.path() + "/nope: No such file or directory");
}

TEST_F(WrittenSample, MissingTaskFileIsNamed) {
    ASSERT_EQ(::unlink(dir.file("core-101.img").c_str()), 0);
    EXPECT_EQ(read_error(dir.path()), "core-101.img: No such file or directory");
}

TEST_F(WrittenSample, InventoryWithBadMagicIsRefused) {
    std::string bytes = slurp(dir.file("inventory.img"));
    bytes[0] = 'X';
    spit(dir.file("inventory.img"), bytes);
    EXPECT_EQ(read_error(dir.path()), "inventory.img: bad magic 0x53415458 (not a stasis image; expected 0x53415453)");
}

TEST_F(WrittenSample, InventoryOfAnotherKindIsRefused) {
    spit(dir.file("inventory.img"), slurp(dir.file("pstree.img")));
    EXPECT_EQ(read_error(dir.path()), "inventory.img: wrong image kind: pstree where inventory was expected");
}

TEST_F(WrittenSample, NewerImageVersionIsRefused) {
    std::string bytes = slurp(dir.file("mm-100.img"));
    bytes[8] = 2;
    spit(dir.file("mm-100.img"), bytes);
    ReadOptions opts = sample_read_options();
    opts.check_digests = false;
    EXPECT_EQ(read_error(dir.path(), opts), "mm-100.img: mm image version 2 is newer than this stasis reads (1)");
}

TEST_F(WrittenSample, SwappedImageKindIsRefused) {
    spit(dir.file("mm-101.img"), slurp(dir.file("core-101.img")));
    ReadOptions opts = sample_read_options();
    opts.check_digests = false;
    EXPECT_EQ(read_error(dir.path(), opts), "mm-101.img: wrong image kind: core where mm was expected");
}

TEST_F(WrittenSample, ChangedFileFailsItsChecksum) {
    std::string bytes = slurp(dir.file("fdinfo-100.img"));
    bytes[bytes.size() - 1] ^= 1;
    spit(dir.file("fdinfo-100.img"), bytes);
    EXPECT_EQ(read_error(dir.path()), "fdinfo-100.img: checksum differs from the one inventory.img recorded "
                                      "(damaged or changed after the dump)");
}

TEST_F(WrittenSample, PageSizeOfAnotherSystemIsRefused) {
    EXPECT_EQ(read_error(dir.path(), sample_read_options(ARCH_X86_64, 65536)),
              "inventory.img: page_size 4096 differs from this system's 65536");
}

TEST_F(WrittenSample, PagemapBeyondThePagesFileIsRefused) {
    auto w = RawImageWriter::create(dir.path(), "pages-1.img", IMAGE_PAGES, 4096);
    ASSERT_TRUE(w.ok());
    std::string pages(5 * 4096, 'p');
    ASSERT_TRUE(w->append(pages.data(), pages.size()).ok());
    ASSERT_TRUE(w->commit().ok());
    EXPECT_EQ(read_error(dir.path()), "pages-1.img: holds 5 pages, but pagemap-100.img needs 6");
}

TEST_F(WrittenSample, TruncatedPagesFileIsRefused) {
    ASSERT_EQ(::truncate(dir.file("pages-2.img").c_str(), 4096 + 100), 0);
    EXPECT_EQ(read_error(dir.path()), "pages-2.img: 100 data bytes are not whole pages (truncated?)");
}

TEST_F(WrittenSample, MissingPagesFileIsNamed) {
    ASSERT_EQ(::unlink(dir.file("pages-2.img").c_str()), 0);
    EXPECT_EQ(read_error(dir.path()), "pagemap-101.img: pages-2.img: No such file or directory");
    ReadOptions opts = sample_read_options();
    opts.check_pages = false;
    EXPECT_EQ(read_error(dir.path(), opts), "OK");
}

TEST_F(WrittenSample, FifoUnderAnImageNameIsRefusedWithoutHanging) {
    ASSERT_EQ(::unlink(dir.file("core-101.img").c_str()), 0);
    ASSERT_EQ(::mkfifo(dir.file("core-101.img").c_str(), 0600), 0);
    EXPECT_EQ(read_error(dir.path()), "core-101.img: not a regular file");
}

TEST_F(WrittenSample, TaskCountDisagreeingWithPstreeIsRefused) {
    auto cp = read_checkpoint(dir.path(), sample_read_options());
    ASSERT_TRUE(cp.ok());
    Inventory inventory = cp->inventory;
    inventory.set_task_count(3);
    auto w = ImageWriter::create(dir.path(), "inventory.img", IMAGE_INVENTORY);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write(inventory).ok());
    ASSERT_TRUE(w->commit().ok());
    EXPECT_EQ(read_error(dir.path()), "pstree.img: has 2 tasks, inventory.img says 3");
}

// Every cut of every image file is caught: by the file's size in
// inventory.img, or, for inventory.img itself, by its structure.
TEST_F(WrittenSample, TruncationAtEveryByteOfEveryImageIsRefused) {
    auto cp = read_checkpoint(dir.path(), sample_read_options());
    ASSERT_TRUE(cp.ok());
    std::vector<std::string> names = {"inventory.img"};
    for (const auto &d : cp->inventory.image_files()) names.push_back(d.name());
    for (const std::string &name : names) {
        std::string whole = slurp(dir.file(name));
        // Shrinking in place, longest cut first: rewriting the file each time
        // makes some file systems flush on every close.
        for (size_t len = whole.size(); len-- > 0;) {
            ASSERT_EQ(::truncate(dir.file(name).c_str(), off_t(len)), 0);
            std::string error = read_error(dir.path());
            EXPECT_EQ(error.rfind(name + ": ", 0), 0u) << name << " cut at " << len << ": " << error;
        }
        spit(dir.file(name), whole);
    }
    EXPECT_EQ(read_error(dir.path()), "OK");
}

}  // namespace
}  // namespace stasis::images
