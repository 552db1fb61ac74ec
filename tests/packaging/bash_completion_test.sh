#!/usr/bin/env bash
# The generated bash completion, driven as bash-completion drives it:
# commands, options per command (from the option tables), option values by
# kind, `stasis image` subcommands, and a completer for every value name the
# tables use. Skips (77) without bash-completion installed.
#
#   bash_completion_test.sh BUILD_DIR/completions/stasis
set -uo pipefail
script=$(realpath "$1")
framework=/usr/share/bash-completion/bash_completion
if [ ! -f "$framework" ]; then
  echo "bash-completion is not installed; skipping"
  exit 77
fi
# shellcheck disable=SC1090
source "$framework"
# shellcheck disable=SC1090
source "$script"

passed=0
failed=0
# complete WORD... : what completing the last WORD (may be empty) offers.
complete_words() {
  COMP_WORDS=(stasis "$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _stasis stasis "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort
}
# expect "description" "words..." -- wanted...   (each wanted must be offered)
expect() {
  local what=$1 words=() want=() seen=0
  shift
  for a in "$@"; do
    if [ "$a" = -- ]; then seen=1; continue; fi
    if [ $seen = 0 ]; then words+=("$a"); else want+=("$a"); fi
  done
  local got
  got=$(complete_words "${words[@]}")
  for w in "${want[@]}"; do
    if ! grep -qxF -- "$w" <<<"$got"; then
      echo "FAILED: $what: 'stasis ${words[*]}' does not offer '$w' (offers: $(echo $got))" >&2
      failed=$((failed + 1))
      return
    fi
  done
  passed=$((passed + 1))
}
expect_none() {
  local what=$1
  shift
  local got
  got=$(complete_words "$@")
  if [ -n "$got" ]; then
    echo "FAILED: $what: 'stasis $*' offers $(echo $got)" >&2
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
}

cd "$(mktemp -d)" || exit 1
mkdir ckpt && touch file.log

expect "commands" "" -- dump pre-dump restore check lazy-pages page-server image help
expect "a command by prefix" du -- dump
expect "dump's own options" dump --t -- --tree --track-mem
expect "common options after a command" restore - -- -D --images-dir --log-file --verbosity --help -o
expect "options after leading common options (criu style)" -v4 dump --leave -- --leave-running
expect "file validation modes" dump --file-validation "" -- size build-id checksum
expect "file validation modes after =" restore --file-validation=b -- build-id
expect "directories for -D" restore -D "" -- ckpt
expect "files for --log-file" dump --log-file f -- file.log
expect "PIDs for -t" dump -t "" -- "$$"
expect "image subcommands" image "" -- decode encode show
expect "image decode options" image decode --p -- --pretty
expect "commands after help" help "" -- dump image
expect_none "no PID offered for a flag's next word" check --json ""

# Every value name in the tables has a completer (a new option with a new
# value name must get one).
values=$(declare -f _stasis_table_value | sed -n 's/.*echo \([A-Z][A-Z]*\).*/\1/p' | sort -u)
completer=$(declare -f _stasis_complete_value)
for v in $values; do
  if grep -qE "(^|[ |(])$v( |\)|\|)" <<<"$completer"; then passed=$((passed + 1)); else
    echo "FAILED: _stasis_complete_value has no case for value name $v" >&2
    failed=$((failed + 1))
  fi
done

echo "bash completion: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
