#!/bin/sh
# A "ppin" that starts a process ignoring SIGHUP (as a careless helper of a
# tool might), prints its PID, and never asks for anything.
echo run >> "$FAKE_RUNS"
(trap '' HUP; exec sleep 300) &
echo "grandchild $!"
sleep 300
