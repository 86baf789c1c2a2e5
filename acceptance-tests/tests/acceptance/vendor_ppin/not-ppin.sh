#!/bin/sh
# A "ppin_command" that is no vendor-compatible ppin: no banner, no status
# lines. Each run is counted in $FAKE_PPIN_RUNS.
echo run >> "$FAKE_PPIN_RUNS"
echo "hello, this is not ppin"
exit 0
