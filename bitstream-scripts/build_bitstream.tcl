# zest: Vivado block design, bitstream and .xsa for the PYNQ-Z2 or the
# ZedBoard (both xc7z020). Batch mode:
#
#   vivado -mode batch -source build_bitstream.tcl -tclargs BOARD IP_REPO MODEL_ID OUT_DIR
#
#   BOARD     pynq-z2 | zedboard
#   IP_REPO   directory holding the exported zest_top IP (the unpacked
#             zip of `vitis_hls -f build_prj.tcl -tclargs export`, i.e.
#             <hls project>/zest_prj/solution1/impl/ip)
#   MODEL_ID  the fixed-point model id the IP was generated from (16 hex
#             digits, as `zest hls` prints): its low 32 bits go into the
#             identification GPIO so the firmware uses the PL only for it
#   OUT_DIR   where zest.bit and zest.xsa are written
#
# Block design: PS7 (FCLK0 100 MHz, M_AXI_GP0, S_AXI_HP0), zest_top
# (s_axi_CTRL, tokens AXI4-Stream), AXI DMA (simple mode, MM2S only) feeding
# the token stream from DDR through HP0, and a dual-channel AXI GPIO whose
# inputs are tied to constants: channel 1 the ID word (magic "ZS" << 16 |
# accelerator version), channel 2 the model id's low 32 bits. Addresses
# come from generated/address_map.tcl, written from zest_proto::pl (the
# module the firmware reads them from) by `cargo xtask gen-scripts`.

if {[llength $argv] != 4} {
    puts "usage: vivado -mode batch -source build_bitstream.tcl -tclargs BOARD IP_REPO MODEL_ID OUT_DIR"
    exit 2
}
lassign $argv board ip_repo model_id out_dir
set here [file dirname [file normalize [info script]]]
source [file join $here generated address_map.tcl]

switch -- $board {
    pynq-z2 {
        # Board files: Vivado's board store (xhub::install [xhub::get_xitems *pynq-z2*])
        # or https://github.com/Xilinx/XilinxBoardStore.
        set board_part "tul.com.tw:pynq-z2:part0:1.0"
    }
    zedboard {
        set board_part "avnet.com:zedboard:part0:1.4"
    }
    default {
        puts "unknown board $board (pynq-z2 or zedboard)"
        exit 2
    }
}
if {![regexp {^[0-9a-fA-F]{16}$} $model_id]} {
    puts "MODEL_ID must be 16 hex digits, got $model_id"
    exit 2
}
set model_low [format 0x%08X [expr {"0x$model_id" & 0xFFFFFFFF}]]

file mkdir $out_dir
create_project -force zest_bd [file join $out_dir vivado] -part $ZEST_PART
set_property board_part $board_part [current_project]
set_property ip_repo_paths [list [file normalize $ip_repo]] [current_project]
update_ip_catalog

create_bd_design zest
set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7 ps7]
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
    -config {make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"} $ps
set_property -dict [list \
    CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ $ZEST_FCLK_MHZ \
    CONFIG.PCW_USE_M_AXI_GP0 1 \
    CONFIG.PCW_USE_S_AXI_HP0 1 \
] $ps

set zest [create_bd_cell -type ip -vlnv zest.dev:hls:zest_top zest_top_0]

set dma [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma axi_dma_0]
set_property -dict [list \
    CONFIG.c_include_sg 0 \
    CONFIG.c_include_s2mm 0 \
    CONFIG.c_sg_length_width 23 \
    CONFIG.c_m_axis_mm2s_tdata_width $ZEST_TOKEN_WORD_BITS \
    CONFIG.c_mm2s_burst_size 16 \
] $dma

set gpio [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_gpio id_gpio]
set_property -dict [list \
    CONFIG.C_IS_DUAL 1 \
    CONFIG.C_ALL_INPUTS 1 \
    CONFIG.C_ALL_INPUTS_2 1 \
    CONFIG.C_GPIO_WIDTH 32 \
    CONFIG.C_GPIO2_WIDTH 32 \
] $gpio
set id_const [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconstant id_value]
set_property -dict [list CONFIG.CONST_WIDTH 32 CONFIG.CONST_VAL $ZEST_ID_VALUE] $id_const
set model_const [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconstant model_id_low]
set_property -dict [list CONFIG.CONST_WIDTH 32 CONFIG.CONST_VAL $model_low] $model_const
connect_bd_net [get_bd_pins id_value/dout] [get_bd_pins id_gpio/gpio_io_i]
connect_bd_net [get_bd_pins model_id_low/dout] [get_bd_pins id_gpio/gpio2_io_i]

connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXIS_MM2S] [get_bd_intf_pins zest_top_0/tokens]

apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Master "/ps7/M_AXI_GP0" Clk "Auto"} [get_bd_intf_pins zest_top_0/s_axi_CTRL]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Master "/ps7/M_AXI_GP0" Clk "Auto"} [get_bd_intf_pins axi_dma_0/S_AXI_LITE]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Master "/ps7/M_AXI_GP0" Clk "Auto"} [get_bd_intf_pins id_gpio/S_AXI]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
    -config {Slave "/ps7/S_AXI_HP0" Clk "Auto"} [get_bd_intf_pins axi_dma_0/M_AXI_MM2S]
apply_bd_automation -rule xilinx.com:bd_rule:clkrst \
    -config {Clk "/ps7/FCLK_CLK0 (100 MHz)"} [get_bd_pins zest_top_0/ap_clk]

# The address map, from zest_proto::pl.
assign_bd_address -offset $ZEST_ACCEL_BASE -range $ZEST_ACCEL_RANGE \
    [get_bd_addr_segs zest_top_0/s_axi_CTRL/Reg]
assign_bd_address -offset $ZEST_DMA_BASE -range $ZEST_DMA_RANGE \
    [get_bd_addr_segs axi_dma_0/S_AXI_LITE/Reg]
assign_bd_address -offset $ZEST_ID_BASE -range $ZEST_ID_RANGE \
    [get_bd_addr_segs id_gpio/S_AXI/Reg]
assign_bd_address

validate_bd_design
save_bd_design
set wrapper [make_wrapper -files [get_files zest.bd] -top]
add_files -norecurse $wrapper
set_property top zest_wrapper [current_fileset]

launch_runs synth_1 -jobs 4
wait_on_run synth_1
launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] != "100%"} {
    puts "implementation failed: see [file join $out_dir vivado]"
    exit 1
}
open_run impl_1
report_utilization -file [file join $out_dir utilization.rpt]
report_timing_summary -file [file join $out_dir timing.rpt]
file copy -force [glob [file join $out_dir vivado zest_bd.runs impl_1 *.bit]] [file join $out_dir zest.bit]
write_hw_platform -fixed -include_bit -force [file join $out_dir zest.xsa]
puts "wrote [file join $out_dir zest.bit] and [file join $out_dir zest.xsa]"
