#!/bin/sh
# A "ppin" that fails as the vendor's does on a wrong setup password.
echo run >> "$FAKE_RUNS"
printf '********************\nPrimus Permanent PIN\n********************\n'
echo "ppin: error: setup password refused by the HSM (0x80005017)" >&2
exit 1
