#!/usr/bin/env bash
# The engines the test suite needs beside Python, set up where missing (each step says what it does
# and is skipped when already done): Debian's docker.io and debootstrap (the Docker runner's tests
# and the offline image builder), Java 17 (openjdk-17-jre-headless: the JVM of the installed pyspark,
# which runs Glue's glueetl jobs), and a running Docker engine. `make test` runs this; so does CI,
# through `make test` alone. Needs root or sudo to install or start anything; says so otherwise.
set -euo pipefail

log="${MLHARBOR_DOCKERD_LOG:-/tmp/mlharbor-dockerd.log}"
say() { echo "engines: $*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo "$@"
    else
        say "need root (or password-less sudo) to run: $*" >&2
        say "install Debian's docker.io and debootstrap and start dockerd yourself, then rerun" >&2
        exit 1
    fi
}

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
# the console's browser tests drive Debian's Chromium headless (Playwright never downloads a browser here)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Spark 3.5 (Glue 5) runs on Java 17; an older or missing java gets Debian's headless JRE 17
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }
if ! command -v java >/dev/null || [ "$(java_major || true)" -lt 17 ] 2>/dev/null \
        || [ -z "$(java_major || true)" ]; then
    missing+=(openjdk-17-jre-headless)
fi
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    say "docker.io, debootstrap and Java $(java_major) present"
fi

if docker info >/dev/null 2>&1; then
    say "Docker engine running"
    exit 0
fi
say "starting dockerd (log: $log)"
as_root sh -c "nohup dockerd >'$log' 2>&1 &"
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        say "Docker engine running"
        exit 0
    fi
    sleep 1
done
say "dockerd did not start; the end of its log:" >&2
tail -n 50 "$log" >&2 || true
exit 1
