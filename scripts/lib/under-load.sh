# Sourced by scripts/test and the example check scripts.
#
# under_load COMMAND...: runs COMMAND; when SLUICE_UNDER_LOAD=1 (scripts/test sets it in CI
# and with --under-load), beside stress-ng keeping both cores busy. Only test runs go under
# load: the suite must hold on a machine doing other work (no test may block a thread of
# Swift's cooperative pool), while builds under load would only make CI slower.
under_load() {
    if [[ "${SLUICE_UNDER_LOAD:-}" != 1 ]]; then
        "$@"
        return
    fi
    stress-ng --cpu 2 --timeout 3600s >/dev/null 2>&1 &
    local hog=$! status=0
    "$@" || status=$?
    kill "$hog" 2>/dev/null || true
    wait "$hog" 2>/dev/null || true
    return "$status"
}

# timed DESCRIPTION COMMAND...: runs COMMAND and then prints how long it took, so that a
# CI log shows where its minutes went.
timed() {
    local description=$1 start=$SECONDS status=0
    shift
    "$@" || status=$?
    echo "time: $description took $((SECONDS - start)) s" >&2
    return "$status"
}
