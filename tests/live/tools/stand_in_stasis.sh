#!/usr/bin/env bash
# A stand-in for the stasis binary, for testing run-scenario.sh itself (the
# live.runner.* tests): it does to the target from outside what a dump or a
# restore would do to it, without checkpointing anything.
#
#   dump -t PID -D DIR ...      with STASIS_FAULT set: fails (exit 1, one
#                               line), or with STAND_IN_BREAK=stop leaves the
#                               target SIGSTOPped as a careless engine would;
#                               with --leave-running: writes DIR/inventory.img;
#                               otherwise: SIGKILLs PID, writes
#                               DIR/inventory.img and DIR/pages-1.img
#   restore -D DIR ...          with STASIS_FAULT set: fails (exit 1, one
#                               line), or with STAND_IN_BREAK=touch-images
#                               appends to an image first; otherwise: fails,
#                               since nothing was really dumped
set -uo pipefail

cmd=${1:-}
shift
pid='' dir='' leave=0
while [ $# -gt 0 ]; do
  case $1 in
    -t) pid=$2; shift ;;
    -D) dir=$2; shift ;;
    -o|--pidfile) shift ;;
    --leave-running) leave=1 ;;
  esac
  shift
done

case $cmd in
dump)
  if [ -n "${STASIS_FAULT:-}" ]; then
    [ "${STAND_IN_BREAK:-}" = stop ] && kill -STOP "$pid"
    echo "stand-in dump: injected failure at ${STASIS_FAULT} (PID $pid)" >&2
    exit 1
  fi
  echo inventory >"$dir/inventory.img"
  [ "$leave" = 1 ] && exit 0
  echo pages >"$dir/pages-1.img"
  kill -KILL "$pid"
  exit 0
  ;;
restore)
  [ "${STAND_IN_BREAK:-}" = touch-images ] && echo more >>"$dir/pages-1.img"
  echo "stand-in restore: ${STASIS_FAULT:-nothing was really dumped} ($dir)" >&2
  exit 1
  ;;
esac
echo "stand-in: unknown command '$cmd'" >&2
exit 2
