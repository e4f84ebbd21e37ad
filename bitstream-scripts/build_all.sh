#!/usr/bin/env bash
# zest: from the shipped fixed-point model to BOOT.bin, where Vitis HLS,
# Vivado, xsct and bootgen are installed (2023.2 or later).
#
#   bitstream-scripts/build_all.sh [pynq-z2|zedboard] [OUT_DIR]
#
# Steps: zest hls (the HLS project) -> vitis_hls csim/csynth/export ->
# vivado block design + bitstream + .xsa -> xsct FSBL -> bootgen BOOT.bin.
set -euo pipefail
board="${1:-pynq-z2}"
out="$(realpath -m "${2:-target/bitstream-$board}")"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
for tool in vitis_hls vivado xsct bootgen cargo; do
    command -v "$tool" >/dev/null || { echo "build_all.sh: $tool not found (source Vivado's settings64.sh)"; exit 1; }
done
mkdir -p "$out"
cd "$root"
cargo run --release -p zest -- hls --out "$out/hls"
model_id="$(tail -c 8 "$out/hls/model.zfx" | od -An -tx8 | tr -d ' \n')"
cargo run --release -p zest -- hls-check "$out/hls" --vectors 1000
(cd "$out/hls" && vitis_hls -f build_prj.tcl -tclargs export)
ip_zip="$(ls "$out"/hls/zest_prj/solution1/impl/export.zip 2>/dev/null || true)"
ip_dir="$out/hls/zest_prj/solution1/impl/ip"
[ -d "$ip_dir" ] || { echo "no exported IP under $ip_dir ($ip_zip)"; exit 1; }
vivado -mode batch -source "$here/build_bitstream.tcl" -tclargs "$board" "$ip_dir" "$model_id" "$out"
xsct "$here/make_fsbl.tcl" "$out"
cargo xtask firmware --board pynq-z2
cp target/firmware/zest-firmware-pynq-z2.elf "$out/zest-firmware.elf"
(cd "$out" && bootgen -image "$here/boot.bif" -arch zynq -o BOOT.bin -w on)
echo "wrote $out/BOOT.bin (SD card) and $out/zest.bit; JTAG: xsct $here/program_jtag.tcl $out $out/zest-firmware.elf"
