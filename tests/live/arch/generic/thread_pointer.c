/* The thread pointer, as glibc's __rseq_offset is relative to. */
#include "live.h"

void *live_thread_pointer(void) { return __builtin_thread_pointer(); }
