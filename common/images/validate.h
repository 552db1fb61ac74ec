// The meaning checks of the reader: what records must say, alone and
// together, before the engine may use them. Each function checks what one
// image file holds; its errors name the record and field but not the file,
// which the caller adds ("mm-12.img: vma #3 ...").
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/images/checkpoint.h"
#include "common/util/result.h"

namespace stasis::images::validate {

using FileIndex = std::unordered_map<uint32_t, const FileEntry *>;

// inventory.img: format version, arch, page size, root pid, counts, names.
Status inventory(const Inventory &inv, const ReadOptions &opts);
// pstree.img: pids/tids unique and in range, parents before children, root first.
Status pstree(const std::vector<TaskImages> &tasks, const Inventory &inv);
// files.img: ids unique and non-zero, a known kind each, sane paths, sizes,
// flags, clocks; the ends of one pipe agree; epoll watches name files.
Status files(const std::vector<FileEntry> &files, FileIndex *index);
// The pty entries (validate_tty.cc): one master per pty, carrying its state.
Status tty_files(const std::vector<FileEntry> &files);
// Each epoll instance's watches, against the fd table of the first task
// holding it (the one that adds them at restore): that fd is that file.
Status epoll_watches(const std::vector<TaskImages> &tasks, const FileIndex &files);

// core-<pid>.img: threads match pstree, registers of `arch`, signals, limits,
// names. Registers may be missing only in zombies and in pre-dumps (which
// restore never uses but as a parent of page data).
Status core(const TaskImages &task, uint32_t arch, bool pre_dump);
// fdinfo-<pid>.img: fds non-negative and unique, referring to files.img.
Status fds(const TaskImages &task, const FileIndex &files);
// mm-<pid>.img: mm fields, and vmas sorted, disjoint, page-aligned, non-empty;
// file-backed vmas name their file, but in a pre-dump (which records none).
Status mm(const TaskImages &task, const FileIndex &files, uint64_t page_size, bool pre_dump);
// pagemap-<pid>.img: entries sorted, disjoint, aligned, inside the vmas.
Status pagemap(const TaskImages &task, uint64_t page_size, bool has_parent);
// vdso-<pid>.img: areas disjoint, aligned, inside the vmas; symbols sane.
Status vdso(const TaskImages &task, uint64_t page_size);

// "[0x1000-0x2000]"
std::string range(uint64_t start, uint64_t end);
// Refuses bytes with a NUL (the kernel would cut the name there) or more
// than `max` bytes.
Status name_bytes(const char *what, const std::string &s, size_t max);

}  // namespace stasis::images::validate
