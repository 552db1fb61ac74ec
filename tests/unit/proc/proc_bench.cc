// Measures the /proc hot paths of the dump engine and prints JSON (not a
// test; no timing is asserted anywhere). Run: stasis_proc_bench
//   - read_smaps / read_maps of a process with 10 000 mappings (this one),
//     split into the kernel's read time and our parse time;
//   - present_runs of a 1 GiB fully touched region and of a 64 GiB
//     reservation with 1 000 touched pages, pread vs PAGEMAP_SCAN.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/proc/maps.h"
#include "common/proc/pagemap.h"
#include "common/proc/read_file.h"

namespace {

using namespace stasis::proc;

// Best of `rounds` runs, in milliseconds: the least disturbed measurement.
double best_ms(int rounds, const std::function<void()> &body) {
    double best = 1e300;
    for (int i = 0; i < rounds; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        body();
        std::chrono::duration<double, std::milli> d = std::chrono::steady_clock::now() - t0;
        best = std::min(best, d.count());
    }
    return best;
}

void die(const char *what) {
    std::perror(what);
    std::exit(1);
}

void bench_smaps(size_t page) {
    constexpr size_t kMappings = 10000;
    std::vector<char *> regions;
    // Alternating protections keep neighbours from merging into one VMA.
    for (size_t i = 0; i < kMappings; ++i) {
        int prot = i % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
        auto *p = static_cast<char *>(mmap(nullptr, 2 * page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (p == MAP_FAILED) die("mmap");
        if (prot & PROT_WRITE) p[0] = 1;
        regions.push_back(p);
    }
    size_t count = 0, bytes = 0;
    std::string text;
    double read_smaps_ms = best_ms(5, [&] {
        auto maps = read_smaps(getpid());
        if (!maps.ok()) die(maps.error().message().c_str());
        count = maps->size();
    });
    double read_text_ms = best_ms(5, [&] {
        if (!read_task_file_into(getpid(), 0, "smaps", text).ok()) die("read smaps");
        bytes = text.size();
    });
    double parse_ms = best_ms(5, [&] {
        auto maps = parse_smaps(text);
        if (!maps.ok()) die(maps.error().message().c_str());
    });
    double read_maps_ms = best_ms(5, [&] {
        auto maps = read_maps(getpid());
        if (!maps.ok()) die(maps.error().message().c_str());
    });
    std::printf(
        "  \"smaps\": {\"mappings\": %zu, \"smaps_bytes\": %zu, \"read_smaps_ms\": %.2f, "
        "\"kernel_read_ms\": %.2f, \"parse_ms\": %.2f, \"parse_MB_per_s\": %.0f, \"read_maps_ms\": %.2f},\n",
        count, bytes, read_smaps_ms, read_text_ms, parse_ms, bytes / 1e3 / parse_ms, read_maps_ms);
    for (char *p : regions) munmap(p, 2 * page);
}

struct RunsResult {
    double ms;
    size_t runs;
    uint64_t pages;
};

RunsResult time_runs(PagemapMethod method, uint64_t start, uint64_t end) {
    auto reader = PagemapReader::open(getpid(), method);
    if (!reader.ok()) die(reader.error().message().c_str());
    std::vector<PageRun> runs;
    runs.reserve(4096);
    double ms = best_ms(5, [&] {
        runs.clear();
        auto st = reader->present_runs(start, end, runs);
        if (!st.ok()) die(st.error().message().c_str());
    });
    uint64_t pages = 0;
    for (const auto &r : runs) pages += r.npages;
    return {ms, runs.size(), pages};
}

void print_runs(const char *name, uint64_t start, uint64_t end, bool last) {
    RunsResult by_pread = time_runs(PagemapMethod::pread, start, end);
    auto probe = PagemapReader::open(getpid(), PagemapMethod::pagemap_scan);
    std::printf("  \"%s\": {\"pread_ms\": %.3f, \"pread_runs\": %zu, \"pread_pages\": %llu", name,
                by_pread.ms, by_pread.runs, static_cast<unsigned long long>(by_pread.pages));
    if (probe.ok()) {
        RunsResult by_scan = time_runs(PagemapMethod::pagemap_scan, start, end);
        std::printf(", \"scan_ms\": %.3f, \"scan_runs\": %zu, \"scan_pages\": %llu, \"speedup\": %.1f",
                    by_scan.ms, by_scan.runs, static_cast<unsigned long long>(by_scan.pages),
                    by_pread.ms / by_scan.ms);
    } else {
        std::printf(", \"scan\": \"unavailable\"");
    }
    std::printf("}%s\n", last ? "" : ",");
}

void bench_pagemap(size_t page) {
    constexpr uint64_t kGiB = 1ull << 30;
    auto *full =
        static_cast<char *>(mmap(nullptr, kGiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (full == MAP_FAILED) die("mmap 1 GiB");
    madvise(full, kGiB, MADV_NOHUGEPAGE);  // 4K PTEs: the worst case for the page walk
    std::memset(full, 1, kGiB);
    uint64_t start = reinterpret_cast<uintptr_t>(full);
    print_runs("touched_1GiB", start, start + kGiB, false);
    munmap(full, kGiB);

    const uint64_t sparse_size = 64 * kGiB;
    auto *sparse = static_cast<char *>(mmap(nullptr, sparse_size, PROT_READ | PROT_WRITE,
                                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (sparse == MAP_FAILED) die("mmap 64 GiB");
    std::mt19937_64 rng(42);
    for (int i = 0; i < 1000; ++i) sparse[(rng() % (sparse_size / page)) * page] = 1;
    start = reinterpret_cast<uintptr_t>(sparse);
    print_runs("sparse_64GiB_1000_pages", start, start + sparse_size, true);
    munmap(sparse, sparse_size);
}

}  // namespace

int main() {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    std::printf("{\n");
    bench_smaps(page);
    bench_pagemap(page);
    std::printf("}\n");
    return 0;
}
