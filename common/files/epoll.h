// epoll instances and their watch lists.
//
// A watch is kept by the kernel as (file, fd number it was added with):
// EPOLL_CTL_MOD/DEL later name it by that number. fdinfo lists each as
// "tfd: N events: E data: D ...". The dump checks with kcmp(KCMP_EPOLL_TFD)
// that fd N of the task is still the watched file; a watch whose fd was
// closed (the watch lives on while the file is open elsewhere) cannot be
// added again, and is refused.
//
// The restore creates the instance with the other files and, once every fd
// of the first task holding it is in place, adds each watch with
// EPOLL_CTL_ADD, the same fd number, events and data. Readiness is
// evaluated afresh then: a level-triggered event still true is reported
// again; an edge-triggered one that was pending but unreported is reported
// if its condition still holds. A one-shot watch that already fired (its
// events show only EPOLLONESHOT and the like) comes back armed for
// EPOLLERR|EPOLLHUP, which the kernel adds to every EPOLL_CTL_ADD: it may
// report an error or hang-up the disarmed original would have kept quiet.
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/images/checkpoint.h"
#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

// The watches of epoll fd `fd` of pid, targets not resolved (file_id 0);
// refuses a watch whose fd is not that file in pid's table any more.
Result<std::vector<images::EpollWatch>> list_epoll_watches(pid_t pid, int fd, const proc::FdInfo &info);

// A new, empty epoll instance (close-on-exec).
Result<int> open_epoll(const images::EpollFile &e);

// In task `index` of cp, once its fds are at their numbers: adds the
// watches of every epoll instance this task is the first to hold.
Status add_epoll_watches(const images::Checkpoint &cp, size_t index);

}  // namespace stasis::files
