#define _GNU_SOURCE
#include "signals.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "live.h"

void live_signal_state_take(struct live_signal_state *s) {
    memset(s, 0, sizeof(*s));
    for (int sig = 1; sig <= LIVE_NSIG; sig++) {
        /* glibc refuses its two internal real-time signals with EINVAL. */
        s->have_action[sig] = sigaction(sig, NULL, &s->action[sig]) == 0;
    }
    pthread_sigmask(SIG_BLOCK, NULL, &s->blocked);
    sigpending(&s->pending);
    sigaltstack(NULL, &s->altstack);
}

bool live_sigset_equal(const sigset_t *a, const sigset_t *b) {
    for (int sig = 1; sig <= LIVE_NSIG; sig++)
        if (sigismember(a, sig) != sigismember(b, sig)) return false;
    return true;
}

const char *live_sigset_str(const sigset_t *s, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int sig = 1; sig <= LIVE_NSIG; sig++) {
        if (sigismember(s, sig) != 1) continue;
        char name[32];
        if (sig >= SIGRTMIN && sig <= SIGRTMAX)
            snprintf(name, sizeof(name), "RTMIN+%d", sig - SIGRTMIN);
        else if (sigabbrev_np(sig))
            snprintf(name, sizeof(name), "%s", sigabbrev_np(sig));
        else
            snprintf(name, sizeof(name), "%d", sig);
        int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "", name);
        if (n < 0 || (size_t)n >= size - used) break;
        used += (size_t)n;
    }
    if (!used) snprintf(buf, size, "(none)");
    return buf;
}

bool live_signal_state_expect_same(const char *what, const struct live_signal_state *b,
                                   const struct live_signal_state *a) {
    int before = live_failures();
    char x[400], y[400];
    for (int sig = 1; sig <= LIVE_NSIG; sig++) {
        LIVE_EXPECT(b->have_action[sig] == a->have_action[sig], "%s: sigaction(%d) readable: was %d, now %d", what,
                    sig, b->have_action[sig], a->have_action[sig]);
        if (!b->have_action[sig] || !a->have_action[sig]) continue;
        const struct sigaction *p = &b->action[sig], *q = &a->action[sig];
        LIVE_EXPECT(p->sa_handler == q->sa_handler, "%s: signal %d handler was %p, now %p", what, sig,
                    (void *)p->sa_handler, (void *)q->sa_handler);
        LIVE_EXPECT(p->sa_flags == q->sa_flags, "%s: signal %d sa_flags were %#x, now %#x", what, sig,
                    (unsigned)p->sa_flags, (unsigned)q->sa_flags);
        LIVE_EXPECT(live_sigset_equal(&p->sa_mask, &q->sa_mask), "%s: signal %d sa_mask was {%s}, now {%s}", what,
                    sig, live_sigset_str(&p->sa_mask, x, sizeof(x)), live_sigset_str(&q->sa_mask, y, sizeof(y)));
        LIVE_EXPECT(p->sa_restorer == q->sa_restorer, "%s: signal %d sa_restorer was %p, now %p", what, sig,
                    (void *)p->sa_restorer, (void *)q->sa_restorer);
    }
    LIVE_EXPECT(live_sigset_equal(&b->blocked, &a->blocked), "%s: blocked mask was {%s}, now {%s}", what,
                live_sigset_str(&b->blocked, x, sizeof(x)), live_sigset_str(&a->blocked, y, sizeof(y)));
    LIVE_EXPECT(live_sigset_equal(&b->pending, &a->pending), "%s: pending set was {%s}, now {%s}", what,
                live_sigset_str(&b->pending, x, sizeof(x)), live_sigset_str(&a->pending, y, sizeof(y)));
    LIVE_EXPECT(b->altstack.ss_sp == a->altstack.ss_sp && b->altstack.ss_size == a->altstack.ss_size &&
                    b->altstack.ss_flags == a->altstack.ss_flags,
                "%s: sigaltstack was %p+%zu flags %d, now %p+%zu flags %d", what, b->altstack.ss_sp,
                b->altstack.ss_size, b->altstack.ss_flags, a->altstack.ss_sp, a->altstack.ss_size,
                a->altstack.ss_flags);
    return live_failures() == before;
}
