/* Internal interfaces of the restorer blob (freestanding). */
#ifndef STASIS_PIE_RESTORER_H
#define STASIS_PIE_RESTORER_H

#include "pie/restorer/plan.h"
#include "pie/restorer/sys.h"

#define PLAN_ARRAY(plan, off, type) ((type *)((char *)(plan) + (off)))

/* Records the first failure in the plan and returns `err`. */
long restore_fail(struct restore_plan *plan, int step, long err, uint64_t addr);

/* mm.c */
long restore_unmap_all(struct restore_plan *plan);
long restore_move_specials(struct restore_plan *plan);
long restore_map_vmas(struct restore_plan *plan);
long restore_fill(struct restore_plan *plan);
long restore_advise_vmas(struct restore_plan *plan);
long restore_protect_vmas(struct restore_plan *plan);
long restore_lazy(struct restore_plan *plan);
void restore_fill_worker(struct restore_plan *plan, struct restore_worker *w);

/* state.c */
long restore_sigactions(struct restore_plan *plan);
long restore_itimers(struct restore_plan *plan);
long restore_posix_timers(struct restore_plan *plan);
long restore_rlimits(struct restore_plan *plan);
long restore_task_misc(struct restore_plan *plan);
long restore_after_creds(struct restore_plan *plan);
long restore_mm_fields(struct restore_plan *plan);
long restore_close_fds(struct restore_plan *plan);
long restore_shared_pending(struct restore_plan *plan);

/* threads.c */
long restore_threads(struct restore_plan *plan);
long restore_thread_state(struct restore_plan *plan, struct restore_thread *t);
long restore_creds(struct restore_plan *plan);

/* entry.S: clone3 that runs pie_thread_main(arg) in the child. */
long pie_clone3_thread(void *clone_args, unsigned long size, void *arg);

#endif
