#!/bin/sh
# A stand-in for the vendor's ppin that prints what the vendor's documentation
# prints: `ppin -l` replays the "ppin tool" page's sample ($FAKE_PPIN_SAMPLE)
# byte for byte, except the state of Partition-2, kept in $FAKE_PPIN_DIR/state
# (MISSING until an add). `-a` asks both passwords with echo off and ends
# with the padded, one-line-per-HSM list, as the vendor's add does. With
# $FAKE_PPIN_DIR/split present, hsm1's line of Partition-1 says MISSING:
# a redundant cluster whose HSMs disagree. Every run is logged to
# $FAKE_PPIN_DIR/runs.
dir="$FAKE_PPIN_DIR"
echo "$*" >> "$dir/runs"
action=""
target=""
while [ $# -gt 0 ]; do
    case "$1" in
        -c|-s) shift 2 ;;
        -l|-a|-r) action="$1"; shift ;;
        -e) target="$2"; shift 2 ;;
        *) echo "documented-ppin: unexpected argument $1" >&2; exit 2 ;;
    esac
done
state=$(cat "$dir/state" 2>/dev/null || echo MISSING)

listing() {
    if [ -e "$dir/split" ]; then
        split='s/^\[04\] slot-id 0:    user .Partition-1.   permanent secret: Configured$/[04] slot-id 0:    user '"'"'Partition-1'"'"'   permanent secret: MISSING/'
    else
        split='s/^$//'
    fi
    sed -e "s/user 'Partition-2'   permanent secret: Configured/user 'Partition-2'   permanent secret: $state/" \
        -e "$split" "$FAKE_PPIN_SAMPLE"
}

ask() {
    printf "Provide %s password for '%s': " "$1" "$target"
    stty -echo
    IFS= read -r answer
    stty echo
    echo
    [ -n "$answer" ] || { echo "no $1 password given" >&2; exit 1; }
}

case "$action" in
    -l) listing ;;
    -a)
        [ "$target" = "Partition-2" ] || { echo "0x80005012 user not found" >&2; exit 1; }
        printf '********************\nPrimus Permanent PIN\n********************\n'
        ask setup
        ask PKCS11
        echo Configured > "$dir/state"
        state=Configured
        listing
        ;;
    -r)
        echo MISSING > "$dir/state"
        state=MISSING
        printf '********************\nPrimus Permanent PIN\n********************\n'
        listing | grep "user '$target' "
        ;;
    *) echo "documented-ppin: no action" >&2; exit 2 ;;
esac
