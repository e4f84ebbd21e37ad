# zest: program the PL and run the firmware over JTAG (no SD card).
#
#   xsct program_jtag.tcl OUT_DIR FIRMWARE_ELF
#
# Needs OUT_DIR/zest.bit and OUT_DIR/ps7_init.tcl (build_bitstream.tcl,
# make_fsbl.tcl) and the firmware built for the board:
# `cargo xtask firmware --board pynq-z2` (target/firmware/zest-firmware-pynq-z2.elf).
# The board's boot-mode jumper must be on JTAG.

if {[llength $argv] != 2} {
    puts "usage: xsct program_jtag.tcl OUT_DIR FIRMWARE_ELF"
    exit 2
}
lassign $argv out_dir elf
foreach f [list [file join $out_dir zest.bit] [file join $out_dir ps7_init.tcl] $elf] {
    if {![file exists $f]} {
        puts "$f not found"
        exit 1
    }
}
connect
targets -set -filter {name =~ "APU*"}
rst -system
after 1000
targets -set -filter {name =~ "xc7z020*"}
fpga -file [file join $out_dir zest.bit]
targets -set -filter {name =~ "APU*"}
source [file join $out_dir ps7_init.tcl]
ps7_init
ps7_post_config
targets -set -filter {name =~ "*Cortex-A9 MPCore #0*"}
rst -processor
dow $elf
con
puts "firmware running: zest board info --port /dev/ttyUSB1"
