#!/usr/bin/env bash
# Runs the whole test suite. Installs the Debian packages the tests need when they are missing (python3-grpcio,
# python3-protobuf and protobuf-compiler for the interop tests; r-base-core and r-cran-rserve for the R tests;
# python3-numpy and python3-pandas for the Python tests; nginx, systemd's tools, zip and unzip, chromium, prometheus,
# nodejs and npm for the end-to-end tests), then runs every test project in Release.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || need+=(python3-grpcio python3-protobuf)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
command -v Rscript >/dev/null 2>&1 || need+=(r-base-core)
Rscript -e 'library(Rserve)' >/dev/null 2>&1 || need+=(r-cran-rserve)
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
/usr/bin/python3 -c 'import pandas' 2>/dev/null || need+=(python3-pandas)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v zip >/dev/null 2>&1 || need+=(zip)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} for the tests..."
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test SsePlugin.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?
passed=$(awk '/^ +Passed: +[0-9]+$/ {s += $2} END {print s + 0}' "$log")
failed=$(awk '/^ +Failed: +[0-9]+$/ {s += $2} END {print s + 0}' "$log")
if [ "$failed" -gt 0 ]; then
  # Repeated at the end, so that the tail of a long log names what failed and why.
  echo "Failed tests:"
  awk '/^  Failed / {show = 1; n = 0} /^  (Passed|Skipped) |^\[|^Test Run/ {show = 0}
       show && n++ < 40' "$log"
fi
echo "$passed passed, $failed failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
exit "$status"
