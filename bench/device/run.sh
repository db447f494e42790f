#!/bin/sh
# Runs on the GPU machine, from the repository root, with .devkit carried (see README.md here):
#   sh .devkit/run.sh [bench options...]     e.g. sh .devkit/run.sh --quick --engines=pixelgrad,raw,jax
# Unpacks node, Dawn and (when the machine has none) the Vulkan loader into /tmp, points Vulkan at
# the NVIDIA driver unless VK_ICD_FILENAMES is set, and runs the bench's Node runner; results go
# to $OUT (or /tmp/bench-out). Needs x86-64 Linux with glibc 2.34 or newer, xz, and dpkg when the
# loader has to be unpacked.
set -eu
kit=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/bench-out}
mkdir -p "$out" && out=$(cd "$out" && pwd)
command -v xz >/dev/null || { echo "run.sh: xz is needed to unpack node and Dawn" >&2; exit 1; }
work=/tmp/pixelgrad-devkit
rm -rf "$work" && mkdir -p "$work/node_modules/webgpu/dist/linux-x64" "$work/root"
xz -dc "$kit/node.xz" > "$work/node" && chmod +x "$work/node"
cp "$kit/node_modules/webgpu/package.json" "$kit/node_modules/webgpu/index.js" "$work/node_modules/webgpu/"
xz -dc "$kit/node_modules/webgpu/dist/linux-x64/dawn.node.xz" > "$work/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$kit/bench-node.mjs" "$work/"
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  command -v dpkg >/dev/null || { echo "run.sh: no libvulkan.so.1 here and no dpkg to unpack the carried one" >&2; exit 1; }
  for f in "$kit"/debs/*.deb; do [ -e "$f" ] && dpkg -x "$f" "$work/root"; done
  export LD_LIBRARY_PATH="$work/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -e "$icd" ]; then export VK_ICD_FILENAMES="$icd"; break; fi
  done
fi
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-(unset)}; node $("$work/node" --version)"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv 2>/dev/null || true
cd "$work" && "$work/node" bench-node.mjs --out="$out" "$@"
