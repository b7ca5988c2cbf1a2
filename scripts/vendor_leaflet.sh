#!/usr/bin/env bash
# Vendor Leaflet into the package from the npm registry's pinned release, with its licence,
# and record its version and checksums (VENDORED.md next to it). Run by a maintainer, never at
# run time: the pages fetch nothing from outside the service.
#   scripts/vendor_leaflet.sh [version]
set -euo pipefail
VERSION="${1:-1.9.4}"
cd "$(dirname "$0")/.."
DEST=src/walkwithme/web/static/vendor/leaflet
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "leaflet@${VERSION}" >/dev/null)
TARBALL="$WORK/leaflet-${VERSION}.tgz"
tar -xzf "$TARBALL" -C "$WORK"
mkdir -p "$DEST"
cp "$WORK/package/dist/leaflet.js" "$WORK/package/dist/leaflet.css" "$WORK/package/LICENSE" "$DEST/"
{
  echo "# Leaflet ${VERSION}, vendored"
  echo
  echo "From the npm registry: \`leaflet@${VERSION}\` (scripts/vendor_leaflet.sh). BSD-2-Clause: see LICENSE."
  echo
  echo "| file | sha256 |"
  echo "| --- | --- |"
  echo "| leaflet-${VERSION}.tgz (the npm tarball) | $(sha256sum "$TARBALL" | cut -d' ' -f1) |"
  for f in leaflet.js leaflet.css LICENSE; do
    echo "| ${f} | $(sha256sum "$DEST/$f" | cut -d' ' -f1) |"
  done
} > "$DEST/VENDORED.md"
echo "Leaflet ${VERSION} vendored into ${DEST}"
