// A signal frame exactly as this kernel writes it: the bytes from the
// ucontext a handler receives up, taken from inside the handler.
#pragma once

#include <signal.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace stasis::arch::test {

struct OwnFrame {
    uint64_t at = 0;            // the ucontext's address
    std::vector<uint8_t> bytes; // from there up
};

inline OwnFrame &own_frame_slot() {
    static OwnFrame f;
    return f;
}

inline void own_frame_handler(int, siginfo_t *, void *uc) {
    // Copying in a handler: memcpy is async-signal-safe; the vector was
    // sized before the signal.
    OwnFrame &f = own_frame_slot();
    f.at = uint64_t(uintptr_t(uc));
    std::memcpy(f.bytes.data(), uc, f.bytes.size());
}

// Sends this thread a signal and returns its frame (`len` bytes: the frame
// and the stack above it, which the caller's frames keep mapped).
inline OwnFrame own_signal_frame(size_t len = 2048) {
    OwnFrame &f = own_frame_slot();
    f.bytes.assign(len, 0);
    struct sigaction sa {}, old{};
    sa.sa_sigaction = own_frame_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, &old);
    raise(SIGUSR2);
    sigaction(SIGUSR2, &old, nullptr);
    return f;
}

}  // namespace stasis::arch::test
