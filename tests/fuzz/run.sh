#!/usr/bin/env bash
# Runs lockgate's cargo-fuzz targets: tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# Builds each target's seed corpus from the real fixtures (tests/fixtures, ../shared/data and
# lockgate.example.toml, by `lockgate::fuzz::Target::seeds`), builds the targets with the
# nightly toolchain (debug assertions on, so overflow is a crash too), runs every target
# (default: all) for SECONDS (default 600) at the lowest priority, FUZZ_JOBS at a time
# (default 2), with libFuzzer stopping an input at 10 s and the process at 2 GiB (in fork
# mode, so one finding does not end the run: every crash, OOM and hang is kept), and prints
# per target: executions, coverage, features, corpus size and what was found.
# Corpora, logs and findings stay in tests/fuzz/{corpus,logs,artifacts}/ (not committed).
set -euo pipefail

seconds=${1:-600}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
jobs=${FUZZ_JOBS:-2}
all=(npm yarn pnpm bun requirements poetry uv pdm pipfile pylock composer projects config osv_record osv_batch export_zip export_csv ci_file)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

echo "== seeds"
seed_roots=("$repo/tests/fixtures" "$repo/lockgate.example.toml")
[ -d "$repo/../shared/data" ] && seed_roots+=("$repo/../shared/data")
nice -n 19 cargo run --quiet --release --manifest-path "$here/Cargo.toml" --bin seed-corpus -- \
    "$here/corpus" "${seed_roots[@]}"

echo "== build"
(cd "$repo" && nice -n 19 cargo +nightly fuzz build --fuzz-dir tests/fuzz --debug-assertions)

mkdir -p "$here/logs"
run_one() {
    local target=$1
    mkdir -p "$here/artifacts/$target"
    (cd "$repo" && nice -n 19 cargo +nightly fuzz run --fuzz-dir tests/fuzz --debug-assertions "$target" \
        -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
        > "$here/logs/$target.log" 2>&1)
    echo "$?" > "$here/logs/$target.status"
}

echo "== fuzz: ${targets[*]} for ${seconds}s each, $jobs at a time"
running=0
for target in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    echo "$(date -u +%H:%M:%S) start $target"
    run_one "$target" &
    running=$((running + 1))
done
wait || true

echo "== summary"
printf '%-13s %12s %8s %8s %8s %7s  %s\n' target executions cov ft corpus status findings
for target in "${targets[@]}"; do
    log="$here/logs/$target.log"
    # Fork mode's progress lines: `#EXECS: cov: C ft: F corp: N ...`; the last one is the total.
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(echo "$last" | grep -oE '^#[0-9]+' | tr -d '#' || true)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || true)
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || true)
    corp=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*' || true)
    status=$(cat "$here/logs/$target.status" 2>/dev/null || echo "?")
    findings=$(ls "$here/artifacts/$target" 2>/dev/null | grep -E '^(crash|oom|timeout|leak|slow-unit)-' | tr '\n' ' ' || true)
    printf '%-13s %12s %8s %8s %8s %7s  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$status" "${findings:-none}"
done
