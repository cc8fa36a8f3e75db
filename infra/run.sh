#!/bin/bash
# The streaming function's handler. The Lambda Web Adapter layer's /opt/bootstrap (the function's
# AWS_LAMBDA_EXEC_WRAPPER) runs $LAMBDA_TASK_ROOT/$_HANDLER, i.e. this script; the adapter then
# waits for GET $AWS_LWA_READINESS_CHECK_PATH on $AWS_LWA_PORT and relays every invocation to it.
# It is `aihub serve` minus its laptop conveniences (no generated secret file, no bootstrap admin
# key printed to the logs): the same ASGI app run by the same server, on loopback only.
set -euo pipefail
cd "${LAMBDA_TASK_ROOT:-$(dirname "$0")}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec python -m uvicorn chalicelib.fronts.asgi_front:create_app --factory \
    --host 127.0.0.1 --port "${AWS_LWA_PORT:-${PORT:-8080}}" \
    --no-access-log --log-level "${AIHUB_LOG_LEVEL:-warning}" --timeout-graceful-shutdown 5
