#!/usr/bin/env bash
# Vendor Swagger UI (for /docs) into the package from the npm registry's pinned release, with
# its licence, and record its version and checksums (VENDORED.md next to it). Run by a
# maintainer, never at run time: /docs fetches nothing from outside the service.
#   scripts/vendor_swagger_ui.sh [version]
set -euo pipefail
VERSION="${1:-5.31.0}"
cd "$(dirname "$0")/.."
DEST=src/walkwithme/web/static/vendor/swagger-ui
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "swagger-ui-dist@${VERSION}" >/dev/null)
TARBALL="$WORK/swagger-ui-dist-${VERSION}.tgz"
tar -xzf "$TARBALL" -C "$WORK"
rm -rf "$DEST"
mkdir -p "$DEST"
cp "$WORK/package/swagger-ui-bundle.js" "$WORK/package/swagger-ui.css" "$WORK/package/LICENSE" "$DEST/"
# The bundle names its source map; we don't ship the map, so don't name it.
sed -i '/^\/\/# sourceMappingURL=/d' "$DEST/swagger-ui-bundle.js" "$DEST/swagger-ui.css"
{
  echo "# Swagger UI ${VERSION}, vendored"
  echo
  echo "From the npm registry: \`swagger-ui-dist@${VERSION}\` (scripts/vendor_swagger_ui.sh), its"
  echo "source-map comments removed. Apache-2.0: see LICENSE."
  echo
  echo "| file | sha256 |"
  echo "| --- | --- |"
  echo "| swagger-ui-dist-${VERSION}.tgz (the npm tarball) | $(sha256sum "$TARBALL" | cut -d' ' -f1) |"
  for f in swagger-ui-bundle.js swagger-ui.css LICENSE; do
    echo "| ${f} | $(sha256sum "$DEST/$f" | cut -d' ' -f1) |"
  done
} > "$DEST/VENDORED.md"
echo "Swagger UI ${VERSION} vendored into ${DEST}"
