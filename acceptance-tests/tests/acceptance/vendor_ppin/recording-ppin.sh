#!/bin/sh
# Runs $REAL_PPIN with the given arguments, appending "start PID ARGS" and
# "end PID ARGS" to $PPIN_RUNS_LOG, so a test can see whether runs overlapped.
echo "start $$ $*" >> "$PPIN_RUNS_LOG"
"$REAL_PPIN" "$@"
rc=$?
echo "end $$ $*" >> "$PPIN_RUNS_LOG"
exit $rc
