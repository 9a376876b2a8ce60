#!/bin/sh
# Sandboxed OpenXR runtime for tests and QA: a Debian trixie root holding Monado (simulated headset), Mesa
# (llvmpipe/lavapipe), Xvfb and a Python venv with the project's dependencies. Built once, cached outside the repo.
#
# usage:
#   scripts/xr-root.sh build               build the root, or bring it up to date (idempotent; ~100 s the first time)
#   scripts/xr-root.sh path                print the root's path (exit 1 when it is not built)
#   scripts/xr-root.sh check               say whether this machine can build/enter the root (exit 0 when it can)
#   scripts/xr-root.sh run [options] [--] COMMAND [ARGS...]
#       runs COMMAND inside the root with monado-service running; the repository is visible at
#       /opt/viewpoint/src (the working directory, and on PYTHONPATH); the venv is first on PATH.
#       --compositor null|xcb   null: no display (default); xcb: Monado's compositor draws into an Xvfb window whose
#                               screen is readable as an XWD file at $VIEWPOINT_XVFB_SCREEN
#       --no-runtime            do not start monado-service (a runtime installed but not running)
#       --no-runtime-installed  no active OpenXR runtime at all (the loader finds no runtime manifest)
#       --share DIR             make host DIR visible at the same path inside the root (repeatable)
#       --remote                Monado's remote driver instead of the simulated HMD: head pose and Index
#                               controllers driven over TCP port 4242 (scripts/xr/monado_remote.py); the port
#                               is machine-wide, so such runs take a lock and run one at a time
#       --env NAME=VALUE        set a variable for COMMAND (repeatable; VIEWPOINT_* and CI pass through anyway)
#   scripts/xr-root.sh shell               an interactive shell in the root (same set-up as run)
#
# Native Monado (a distribution that packages it: Debian 13+, Ubuntu 24.04+, Arch, Fedora): with
# VIEWPOINT_XR_NATIVE=1 there is no root: `build` does nothing, `run` uses the host's monado-service and the
# project's .venv (or python3 on PATH). See docs/openxr.md.
#
# Where: $VIEWPOINT_XR_ROOT, else /var/cache/viewpoint/xr-root (root) or ${XDG_CACHE_HOME:-~/.cache}/viewpoint/xr-root.
# Needs: root (chroot, mount namespaces via unshare), debootstrap, network access to a Debian mirror and PyPI.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
if [ -n "${VIEWPOINT_XR_ROOT:-}" ]; then
  R=$VIEWPOINT_XR_ROOT
elif [ "$(id -u)" = 0 ]; then
  R=/var/cache/viewpoint/xr-root
else
  R=${XDG_CACHE_HOME:-$HOME/.cache}/viewpoint/xr-root
fi
SRC_IN_ROOT=/opt/viewpoint/src
VENV_IN_ROOT=/opt/viewpoint/venv
# Bump when the root's make-up changes; a root with another stamp is brought up to date by `build`.
ROOT_VERSION=1
APT_PKGS="monado-service libopenxr1-monado libopenxr-loader1 mesa-vulkan-drivers libegl-mesa0 libegl1 libgl1 \
libgl1-mesa-dri libglx-mesa0 libopengl0 xvfb python3 python3-venv python3-numpy ca-certificates"
PIP_EXTRA="pytest"

say() { echo "xr-root: $*" >&2; }
die() { echo "xr-root: $*" >&2; exit 2; }

can_use() {
  # Prints the reason and returns 1 when this machine cannot build or enter the root.
  if [ -n "${VIEWPOINT_XR_NATIVE:-}" ]; then
    command -v monado-service >/dev/null 2>&1 || { echo "VIEWPOINT_XR_NATIVE=1 but monado-service is not installed"; return 1; }
    command -v Xvfb >/dev/null 2>&1 || { echo "VIEWPOINT_XR_NATIVE=1 but Xvfb is not installed"; return 1; }
    return 0
  fi
  if [ "$(uname -s)" != Linux ]; then echo "not Linux: the Monado root needs Linux (see docs/openxr.md for QA on other systems)"; return 1; fi
  if [ "$(id -u)" != 0 ]; then echo "not root: building and entering the Monado root needs root (chroot, mount namespaces)"; return 1; fi
  command -v chroot >/dev/null 2>&1 || { echo "chroot not found"; return 1; }
  command -v unshare >/dev/null 2>&1 || { echo "unshare (util-linux) not found"; return 1; }
  if [ ! -x "$R/usr/bin/monado-service" ] && ! command -v debootstrap >/dev/null 2>&1; then
    echo "debootstrap not found (apt-get install debootstrap)"; return 1
  fi
  unshare --mount true 2>/dev/null || { echo "cannot create a mount namespace (unshare --mount failed; container without CAP_SYS_ADMIN?)"; return 1; }
  return 0
}

mirror() {
  if [ -n "${MIRROR:-}" ]; then echo "$MIRROR"; return; fi
  m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  [ -n "$m" ] || m=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  echo "${m:-http://deb.debian.org/debian}"
}

# chroot with a clean environment; the repository bind-mounted (private mount namespace: nothing leaks on exit)
in_root() {
  unshare --mount --propagation private sh -c '
    set -e
    R=$1; REPO=$2; SRC=$3; shift 3
    mkdir -p "$R$SRC"
    mount --bind "$REPO" "$R$SRC"
    mount -o remount,bind,ro "$R$SRC" 2>/dev/null || true
    mountpoint -q "$R/proc" || mount -t proc proc "$R/proc" 2>/dev/null || true
    mkdir -p "$R/dev/shm"; mountpoint -q "$R/dev/shm" || mount -t tmpfs -o mode=1777 shm "$R/dev/shm" 2>/dev/null || true
    for d in $VIEWPOINT_XR_SHARES; do mkdir -p "$R$d"; mount --bind "$d" "$R$d"; done
    exec chroot "$R" "$@"
  ' in_root "$R" "$REPO" "$SRC_IN_ROOT" "$@"
}

IN_ENV="env -i PATH=$VENV_IN_ROOT/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
PIP_CERT=/etc/host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore"

build() {
  reason=$(can_use) || die "cannot build the root: $reason"
  if [ -n "${VIEWPOINT_XR_NATIVE:-}" ]; then echo "native"; return 0; fi
  mkdir -p "$(dirname "$R")"
  exec 9>"$R.lock"
  flock 9
  T0=$(date +%s)
  t() { say "[+$(( $(date +%s) - T0 ))s] $*"; }
  want_stamp="v$ROOT_VERSION $APT_PKGS"
  if [ ! -x "$R/usr/bin/monado-service" ] || [ "$(cat "$R/.viewpoint-root" 2>/dev/null)" != "$want_stamp" ]; then
    if [ ! -x "$R/usr/bin/python3" ]; then
      rm -rf "$R.partial"
      t "debootstrap trixie (minbase) from $(mirror) into $R.partial"
      debootstrap --variant=minbase trixie "$R.partial" "$(mirror)" > "$R.debootstrap.log" 2>&1 \
        || die "debootstrap failed; see $R.debootstrap.log"
      rm -rf "$R"; mv "$R.partial" "$R"
    fi
    cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
    cp /etc/ssl/certs/ca-certificates.crt "$R/etc/host-ca.crt" 2>/dev/null || : > "$R/etc/host-ca.crt"
    [ -s "$R/etc/host-ca.crt" ] || rm -f "$R/etc/host-ca.crt"
    printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
    t "apt-get install in the root"
    VIEWPOINT_XR_SHARES="" in_root $IN_ENV apt-get -o DPkg::Lock::Timeout=600 update -qq > "$R.apt.log" 2>&1 \
      || die "apt-get update in the root failed; see $R.apt.log"
    # shellcheck disable=SC2086
    VIEWPOINT_XR_SHARES="" in_root $IN_ENV apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
      $APT_PKGS >> "$R.apt.log" 2>&1 || die "apt-get install in the root failed; see $R.apt.log"
    VIEWPOINT_XR_SHARES="" in_root $IN_ENV apt-get clean
    echo "$want_stamp" > "$R/.viewpoint-root"
    rm -f "$R/.viewpoint-venv"
  fi
  # The venv: the project's runtime dependencies (read from pyproject.toml) plus test tools. The project itself is
  # not installed: `run` puts the live repository on PYTHONPATH, so the root never holds stale code.
  deps=$(VIEWPOINT_XR_SHARES="" in_root /usr/bin/python3 -c "
import tomllib
p = tomllib.load(open('$SRC_IN_ROOT/pyproject.toml', 'rb'))['project']
print(' '.join(d.replace(' ', '') for d in p['dependencies']))")
  want_venv="$deps $PIP_EXTRA"
  if [ "$(cat "$R/.viewpoint-venv" 2>/dev/null)" != "$want_venv" ]; then
    t "venv: $want_venv"
    [ -x "$R$VENV_IN_ROOT/bin/python" ] || VIEWPOINT_XR_SHARES="" in_root $IN_ENV /usr/bin/python3 -m venv \
      --system-site-packages "$VENV_IN_ROOT"
    # shellcheck disable=SC2086
    VIEWPOINT_XR_SHARES="" in_root $IN_ENV "$VENV_IN_ROOT/bin/pip" install -q --no-cache-dir $want_venv \
      > "$R.pip.log" 2>&1 || die "pip install in the root failed; see $R.pip.log"
    echo "$want_venv" > "$R/.viewpoint-venv"
  fi
  t "root ready: $R ($(du -sxh "$R" 2>/dev/null | cut -f1))"
  echo "$R"
}

is_built() {
  [ -x "$R/usr/bin/monado-service" ] && [ -x "$R$VENV_IN_ROOT/bin/python" ] && [ -f "$R/.viewpoint-venv" ]
}

run() {
  reason=$(can_use) || die "cannot enter the root: $reason"
  [ -n "${VIEWPOINT_XR_NATIVE:-}" ] || is_built || die "the root is not built: run scripts/xr-root.sh build"
  comp=null runtime=1 shares="" envs="" remote=0
  while [ $# -gt 0 ]; do
    case $1 in
      --compositor) comp=$2; shift 2 ;;
      --compositor=*) comp=${1#*=}; shift ;;
      --no-runtime) runtime=0; shift ;;
      --no-runtime-installed) runtime=none; shift ;;
      --remote) remote=1; shift ;;
      --share) shares="$shares $(cd "$2" && pwd)"; shift 2 ;;
      --env) envs="$envs $2"; shift 2 ;;
      --) shift; break ;;
      -*) die "unknown option $1" ;;
      *) break ;;
    esac
  done
  [ $# -gt 0 ] || die "run: no command given"
  case $comp in null|xcb) ;; *) die "--compositor must be null or xcb, not $comp" ;; esac
  for v in $(env | sed -n 's/^\(VIEWPOINT_[A-Z0-9_]*\|CI\)=.*/\1/p'); do
    case $v in  # the runner's own settings are not passed through
      VIEWPOINT_XR_*|VIEWPOINT_RUNTIME|VIEWPOINT_COMPOSITOR|VIEWPOINT_SRC|VIEWPOINT_XVFB*|VIEWPOINT_MONADO_PID) continue ;;
    esac
    envs="$envs $v=$(printenv "$v")"
  done
  if [ "$remote" = 1 ]; then
    envs="$envs P_OVERRIDE_ACTIVE_CONFIG=remote"
    exec 8>"${TMPDIR:-/tmp}/viewpoint-xr-remote.lock"
    flock -w 600 8 || die "another run holds Monado's remote-driver port; gave up waiting"
  fi
  if [ -n "${VIEWPOINT_XR_NATIVE:-}" ]; then
    venv=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin}; venv=${venv:-$REPO/.venv/bin}
    "$venv/python" -c pass 2>/dev/null || venv=$(dirname "$(command -v python3)")
    # shellcheck disable=SC2086
    env -i PATH="${venv:+$venv:}/usr/local/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 PYTHONPATH="$REPO" \
      PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VIEWPOINT_XR_NATIVE=1 VIEWPOINT_SRC="$REPO" \
      VIEWPOINT_COMPOSITOR=$comp VIEWPOINT_RUNTIME=$runtime $envs /bin/sh "$HERE/xr/in-root.sh" "$@"
    return
  fi
  # shellcheck disable=SC2086
  VIEWPOINT_XR_SHARES="$shares" in_root $IN_ENV PYTHONPATH=$SRC_IN_ROOT PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VIEWPOINT_COMPOSITOR=$comp VIEWPOINT_RUNTIME=$runtime $envs \
    /bin/sh "$SRC_IN_ROOT/scripts/xr/in-root.sh" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  build) build ;;
  path) [ -n "${VIEWPOINT_XR_NATIVE:-}" ] && { echo native; exit 0; }; is_built || { say "not built: $R"; exit 1; }; echo "$R" ;;
  check) if reason=$(can_use); then echo "ok: $R"; else echo "$reason"; exit 1; fi ;;
  run) run "$@" ;;
  shell) run "$@" /bin/bash ;;
  *) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
