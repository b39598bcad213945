#!/usr/bin/env bash
# The README's "Seeing inside" images and the accuracy stated under them: trains LeNet-5 for 3 epochs on the
# bundled digits, draws filters, feature maps, Grad-CAM and the confusion matrix of that run with `tsgrad viz`
# on test/fixtures/digit-7.png into docs/images/, and saves the run's result.json as
# bench/results/<date>-readme-images-train.json (the README's source marker points at it).
#   npm run build && bash scripts/make-readme-images.sh
set -euo pipefail
cd "$(dirname "$0")/.."
run=$(mktemp -d /tmp/tsgrad-readme-images-XXXXXX)
node dist/src/cli/main.js train --epochs 3 --seed 0 --out "$run/run" --json | tail -1
node dist/src/cli/main.js viz --checkpoint "$run/run" --input test/fixtures/digit-7.png --out "$run/viz"
ls "$run/viz"
cp "$run/viz/filters.png" docs/images/filters.png
cp "$run/viz/gradcam.png" docs/images/gradcam.png
cp "$run/viz/confusion.png" docs/images/confusion.png
cp "$run/viz/features-features.0.png" docs/images/feature-maps.png
mkdir -p bench/results
out="bench/results/$(date -u +%F)-readme-images-train.json"
cp "$run/run/result.json" "$out.tmp" && mv "$out.tmp" "$out"
echo "saved $out"
