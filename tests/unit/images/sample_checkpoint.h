// A small, valid checkpoint for tests and for the fuzz seed corpus: two
// tasks (the root with two threads, a child), a handful of vmas of several
// kinds, pages, fds, files of every kind and a vDSO.
#pragma once

#include <cstdint>
#include <string>

#include "common/images/checkpoint.h"
#include "common/util/result.h"

namespace stasis::images::testing {

inline constexpr int32_t kRootPid = 100;
inline constexpr int32_t kChildPid = 101;

// The checkpoint; `arch` also picks the register set of every thread.
Checkpoint sample_checkpoint(uint32_t arch = ARCH_X86_64, uint32_t page_size = 4096);

// ReadOptions that accept sample_checkpoint(arch, page_size).
ReadOptions sample_read_options(uint32_t arch = ARCH_X86_64, uint32_t page_size = 4096);

// Writes the checkpoint's images and a pages file per task holding exactly
// the pages its pagemap stores, each page filled with a byte pattern.
Status write_sample(const std::string &dir, const Checkpoint &cp);

// A fresh empty directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

}  // namespace stasis::images::testing
