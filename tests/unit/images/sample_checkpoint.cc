#include "tests/unit/images/sample_checkpoint.h"

#include <fcntl.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "common/images/image_writer.h"

namespace stasis::images::testing {
namespace {

constexpr uint64_t kTextBase = 0x10000000;   // 1 MiB-aligned: valid for every page size
constexpr uint64_t kSharedBase = 0x7f000000;
constexpr uint64_t kVdsoBase = 0x7f100000;
constexpr uint64_t kStackBase = 0x7ff00000;

ThreadCore thread(int32_t tid, uint32_t arch, uint64_t ip) {
    ThreadCore t;
    t.set_tid(tid);
    t.set_blocked(1u << 9);
    t.set_comm(tid == kRootPid ? "sleeper" : "worker");
    t.mutable_rseq()->set_ptr(0x7ff00100);
    t.mutable_rseq()->set_len(32);
    t.mutable_rseq()->set_signature(0x53053053);
    ThreadRegs *r = t.mutable_regs();
    switch (arch) {
        case ARCH_AARCH64: r->mutable_aarch64()->set_pc(ip); break;
        case ARCH_ARM: r->mutable_arm()->set_cpsr(0x10); r->mutable_arm()->add_r(uint32_t(ip)); break;
        case ARCH_PPC64LE: r->mutable_ppc64le()->set_nip(ip); break;
        case ARCH_S390X: r->mutable_s390x()->set_psw_addr(ip); break;
        default: r->mutable_x86_64()->set_rip(ip); r->mutable_x86_64()->set_xsave(std::string(576, '\1')); break;
    }
    return t;
}

Vma vma(uint64_t start, uint64_t end, VmaKind kind, uint32_t prot, uint32_t file_id = 0, const char *name = "") {
    Vma v;
    v.set_start(start);
    v.set_end(end);
    v.set_kind(kind);
    v.set_prot(prot);
    v.set_flags(kind == VMA_FILE_SHARED || kind == VMA_ANON_SHARED ? 0x01 : 0x02);
    v.set_file_id(file_id);
    v.set_name(name);
    v.set_vm_flags("rd mr mw me ac");
    return v;
}

PagemapEntry pages(uint64_t vaddr, uint64_t nr, uint32_t flags = 0) {
    PagemapEntry e;
    e.set_vaddr(vaddr);
    e.set_nr_pages(nr);
    e.set_flags(flags);
    return e;
}

FdEntry fd(int32_t n, uint32_t file_id) {
    FdEntry e;
    e.set_fd(n);
    e.set_file_id(file_id);
    e.set_cloexec(n > 2);
    return e;
}

std::vector<FileEntry> sample_files() {
    std::vector<FileEntry> files(15);
    files[0].set_id(1);
    files[0].mutable_reg()->set_path("/usr/bin/sleeper");
    files[0].mutable_reg()->mutable_identity()->set_size(16384);
    files[0].mutable_reg()->mutable_identity()->set_build_id(std::string(20, '\x42'));
    files[1].set_id(2);
    files[1].mutable_reg()->set_path("/tmp/data \xff.bin");  // not UTF-8: paths are bytes
    files[1].mutable_reg()->set_flags(O_RDWR);
    files[1].mutable_reg()->set_pos(100);
    files[2].set_id(3);
    files[2].mutable_pipe()->set_pipe_ino(555);
    files[2].mutable_pipe()->set_buffered("hello");
    files[2].mutable_pipe()->set_pipe_size(65536);
    files[3].set_id(4);
    files[3].mutable_pipe()->set_pipe_ino(555);
    files[3].mutable_pipe()->set_flags(O_WRONLY);
    files[3].mutable_pipe()->set_pipe_size(65536);
    files[4].set_id(5);
    files[4].mutable_eventfd()->set_counter(7);
    files[5].set_id(6);
    files[5].mutable_reg()->set_path("/lib/libc.so.6");
    files[6].set_id(7);
    files[6].mutable_signalfd()->set_mask((1ull << (10 - 1)) | (1ull << (12 - 1)));  // SIGUSR1, SIGUSR2
    files[7].set_id(8);
    auto *timer = files[7].mutable_timerfd();
    timer->set_clockid(1);  // CLOCK_MONOTONIC
    timer->set_value_ns(1500000000);
    timer->set_interval_ns(250000000);
    timer->set_ticks(2);
    files[8].set_id(9);
    auto *watch = files[8].mutable_epoll()->add_watches();  // the eventfd at fd 2
    watch->set_fd(2);
    watch->set_file_id(5);
    watch->set_events(1);
    watch->set_data(0x1234);
    // A stream socketpair with data queued both ways, and a seqpacket
    // listener on an abstract name.
    for (uint32_t i : {9u, 10u}) {
        files[i].set_id(i + 1);
        auto *sk = files[i].mutable_unix_sk();
        sk->set_ino(7000 + i);
        sk->set_type(1);  // SOCK_STREAM
        sk->set_flags(O_RDWR);
        sk->set_state(UNIX_SK_CONNECTED);
        sk->set_peer_id(i == 9 ? 11 : 10);
        sk->add_queued(i == 9 ? "ping" : "pong!");
    }
    files[11].set_id(12);
    auto *listener = files[11].mutable_unix_sk();
    listener->set_ino(7011);
    listener->set_type(5);  // SOCK_SEQPACKET
    listener->set_flags(O_RDWR | O_NONBLOCK);
    listener->set_state(UNIX_SK_LISTENING);
    listener->set_name(std::string("\0sample", 7));
    listener->set_backlog(5);
    // A TCP listener on 127.0.0.1:8080, and an IPv6 connection with data
    // queued both ways.
    files[12].set_id(13);
    auto *tcp_listener = files[12].mutable_tcp_sk();
    tcp_listener->set_ino(7012);
    tcp_listener->set_family(2);  // AF_INET
    tcp_listener->set_flags(O_RDWR);
    tcp_listener->set_state(TCP_SK_LISTENING);
    tcp_listener->set_local_addr(std::string("\x7f\0\0\x01", 4));
    tcp_listener->set_local_port(8080);
    tcp_listener->set_backlog(16);
    tcp_listener->set_reuseaddr(true);
    files[13].set_id(14);
    auto *tcp = files[13].mutable_tcp_sk();
    tcp->set_ino(7013);
    tcp->set_family(10);  // AF_INET6
    tcp->set_flags(O_RDWR | O_NONBLOCK);
    tcp->set_state(TCP_SK_ESTABLISHED);
    std::string loopback6(15, '\0');
    loopback6 += '\x01';
    tcp->set_local_addr(loopback6);
    tcp->set_local_port(40000);
    tcp->set_peer_addr(loopback6);
    tcp->set_peer_port(8080);
    tcp->set_nodelay(true);
    auto *conn = tcp->mutable_connection();
    conn->set_send_seq(1000);
    conn->set_send_queue("unacked and unsent");
    conn->set_unsent_bytes(6);
    conn->set_recv_seq(0xfffffff0u);  // wraps while the queue is read
    conn->set_recv_queue("received, not read");
    conn->set_mss_clamp(65483);
    conn->set_wscale_ok(true);
    conn->set_snd_wscale(7);
    conn->set_rcv_wscale(7);
    conn->set_sack_ok(true);
    conn->set_timestamps_ok(true);
    conn->set_timestamp(123456);
    conn->set_snd_wnd(65536);
    conn->set_max_window(65536);
    conn->set_rcv_wnd(65536);
    // An inotify instance with a directory watch at wd 1 and a one-shot
    // file watch at wd 7 (numbers 2..6 were given back).
    files[14].set_id(15);
    auto *inotify = files[14].mutable_inotify();
    inotify->set_flags(O_NONBLOCK);
    auto *dir_watch = inotify->add_watches();
    dir_watch->set_wd(1);
    dir_watch->set_mask(0x100);  // IN_CREATE
    dir_watch->set_path("/tmp/watched");
    dir_watch->set_dev(0xfe00);
    dir_watch->set_ino(4242);
    dir_watch->set_mode(0040000);  // S_IFDIR
    auto *file_watch = inotify->add_watches();
    file_watch->set_wd(7);
    file_watch->set_mask(0x80000002);  // IN_ONESHOT | IN_MODIFY
    file_watch->set_path("/tmp/watched/log");
    file_watch->set_dev(0xfe00);
    file_watch->set_ino(4243);
    file_watch->set_mode(0100000);  // S_IFREG
    return files;
}

TaskImages root_task(uint32_t arch, uint64_t P) {
    TaskImages t;
    t.tree.set_pid(kRootPid);
    t.tree.set_pgid(kRootPid);
    t.tree.set_sid(kRootPid);
    t.tree.add_threads(kRootPid);
    t.tree.add_threads(102);
    t.core.set_comm("sleeper");
    t.core.set_cwd("/");
    t.core.set_root("/");
    t.core.set_umask(022);
    for (uint32_t signo : {2u, 15u}) {
        SigAction *sa = t.core.add_sigactions();
        sa->set_signo(signo);
        sa->set_handler(kTextBase + 0x40);
    }
    Rlimit *rl = t.core.add_rlimits();
    rl->set_resource(7);
    rl->set_cur(1024);
    rl->set_max(4096);
    t.core.add_shared_pending()->set_raw(std::string(128, '\0'));
    t.threads = {thread(kRootPid, arch, kTextBase + 0x10), thread(102, arch, kTextBase + 0x20)};
    t.mm.set_exe_file_id(1);
    t.mm.set_start_code(kTextBase);
    t.mm.set_end_code(kTextBase + 2 * P);
    t.mm.set_start_brk(kTextBase + 3 * P);
    t.mm.set_brk(kTextBase + 8 * P);
    for (uint64_t word : std::initializer_list<uint64_t>{6, P, 0, 0}) t.mm.add_auxv(word);
    t.vmas = {vma(kTextBase, kTextBase + 2 * P, VMA_FILE_PRIVATE, 5, 1, "/usr/bin/sleeper"),
              vma(kTextBase + 2 * P, kTextBase + 3 * P, VMA_FILE_PRIVATE, 3, 1, "/usr/bin/sleeper"),
              vma(kTextBase + 3 * P, kTextBase + 8 * P, VMA_ANON_PRIVATE, 3, 0, "[heap]"),
              vma(kSharedBase, kSharedBase + 4 * P, VMA_FILE_SHARED, 3, 2, "/tmp/data \xff.bin"),
              vma(kVdsoBase, kVdsoBase + 2 * P, VMA_VVAR, 1, 0, "[vvar]"),
              vma(kVdsoBase + 2 * P, kVdsoBase + 4 * P, VMA_VDSO, 5, 0, "[vdso]"),
              vma(kStackBase, kStackBase + 4 * P, VMA_ANON_PRIVATE, 3, 0, "[stack]")};
    t.vmas[1].set_pgoff(2 * P);
    t.vmas[2].set_heap(true);
    t.vmas[6].set_stack(true);
    t.pagemap_head.set_pages_id(1);
    t.pagemap = {pages(kTextBase + 2 * P, 1), pages(kTextBase + 3 * P, 3),
                 pages(kStackBase + 2 * P, 2, PAGEMAP_LAZY)};
    t.fds = {fd(0, 2), fd(1, 3), fd(2, 5), fd(3, 4), fd(7, 6), fd(8, 7), fd(9, 8), fd(10, 9), fd(11, 10), fd(12, 11),
              fd(13, 12)};
    VdsoArea *vvar = t.vdso.add_areas();
    vvar->set_kind(VMA_VVAR);
    vvar->set_start(kVdsoBase);
    vvar->set_end(kVdsoBase + 2 * P);
    VdsoArea *vdso = t.vdso.add_areas();
    vdso->set_kind(VMA_VDSO);
    vdso->set_start(kVdsoBase + 2 * P);
    vdso->set_end(kVdsoBase + 4 * P);
    VdsoSymbol *sym = t.vdso.add_symbols();
    sym->set_name("__vdso_clock_gettime");
    sym->set_offset(0x100);
    t.vdso.set_size(2 * P);
    return t;
}

TaskImages child_task(uint32_t arch, uint64_t P) {
    TaskImages t;
    t.tree.set_pid(kChildPid);
    t.tree.set_ppid(kRootPid);
    t.tree.set_pgid(kRootPid);
    t.tree.set_sid(kRootPid);
    t.tree.add_threads(kChildPid);
    t.core.set_comm("child");
    t.core.set_cwd("/tmp");
    t.core.set_root("/");
    t.threads = {thread(kChildPid, arch, kTextBase + 0x30)};
    t.mm.set_exe_file_id(1);
    t.vmas = {vma(kTextBase, kTextBase + 2 * P, VMA_FILE_PRIVATE, 5, 1, "/usr/bin/sleeper"),
              vma(kStackBase, kStackBase + 4 * P, VMA_ANON_PRIVATE, 3, 0, "[stack]")};
    t.pagemap_head.set_pages_id(2);
    t.pagemap = {pages(kStackBase + 2 * P, 2)};
    t.fds = {fd(0, 4)};
    return t;
}

}  // namespace

Checkpoint sample_checkpoint(uint32_t arch, uint32_t page_size) {
    Checkpoint cp;
    Inventory &inv = cp.inventory;
    inv.set_format_version(kFormatVersion);
    inv.set_arch(Arch(arch));
    inv.set_page_size(page_size);
    inv.set_kernel_release("6.1.0-test");
    inv.set_root_pid(kRootPid);
    inv.set_created_unix_ns(1700000000000000000ull);
    inv.set_stasis_version("0.1.0");
    inv.set_dump_kind("dump");
    inv.set_task_count(2);
    cp.tasks = {root_task(arch, page_size), child_task(arch, page_size)};
    cp.files = sample_files();
    return cp;
}

ReadOptions sample_read_options(uint32_t arch, uint32_t page_size) {
    ReadOptions opts;
    opts.expect_arch = arch;
    opts.expect_page_size = page_size;
    return opts;
}

Status write_sample(const std::string &dir, const Checkpoint &cp) {
    uint32_t page_size = cp.inventory.page_size();
    // Pages first, the images (inventory.img last) after, as a dump does.
    for (const TaskImages &t : cp.tasks) {
        if (!valid_page_size(page_size)) break;  // an inventory made bad on purpose
        // A pagemap made absurd on purpose gets a bounded pages file.
        uint64_t n = std::min<uint64_t>(pages_in_file(t.pagemap), 4096);
        STASIS_ASSIGN(RawImageWriter w, RawImageWriter::create(dir, pages_file_name(t.pagemap_head.pages_id()),
                                                               IMAGE_PAGES, page_size));
        std::string page(page_size, '\0');
        for (uint64_t i = 0; i < n; i++) {
            page.assign(page_size, char('a' + i % 26));
            STASIS_TRY(w.append(page.data(), page.size()));
        }
        STASIS_TRY(w.commit());
    }
    return write_checkpoint(dir, cp, WriteOptions{.durable = false});
}

TempDir::TempDir() {
    const char *base = getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/stasis-images-test.XXXXXX";
    if (mkdtemp(templ.data())) path_ = templ;
}

TempDir::~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

}  // namespace stasis::images::testing
