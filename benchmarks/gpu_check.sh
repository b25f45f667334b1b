#!/usr/bin/env bash
# The GPU checks of issue 17 in one go, sized to finish within 8 minutes on one H200:
#   1. pytest -m gpu                (CPU-vs-GPU simulation, MTCNN and a whole run)
#   2. benchmarks/throughput.py     (harness per stage vs stock facenet-pytorch vs embedding bound)
#   3. a slice of configs/experiments/large.toml (--limit probes per condition, all 250 conditions)
# then prints one table. Each step has its own time limit, so a slow step cannot starve the
# others; a step that fails or runs out of time is shown as such and the others still run.
#
# Usage (from anywhere; runs in the repository):  bash benchmarks/gpu_check.sh
# Knobs (environment): DEVICE (cuda), PYTHON (.venv/bin/python, else python3), OUT (where the
# logs and the run go; default gpu-check-out), PROBES / BATCH / ROUNDS (throughput.py: 2048 /
# 512 / 1), LARGE_LIMIT (probes per condition of the large slice: 16, i.e. 4,000
# probe-conditions), and the step limits PYTEST_S / THROUGHPUT_S / LARGE_S (130 / 130 / 190 s:
# 450 s, leaving half a minute for the rest).
# On a CPU, for a check of the script itself:
#   DEVICE=cpu PROBES=16 BATCH=8 LARGE_LIMIT=1 bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."

DEVICE="${DEVICE:-cuda}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
OUT="${OUT:-gpu-check-out}"
PROBES="${PROBES:-2048}"
BATCH="${BATCH:-512}"
ROUNDS="${ROUNDS:-1}"
LARGE_LIMIT="${LARGE_LIMIT:-16}"
PYTEST_S="${PYTEST_S:-130}"
THROUGHPUT_S="${THROUGHPUT_S:-130}"
LARGE_S="${LARGE_S:-190}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

rm -rf "$OUT/large"
mkdir -p "$OUT"
declare -a ROWS=()

# step NAME LIMIT_S COMMAND...: run COMMAND under a time limit, its output in $OUT/NAME.log;
# appends "NAME|status|wall s" to ROWS.
step() {
    local name="$1" limit="$2"
    shift 2
    echo "== $name (limit ${limit} s): $*" >&2
    local start=$SECONDS code status
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    code=$?
    case $code in
        0) status="ok" ;;
        124|137) status="TIMED OUT" ;;
        *) status="FAILED (exit $code)" ;;
    esac
    ROWS+=("$name|$status|$((SECONDS - start))")
    tail -n 3 "$OUT/$name.log" >&2
}

"$PYTHON" -c "import torch; print('device:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device', '| torch', torch.__version__)" | tee "$OUT/device.log"

step "pytest -m gpu" "$PYTEST_S" "$PYTHON" -m pytest -m gpu -q -p no:cacheprovider
step "throughput.py" "$THROUGHPUT_S" "$PYTHON" benchmarks/throughput.py --device "$DEVICE" \
    --probes "$PROBES" --batch "$BATCH" --rounds "$ROUNDS" --no-scaling
"$PYTHON" benchmarks/experiment_size.py configs/experiments/large.toml --limit "$LARGE_LIMIT" >"$OUT/large-size.log"
step "large slice" "$LARGE_S" "$PYTHON" -c "from evalharness.cli import run_cli; run_cli()" \
    --quiet run configs/experiments/large.toml --out "$OUT/large" --device "$DEVICE" \
    --limit "$LARGE_LIMIT" --no-report

# One table: each step's status and time, then its figures.
{
    echo
    echo "GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), $(cat "$OUT/device.log"), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    printf '%-16s %-20s %7s  %s\n' step status "wall s" figures
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name status wall <<<"$row"
        case $name in
            "pytest -m gpu") figures=$(grep -E '(passed|failed|skipped|error)' "$OUT/$name.log" | tail -n 1) ;;
            "throughput.py") figures=$(grep -E '^(stock facenet-pytorch end to end|harness end to end)|^harness speed' "$OUT/$name.log" | tr -s ' ' | paste -sd ';' -) ;;
            "large slice") figures="$(cat "$OUT/large-size.log")" ;;
        esac
        printf '%-16s %-20s %7s  %s\n' "$name" "$status" "$wall" "$figures"
    done
    echo
    echo "throughput.py, per stage (wall s, faces/s):"
    grep -E '^(harness |embedding-only|stock|stock:)' "$OUT/throughput.py.log" || echo "  (no table: see $OUT/throughput.py.log)"
    echo
    echo "large slice, per stage (the run's own measure, $OUT/large/run.log):"
    if ! grep -E 'throughput: ' "$OUT/large/run.log" 2>/dev/null | sed 's/.*throughput: /  /'; then
        # Cut short: how far it got, from the run's log of each finished condition.
        finished=$(grep -c ' probes, .* s into the run' "$OUT/large/run.log" 2>/dev/null)
        last=$(grep -o '[0-9.]* s into the run' "$OUT/large/run.log" 2>/dev/null | tail -n 1)
        echo "  not finished: ${finished:-0} conditions of the slice done, the last ${last:-?} (see $OUT/large slice.log)"
    fi
} | tee "$OUT/table.txt"
