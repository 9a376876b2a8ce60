#!/bin/sh
# Runs INSIDE the xr root (started by scripts/xr-root.sh run), or on the host with VIEWPOINT_XR_NATIVE=1: start
# Xvfb and monado-service as asked, run the command, stop everything it started. Environment in: VIEWPOINT_COMPOSITOR (null|xcb), VIEWPOINT_RUNTIME (1|0).
set -u
ID=$$
export XDG_RUNTIME_DIR=/tmp/vx$ID          # short: the IPC socket path has a length limit
export XRT_NO_STDIN=1                      # monado-service exits when stdin is not a terminal without this
for m in /usr/share/openxr/1/openxr_monado.json /usr/local/share/openxr/1/openxr_monado.json; do
  [ -f "$m" ] && export XR_RUNTIME_JSON=$m && break
done
if [ -f /usr/share/vulkan/icd.d/lvp_icd.json ] && [ -z "${VIEWPOINT_XR_NATIVE:-}" ]; then
  export VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json   # lavapipe: the root has no GPU driver
  export VK_ICD_FILENAMES=$VK_DRIVER_FILES
fi
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
LOGS=$XDG_RUNTIME_DIR
export VIEWPOINT_XR_LOGS=$LOGS
XVFB="" SVC=""
cleanup() {
  [ -n "$SVC" ] && kill "$SVC" 2>/dev/null
  [ -n "$XVFB" ] && kill "$XVFB" 2>/dev/null
  wait 2>/dev/null
  if [ -n "${VIEWPOINT_XR_KEEP_LOGS:-}" ]; then cp "$LOGS"/*.log "$VIEWPOINT_XR_KEEP_LOGS"/ 2>/dev/null; fi
  rm -rf "$XDG_RUNTIME_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${VIEWPOINT_COMPOSITOR:-null}" = xcb ] || [ -n "${VIEWPOINT_XVFB:-}" ]; then
  # a free display number (the root's /tmp is shared between runs; retried if another run takes it first)
  mkdir -p "$XDG_RUNTIME_DIR/fb"
  n=99 tries=0
  while :; do
    while [ -e /tmp/.X$n-lock ] || [ -e /tmp/.X11-unix/X$n ]; do
      pid=$(tr -d ' ' < /tmp/.X$n-lock 2>/dev/null)
      if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then rm -f /tmp/.X$n-lock /tmp/.X11-unix/X$n; break; fi
      n=$((n + 1))
    done
    Xvfb :$n -screen 0 ${VIEWPOINT_XVFB_SIZE:-1280x720x24} -nolisten tcp -fbdir "$XDG_RUNTIME_DIR/fb" \
      > "$LOGS/xvfb.log" 2>&1 &
    XVFB=$!
    i=0; while [ ! -e /tmp/.X11-unix/X$n ] && [ $i -lt 100 ] && kill -0 "$XVFB" 2>/dev/null; do
      sleep 0.1; i=$((i + 1)); done
    [ -e /tmp/.X11-unix/X$n ] && kill -0 "$XVFB" 2>/dev/null && break
    kill "$XVFB" 2>/dev/null; XVFB=""
    tries=$((tries + 1)); n=$((n + 1))
    [ $tries -lt 5 ] || { echo "in-root: Xvfb did not start:" >&2; cat "$LOGS/xvfb.log" >&2; exit 3; }
  done
  export DISPLAY=:$n
  export VIEWPOINT_XVFB_SCREEN=$XDG_RUNTIME_DIR/fb/Xvfb_screen0
fi
# VIEWPOINT_RUNTIME: 1 = Monado running; 0 = installed but not running; none = no runtime installed at all
if [ "${VIEWPOINT_RUNTIME:-1}" = 1 ]; then
  if [ "${VIEWPOINT_COMPOSITOR:-null}" = xcb ]; then export XRT_COMPOSITOR_FORCE_XCB=1; else export XRT_COMPOSITOR_NULL=1; fi
  monado-service > "$LOGS/monado-service.log" 2>&1 < /dev/null &
  SVC=$!
  i=0; while [ ! -S "$XDG_RUNTIME_DIR/monado_comp_ipc" ] && [ $i -lt 150 ]; do
    kill -0 "$SVC" 2>/dev/null || break; sleep 0.1; i=$((i + 1)); done
  if ! kill -0 "$SVC" 2>/dev/null || [ ! -S "$XDG_RUNTIME_DIR/monado_comp_ipc" ]; then
    echo "in-root: monado-service did not start:" >&2; cat "$LOGS/monado-service.log" >&2; exit 3
  fi
  export VIEWPOINT_MONADO_PID=$SVC
elif [ "${VIEWPOINT_RUNTIME}" = none ]; then
  unset XR_RUNTIME_JSON
  # no active runtime at all: hide the system-wide active_runtime.json from the loader
  export XDG_CONFIG_DIRS=/nonexistent XDG_CONFIG_HOME=/nonexistent
fi
cd "${VIEWPOINT_SRC:-/opt/viewpoint/src}"
"$@"
exit $?
