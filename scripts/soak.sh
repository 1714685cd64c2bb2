#!/bin/sh
# The fault soak: a seeded campaign of faults over backends x P x kinds (scripts/soak.ts).
#   scripts/soak.sh                      1000 runs, seed 1, sab and tcp, P in {2,4,8}, every kind
#   scripts/soak.sh --runs 30 --seed 7   a sample (npm test runs one: test/soak.test.ts)
cd "$(dirname "$0")/.." && exec node --import tsx scripts/soak.ts "$@"
