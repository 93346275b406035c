#!/usr/bin/env bash
# Makes the NuGet packages of build/packages.slnf: SsePlugin.Abstractions, .Server, .JavaScript, .R, .Rserve,
# .FunctionsFile, .Client, .Testing and .Templates, each library with its symbols (.snupkg), all of one version:
# build/version.sh's, from the git tag. Not the host, the examples or the tests.
#
#   build/pack.sh [--out DIR] [--version VERSION]
#
# --out: where the packages go (default artifacts/packages). --version: the version, instead of the one from git.
set -euo pipefail
repository=$(cd "$(dirname "$0")/.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out=$repository/artifacts/packages
version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --version) version=${2:?--version needs a version}; shift 2 ;;
    *) echo "Unknown argument $1. Usage: build/pack.sh [--out DIR] [--version VERSION]" >&2; exit 2 ;;
  esac
done
cd "$repository"
if [ -z "$version" ]; then
  version=$(build/version.sh) || { echo "No version from git (not a git clone?): give --version." >&2; exit 2; }
fi
mkdir -p "$out"
# The projects are build/packages.slnf's. ContinuousIntegrationBuild: the paths in the symbols are the repository's, not
# this machine's (deterministic). The intermediate files go to artifacts/pack, apart from those of `dotnet build`.
dotnet pack build/packages.slnf -c Release -p:Version="$version" -p:ContinuousIntegrationBuild=true \
  --artifacts-path artifacts/pack -o "$out"
