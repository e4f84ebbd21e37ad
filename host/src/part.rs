//! FPGA parts, once: the canonical names zest defaults to, the family a
//! part belongs to (a token slot: timing and DSP shapes differ by family)
//! and capacities from the vendor's data sheets (utilisation).

use serde::Serialize;

/// The PYNQ-Z2's Zynq-7020: hls4ml users' edge board, and zest's default
/// part (the accelerator's own part is [`zest_proto::pl::PART`], the same).
pub const PYNQ_Z2: &str = zest_proto::pl::PART;

/// The Alveo U250: wa-hls4ml's generator default.
pub const U250: &str = "xcu250-figd2104-2L-e";

/// Part families zest knows, by name prefix.
pub fn part_family(part: &str) -> &'static str {
    let p = part.to_ascii_lowercase();
    if p.starts_with("xc7z") {
        "zynq7000"
    } else if p.starts_with("xcu2") || p.starts_with("xcvu") || p.starts_with("xcu5") {
        "ultrascale_plus"
    } else if p.starts_with("xczu") {
        "zynq_ultrascale_plus"
    } else if p.starts_with("xc7") {
        "series7"
    } else {
        "other"
    }
}

/// Capacity of a part, from the vendor's data sheets.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Capacity {
    /// LUTs.
    pub lut: f64,
    /// Flip-flops.
    pub ff: f64,
    /// DSP slices.
    pub dsp: f64,
    /// BRAM18 blocks.
    pub bram18: f64,
}

/// Capacity of the parts zest knows (by name prefix, package ignored).
pub fn capacity(part: &str) -> Option<Capacity> {
    let p = part.to_ascii_lowercase();
    let table: [(&str, [f64; 4]); 7] = [
        ("xc7z007s", [14_400.0, 28_800.0, 66.0, 100.0]),
        ("xc7z010", [17_600.0, 35_200.0, 80.0, 120.0]),
        ("xc7z020", [53_200.0, 106_400.0, 220.0, 280.0]),
        ("xczu9eg", [274_080.0, 548_160.0, 2_520.0, 1_824.0]),
        ("xcu250", [1_728_000.0, 3_456_000.0, 12_288.0, 5_376.0]),
        ("xcvu9p", [1_182_240.0, 2_364_480.0, 6_840.0, 4_320.0]),
        ("xcu200", [1_182_240.0, 2_364_480.0, 6_840.0, 4_320.0]),
    ];
    table
        .iter()
        .find(|(prefix, _)| p.starts_with(prefix))
        .map(|(_, c)| Capacity {
            lut: c[0],
            ff: c[1],
            dsp: c[2],
            bram18: c[3],
        })
}

/// LUT, FF, DSP and BRAM18 (`used`, in that order) as % of the part, when zest knows the part.
pub fn utilisation(part: &str, [lut, ff, dsp, bram18]: [f64; 4]) -> Option<[f64; 4]> {
    capacity(part).map(|c| {
        [
            100.0 * lut / c.lut,
            100.0 * ff / c.ff,
            100.0 * dsp / c.dsp,
            100.0 * bram18 / c.bram18,
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(part_family("xc7z020clg400-1"), "zynq7000");
        assert_eq!(part_family("xcu250-figd2104-2L-e"), "ultrascale_plus");
        assert_eq!(part_family("xcvu9p-flgb2104-2-i"), "ultrascale_plus");
    }
    #[test]
    fn capacities_by_prefix() {
        assert_eq!(capacity(PYNQ_Z2).map(|c| c.dsp), Some(220.0));
        assert!(capacity("xc9z999").is_none());
    }
}
