#!/usr/bin/env bash
# The main job: installs PostgreSQL when it is missing, then runs the live decoding example:
# a throwaway PostgreSQL cluster (wal_level=logical, in a temp dir, on loopback), a small
# workload, and its replication stream decoded to JSON and to change events.
#
# Extra arguments are passed to cargo (e.g. --release).
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$TW_REPO_ROOT"

bash scripts/setup.sh --postgres-only
exec cargo run -q -p tidewater-examples --example live_decode "$@"
