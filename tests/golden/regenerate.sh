#!/usr/bin/env bash
# Regenerates the golden JSON files from the reference libraries. Needs python3 and PyPI; the
# Rust tests only read the committed JSON.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${GOLDEN_VENV:-$here/.venv}
python3 -m venv "$venv/stats"
"$venv/stats/bin/pip" install -q scipy statsmodels
"$venv/stats/bin/python" "$here/generate.py"
"$venv/stats/bin/python" "$here/generate_ratio.py"
# gbstats pins an old pandas: its own environment.
python3 -m venv "$venv/gbstats"
"$venv/gbstats/bin/pip" install -q gbstats
"$venv/gbstats/bin/python" "$here/generate_gbstats.py"
