/* The thread pointer, as glibc's __rseq_offset is relative to: r13 (GCC 12
 * has no __builtin_thread_pointer for this target). */
#include "live.h"

void *live_thread_pointer(void) {
    void *tp;
    __asm__("mr %0, 13" : "=r"(tp));
    return tp;
}
