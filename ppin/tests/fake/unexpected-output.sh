#!/bin/sh
# A "ppin" whose output is not the documented one: it exits 0 saying nothing useful.
echo run >> "$FAKE_RUNS"
echo "hello, this is not ppin"
exit 0
