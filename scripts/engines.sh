#!/usr/bin/env bash
# The engines the test suite needs beside Python, set up where missing (each step says what it does
# and is skipped when already done): Debian's docker.io and debootstrap (the Docker runner's tests
# and the offline image builder), and a running Docker engine. `make test` runs this; so does CI,
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
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    say "docker.io and debootstrap present"
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
