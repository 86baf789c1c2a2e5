#!/bin/sh
# A vendor ppin that prints exactly what the vendor's pages print: `-v` and
# `--test` replay the documented samples of ppin/tests/vendor/test-report
# ($VENDOR_SAMPLES), `-l` lists DEMO-TEST as the permanent-secret page does.
# Each run's arguments are appended to $FAKE_PPIN_RUNS.
echo "$*" >> "$FAKE_PPIN_RUNS"
for arg in "$@"; do
  case "$arg" in
    -v) cat "$VENDOR_SAMPLES/ppin-tool-version.txt"; exit 0 ;;
    -t|--test) cat "$VENDOR_SAMPLES/troubleshooting.txt"; exit 0 ;;
    -l)
      printf '********************\nPrimus Permanent PIN\n********************\n'
      printf "[01] slot-id 2: user 'DEMO-TEST' permanent secret: Configured\n"
      exit 0 ;;
  esac
done
echo "documented-ppin: no documented sample for: $*" >&2
exit 1
