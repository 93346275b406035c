#!/usr/bin/env bash
# Builds the downloads: for each runtime, SsePlugin.Host as one self-contained executable (the .NET runtime and every
# assembly inside; nothing to install first), zipped as SsePlugin-<version>-<runtime>.zip with appsettings.json,
# INSTALL.md, the deploy files for that system, the documentation, the README and LICENSE.
#
#   build/publish.sh [RUNTIME...] [--out DIR] [--version VERSION]
#
# RUNTIME: linux-x64, win-x64, linux-arm64 (default: all three). --out: where the zips go (default artifacts).
# --version: the version, instead of the one from git (build/version.sh: a commit tagged v1.2.3 is 1.2.3, any other a
# pre-release such as 1.2.4-dev.7). The build adds the commit's hash to the informational version (1.2.4-dev.7+3f2a...).
# The intermediate files go to artifacts/build, apart from those of `dotnet build`.
set -euo pipefail
repository=$(cd "$(dirname "$0")/.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

all=(linux-x64 win-x64 linux-arm64)
runtimes=()
out=$repository/artifacts
version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --version) version=${2:?--version needs a version}; shift 2 ;;
    linux-x64|win-x64|linux-arm64) runtimes+=("$1"); shift ;;
    *) echo "Unknown argument $1. Usage: build/publish.sh [linux-x64|win-x64|linux-arm64...] [--out DIR]" \
         "[--version VERSION]" >&2; exit 2 ;;
  esac
done
[ ${#runtimes[@]} -gt 0 ] || runtimes=("${all[@]}")
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$repository"

if [ -z "$version" ]; then
  version=$(build/version.sh) || { echo "No version from git (not a git clone?): give --version." >&2; exit 2; }
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for rid in "${runtimes[@]}"; do
  echo "SsePlugin $version for $rid"
  rm -rf "${stage:?}"/*
  # The line the README shows. The symbols go inside the assemblies (DebugType=embedded), so that a stack trace in
  # the log names files and lines; the csproj makes a runtime's build self-contained and one file.
  dotnet publish src/SsePlugin.Host -c Release -r "$rid" -p:Version="$version" -p:DebugType=embedded \
    --artifacts-path artifacts/build -o "$stage"
  cp deploy/INSTALL.md README.md LICENSE "$stage/"
  mkdir -p "$stage/docs" "$stage/deploy"
  cp docs/*.md "$stage/docs/"
  case "$rid" in
    win-*) cp -r deploy/windows "$stage/deploy/" ;;
    *) cp -r deploy/systemd "$stage/deploy/" ;;
  esac
  [ ! -d deploy/nginx ] || cp -r deploy/nginx "$stage/deploy/"
  zip="$out/SsePlugin-$version-$rid.zip"
  rm -f "$zip"
  (cd "$stage" && zip -qrX "$zip" .)
  echo "$zip"
done
