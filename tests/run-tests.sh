#!/usr/bin/env bash
# Runs the whole test suite. Installs the Debian packages the interop tests need when they are missing
# (python3-grpcio, python3-protobuf, protobuf-compiler), then runs every test project in Release.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || need+=(python3-grpcio python3-protobuf)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} for the interop tests..."
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

dotnet test SsePlugin.sln -c Release --logger "console;verbosity=normal" "$@"
