#!/bin/bash
# One recording stub for every external command the generated scripts call (the sandbox links
# each command name to this file). It records its argv in $SANDBOX/calls.log and keeps state
# under $SANDBOX/state, so a second run of a script sees what the first one did.
set -u
cmd=$(basename "$0")
state="$SANDBOX/state"
mkdir -p "$state/pkgs" "$state/units" "$state/keypairs"
{ printf '%s' "$cmd"; for a in "$@"; do printf '\037%s' "$a"; done; printf '\036\n'; } >>"$SANDBOX/calls.log"

pkg_add() { printf '%s' "$2" >"$state/pkgs/$1"; }

case "$cmd" in
  uname)
    case "${1:-}" in -s) echo Linux ;; -m) echo "$SANDBOX_MACHINE" ;; *) echo Linux ;; esac ;;
  curl)
    out='' url='' method=GET
    while [ $# -gt 0 ]; do
      case "$1" in
        -o) out=$2; shift ;;
        -X) method=$2; shift ;;
        -H | --retry | --retry-delay) shift ;;
        http*) url=$1 ;;
      esac
      shift
    done
    case "$url" in
      */latest/api/token) [ "$method" = PUT ] && body=imds-session-token || exit 22 ;;
      */meta-data/instance-id) body=$SANDBOX_INSTANCE_ID ;;
      */meta-data/placement/region) body=$SANDBOX_REGION ;;
      */script.deb.sh) body='mkdir -p "$RUNNER_OPS_ROOT/etc/apt/sources.list.d"; echo "deb https://packages.gitlab.com/runner/gitlab-runner/ubuntu noble main" >"$RUNNER_OPS_ROOT/etc/apt/sources.list.d/runner_gitlab-runner.list"' ;;
      */script.rpm.sh) body='mkdir -p "$RUNNER_OPS_ROOT/etc/yum.repos.d"; echo "[runner_gitlab-runner]" >"$RUNNER_OPS_ROOT/etc/yum.repos.d/runner_gitlab-runner.repo"' ;;
      https://get.docker.com) body='printf 5:27.0.0 >"$SANDBOX/state/pkgs/docker-ce"' ;;
      *) body="fake-binary:$url" ;;
    esac
    if [ -n "$out" ]; then printf '%s\n' "$body" >"$out"; else printf '%s' "$body"; fi ;;
  apt-get)
    if [ "${1:-}" = install ]; then
      for a in "$@"; do
        case "$a" in -*|install) ;; *=*) pkg_add "${a%%=*}" "${a#*=}" ;; *) pkg_add "$a" 1.0 ;; esac
      done
    fi ;;
  dnf)
    for a in "$@"; do
      case "$a" in
        -*|install) ;;
        *) if [[ $a =~ ^(.+)-([0-9][^-]*-[0-9]+)$ ]]; then pkg_add "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"; else pkg_add "$a" 1.0; fi ;;
      esac
    done ;;
  dpkg-query)
    pkg=${!#}
    [ -f "$state/pkgs/$pkg" ] || exit 1
    cat "$state/pkgs/$pkg" ;;
  rpm)
    pkg=${!#}
    if [ -f "$state/pkgs/$pkg" ]; then cat "$state/pkgs/$pkg"; else echo "package $pkg is not installed"; exit 1; fi ;;
  systemctl)
    verb=$1; unit=${!#}
    case "$verb" in
      is-enabled) [ -f "$state/units/$unit.enabled" ] ;;
      is-active) [ -f "$state/units/$unit.active" ] ;;
      enable) touch "$state/units/$unit.enabled"; [ "${2:-}" = --now ] && touch "$state/units/$unit.active"; exit 0 ;;
      start | restart) touch "$state/units/$unit.active" ;;
      stop) rm -f "$state/units/$unit.active" ;;
      disable) rm -f "$state/units/$unit.enabled" ;;
      kill) [ "${STUB_DRAIN_HANGS:-}" = 1 ] || rm -f "$state/units/$unit.active" ;;
      *) exit 0 ;;
    esac ;;
  ssh-keygen)
    f=''
    while [ $# -gt 0 ]; do [ "$1" = -f ] && f=$2; shift; done
    echo "-----FAKE ED25519 PRIVATE KEY-----" >"$f"
    echo "ssh-ed25519 AAAAfake runner-ops" >"$f.pub" ;;
  aws)
    args=" $* "
    case "$args" in
      *' ssm get-parameter '*)
        name=''
        while [ $# -gt 0 ]; do [ "$1" = --name ] && name=$2; shift; done
        case "$name" in
          /aws/service/*) echo ami-0123456789abcdef0 ;;
          *) [[ $args == *' --with-decryption '* ]] || { echo 'not decrypted' >&2; exit 254; }
             if [ -f "$state/token" ]; then cat "$state/token"; else echo "$SANDBOX_TOKEN"; fi ;;
        esac ;;
      *' ec2 describe-key-pairs '*)
        name=''
        while [ $# -gt 0 ]; do [ "$1" = --key-names ] && name=$2; shift; done
        [ -f "$state/keypairs/$name" ] || { echo "InvalidKeyPair.NotFound" >&2; exit 254; } ;;
      *' ec2 import-key-pair '*)
        name=''
        while [ $# -gt 0 ]; do [ "$1" = --key-name ] && name=$2; shift; done
        touch "$state/keypairs/$name" ;;
      *) exit 0 ;;
    esac ;;
  docker)
    args=" $* "
    if [[ $args == *' docker-credential-ecr-login get '* || $cmd == docker-credential-ecr-login ]]; then
      echo '{"Username":"AWS","Secret":"HELPER-SECRET-SHOULD-NOT-APPEAR"}'
      if [ "${STUB_FAIL_CONTAINER:-}" = 1 ]; then
        echo 'ecr-login: error getting credentials: ec2imds: GetMetadata, request canceled, context deadline exceeded (169.254.169.254)' >&2; exit 1
      fi
    elif [[ $args == *' run '*' docker pull '* && ${STUB_FAIL_CONTAINER:-} == 1 ]]; then
      echo 'Error response from daemon: Head "https://123456789012.dkr.ecr.eu-central-1.amazonaws.com/v2/ci/base/manifests/latest": no basic auth credentials' >&2; exit 1
    fi ;;
  docker-machine)
    mkdir -p "$state/machines"
    case "${1:-}" in
      ls) for f in "$state/machines"/*; do [ -e "$f" ] && basename "$f"; done; exit 0 ;;
      rm) m=${!#}; [ "${STUB_MACHINE_RM_FAILS:-}" = "$m" ] && { echo "error removing $m" >&2; exit 1; }; rm -f "$state/machines/$m" ;;
    esac ;;
  docker-credential-ecr-login)
    echo '{"Username":"AWS","Secret":"HELPER-SECRET-SHOULD-NOT-APPEAR"}' ;;
  *) exit 0 ;;
esac
