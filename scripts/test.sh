#!/usr/bin/env bash
# The project's test command: installs what is missing (scripts/setup.sh), then runs
# formatting, lints, the test suite against the default PostgreSQL, the PostgreSQL integration
# tests again against each extra PostgreSQL major from npm, and the docs build.
#
# Extra majors: $TIDEWATER_PG_MAJORS (space separated, default "18").
# Every step runs even after a failure; the script exits non-zero if any step failed.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$TW_REPO_ROOT"

read -r -a PG_MAJORS <<<"${TIDEWATER_PG_MAJORS:-18}"

bash scripts/setup.sh "${PG_MAJORS[@]}"

# Make a tansu installed by `cargo install` visible to the tests even when ~/.cargo/bin is not
# on PATH.
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"

failed=()
step() {
    local name="$1"
    shift
    tw_log "== $name"
    local began=$SECONDS
    if "$@"; then
        tw_log "== $name: ok ($((SECONDS - began)) s)"
    else
        tw_log "== $name: FAILED ($((SECONDS - began)) s)"
        failed+=("$name")
    fi
}

step "cargo fmt" cargo fmt --all --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
step "cargo test (default PostgreSQL)" cargo test --workspace
# The packages whose integration tests run against PostgreSQL (the examples' tests include
# the fault tests: crash loop, broker outage, database restart); the broker-only ones ran above.
PG_PACKAGES=(-p tidewater-pgoutput -p tidewater-postgres -p tidewater-testkit -p tidewater
    -p tidewater-examples)
for major in "${PG_MAJORS[@]}"; do
    step "cargo test --test '*' (PostgreSQL $major)" \
        env TIDEWATER_PG_BIN="$(tw_pg_dir "$major")/bin" cargo test "${PG_PACKAGES[@]}" --test '*'
done
step "cargo doc" env RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps
# The fuzz targets are their own workspace (run with cargo-fuzz on nightly); keep them compiling.
step "fuzz targets compile" cargo check --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-check

if [[ ${#failed[@]} -gt 0 ]]; then
    tw_log "failed steps: ${failed[*]}"
    exit 1
fi
tw_log "all steps passed"
