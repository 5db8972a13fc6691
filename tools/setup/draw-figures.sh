#!/usr/bin/env bash
# Render the project's own figures img/*.svg to the JPEGs the decks show (img/*.jpeg), with
# headless Chromium at the size each SVG declares. Run after editing an SVG; commit both.
#   tools/setup/draw-figures.sh                 # every img/*.svg
#   tools/setup/draw-figures.sh img/sharing-layers.svg
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
chromium=${CHROME_PATH:-$(command -v chromium || true)}
if [ -z "$chromium" ]; then
  echo "draw-figures: Chromium is missing: run tools/setup/publish-deps.sh" >&2
  exit 1
fi
# The figures use the course fonts (NanumSquare, NanumGothicCoding), as the slides do.
if [[ $(fc-list : family) != *NanumSquare* ]]; then
  echo "draw-figures: the Nanum fonts are missing: run tools/setup/publish-deps.sh" >&2
  exit 1
fi

if [ $# -gt 0 ]; then svgs=("$@"); else svgs=("$repo"/img/*.svg); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for svg in "${svgs[@]}"; do
  svg=$(realpath "$svg")
  jpeg=${svg%.svg}.jpeg
  # width="W" height="H" of the root element: the window is exactly the drawing.
  size=$(grep -o -m1 '<svg[^>]*' "$svg" | sed -n 's/.* width="\([0-9]*\)" height="\([0-9]*\)".*/\1,\2/p')
  [ -n "$size" ] || { echo "draw-figures: $svg: no width/height on <svg>" >&2; exit 1; }
  # Chromium writes JPEG when the file name ends in .jpeg.
  HOME="$work" TMPDIR="$work" "$chromium" --headless --no-sandbox --disable-gpu \
    --hide-scrollbars --force-device-scale-factor=1 --user-data-dir="$work/profile" \
    --window-size="$size" --screenshot="$work/out.jpeg" "file://$svg" >"$work/log" 2>&1 \
    || { cat "$work/log" >&2; exit 1; }
  [ -s "$work/out.jpeg" ] || { cat "$work/log" >&2; exit 1; }
  mv "$work/out.jpeg" "$jpeg"
  echo "draw-figures: ${jpeg#"$repo"/} ($size, $(($(stat -c %s "$jpeg") / 1024)) KB)"
done
