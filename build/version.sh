#!/usr/bin/env bash
# Prints the version of the commit checked out, from its tags: a commit tagged v1.2.3 is 1.2.3; any other is the next
# patch after the latest such tag (0.1.0, Directory.Build.props' version, before the first), a pre-release counting the
# commits since it: 1.2.4-dev.7. The downloads (build/publish.sh) and the NuGet packages (build/pack.sh) take it.
# A shallow clone without its tags counts wrong: fetch them. Fails outside a git clone.
set -euo pipefail
cd "$(dirname "$0")/.."
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
  echo "${tag#v}"
  exit 0
fi
if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null); then
  base=${tag#v}
  count=$(git rev-list --count "$tag..HEAD")
  # After a release comes the next patch; after a pre-release (v1.3.0-rc.1), the release it leads to.
  if [[ $base != *-* ]]; then
    IFS=. read -r major minor patch <<<"$base"
    base="$major.$minor.$((patch + 1))"
  fi
  echo "${base%%-*}-dev.$count"
else
  base=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
  count=$(git rev-list --count HEAD)
  echo "$base-dev.$count"
fi
