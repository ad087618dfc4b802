#!/usr/bin/env bash
# Installs the tools the full test suite uses, from Debian's packages, when missing.
set -euo pipefail

declare -A pkg_for=(
  [ffmpeg]=ffmpeg
  [ffprobe]=ffmpeg
  [chromium]=chromium
)

missing=()
for tool in "${!pkg_for[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${pkg_for[$tool]}")
done
if [ ${#missing[@]} -eq 0 ]; then
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
