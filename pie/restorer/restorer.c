/*
 * The restorer: runs inside the task being restored, on its own stack in its
 * own region, driven by the engine through ptrace (see
 * common/restore/README or docs/design.md, "Restore"). It tears down the
 * engine's address space, builds the dumped one in place (mapping each VMA
 * at its final address and filling private memory with preadv straight from
 * the pages image, several workers at once), restores the kernel state only
 * the task itself can set, recreates the threads with their TIDs, and
 * returns; pie_entry then traps so the engine can load every thread's
 * registers and remove this region.
 */
#include "pie/restorer/restorer.h"

long restore_fail(struct restore_plan *plan, int step, long err, uint64_t addr) {
    if (plan->result == 0) {
        plan->result = err;
        plan->failed_step = step;
        plan->failed_addr = addr;
    }
    return err;
}

static long block_signals(struct restore_plan *plan) {
    /* Everything blocked except SIGTRAP (5), which ends the run. */
    uint64_t mask = ~(uint64_t)(1u << (5 - 1));
    long r = SYS4(rt_sigprocmask, R_SIG_SETMASK, &mask, 0, 8);
    return is_err(r) ? restore_fail(plan, RESTORE_STEP_SIGMASK, r, 0) : 0;
}

static long drop_own_rseq(struct restore_plan *plan) {
    /* The engine's libc registered rseq in memory we are about to unmap:
     * the kernel would then fault writing cpu_id on the way to user mode. */
    if (!plan->self_rseq_ptr) return 0;
    long r = SYS4(rseq, (unsigned long)plan->self_rseq_ptr, plan->self_rseq_len, R_RSEQ_FLAG_UNREGISTER,
                  plan->self_rseq_sig);
    return is_err(r) ? restore_fail(plan, RESTORE_STEP_RSEQ_UNREGISTER, r, plan->self_rseq_ptr) : 0;
}

#define STEP(call)                  \
    do {                            \
        long step_r_ = (call);      \
        if (step_r_) return step_r_; \
    } while (0)

__attribute__((visibility("default"), used)) long pie_main(struct restore_plan *plan) {
    if (plan->magic != RESTORE_PLAN_MAGIC || plan->version != RESTORE_PLAN_VERSION) return -22;
    STEP(block_signals(plan));
    STEP(drop_own_rseq(plan));
    STEP(restore_unmap_all(plan));
    STEP(restore_move_specials(plan));
    STEP(restore_map_vmas(plan));
    STEP(restore_advise_vmas(plan));
    STEP(restore_fill(plan));
    STEP(restore_protect_vmas(plan));
    STEP(restore_lazy(plan));
    STEP(restore_sigactions(plan));
    STEP(restore_itimers(plan));
    STEP(restore_rlimits(plan));
    STEP(restore_task_misc(plan));
    STEP(restore_mm_fields(plan));
    STEP(restore_close_fds(plan));
    STEP(restore_threads(plan));
    STEP(restore_posix_timers(plan));
    STEP(restore_shared_pending(plan));
    struct restore_thread *main_thread = PLAN_ARRAY(plan, plan->threads_off, struct restore_thread);
    STEP(restore_thread_state(plan, main_thread));
    STEP(restore_creds(plan));
    STEP(restore_after_creds(plan));
    return 0;
}

/* Entry of every thread the restorer clones (see pie_clone3_thread). */
__attribute__((visibility("default"), used)) void pie_thread_main(void *arg) {
    struct restore_start *start = arg;
    struct restore_plan *plan = (struct restore_plan *)(unsigned long)start->plan_addr;
    if (start->kind == RESTORE_START_WORKER) {
        restore_fill_worker(plan, (struct restore_worker *)arg);
        return; /* pie_clone3_thread exits the thread */
    }
    struct restore_thread *t = (struct restore_thread *)arg;
    long r = restore_thread_state(plan, t);
    if (r == 0) r = restore_creds(plan);
    t->state = r ? (int32_t)r : 1;
    atomic_inc(&plan->threads_ready);
    futex_wake(&plan->threads_ready);
    /* Park: the engine seizes this thread here and loads its registers. */
    for (;;) futex_wait(&plan->never, 0);
}
