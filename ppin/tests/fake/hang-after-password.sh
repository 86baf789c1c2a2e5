#!/bin/sh
# A "ppin" that takes the password and then never finishes.
echo run >> "$FAKE_RUNS"
printf '********************\nPrimus Permanent PIN\n********************\n'
eval user=\${$#}
printf "Provide proxy password for '%s' : " "$user"
stty -echo
read -r password
stty echo
echo
sleep 30
