// A throw-away child for `stasis check` to seize and inspect: a fork of this
// process that sleeps in pause(). The destructor kills and reaps it on every
// path, seized or not.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "common/util/result.h"

namespace stasis::check {

class Tracee {
  public:
    // Forks the child (not yet seized).
    static Result<std::unique_ptr<Tracee>> start();
    ~Tracee();
    Tracee(const Tracee &) = delete;
    Tracee &operator=(const Tracee &) = delete;

    // PTRACE_SEIZE + PTRACE_INTERRUPT. The stop comes once the child runs;
    // other work can overlap with that wait.
    Status seize_and_interrupt();
    // Waits (with a deadline) for the stop PTRACE_INTERRUPT asked for.
    Status wait_for_stop();

    pid_t pid() const { return pid_; }
    // Address (the same in both: fork) of a word that holds marker_value()
    // in the child only.
    uint64_t marker_address() const;
    uint64_t marker_value() const { return marker_value_; }
    // A descriptor number open in the child and, for the same open file
    // description, in this process too (the ready pipe's write end).
    int child_fd() const { return child_fd_; }

  private:
    Tracee() = default;

    pid_t pid_ = -1;
    int child_fd_ = -1;
    uint64_t marker_value_ = 0;
};

}  // namespace stasis::check
