/*
 * Memory: unmap the engine, move the vDSO/vvar into place, map every VMA at
 * its final address, fill private memory in place with preadv from the
 * pages image (seed 000), then set final protections. VMAs the engine
 * premapped and filled already (premap path: benchmarks, and memory shared
 * copy-on-write with a parent) are moved into place with mremap instead.
 */
#include "pie/restorer/restorer.h"

#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_THREAD 0x00010000
#define CLONE_SYSVSEM 0x00040000
#define CLONE_CHILD_CLEARTID 0x00200000

struct range {
    uint64_t start, end;
};

static void sort_ranges(struct range *r, int n) {
    for (int i = 1; i < n; ++i) {
        struct range x = r[i];
        int j = i - 1;
        while (j >= 0 && r[j].start > x.start) {
            r[j + 1] = r[j];
            --j;
        }
        r[j + 1] = x;
    }
}

long restore_unmap_all(struct restore_plan *plan) {
    struct range keep[16 + RESTORE_MAX_PREMAP];
    int n = 0;
    keep[n++] = (struct range){plan->region_start, plan->region_end};
    for (uint32_t i = 0; i < plan->nr_premap && i < RESTORE_MAX_PREMAP; ++i)
        keep[n++] = (struct range){plan->premap[i][0], plan->premap[i][1]};
    struct restore_special *sp = PLAN_ARRAY(plan, plan->specials_off, struct restore_special);
    for (uint32_t i = 0; i < plan->nr_specials && n < 16 + RESTORE_MAX_PREMAP; ++i)
        keep[n++] = (struct range){sp[i].cur_start, sp[i].cur_start + sp[i].len};
    sort_ranges(keep, n);
    uint64_t cursor = 0;
    for (int i = 0; i < n; ++i) {
        if (keep[i].start > cursor) {
            long r = SYS2(munmap, (unsigned long)cursor, (unsigned long)(keep[i].start - cursor));
            if (is_err(r)) return restore_fail(plan, RESTORE_STEP_UNMAP, r, cursor);
        }
        if (keep[i].end > cursor) cursor = keep[i].end;
    }
    if (plan->unmap_end > cursor) {
        long r = SYS2(munmap, (unsigned long)cursor, (unsigned long)(plan->unmap_end - cursor));
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_UNMAP, r, cursor);
    }
    return 0;
}

static long move(uint64_t from, uint64_t len, uint64_t to) {
    long r = SYS5(mremap, (unsigned long)from, (unsigned long)len, (unsigned long)len,
                  R_MREMAP_MAYMOVE | R_MREMAP_FIXED, (unsigned long)to);
    if (is_err(r)) return r;
    return (uint64_t)(unsigned long)r == to ? 0 : -14;
}

long restore_move_specials(struct restore_plan *plan) {
    /* Two steps through the scratch room, so that a target overlapping
     * another special's current place never collides. Relative layout is
     * kept: the vDSO reaches vvar PC-relatively. */
    struct restore_special *sp = PLAN_ARRAY(plan, plan->specials_off, struct restore_special);
    uint64_t off = 0;
    for (uint32_t i = 0; i < plan->nr_specials; ++i) {
        if (sp[i].cur_start == sp[i].target) continue;
        if (off + sp[i].len > plan->scratch_len) return restore_fail(plan, RESTORE_STEP_SPECIALS, -12, sp[i].target);
        long r = move(sp[i].cur_start, sp[i].len, plan->scratch_start + off);
        if (r) return restore_fail(plan, RESTORE_STEP_SPECIALS, r, sp[i].cur_start);
        sp[i].cur_start = plan->scratch_start + off;
        off += sp[i].len;
    }
    for (uint32_t i = 0; i < plan->nr_specials; ++i) {
        if (sp[i].cur_start == sp[i].target) continue;
        long r = move(sp[i].cur_start, sp[i].len, sp[i].target);
        if (r) return restore_fail(plan, RESTORE_STEP_SPECIALS, r, sp[i].target);
        sp[i].cur_start = sp[i].target;
    }
    return 0;
}

/* Private anonymous memory is filled through a userfaultfd of the
 * restorer's own: UFFDIO_COPY allocates and fills whole ranges of pages in
 * the kernel, where preadv straight into fresh memory takes a page fault
 * per page (on this project's VM host, 13 times slower: 1 GiB in 0.25 s
 * against 3 s). A registered VMA gets its final protection before it
 * holds a page (UFFDIO_COPY fills read-only memory too): an mprotect after
 * the fill must flush the TLB of every page it changed, which cost 40 us
 * per VMA there, a third of restoring 5000 VMAs. Without a userfaultfd
 * (before 5.11, a seccomp filter...) everything is filled by preadv into
 * writable VMAs and protected after, as before. */
struct r_uffdio_api {
    uint64_t api, features, ioctls;
};
struct r_uffdio_register {
    uint64_t start, len, mode, ioctls;
};
struct r_uffdio_copy {
    uint64_t dst, src, len, mode;
    int64_t copy;
};
#define R_UFFDIO_REGISTER_MODE_MISSING 1

static int uffd_fillable(const struct restore_vma *v) {
    return (v->flags & RESTORE_VMA_FILL) &&
           !(v->flags & (RESTORE_VMA_PREMAPPED | RESTORE_VMA_SYSV_SHM | RESTORE_VMA_LAZY)) && v->fd < 0 &&
           !(v->map_flags & R_MAP_SHARED);
}

static void open_fill_uffd(struct restore_plan *plan) {
    plan->fill_uffd = -1;
    struct restore_vma *v = PLAN_ARRAY(plan, plan->vmas_off, struct restore_vma);
    uint32_t i = 0;
    while (i < plan->nr_vmas && !uffd_fillable(&v[i])) ++i;
    if (i == plan->nr_vmas || !plan->fill_buf_len) return;
    long uffd = SYS1(userfaultfd, (unsigned long)plan->fill_uffd_flags);
    if (is_err(uffd)) return;
    struct r_uffdio_api api = {0xAA, 0, 0};
    if (is_err(SYS3(ioctl, uffd, (unsigned long)plan->uffdio_api, (unsigned long)&api))) {
        SYS1(close, uffd);
        return;
    }
    plan->fill_uffd = (int32_t)uffd;
}

/* Right after the VMA is mapped (writable): registration, then its final
 * protection if that is readable (a VMA that cannot be registered is left
 * to preadv and protected after the fill).
 *
 * A private VMA made read-only while it has no anon_vma (it never held a
 * page) loses its commit accounting, the "ac" of VmFlags. One the process
 * had accounted gets its anon_vma first: a UFFDIO_COPY from an unmapped
 * source prepares the anon_vma, then fails on the source and installs
 * nothing. Should it install a page after all (something is mapped at 0),
 * that page is dropped again while the VMA is still writable. */
static long prepare_uffd_fill(struct restore_plan *plan, struct restore_vma *v) {
    if (plan->fill_uffd < 0 || !uffd_fillable(v)) return 0;
    uint64_t len = v->end - v->start;
    struct r_uffdio_register reg = {v->start, len, R_UFFDIO_REGISTER_MODE_MISSING, 0};
    if (is_err(SYS3(ioctl, plan->fill_uffd, (unsigned long)plan->uffdio_register, (unsigned long)&reg))) return 0;
    v->flags |= RESTORE_VMA_UFFD_FILL;
    if (!(v->prot & R_PROT_READ) || v->prot == (R_PROT_READ | R_PROT_WRITE)) return 0;
    if (v->flags & RESTORE_VMA_ACCOUNTED) {
        struct r_uffdio_copy c = {v->start, 0, plan->page_size, 0, 0};
        long r = SYS3(ioctl, plan->fill_uffd, (unsigned long)plan->uffdio_copy, (unsigned long)&c);
        if (!is_err(r) || c.copy > 0) {
            r = SYS3(madvise, (unsigned long)v->start, (unsigned long)plan->page_size, 4 /* MADV_DONTNEED */);
            if (is_err(r)) return r;
        }
    }
    long r = SYS3(mprotect, (unsigned long)v->start, (unsigned long)len, v->prot);
    if (is_err(r)) return r;
    v->flags |= RESTORE_VMA_PROTECTED;
    return 0;
}

/* Installs [src, src+len) at dst. A page outside the registered VMAs (a
 * file-backed private VMA's own pages, a VMA left to preadv) is writable
 * until the fill is done: it is copied by hand, page by page. */
static long uffd_copy(struct restore_plan *plan, uint64_t dst, const char *src, uint64_t len) {
    while (len) {
        struct r_uffdio_copy c = {dst, (uint64_t)(unsigned long)src, len, 0, 0};
        long r = SYS3(ioctl, plan->fill_uffd, (unsigned long)plan->uffdio_copy, (unsigned long)&c);
        if (!is_err(r)) return 0;
        if (r == -11 && c.copy > 0) { /* EAGAIN: part done */
            dst += (uint64_t)c.copy;
            src += c.copy;
            len -= (uint64_t)c.copy;
            continue;
        }
        if (r == -11) continue;
        if (r != -2) return r; /* not ENOENT: a real failure */
        uint64_t page = plan->page_size;
        if (len > page) {
            /* One page at a time: the range may span a registered VMA
             * and one that is not. */
            for (uint64_t done = 0; done < len; done += page) {
                long e = uffd_copy(plan, dst + done, src + done, page);
                if (e) return e;
            }
            return 0;
        }
        memcpy((void *)(unsigned long)dst, src, (size_t)len);
        return 0;
    }
    return 0;
}

/* One fill job through the bounce buffer `buf`. */
static long fill_one_uffd(struct restore_plan *plan, struct restore_fill *f, char *buf) {
    struct restore_iovec *iov = PLAN_ARRAY(plan, plan->iovs_off, struct restore_iovec) + f->first_iov;
    uint32_t n = f->nr_iov;
    uint64_t iov_done = 0; /* of iov[0] */
    uint64_t off = f->file_off;
    uint64_t left = f->bytes;
    while (left) {
        uint64_t want = left < plan->fill_buf_len ? left : plan->fill_buf_len;
        uint64_t got = 0;
        while (got < want) {
            struct restore_iovec one = {(unsigned long)(buf + got), (unsigned long)(want - got)};
            uint64_t at = off + got;
            long r = SYS5(preadv, f->fd, &one, 1, (unsigned long)at, (unsigned long)(at >> 16 >> 16));
            if (r == -4) continue;
            if (is_err(r)) return r;
            if (r == 0) return -5; /* the pages image ended early: EIO */
            got += (uint64_t)r;
        }
        for (uint64_t k = 0; k < got;) {
            if (!n) return -5;
            uint64_t piece = iov->len - iov_done;
            if (piece > got - k) piece = got - k;
            long r = uffd_copy(plan, (uint64_t)iov->base + iov_done, buf + k, piece);
            if (r) return r;
            k += piece;
            iov_done += piece;
            if (iov_done == iov->len) {
                ++iov;
                --n;
                iov_done = 0;
            }
        }
        off += got;
        left -= got;
    }
    return 0;
}

long restore_map_vmas(struct restore_plan *plan) {
    struct restore_vma *v = PLAN_ARRAY(plan, plan->vmas_off, struct restore_vma);
    open_fill_uffd(plan);
    for (uint32_t i = 0; i < plan->nr_vmas; ++i) {
        uint64_t len = v[i].end - v[i].start;
        uint32_t prot = v[i].prot | ((v[i].flags & RESTORE_VMA_FILL) ? (R_PROT_READ | R_PROT_WRITE) : 0);
        long r;
        if (v[i].flags & RESTORE_VMA_PREMAPPED) {
            long m = move(v[i].premap_addr, len, v[i].start);
            if (m) return restore_fail(plan, RESTORE_STEP_MAP, m, v[i].start);
            continue;
        }
        if (v[i].flags & RESTORE_VMA_SYSV_SHM) {
            /* shmat(id, addr, SHM_RDONLY if read-only) */
            unsigned long ro = (prot & R_PROT_WRITE) ? 0 : 010000;
            r = SYS3(shmat, v[i].shmid, (unsigned long)v[i].start, ro);
            if (r == -22) {
                /* 32-bit arm wants shmat addresses aligned to SHMLBA (four
                 * pages) although the kernel itself attached this one
                 * elsewhere (no cache aliasing): attach at an aligned free
                 * address next to the target, not overlapping it (mremap
                 * refuses overlaps), then move it into place. */
                const uint64_t a = 0x10000; /* a multiple of every SHMLBA */
                uint64_t at[2] = {v[i].start > len + a ? (v[i].start - len - a) & ~(a - 1) : 0,
                                  (v[i].end + a - 1) & ~(a - 1)};
                for (int k = 0; k < 2 && r == -22; ++k) {
                    if (!at[k]) continue;
                    long got = SYS3(shmat, v[i].shmid, (unsigned long)at[k], ro);
                    if (is_err(got)) continue;
                    r = move((uint64_t)(unsigned long)got, len, v[i].start);
                    if (r) return restore_fail(plan, RESTORE_STEP_MAP, r, v[i].start);
                    r = (long)(unsigned long)v[i].start;
                }
            }
        } else {
            r = stasis_sys_mmap((unsigned long)v[i].start, (unsigned long)len, prot,
                                v[i].map_flags | R_MAP_FIXED_NOREPLACE, v[i].fd, (unsigned long)v[i].pgoff);
        }
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_MAP, r, v[i].start);
        if ((uint64_t)(unsigned long)r != v[i].start) return restore_fail(plan, RESTORE_STEP_MAP, -17, v[i].start);
        r = prepare_uffd_fill(plan, &v[i]);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_MAP, r, v[i].start);
    }
    /* What is left of the premap areas (pieces of ancestors' memory this
     * task did not inherit) goes. */
    for (uint32_t i = 0; i < plan->nr_premap && i < RESTORE_MAX_PREMAP; ++i) {
        long r = SYS2(munmap, (unsigned long)plan->premap[i][0], (unsigned long)(plan->premap[i][1] - plan->premap[i][0]));
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_MAP, r, plan->premap[i][0]);
    }
    return 0;
}

/* Reads one fill job, finishing short reads. */
static long fill_one(struct restore_plan *plan, struct restore_fill *f) {
    struct restore_iovec *iov = PLAN_ARRAY(plan, plan->iovs_off, struct restore_iovec) + f->first_iov;
    uint32_t n = f->nr_iov;
    uint64_t off = f->file_off;
    uint64_t left = f->bytes;
    while (left) {
        long r = SYS5(preadv, f->fd, iov, n, (unsigned long)off, (unsigned long)(off >> 16 >> 16));
        if (r == -4) continue; /* EINTR */
        if (is_err(r)) return r;
        if (r == 0) return -5; /* the pages image ended early: EIO */
        left -= (uint64_t)r;
        off += (uint64_t)r;
        /* Skip the iovecs that were filled completely, trim the next one. */
        unsigned long done = (unsigned long)r;
        while (n && done >= iov->len) {
            done -= iov->len;
            ++iov;
            --n;
        }
        if (n) {
            iov->base += done;
            iov->len -= done;
        }
    }
    return 0;
}

static void fill_loop(struct restore_plan *plan, char *buf) {
    struct restore_fill *fills = PLAN_ARRAY(plan, plan->fills_off, struct restore_fill);
    for (;;) {
        int32_t i = atomic_inc(&plan->next_fill);
        if (i < 0 || (uint32_t)i >= plan->nr_fills) return;
        if (atomic_load(&plan->fill_error)) return;
        long r = buf ? fill_one_uffd(plan, &fills[i], buf) : fill_one(plan, &fills[i]);
        if (r) {
            __atomic_compare_exchange_n(&plan->fill_error, &(int32_t){0}, (int32_t)r, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST);
            plan->failed_addr = fills[i].file_off;
            return;
        }
    }
}

static char *fill_buffer(struct restore_plan *plan, uint32_t index) {
    return plan->fill_bufs ? (char *)(unsigned long)(plan->fill_bufs + index * plan->fill_buf_len) : 0;
}

void restore_fill_worker(struct restore_plan *plan, struct restore_worker *w) {
    fill_loop(plan, fill_buffer(plan, w->start.index));
}

long restore_fill(struct restore_plan *plan) {
    uint32_t started = 0;
    uint64_t bufs_len = 0;
    plan->fill_bufs = 0;
    if (plan->fill_uffd >= 0) {
        /* One buffer per worker and one for this thread (the last),
         * populated here rather than a fault at a time; no bigger than
         * the biggest job (a restore of a few pages maps a few). */
        struct restore_fill *fills = PLAN_ARRAY(plan, plan->fills_off, struct restore_fill);
        uint64_t biggest = 0;
        for (uint32_t i = 0; i < plan->nr_fills; ++i)
            if (fills[i].bytes > biggest) biggest = fills[i].bytes;
        biggest = (biggest + plan->page_size - 1) & ~(plan->page_size - 1); /* no 64-bit division on arm */
        if (biggest < plan->fill_buf_len) plan->fill_buf_len = biggest ? biggest : plan->page_size;
        bufs_len = (uint64_t)(plan->nr_workers + 1) * plan->fill_buf_len;
        long b = stasis_sys_mmap(0, (unsigned long)bufs_len, R_PROT_READ | R_PROT_WRITE,
                                 R_MAP_PRIVATE | R_MAP_ANONYMOUS | R_MAP_POPULATE, -1, 0);
        if (is_err(b)) return restore_fail(plan, RESTORE_STEP_FILL, b, 0);
        plan->fill_bufs = (uint64_t)(unsigned long)b;
    }
    for (uint32_t i = 0; i < plan->nr_workers && i < RESTORE_MAX_WORKERS; ++i) {
        struct restore_worker *w = &plan->workers[i];
        w->start.plan_addr = (uint64_t)(unsigned long)plan;
        w->start.kind = RESTORE_START_WORKER;
        w->start.index = i;
        w->tid_futex = 1;
        uint64_t *ca = w->clone_args;
        memset(ca, 0, sizeof w->clone_args);
        ca[0] = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_CHILD_CLEARTID;
        ca[2] = (uint64_t)(unsigned long)&w->tid_futex; /* child_tid */
        ca[5] = w->stack_top - RESTORE_THREAD_STACK_SIZE; /* stack */
        ca[6] = RESTORE_THREAD_STACK_SIZE;                 /* stack_size */
        long r = pie_clone3_thread(ca, sizeof w->clone_args, w);
        if (is_err(r)) break; /* fewer workers: the main thread does the rest */
        ++started;
    }
    fill_loop(plan, fill_buffer(plan, plan->nr_workers));
    for (uint32_t i = 0; i < started; ++i) {
        struct restore_worker *w = &plan->workers[i];
        int32_t v;
        while ((v = atomic_load(&w->tid_futex)) != 0) futex_wait(&w->tid_futex, v);
    }
    if (plan->fill_uffd >= 0) {
        /* Closing it unregisters every VMA (no page table changes). */
        SYS1(close, plan->fill_uffd);
        plan->fill_uffd = -1;
        SYS2(munmap, (unsigned long)plan->fill_bufs, (unsigned long)bufs_len);
        plan->fill_bufs = 0;
    }
    if (plan->fill_error) return restore_fail(plan, RESTORE_STEP_FILL, plan->fill_error, plan->failed_addr);
    return 0;
}

/* Before the fill: the advice decides how the fill's faults are served
 * (MADV_NOHUGEPAGE must be in place before the first touch, or a kernel
 * with transparent huge pages "always" fills a sparse area with 2 MiB
 * pages). */
long restore_advise_vmas(struct restore_plan *plan) {
    struct restore_vma *v = PLAN_ARRAY(plan, plan->vmas_off, struct restore_vma);
    for (uint32_t i = 0; i < plan->nr_vmas; ++i) {
        uint64_t len = v[i].end - v[i].start;
        for (int advice = 0; advice < 64; ++advice) {
            if (!(v[i].madv & ((uint64_t)1 << advice))) continue;
            long r = SYS3(madvise, (unsigned long)v[i].start, (unsigned long)len, advice);
            if (is_err(r)) return restore_fail(plan, RESTORE_STEP_MADVISE, r, v[i].start);
        }
    }
    return 0;
}

long restore_protect_vmas(struct restore_plan *plan) {
    struct restore_vma *v = PLAN_ARRAY(plan, plan->vmas_off, struct restore_vma);
    for (uint32_t i = 0; i < plan->nr_vmas; ++i) {
        uint64_t len = v[i].end - v[i].start;
        if ((v[i].flags & (RESTORE_VMA_FILL | RESTORE_VMA_PREMAPPED)) && !(v[i].flags & RESTORE_VMA_PROTECTED)) {
            long r = SYS3(mprotect, (unsigned long)v[i].start, (unsigned long)len, v[i].prot);
            if (is_err(r)) return restore_fail(plan, RESTORE_STEP_PROTECT, r, v[i].start);
        }
        if (v[i].flags & RESTORE_VMA_LOCKED) {
            long r = SYS2(mlock, (unsigned long)v[i].start, (unsigned long)len);
            if (is_err(r)) return restore_fail(plan, RESTORE_STEP_MADVISE, r, v[i].start);
        }
    }
    return 0;
}

/* Lazy restore (seed 001): the lazy VMAs were mapped empty; register them
 * with a new userfaultfd for missing pages and hand it to `stasis
 * lazy-pages` (SCM_RIGHTS over the connected socket the engine left at
 * plan->lazy_sock), which fills them on first touch and in the background.
 * Nothing touches lazy memory between the registration and the hand-over. */
struct r_iovec {
    unsigned long base, len;
};
struct r_msghdr { /* the kernel's struct user_msghdr */
    unsigned long name;
    int32_t namelen;
    unsigned long iov;
    unsigned long iovlen;
    unsigned long control;
    unsigned long controllen;
    uint32_t flags;
};
struct r_cmsg_fd { /* struct cmsghdr with one int of data */
    unsigned long len;
    int32_t level, type;
    int32_t fd;
};
#define R_SOL_SOCKET 1
#define R_SCM_RIGHTS 1

long restore_lazy(struct restore_plan *plan) {
    if (plan->lazy_sock < 0) return 0;
    long uffd = SYS1(userfaultfd, (unsigned long)plan->uffd_flags);
    if (is_err(uffd)) return restore_fail(plan, RESTORE_STEP_LAZY, uffd, 0);
    struct r_uffdio_api api = {0xAA, plan->uffd_features, 0};
    long r = SYS3(ioctl, uffd, (unsigned long)plan->uffdio_api, (unsigned long)&api);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_LAZY, r, 1);
    struct restore_vma *v = PLAN_ARRAY(plan, plan->vmas_off, struct restore_vma);
    for (uint32_t i = 0; i < plan->nr_vmas; ++i) {
        if (!(v[i].flags & RESTORE_VMA_LAZY)) continue;
        struct r_uffdio_register reg = {v[i].start, v[i].end - v[i].start, R_UFFDIO_REGISTER_MODE_MISSING, 0};
        r = SYS3(ioctl, uffd, (unsigned long)plan->uffdio_register, (unsigned long)&reg);
        if (is_err(r)) return restore_fail(plan, RESTORE_STEP_LAZY, r, v[i].start);
    }
    struct restore_lazy_hello hello = {RESTORE_LAZY_MAGIC, (int32_t)SYS0(getpid)};
    struct r_iovec iov = {(unsigned long)&hello, sizeof hello};
    struct r_cmsg_fd cm;
    memset(&cm, 0, sizeof cm);
    cm.len = (unsigned long)((char *)&cm.fd - (char *)&cm) + sizeof(int32_t);
    cm.level = R_SOL_SOCKET;
    cm.type = R_SCM_RIGHTS;
    cm.fd = (int32_t)uffd;
    struct r_msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.iov = (unsigned long)&iov;
    msg.iovlen = 1;
    msg.control = (unsigned long)&cm;
    msg.controllen = sizeof cm;
    r = SYS3(sendmsg, plan->lazy_sock, (unsigned long)&msg, 0);
    if (is_err(r)) return restore_fail(plan, RESTORE_STEP_LAZY, r, 2);
    /* Its answer: it has the userfaultfd and filled what must not wait. */
    char ack = 0;
    do r = SYS3(read, plan->lazy_sock, (unsigned long)&ack, 1);
    while (r == -4);
    if (r != 1) return restore_fail(plan, RESTORE_STEP_LAZY, r < 0 ? r : -5, 3);
    SYS1(close, uffd);
    SYS1(close, plan->lazy_sock);
    return 0;
}
