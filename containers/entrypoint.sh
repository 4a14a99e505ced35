#!/bin/sh
# The entry of every built-in image: SageMaker starts training containers as `docker run IMAGE train`
# and serving ones as `docker run IMAGE serve`; a processing job without ContainerEntrypoint runs the
# image's default program. Each built-in names its Python modules in MLHARBOR_*_MODULE (set by its
# Dockerfile). Invoked as `train`/`serve` (links on PATH), it runs that program directly.
set -eu
program=$(basename "$0")
if [ "$program" = "mlharbor-entry" ]; then
    if [ "$#" -gt 0 ]; then program=$1; shift; else program=process; fi
fi
case "$program" in
    train) exec python3 -m "$MLHARBOR_TRAIN_MODULE" "$@" ;;
    serve)
        if [ -z "${MLHARBOR_SERVE_MODULE:-}" ]; then
            echo "this image does not serve models (no serve program)" >&2
            exit 2
        fi
        exec python3 -m "$MLHARBOR_SERVE_MODULE" "$@" ;;
    process) exec python3 -m "$MLHARBOR_PROCESS_MODULE" "$@" ;;
    -*) exec python3 -m "$MLHARBOR_PROCESS_MODULE" "$program" "$@" ;;
    *) exec "$program" "$@" ;;
esac
