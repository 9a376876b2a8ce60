#!/bin/sh
# Installs the Debian packages Viewpoint needs; prints the exact command when not root.
set -eu
PKGS="ffmpeg xvfb xauth x11-apps imagemagick chromium debootstrap libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libglx-mesa0 libopengl0 python3-venv postgresql mkvtoolnix fonts-noto-core fonts-noto-cjk"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
else
  echo "Viewpoint needs these Debian packages; run:"
  echo "  sudo apt-get install -y --no-install-recommends$missing"
  exit 1
fi
