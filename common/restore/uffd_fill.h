// Filling fresh private anonymous memory of this process through a
// userfaultfd: UFFDIO_COPY allocates and fills whole ranges of pages in the
// kernel, where a read(2) straight into the memory takes a page fault per
// page (13 times slower on this project's VM host). The engine's side of
// what the restorer does for in-place VMAs (pie/restorer/mm.c); used for
// the premapped VMAs (premap.cc).
#pragma once

#include <cstdint>
#include <memory>

namespace stasis::restore {

class UffdFill {
  public:
    // A userfaultfd for this process, or nullptr where the kernel offers
    // none (before 5.11, a seccomp filter...): the caller reads in place.
    static std::unique_ptr<UffdFill> open();
    ~UffdFill();  // closing it unregisters every range
    UffdFill(const UffdFill &) = delete;
    UffdFill &operator=(const UffdFill &) = delete;

    // Registers [start, start+len) (private anonymous memory). False when
    // it cannot be: copies there fall back to memcpy.
    bool add(uint64_t start, uint64_t len);

    // Puts `len` bytes from `src` at `dst` (page-aligned, `len` whole
    // pages): installed where no page is yet and the range is registered,
    // copied by hand where a page is present (inherited from a parent that
    // forked) or the range is not registered. 0 or an errno.
    int copy(uint64_t dst, const char *src, uint64_t len, uint64_t page);

  private:
    explicit UffdFill(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace stasis::restore
