/* The signal state of the calling thread and its process as a value:
 * every sigaction, the blocked mask, the pending set and the alternate
 * stack. */
#ifndef STASIS_LIVE_SIGNALS_H
#define STASIS_LIVE_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

enum { LIVE_NSIG = 64 };

struct live_signal_state {
    bool have_action[LIVE_NSIG + 1]; /* false where libc reserves the signal */
    struct sigaction action[LIVE_NSIG + 1];
    sigset_t blocked;
    sigset_t pending; /* thread-directed and process-wide */
    stack_t altstack;
};

void live_signal_state_take(struct live_signal_state *s);
/* Reports every difference through LIVE_EXPECT (what = a prefix for the
 * messages); returns true when none. */
bool live_signal_state_expect_same(const char *what, const struct live_signal_state *before,
                                   const struct live_signal_state *after);

/* Signal sets compared on the 64 signals the kernel knows. */
bool live_sigset_equal(const sigset_t *a, const sigset_t *b);
/* "USR1 RTMIN+2 ..." for messages. */
const char *live_sigset_str(const sigset_t *s, char *buf, size_t size);

#endif
