#!/usr/bin/env bash
# Builds the downloads: for each runtime, SsePlugin.Host as one self-contained executable (the .NET runtime and every
# assembly inside; nothing to install first), zipped as SsePlugin-<version>-<runtime>.zip with appsettings.json,
# INSTALL.md, the deploy files for that system, the documentation and the README.
#
#   build/publish.sh [RUNTIME...] [--out DIR] [--version VERSION]
#
# RUNTIME: linux-x64, win-x64, linux-arm64 (default: all three). --out: where the zips go (default artifacts).
# --version: the version, instead of the one from git: a commit tagged v1.2.3 is 1.2.3; any other is the next patch
# after the latest such tag (0.1.0, Directory.Build.props' version, before the first), a pre-release counting the
# commits since it: 1.2.4-dev.7. The build adds the commit's hash to the informational version (1.2.4-dev.7+3f2a...).
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

# The version of this commit, from its tags (see above). A shallow clone without its tags counts wrong: fetch them.
version_from_git() {
  local tag base count
  if tag=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
    echo "${tag#v}"
    return
  fi
  if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null); then
    base=${tag#v}
    count=$(git rev-list --count "$tag..HEAD") || return
    # After a release comes the next patch; after a pre-release (v1.3.0-rc.1), the release it leads to.
    if [[ $base != *-* ]]; then
      IFS=. read -r major minor patch <<<"$base"
      base="$major.$minor.$((patch + 1))"
    fi
    echo "${base%%-*}-dev.$count"
  else
    base=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
    count=$(git rev-list --count HEAD) || return
    echo "$base-dev.$count"
  fi
}
if [ -z "$version" ]; then
  version=$(version_from_git) || { echo "No version from git (not a git clone?): give --version." >&2; exit 2; }
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
  cp deploy/INSTALL.md README.md "$stage/"
  [ ! -f LICENSE ] || cp LICENSE "$stage/"
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
