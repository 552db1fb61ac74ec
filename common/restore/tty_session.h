// Inside each restored process: its session's controlling terminal, when
// that is a pty the tree holds (common/files/tty.h).
#pragma once

#include "common/restore/child.h"
#include "common/util/result.h"

namespace stasis::restore {

// Runs after the task joined its session and process group (the root: and
// opened the tree's files), before it forks its children, so nothing else
// of its session exists yet when its leader takes the terminal:
//   - a session leader whose session had a pty as controlling terminal
//     takes it (TIOCSCTTY);
//   - the first task of the terminal's foreground group to exist makes it
//     the foreground group again (TIOCSPGRP, SIGTTOU blocked meanwhile);
//   - /dev/tty descriptions this task holds and has not inherited are
//     opened (its children inherit them).
Status restore_controlling_tty(ChildArgs &a);

}  // namespace stasis::restore
