#!/usr/bin/env bash
# The quality–cost front's runs beyond eval/class (scripts/eval-class.sh): v1/v2 settings that
# spend their U-Net rows differently, each N = 500, 3 seeds, DPM-Solver++(2M), eta = 0, the
# crate's classifier; then the table and plot (scripts/front.py) over both.
# Usage: scripts/front.sh [OUT]   (default eval/front; a run whose eval.csv exists is kept)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/eval-lanes.sh "${1:-eval/front}"
ev() { local out=$1; shift; resumable "$out" --n 500 --seeds 3 --eta 0 --solver dpmpp-2m "$@"; }
# The runs before --copies steered the paper's copies (all of a row's copies but the first).
# v2 steered by the conditional U-Net (classifier-free guidance after the fan-out): the fan-out's
# early steps have few rows, so guiding them is cheap. Under the paper's step rule (steps
# i < steps/2 + 1) at 10 steps it spends 48 % of classifier-free guidance's rows.
ev v2-cfg-paper --methods v2-conditional --steps 10,5 --paper-rule --strength 3 --copies paper
# Guided at every step (fade 0): 36 % of classifier-free guidance's rows at 5 steps.
ev v2-cfg --methods v2-conditional --steps 5 --fade 0 --strength 3 --copies paper
# The same at strength 4: more of the class and a lower Fréchet distance (strengths 2–6 screened
# on one seed; 4–5 lead).
ev v2-cfg-s4 --methods v2-conditional --steps 5 --fade 0 --strength 4 --copies paper
# Classifier-free guidance at that strength too, so that each is compared with the other's best.
ev cfg-s4 --methods v1-conditional --steps 5 --fade 0 --strength 4
# Every copy steered (the default since): no image takes an unguided step at the fan-out,
# for 310 more U-Net rows at 5 steps (42 % of guidance's).
ev v2-cfg-all --methods v2-conditional --steps 5 --fade 0 --strength 4 --copies all
ev v2-cfg-all-s3 --methods v2-conditional --steps 5 --fade 0 --strength 3 --copies all
# The guide steering every copy: no more U-Net rows.
ev guide-v2-all --methods v2 --steps 10,5 --steering guide --fade 4 --copies all
ev guide-v2-all-20 --methods v2 --steps 20 --steering guide --fade 4 --copies all
front_runs=(eval/class/cfg eval/class/conditional eval/class/guide-v1 eval/class/guide-v2
  eval/class/guide-v2-fan-eta025 "$OUT"/*/)
python3 scripts/front.py "${front_runs[@]}" --md docs/front.md --plot docs/front.png
echo "→ docs/front.md, docs/front.png"
