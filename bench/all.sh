#!/usr/bin/env bash
# Every benchmark in turn (npm run bench), each printing what it ran, both tools' figures and the ratio. The
# machines are shared and noisy: the ratios within one run are what hold. live needs root; the others do not.
set -u
cd "$(dirname "$0")/.."
status=0
for b in replay memory live receiver; do
  if [ "$b" = live ] && [ "$(id -u)" != 0 ]; then
    echo; echo "== live: skipped (needs root for a network namespace) =="; continue
  fi
  node_modules/.bin/tsx "bench/$b.ts" || status=1
done
exit $status
