#!/usr/bin/env bash
# Installs dependencies, builds stasis for this machine and shows the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/deps.sh
ci/build.sh "$(uname -m)"
bin=build/$(uname -m)/stasis
echo
echo "== $bin --version"
"$bin" --version
echo
echo "== $bin check"
"$bin" check || true
