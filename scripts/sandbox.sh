#!/usr/bin/env bash
# Local AWS + GitHub sandbox for the e2e tests and the demo (see DESIGN.md, "The local sandbox").
#
#   bash scripts/sandbox.sh up       start everything (idempotent; a second run reuses what runs)
#   bash scripts/sandbox.sh down     stop what `up` started, remove leftover Lambda containers
#   bash scripts/sandbox.sh env      print the `export` lines (source <(bash scripts/sandbox.sh env))
#   bash scripts/sandbox.sh status   show what runs (exit 3 when something is not up)
#
# What `up` provides:
#   - a Docker engine (the running one, or dockerd started here; docker.io installed if missing)
#   - local images built from a debootstrapped Debian bookworm (no registry needed):
#       lmd-sandbox/build-python3.11:latest  (also tagged public.ecr.aws/sam/build-python3.11:latest-x86_64)
#       lmd-sandbox/lambda-runtime:python3.11-<content hash> (moto's Lambda containers) and `busybox` (moto's helper)
#   - moto_server on 127.0.0.1 running Lambda invokes in those containers, seeded with the IAM roles
#     `lambda-ml-deploy-exec` and `github-deploy` and the bucket `lmd-sandbox-artifacts`
#   - docker-registry on 127.0.0.1 (Debian's package): stands in for the ECR registry endpoint; the
#     runtime image is pushed into it as the base image of image functions
#   - scripts/sandbox/github-server.mjs on 127.0.0.1: the runner's OIDC token endpoint and the
#     GitHub REST API subset for PR comments
#   - .sandbox/env.json and .sandbox/env with the variables that point clients at all of this
# Everything runs non-interactively (CI=true, no stdin); root is needed to install packages,
# run debootstrap and start dockerd.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/scripts/sandbox"
STATE="$ROOT/.sandbox"

RUNTIME=python3.11
REGION=us-east-1
BASE_IMAGE=lmd-sandbox/debian-base:bookworm
BUILD_IMAGE=lmd-sandbox/build-python3.11:latest
SAM_BUILD_IMAGE=public.ecr.aws/sam/build-python3.11:latest-x86_64
RUNTIME_REPO=lmd-sandbox/lambda-runtime
# Tagged by its content (set by ensure_images): worktrees sharing one Docker engine can run
# different bootstraps side by side without retagging each other's image.
RUNTIME_IMAGE=""
DEBIAN_SUITE=bookworm
DEBIAN_PACKAGES=python3,python3-pip
MOTO_REQUIREMENT='moto[server,awslambda]==5.2.1'
LABEL_HASH=lmd.sandbox.hash
LABEL_ROLE=lmd.sandbox.role
PY=""
# moto_server with Lambda-in-Docker needs these; find_spec is quick (importing moto.server takes ~1 s).
# Prints the interpreter's real path (not a pyenv shim) when it has them.
HAS_MOTO='import importlib.util as u, sys; ok = all(u.find_spec(m) for m in ("moto", "flask", "docker", "boto3")); print(sys.executable) if ok else sys.exit(1)'

log() { printf '[sandbox] %s\n' "$*" >&2; }
die() { printf '[sandbox] error: %s\n' "$*" >&2; exit 1; }
now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1fs", b - a }'; }
sha() { sha256sum | cut -c1-16; }
need_root() { [[ $(id -u) -eq 0 ]] || die "$1 needs root (run as root, e.g. in CI, or start it yourself first)"; }

# ---------------------------------------------------------------- processes

# pid_matches PIDFILE PATTERN: the pid in PIDFILE is alive and its command line contains PATTERN.
pid_matches() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2"
}

# spawn PIDFILE LOGFILE COMMAND...: start COMMAND in its own session, detached from this shell.
spawn() {
  local pidfile=$1 logfile=$2
  shift 2
  # 9>&-: the child must not inherit (and so hold) the sandbox lock.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  local waited=0
  while [[ ! -s $pidfile ]] && ((waited < 50)); do sleep 0.1; waited=$((waited + 1)); done
  [[ -s $pidfile ]] || die "could not start $1 (see $logfile)"
}

# stop_pidfile NAME PIDFILE PATTERN TIMEOUT_S: TERM the process (if it is ours), KILL after TIMEOUT_S.
stop_pidfile() {
  local name=$1 pidfile=$2 pattern=$3 timeout=$4 pid waited=0
  if ! pid_matches "$pidfile" "$pattern"; then
    [[ -f $pidfile ]] && log "$name: not running (stale pid file removed)"
    rm -f "$pidfile"
    return 0
  fi
  pid=$(<"$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((waited < timeout * 10)); do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still running after ${timeout}s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$pidfile"
  log "$name: stopped (pid $pid)"
}

# wait_until TIMEOUT_S PIDFILE PATTERN WHAT LOGFILE COMMAND...: poll COMMAND until it succeeds;
# returns 1 (with the log's tail shown) when the process exits or the time runs out.
wait_until() {
  local timeout=$1 pidfile=$2 pattern=$3 what=$4 logfile=$5 tries=0
  shift 5
  until "$@" >/dev/null 2>&1; do
    if ! pid_matches "$pidfile" "$pattern"; then
      tail -n 20 "$logfile" >&2 || true
      log "$what exited while starting (log: ${logfile#"$ROOT"/})"
      return 1
    fi
    tries=$((tries + 1))
    if ((tries > timeout * 4)); then
      tail -n 20 "$logfile" >&2 || true
      log "$what did not answer within ${timeout}s (log: ${logfile#"$ROOT"/})"
      return 1
    fi
    sleep 0.25
  done
}

wait_for() { wait_until "$@" || die "$4 could not be started"; }

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# http_answers URL: any HTTP response (even 4xx/5xx) counts as "the server answers".
http_answers() {
  "$PY" - "$1" <<'EOF'
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
EOF
}

# ---------------------------------------------------------------- packages

apt_install() {
  need_root "installing $*"
  command -v apt-get >/dev/null || die "$* missing and apt-get is not available: install them first"
  log "installing $* with apt-get"
  local attempt
  for attempt in 1 2 3; do
    if DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update >>"$STATE/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 install "$@" >>"$STATE/apt.log" 2>&1; then
      return 0
    fi
    log "apt-get failed (attempt $attempt/3), retrying in $((attempt * 10))s"
    sleep $((attempt * 10))
  done
  tail -n 20 "$STATE/apt.log" >&2 || true
  die "apt-get install $* failed 3 times (log: .sandbox/apt.log)"
}

# A Python that can run moto_server (moto + docker + boto3); a venv with moto when there is none.
ensure_python() {
  local candidate
  for candidate in ${SANDBOX_PYTHON:-} python3 python "$STATE/venv/bin/python"; do
    if command -v "$candidate" >/dev/null 2>&1 && PY=$("$candidate" -c "$HAS_MOTO" 2>/dev/null) && [[ -n $PY ]]; then
      return 0
    fi
  done
  command -v python3 >/dev/null || apt_install python3 python3-pip python3-venv
  log "moto is not installed: creating .sandbox/venv with $MOTO_REQUIREMENT"
  python3 -m venv "$STATE/venv" >>"$STATE/pip.log" 2>&1 || {
    apt_install python3-venv
    python3 -m venv "$STATE/venv" >>"$STATE/pip.log" 2>&1 || die "python3 -m venv failed (log: .sandbox/pip.log)"
  }
  local attempt
  for attempt in 1 2 3; do
    if "$STATE/venv/bin/python" -m pip install -q "$MOTO_REQUIREMENT" >>"$STATE/pip.log" 2>&1; then
      PY="$STATE/venv/bin/python"
      return 0
    fi
    log "pip install failed (attempt $attempt/3)"
    sleep $((attempt * 5))
  done
  tail -n 20 "$STATE/pip.log" >&2 || true
  die "could not install $MOTO_REQUIREMENT (log: .sandbox/pip.log); install it into python3 or set SANDBOX_PYTHON"
}

# ---------------------------------------------------------------- docker engine

docker_ready() { docker info >/dev/null 2>&1; }

# docker_answers_within SECONDS: true once `docker info` answers (an engine that is starting up).
docker_answers_within() {
  local tries=0
  until docker_ready; do
    tries=$((tries + 1))
    ((tries <= $1 * 4)) || return 1
    sleep 0.25
  done
}

ensure_docker() {
  if command -v docker >/dev/null && docker_ready; then
    if pid_matches "$STATE/dockerd.pid" dockerd; then
      log "docker: running (started by the sandbox, pid $(<"$STATE/dockerd.pid"))"
    else
      rm -f "$STATE/dockerd.pid"
      log "docker: using the running engine"
    fi
    return 0
  fi
  if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
    apt_install docker.io
    # The package may have started the engine itself (systemd hosts): use that one.
    if docker_answers_within 10; then
      log "docker: using the engine the docker.io package started"
      return 0
    fi
  fi
  need_root "starting dockerd"
  if ! pid_matches "$STATE/dockerd.pid" dockerd; then
    if [[ -f /var/run/docker.pid ]]; then
      if kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        # Another dockerd is starting (or hung): wait for it rather than start a second one.
        docker_answers_within 60 || die "a dockerd (pid $(cat /var/run/docker.pid)) runs but does not answer \`docker info\`; stop it or fix it"
        log "docker: using the running engine"
        return 0
      fi
      rm -f /var/run/docker.pid # left by a dockerd that died; it refuses to start otherwise
    fi
    log "docker: starting dockerd (log: .sandbox/dockerd.log)"
    spawn "$STATE/dockerd.pid" "$STATE/dockerd.log" dockerd
  fi
  wait_for 60 "$STATE/dockerd.pid" dockerd dockerd "$STATE/dockerd.log" docker_ready
  log "docker: dockerd ready (pid $(<"$STATE/dockerd.pid"))"
}

# ---------------------------------------------------------------- images

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
image_label() {
  local value
  value=$(docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true)
  [[ $value == "<no value>" ]] && value=""
  printf '%s' "$value"
}

# The Debian mirror apt uses here (one-line or deb822 sources); deb.debian.org otherwise.
debian_mirror() {
  if [[ -n ${SANDBOX_DEBIAN_MIRROR:-} ]]; then
    printf '%s\n' "$SANDBOX_DEBIAN_MIRROR"
    return
  fi
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && files+=("$f")
  done
  local found=""
  if ((${#files[@]})); then
    found=$(awk '
      /^[[:space:]]*#/ { next }
      $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|ftp|file):/) { print $i; break } }
      tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }
    ' "${files[@]}" | grep -E '/debian(/[0-9]{8}T[0-9]{6}Z)?/?$' | head -n 1 || true)
  fi
  printf '%s\n' "${found:-http://deb.debian.org/debian}"
}

remove_rootfs() {
  local rootfs=$1 mountpoint
  [[ -d $rootfs ]] || return 0
  # debootstrap mounts /proc and /sys inside the target; never recurse into them.
  while read -r mountpoint; do
    [[ -n $mountpoint ]] && umount -l "$mountpoint" 2>/dev/null || true
  done < <(awk -v root="$rootfs" 'index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$rootfs"
}

ensure_base_image() {
  local want
  want=$(printf 'debootstrap %s minbase %s v1' "$DEBIAN_SUITE" "$DEBIAN_PACKAGES" | sha)
  if [[ $(image_label "$BASE_IMAGE" "$LABEL_HASH") == "$want" ]]; then
    log "image $BASE_IMAGE: present"
    return 0
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  need_root "debootstrap"
  local mirror rootfs="$STATE/rootfs" started attempt keyring=()
  mirror=$(debian_mirror)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || apt_install debian-archive-keyring
  keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
  started=$(now_s)
  log "image $BASE_IMAGE: debootstrap $DEBIAN_SUITE from $mirror (about a minute; log: .sandbox/debootstrap.log)"
  for attempt in 1 2 3; do
    remove_rootfs "$rootfs"
    if debootstrap "${keyring[@]}" --variant=minbase --include="$DEBIAN_PACKAGES" \
      "$DEBIAN_SUITE" "$rootfs" "$mirror" >>"$STATE/debootstrap.log" 2>&1; then
      break
    fi
    ((attempt < 3)) || { tail -n 20 "$STATE/debootstrap.log" >&2; remove_rootfs "$rootfs"; die "debootstrap failed 3 times (log: .sandbox/debootstrap.log)"; }
    log "debootstrap failed (attempt $attempt/3), retrying"
    sleep $((attempt * 10))
  done
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/debootstrap
  tar --numeric-owner -C "$rootfs" -cf - . | docker import \
    --change "LABEL $LABEL_HASH=$want" \
    --change "LABEL $LABEL_ROLE=base" \
    --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE_IMAGE" >/dev/null
  remove_rootfs "$rootfs"
  log "image $BASE_IMAGE: imported ($(since "$started"))"
}

# ensure_built DOCKERFILE ROLE TAG [MORE_TAGS...]: docker build from the base when the content changed.
ensure_built() {
  local dockerfile=$1 role=$2 tag=$3
  shift 3
  local extra=("$@") want base_id files=("$HERE/$dockerfile")
  [[ $role == runtime ]] && files+=("$HERE/lambda-bootstrap.py")
  base_id=$(image_id "$BASE_IMAGE")
  want=$({ cat "${files[@]}"; printf '%s' "$base_id"; } | sha)
  local current ok=1 t
  current=$(image_id "$tag")
  [[ $(image_label "$tag" "$LABEL_HASH") == "$want" ]] || ok=0
  for t in "${extra[@]}"; do [[ $(image_id "$t") == "$current" ]] || ok=0; done
  if ((ok)); then
    log "image $tag: present"
    return 0
  fi
  local started tags=(-t "$tag") new_id
  started=$(now_s)
  for t in "${extra[@]}"; do tags+=(-t "$t"); done
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$BASE_IMAGE" \
    --label "$LABEL_HASH=$want" --label "$LABEL_ROLE=$role" \
    "${tags[@]}" -f "$HERE/$dockerfile" "$HERE" >>"$STATE/docker-build.log" 2>&1 ||
    { tail -n 20 "$STATE/docker-build.log" >&2; die "docker build of $tag failed (log: .sandbox/docker-build.log)"; }
  new_id=$(image_id "$tag")
  if [[ -n $current && $current != "$new_id" ]]; then
    docker rmi "$current" >/dev/null 2>&1 || true # the previous build, now untagged
  fi
  log "image $tag: built ($(since "$started"))"
}

runtime_hash() {
  { cat "$HERE/Dockerfile.runtime" "$HERE/lambda-bootstrap.py"; printf '%s' "$(image_id "$BASE_IMAGE")"; } | sha
}

ensure_images() {
  ensure_base_image
  ensure_built Dockerfile.build build "$BUILD_IMAGE" "$SAM_BUILD_IMAGE"
  RUNTIME_IMAGE=$RUNTIME_REPO:$RUNTIME-$(runtime_hash)
  ensure_built Dockerfile.runtime runtime "$RUNTIME_IMAGE"
  # moto copies code and layers into volumes with `busybox sleep 100`; the base has sleep.
  local current
  current=$(image_id busybox:latest)
  if [[ -z $current ]] || { [[ $current != "$(image_id "$BASE_IMAGE")" ]] && [[ $(image_label busybox:latest "$LABEL_ROLE") == base ]]; }; then
    docker tag "$BASE_IMAGE" busybox:latest
    log "image busybox:latest: tagged from $BASE_IMAGE"
  else
    log "image busybox:latest: present"
  fi
}

# ---------------------------------------------------------------- wheelhouse

# The iris example's wheels (numpy and scipy repacked from the machine's Python, irisfeat built
# from source) into examples/iris/wheels, gitignored; cached: unchanged wheels are not redone.
ensure_wheelhouse() {
  local started out line
  started=$(now_s)
  out=$(PYTHON="$PY" bash "$HERE/build-wheels.sh" "$ROOT/examples/iris" 2>&1) ||
    { printf '%s\n' "$out" >&2; die "building the wheelhouse failed (bash scripts/sandbox/build-wheels.sh)"; }
  while read -r line; do
    [[ $line == built\ * ]] || log "wheelhouse: $line"
  done <<<"$out"
  log "wheelhouse: examples/iris/wheels ready ($(since "$started"))"
}

# ---------------------------------------------------------------- registry

# A local registry (Debian's docker-registry, the distribution project's registry) stands in for
# the ECR registry endpoint; the runtime image is pushed into it as the image functions' base.
REGISTRY_BASE_REPO=lmd-sandbox/lambda-python
REGISTRY_PORT=""
BASE_IMAGE_REF=""

registry_answers() { http_answers "http://127.0.0.1:$1/v2/"; }

ensure_registry() {
  command -v docker-registry >/dev/null || apt_install docker-registry
  if pid_matches "$STATE/registry.pid" docker-registry && [[ -s $STATE/registry.port ]] &&
    registry_answers "$(<"$STATE/registry.port")"; then
    REGISTRY_PORT=$(<"$STATE/registry.port")
    log "registry: running (pid $(<"$STATE/registry.pid"), port $REGISTRY_PORT)"
  else
    stop_pidfile registry "$STATE/registry.pid" docker-registry 5
    REGISTRY_PORT=$(free_port)
    mkdir -p "$STATE/registry"
    cat >"$STATE/registry.yml" <<EOF_REGISTRY
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
EOF_REGISTRY
    : >"$STATE/registry.log"
    spawn "$STATE/registry.pid" "$STATE/registry.log" docker-registry serve "$STATE/registry.yml"
    wait_for 20 "$STATE/registry.pid" docker-registry docker-registry "$STATE/registry.log" registry_answers "$REGISTRY_PORT"
    printf '%s\n' "$REGISTRY_PORT" >"$STATE/registry.port"
    log "registry: started (pid $(<"$STATE/registry.pid"), http://127.0.0.1:$REGISTRY_PORT)"
  fi
  # The runtime image as the base of image functions (AWS's Lambda Python base image stand-in).
  BASE_IMAGE_REF=127.0.0.1:$REGISTRY_PORT/$REGISTRY_BASE_REPO:${RUNTIME_IMAGE##*:}
  if [[ $(cat "$STATE/registry.base" 2>/dev/null) != "$BASE_IMAGE_REF" ]]; then
    docker tag "$RUNTIME_IMAGE" "$BASE_IMAGE_REF"
    docker push -q "$BASE_IMAGE_REF" >>"$STATE/registry.log" 2>&1 ||
      { tail -n 20 "$STATE/registry.log" >&2; die "docker push $BASE_IMAGE_REF failed (log: .sandbox/registry.log)"; }
    docker rmi "$BASE_IMAGE_REF" >/dev/null 2>&1 || true
    printf '%s\n' "$BASE_IMAGE_REF" >"$STATE/registry.base"
    log "registry: pushed the runtime image as $BASE_IMAGE_REF"
  else
    log "registry: base image $BASE_IMAGE_REF present"
  fi
}

# ---------------------------------------------------------------- moto

moto_answers() { http_answers "http://127.0.0.1:$1/moto-api/"; }

ensure_moto() {
  local port attempt
  if pid_matches "$STATE/moto.pid" moto_launcher.py && [[ -s $STATE/moto.port ]] && moto_answers "$(<"$STATE/moto.port")" &&
    [[ $(cat "$STATE/moto.image" 2>/dev/null) == "$RUNTIME_IMAGE $REGISTRY_PORT" ]]; then
    log "moto: running (pid $(<"$STATE/moto.pid"), port $(<"$STATE/moto.port"))"
    return 0
  fi
  stop_pidfile moto "$STATE/moto.pid" moto_launcher.py 5
  for attempt in 1 2 3; do
    port=$(free_port)
    : >"$STATE/moto.log"
    spawn "$STATE/moto.pid" "$STATE/moto.log" env \
      MOTO_PORT="$port" MOTO_DOCKER_LAMBDA_IMAGE="$RUNTIME_IMAGE" \
      SANDBOX_ECR_REGISTRY="127.0.0.1:$REGISTRY_PORT" \
      AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION="$REGION" \
      "$PY" "$HERE/moto_launcher.py" -H 127.0.0.1 -p "$port"
    if wait_until 30 "$STATE/moto.pid" moto_launcher.py moto_server "$STATE/moto.log" moto_answers "$port"; then
      printf '%s\n' "$port" >"$STATE/moto.port"
      printf '%s\n' "$RUNTIME_IMAGE $REGISTRY_PORT" >"$STATE/moto.image"
      log "moto: started (pid $(<"$STATE/moto.pid"), http://127.0.0.1:$port)"
      return 0
    fi
    stop_pidfile moto "$STATE/moto.pid" moto_launcher.py 5
    log "moto_server did not come up (attempt $attempt/3)"
  done
  die "moto_server could not be started (log: .sandbox/moto.log)"
}

# ---------------------------------------------------------------- GitHub side

github_answers() { http_answers "http://127.0.0.1:$1/_sandbox/health"; }

ensure_github() {
  command -v node >/dev/null || die "node is needed for the GitHub emulation (scripts/sandbox/github-server.mjs)"
  if [[ ! -s $STATE/oidc-request-token ]]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_hex(24))' >"$STATE/oidc-request-token")
  fi
  if pid_matches "$STATE/github.pid" github-server.mjs && [[ -s $STATE/github.port ]] && github_answers "$(<"$STATE/github.port")"; then
    log "github: running (pid $(<"$STATE/github.pid"), port $(<"$STATE/github.port"))"
    return 0
  fi
  stop_pidfile github "$STATE/github.pid" github-server.mjs 5
  rm -f "$STATE/github.port"
  : >"$STATE/github.log"
  spawn "$STATE/github.pid" "$STATE/github.log" env \
    SANDBOX_OIDC_REQUEST_TOKEN="$(<"$STATE/oidc-request-token")" \
    SANDBOX_GITHUB_PORT=0 SANDBOX_GITHUB_PORT_FILE="$STATE/github.port" \
    node "$HERE/github-server.mjs"
  wait_for 15 "$STATE/github.pid" github-server.mjs github-server "$STATE/github.log" test -s "$STATE/github.port"
  wait_for 15 "$STATE/github.pid" github-server.mjs github-server "$STATE/github.log" github_answers "$(<"$STATE/github.port")"
  log "github: started (pid $(<"$STATE/github.pid"), http://127.0.0.1:$(<"$STATE/github.port"))"
}

# ---------------------------------------------------------------- env files

write_env() {
  local seeded=$1 moto_port github_port dockerd_pid="" lines=() line key value
  moto_port=$(<"$STATE/moto.port")
  github_port=$(<"$STATE/github.port")
  pid_matches "$STATE/dockerd.pid" dockerd && dockerd_pid=$(<"$STATE/dockerd.pid")
  lines=(
    "AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port"
    "AWS_REGION=$REGION"
    "AWS_DEFAULT_REGION=$REGION"
    "AWS_ACCESS_KEY_ID=testing"
    "AWS_SECRET_ACCESS_KEY=testing"
    "AWS_EC2_METADATA_DISABLED=true"
    "ACTIONS_ID_TOKEN_REQUEST_URL=http://127.0.0.1:$github_port/_services/token/idtoken?api-version=2.0"
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN=$(<"$STATE/oidc-request-token")"
    "GITHUB_API_URL=http://127.0.0.1:$github_port"
    "SANDBOX_GITHUB_URL=http://127.0.0.1:$github_port"
    $seeded
    "SANDBOX_BUILD_IMAGE=$BUILD_IMAGE"
    "SANDBOX_SAM_BUILD_IMAGE=$SAM_BUILD_IMAGE"
    "SANDBOX_RUNTIME_IMAGE=$RUNTIME_IMAGE"
    "SANDBOX_RUNTIME=$RUNTIME"
    "SANDBOX_REGISTRY=127.0.0.1:$REGISTRY_PORT"
    "SANDBOX_BASE_IMAGE=$BASE_IMAGE_REF"
    "LAMBDA_ML_DEPLOY_ECR_ENDPOINT=http://127.0.0.1:$REGISTRY_PORT"
    "SANDBOX_MOTO_PID=$(<"$STATE/moto.pid")"
    "SANDBOX_GITHUB_PID=$(<"$STATE/github.pid")"
    "SANDBOX_DOCKERD_PID=$dockerd_pid"
  )
  (
    umask 077
    : >"$STATE/env.tmp"
    for line in "${lines[@]}"; do
      key=${line%%=*}
      value=${line#*=}
      printf "export %s='%s'\n" "$key" "${value//\'/\'\\\'\'}" >>"$STATE/env.tmp"
    done
    printf '%s\n' "${lines[@]}" | "$PY" -c '
import json, sys
pairs = dict(line.rstrip("\n").split("=", 1) for line in sys.stdin if "=" in line)
json.dump(pairs, sys.stdout, indent=2)
print()' >"$STATE/env.json.tmp"
    mv "$STATE/env.tmp" "$STATE/env"
    mv "$STATE/env.json.tmp" "$STATE/env.json"
  )
}

# ---------------------------------------------------------------- commands

lock() {
  mkdir -p "$STATE"
  if command -v flock >/dev/null; then
    exec 9>"$STATE/.lock"
    flock -w 900 9 || die "another sandbox.sh is still running (lock: .sandbox/.lock)"
  fi
}

cmd_up() {
  local started seeded
  started=$(now_s)
  lock
  [[ -f $STATE/started-at ]] || date -u +%Y-%m-%dT%H:%M:%SZ >"$STATE/started-at"
  ensure_python
  ensure_docker
  ensure_images
  ensure_wheelhouse
  ensure_registry
  ensure_moto
  # moto keeps its state in memory: seed once per moto process.
  if [[ -s $STATE/seeded && $(head -n 1 "$STATE/seeded") == "moto-pid=$(<"$STATE/moto.pid")" ]]; then
    seeded=$(tail -n +2 "$STATE/seeded")
  else
    seeded=$("$PY" "$HERE/seed.py" "http://127.0.0.1:$(<"$STATE/moto.port")" 2>>"$STATE/moto.log") ||
      die "seeding moto failed (log: .sandbox/moto.log)"
    printf 'moto-pid=%s\n%s\n' "$(<"$STATE/moto.pid")" "$seeded" >"$STATE/seeded"
  fi
  log "moto: role lambda-ml-deploy-exec, role github-deploy, bucket lmd-sandbox-artifacts ready"
  ensure_github
  # shellcheck disable=SC2086 # seed.py prints KEY=VALUE lines without spaces
  write_env "$(printf '%s ' $seeded)"
  log "up in $(since "$started"): source .sandbox/env (or: source <(bash scripts/sandbox.sh env))"
}

remove_leftovers() {
  docker_ready || return 0
  local containers
  containers=$(docker ps -aq --filter "label=$LABEL_ROLE" 2>/dev/null || true)
  if [[ -n $containers ]]; then
    # shellcheck disable=SC2086
    docker rm -f $containers >/dev/null 2>&1 || true
    log "docker: removed $(wc -w <<<"$containers") leftover container(s)"
  fi
  # moto names its volumes by code sha256 (or anonymous 64-hex) and by layer name_version;
  # only dangling ones created since the sandbox started are removed.
  local since_epoch=0 volume created removed=0
  [[ -f $STATE/started-at ]] && since_epoch=$(date -d "$(<"$STATE/started-at")" +%s)
  while read -r volume; do
    [[ $volume =~ ^[0-9a-f]{64}$ || $volume =~ ^[A-Za-z0-9_-]+_[0-9]+(-[A-Za-z0-9_-]+_[0-9]+)*$ ]] || continue
    created=$(docker volume inspect -f '{{.CreatedAt}}' "$volume" 2>/dev/null || true)
    [[ -n $created ]] && (($(date -d "$created" +%s 2>/dev/null || echo 0) >= since_epoch)) || continue
    docker volume rm "$volume" >/dev/null 2>&1 && removed=$((removed + 1))
  done < <(docker volume ls -q --filter dangling=true 2>/dev/null || true)
  ((removed == 0)) || log "docker: removed $removed leftover volume(s)"
}

cmd_down() {
  lock
  stop_pidfile moto "$STATE/moto.pid" moto_launcher.py 10
  stop_pidfile github "$STATE/github.pid" github-server.mjs 5
  stop_pidfile registry "$STATE/registry.pid" docker-registry 5
  remove_leftovers
  if [[ -f $STATE/dockerd.pid ]]; then
    stop_pidfile dockerd "$STATE/dockerd.pid" dockerd 60
  else
    log "docker: left running (the sandbox did not start it)"
  fi
  rm -f "$STATE/env" "$STATE/env.json" "$STATE/moto.port" "$STATE/registry.port" "$STATE/registry.base" "$STATE/github.port" "$STATE/started-at" "$STATE/seeded"
  log "down"
}

cmd_env() {
  [[ -f $STATE/env ]] || die "the sandbox is not up: run \`bash scripts/sandbox.sh up\` first"
  cat "$STATE/env"
}

# service_status NAME PIDFILE PATTERN PORTFILE ANSWERS_FN: one status line; non-zero unless it answers.
service_status() {
  local label port
  label=$(printf '%-8s' "$1")
  if ! pid_matches "$2" "$3"; then
    echo "$label stopped"
    return 1
  fi
  port=$(cat "$4" 2>/dev/null || true)
  if [[ -n $port && -n $PY ]] && "$5" "$port"; then
    echo "$label running (pid $(<"$2"), http://127.0.0.1:$port)"
    return 0
  fi
  echo "$label running (pid $(<"$2")) but NOT answering"
  return 1
}

cmd_status() {
  local all=0 port image
  if command -v docker >/dev/null && docker_ready; then
    if pid_matches "$STATE/dockerd.pid" dockerd; then
      echo "docker   running, started by the sandbox (pid $(<"$STATE/dockerd.pid"))"
    else
      echo "docker   running (not started by the sandbox)"
    fi
    RUNTIME_IMAGE=$RUNTIME_REPO:$RUNTIME-$(runtime_hash)
    for image in "$BASE_IMAGE" "$BUILD_IMAGE" "$SAM_BUILD_IMAGE" "$RUNTIME_IMAGE" busybox:latest; do
      if [[ -n $(image_id "$image") ]]; then
        echo "image    $image ($(image_id "$image" | cut -c8-19))"
      else
        echo "image    $image MISSING"
        all=1
      fi
    done
  else
    echo "docker   not running"
    all=1
  fi
  PY=$(command -v python3 || true)
  service_status moto "$STATE/moto.pid" moto_launcher.py "$STATE/moto.port" moto_answers || all=1
  service_status github "$STATE/github.pid" github-server.mjs "$STATE/github.port" github_answers || all=1
  service_status registry "$STATE/registry.pid" docker-registry "$STATE/registry.port" registry_answers || all=1
  if [[ -f $STATE/env.json ]]; then echo "env      .sandbox/env.json"; else echo "env      not written"; all=1; fi
  ((all == 0)) || return 3
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *)
    echo "usage: bash scripts/sandbox.sh up|down|env|status" >&2
    exit 2
    ;;
esac
