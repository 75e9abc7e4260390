#!/usr/bin/env bash
# Fuzzes every statement parser with cargo-fuzz (libFuzzer), each for SECONDS (default 600).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Targets: detect_and_parse, mt940, camt, csv (all when none are named). Runs on the stable
# toolchain without sanitizers (`--sanitizer none`), so it finds panics, hangs and
# out-of-memory, not undefined behaviour. Each target starts from its own corpus in
# crates/statement/fuzz/corpus/TARGET and, when the shared bank corpus is next to the
# repository, from those real files too. Crashes are written to crates/statement/fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")/../crates/statement"

seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(detect_and_parse mt940 camt csv)

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

bank_corpus=${DK_BANK_CORPUS:-../../../shared/corpus/bank}
for target in "${targets[@]}"; do
    seeds=()
    case "$target" in
        mt940) folders=(mt940 mt942) ;;
        camt) folders=(camt052 camt053 camt054) ;;
        csv) folders=(csv) ;;
        *) folders=(mt940 mt942 camt052 camt053 camt054 csv) ;;
    esac
    for folder in "${folders[@]}"; do
        [ -d "$bank_corpus/$folder" ] && seeds+=("$bank_corpus/$folder")
    done
    mkdir -p "fuzz/corpus/$target"
    echo "==> fuzzing $target for $seconds s"
    cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
done
