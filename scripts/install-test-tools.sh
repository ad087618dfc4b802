#!/usr/bin/env bash
# Installs the tools the full test suite uses, from Debian's packages, when missing.
set -euo pipefail

declare -A pkg_for=(
  [ffmpeg]=ffmpeg
  [ffprobe]=ffmpeg
  [chromium]=chromium
  [node]=nodejs
  [npm]=npm
  [tv_validate_file]=xmltv-util
  [gst-launch-1.0]=gstreamer1.0-tools
)

# GStreamer plugins the CMAF/DASH tests use (hlsdemux, dashdemux, qtdemux, avdec_h264), checked by package.
gst_pkgs=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav)

# node_version_ok: playwright-core (tests/browser, installed by `make browser-deps`) needs
# Node.js 20 or later; Debian 12 ships 18, Debian 13 ships 20.
node_version_ok() {
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'
}
check_node() {
  if ! node_version_ok; then
    echo "test tools: node $(node --version) is too old for playwright-core (tests/browser): install Node.js 20 or later" >&2
    exit 1
  fi
}

missing=()
for tool in "${!pkg_for[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${pkg_for[$tool]}")
done
for pkg in "${gst_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  check_node
  echo "test tools: all present"
  exit 0
fi
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "test tools: installing ${pkgs[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install: ${pkgs[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
echo "test tools: installed ${pkgs[*]}"
check_node
