//! zest firmware for the Zynq-7000 (PYNQ-Z2; QEMU `xilinx-zynq-a9`).
//!
//! Bare metal, one core, polled I/O, MMU and caches off. aarch32-rt brings
//! up stacks, VFP and `.bss`; [`_start`] below first puts the CPU in a known
//! state (MMU/caches off, vectors at our table). UART0 and UDP over GEM0
//! serve the zest wire protocol ([`zest_proto`]); UART1 carries a text log. Every exception and
//! panic is reported on the log UART, then the system resets.
#![no_std]
#![no_main]

mod accel;
mod board;
mod estimate;
mod gem;
mod log;
mod mmio;
mod model;
mod net;
mod pl;
mod serve;
mod sweep;
mod timer;
mod uart;

use aarch32_rt::{entry, exception};

// Reset entry, replacing aarch32-rt's default `_start`: whatever state the
// boot loader (FSBL, JTAG, QEMU) left, turn the MMU, caches, branch
// prediction and alignment checking off, point VBAR at our vector table,
// then continue with aarch32-rt's start-up (CPU1 parks, CPU0 sets up stacks,
// zeroes .bss, enables VFP and calls `main`).
core::arch::global_asm!(
    r#"
    .section .text._start
    .arm
    .global _start
    .type _start, %function
    _start:
        cpsid   aif
        mrc     p15, 0, r0, c1, c0, 0
        bic     r0, r0, #(1 << 0)      @ M: MMU off
        bic     r0, r0, #(1 << 1)      @ A: no alignment fault checks (target is +strict-align)
        bic     r0, r0, #(1 << 2)      @ C: D-cache off
        bic     r0, r0, #(1 << 11)     @ Z: branch prediction off
        bic     r0, r0, #(1 << 12)     @ I: I-cache off
        bic     r0, r0, #(1 << 13)     @ V: low vectors, relocated by VBAR
        mcr     p15, 0, r0, c1, c0, 0
        isb
        ldr     r0, =_vector_table
        mcr     p15, 0, r0, c12, c0, 0 @ VBAR
        isb
        b       _default_start
    .size _start, . - _start
    "#
);

#[entry]
fn main() -> ! {
    log::init();
    log!(
        "zest firmware {} on {} (protocol v{})",
        env!("CARGO_PKG_VERSION"),
        board::NAME,
        zest_proto::PROTOCOL_VERSION
    );
    let mut uptime = timer::Uptime::start();
    // SAFETY: UART0 is the protocol UART and this is its only handle.
    let mut uart0 = unsafe { uart::Uart::new(uart::UART0_BASE) };
    uart0.init();
    let net = start_net(&mut uptime);
    serve::run(&mut uart0, &mut uptime, Some(net))
}

/// Brings GEM0 and the network stack up. On a board the PHY is negotiated
/// first (bounded wait); with no link the stack still starts, at 100 Mb/s
/// full duplex, and UART keeps serving whatever the cable does.
fn start_net(uptime: &mut timer::Uptime) -> net::Net {
    #[cfg(not(feature = "qemu"))]
    match gem::phy_up(uptime, 5_000) {
        Some(mbps) => log!("eth: PHY link up at {mbps} Mb/s"),
        None => log!("eth: no PHY link within 5 s; UDP may not be reachable"),
    }
    let now_ms = (uptime.ticks() / u64::from(timer::TICK_HZ / 1000)) as i64;
    let net = net::Net::start(now_ms);
    log!("eth: GEM0 up, {}", net::ENDPOINT);
    net
}

fn fatal(what: &str, pc: usize, fault: Option<(u32, u32)>) -> ! {
    match fault {
        Some((dfar, dfsr)) => {
            log!("FATAL {what} at pc={pc:#010x} dfar={dfar:#010x} dfsr={dfsr:#010x}; resetting")
        }
        None => log!("FATAL {what} at pc={pc:#010x}; resetting"),
    }
    board::reset()
}

#[exception(Undefined)]
fn undefined_instruction(addr: usize) -> ! {
    fatal("undefined instruction", addr, None)
}

#[exception(PrefetchAbort)]
fn prefetch_abort(addr: usize) -> ! {
    fatal("prefetch abort", addr, None)
}

#[exception(DataAbort)]
fn data_abort(addr: usize) -> ! {
    let dfar = aarch32_cpu::register::Dfar::read().0;
    let dfsr = aarch32_cpu::register::Dfsr::read().raw_value();
    fatal("data abort", addr, Some((dfar, dfsr)))
}

#[exception(SupervisorCall)]
fn supervisor_call(arg: u32, _frame: &aarch32_rt::Frame) -> u32 {
    fatal("unexpected svc", arg as usize, None)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    log!("PANIC {info}; resetting");
    board::reset()
}
