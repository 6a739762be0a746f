#!/usr/bin/env bash
# The main job: installs PostgreSQL when it is missing, then runs the quickstart example: a
# throwaway PostgreSQL cluster (wal_level=logical, in a temp dir, on loopback), a table with a
# snapshot and a workload of inserts, an update and a delete, captured by a Tidewater pipeline
# and printed as Debezium change events (indented JSON on stdout).
#
# Arguments are passed to the example, e.g.
#   bash scripts/run.sh --bootstrap-servers localhost:9092   # produce to Kafka instead
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$TW_REPO_ROOT"

bash scripts/setup.sh --postgres-only
exec cargo run -q -p tidewater-examples --example quickstart -- "$@"
