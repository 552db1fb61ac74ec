// timerfd_create(2): clock, flags, time left, interval and the expirations
// not read yet.
//
// Dump: the time left and interval come from timerfd_gettime(2) on a copy
// of the description (pidfd_getfd(2)); that call also folds the periods an
// interval timer missed into its tick count, which the target would have
// seen on its next read anyway. Then fdinfo's "ticks" is exact. Without
// pidfd_getfd (before 5.6) fdinfo alone is used: an interval timer that
// expired unread shows no time left there, and is rearmed one interval
// ahead (missed periods beyond the first are lost).
//
// Restore: the timer is armed with the time that was left, counted from
// the restore (time stands still while the process is checkpointed); an
// absolute timer (TFD_TIMER_ABSTIME, and so TFD_TIMER_CANCEL_ON_SET) is
// armed at now + that time on its clock, keeping its flags. The unread
// expirations are put back with TFD_IOC_SET_TICKS (needs
// CONFIG_CHECKPOINT_RESTORE); a kernel without it refuses the restore
// rather than lose them.
#pragma once

#include <sys/types.h>

#include "common/proc/fdinfo.h"
#include "common/util/result.h"
#include "images/files.pb.h"

namespace stasis::files {

Status describe_timerfd(pid_t pid, int fd, const proc::FdInfo &info, images::TimerfdFile *out);
// A new timerfd, armed and with its ticks (close-on-exec).
Result<int> open_timerfd(const images::TimerfdFile &t);

}  // namespace stasis::files
