//! Memory-mapped 32-bit device registers.

/// One 32-bit device register. Creating one is `unsafe` (the address must be
/// a device register that tolerates volatile 32-bit access); using it is not.
#[derive(Clone, Copy)]
pub struct Reg(usize);

impl Reg {
    /// # Safety
    /// `addr` must be a 4-byte aligned device register, valid to read and
    /// write with 32-bit volatile accesses for the whole program.
    pub const unsafe fn at(addr: usize) -> Self {
        Self(addr)
    }

    /// Volatile read.
    #[inline(always)]
    pub fn read(self) -> u32 {
        // SAFETY: guaranteed by the contract of `Reg::at`.
        unsafe { core::ptr::read_volatile(self.0 as *const u32) }
    }

    /// Volatile write.
    #[inline(always)]
    pub fn write(self, value: u32) {
        // SAFETY: guaranteed by the contract of `Reg::at`.
        unsafe { core::ptr::write_volatile(self.0 as *mut u32, value) }
    }
}
