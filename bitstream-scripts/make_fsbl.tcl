# zest: the first-stage boot loader for BOOT.bin, built from the .xsa.
#
#   xsct make_fsbl.tcl OUT_DIR
#
# Reads OUT_DIR/zest.xsa (from build_bitstream.tcl), writes OUT_DIR/fsbl.elf
# and OUT_DIR/ps7_init.tcl (used by program_jtag.tcl).

if {[llength $argv] != 1} {
    puts "usage: xsct make_fsbl.tcl OUT_DIR"
    exit 2
}
set out_dir [file normalize [lindex $argv 0]]
set xsa [file join $out_dir zest.xsa]
if {![file exists $xsa]} {
    puts "$xsa not found: run build_bitstream.tcl first"
    exit 1
}
hsi open_hw_design $xsa
hsi generate_app -hw [hsi current_hw_design] -os standalone -proc ps7_cortexa9_0 \
    -app zynq_fsbl -compile -sw fsbl -dir [file join $out_dir fsbl]
file copy -force [file join $out_dir fsbl executable.elf] [file join $out_dir fsbl.elf]
foreach f [glob -nocomplain [file join $out_dir fsbl ps7_init.tcl] [file join $out_dir fsbl *ps7_init.tcl]] {
    file copy -force $f [file join $out_dir ps7_init.tcl]
}
hsi close_hw_design [hsi current_hw_design]
puts "wrote [file join $out_dir fsbl.elf]"
