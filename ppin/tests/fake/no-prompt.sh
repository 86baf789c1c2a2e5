#!/bin/sh
# A "ppin" that never asks for the password.
echo run >> "$FAKE_RUNS"
printf '********************\nPrimus Permanent PIN\n********************\n'
sleep 30
