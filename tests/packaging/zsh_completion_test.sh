#!/usr/bin/env bash
# The generated zsh completion parses (zsh -n), defines a completer for
# every value name its option specifications call, and has specifications
# for every command it offers. Skips (77) without zsh.
#
#   zsh_completion_test.sh BUILD_DIR/completions/_stasis
set -uo pipefail
script=$1
if ! command -v zsh >/dev/null; then
  echo "zsh is not installed; skipping"
  exit 77
fi
passed=0
failed=0
if zsh -n "$script"; then passed=$((passed + 1)); else
  echo "FAILED: zsh -n $script" >&2; failed=$((failed + 1)); fi
head -1 "$script" | grep -qx '#compdef stasis' && passed=$((passed + 1)) ||
  { echo "FAILED: first line is not '#compdef stasis'" >&2; failed=$((failed + 1)); }

# Load the functions without running the completion (the file's last line
# calls _stasis, which only works inside the completion system), then ask
# zsh itself what is defined.
report=$(zsh -f -c '
  source <(sed "\$d" "$1")
  for c in ${_stasis_table_commands%%:*}; do
    reply=()
    _stasis_table_arguments $c
    (( $#reply )) || print "no-specs $c"
    for spec in $reply; do
      [[ $spec == *:_stasis_value_* ]] || continue
      fn=${spec##*:}
      (( $+functions[$fn] )) || print "undefined $fn"
    done
  done
  print commands ${#_stasis_table_commands}
' _ "$script" 2>&1)
if grep -q '^commands [1-9]' <<<"$report"; then passed=$((passed + 1)); else
  echo "FAILED: no commands in the tables: $report" >&2; failed=$((failed + 1)); fi
while read -r what name; do
  case $what in
  no-specs) echo "FAILED: no option specifications for $name" >&2; failed=$((failed + 1)) ;;
  undefined) echo "FAILED: $name is called but not defined" >&2; failed=$((failed + 1)) ;;
  commands) ;;
  *) echo "FAILED: zsh said: $what $name" >&2; failed=$((failed + 1)) ;;
  esac
done <<<"$report"
echo "zsh completion: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
