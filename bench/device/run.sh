#!/bin/sh
# Runs on the GPU machine, from the repository root, with .devkit carried (see README.md here):
#   sh .devkit/run.sh [bench options...]     e.g. sh .devkit/run.sh --quick --engines=pixelgrad,raw,jax
# Unpacks node, Dawn and the Vulkan loader into /tmp, points Vulkan at the NVIDIA driver unless
# VK_ICD_FILENAMES is set, and runs the bench's Node runner; results go to $OUT (or /tmp/bench-out).
set -eu
kit=$(cd "$(dirname "$0")" && pwd)
work=/tmp/pixelgrad-devkit
rm -rf "$work" && mkdir -p "$work/node_modules/webgpu/dist/linux-x64" "$work/root"
xz -dc "$kit/node.xz" > "$work/node" && chmod +x "$work/node"
cp "$kit/node_modules/webgpu/package.json" "$kit/node_modules/webgpu/index.js" "$work/node_modules/webgpu/"
xz -dc "$kit/node_modules/webgpu/dist/linux-x64/dawn.node.xz" > "$work/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$kit/bench-node.mjs" "$work/"
for f in "$kit"/debs/*.deb; do [ -e "$f" ] && dpkg -x "$f" "$work/root"; done
export LD_LIBRARY_PATH="$work/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -e "$icd" ]; then export VK_ICD_FILENAMES="$icd"; break; fi
  done
fi
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-(unset)}; $("$work/node" --version)"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv 2>/dev/null || true
out=${OUT:-/tmp/bench-out}
mkdir -p "$out"
cd "$work" && "$work/node" bench-node.mjs --out="$out" "$@"
