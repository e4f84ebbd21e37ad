//! A design sweep's inputs: one network's layers as far as they do not
//! depend on the hls4ml configuration ([`SweepLayer`]), a grid of
//! configurations ([`Grid`]), and the layer facts of each grid point
//! ([`layer_facts`]) — what the host and the firmware both expand, so a
//! sweep on the board and on the host see the same tokens.
//!
//! ```text
//! grid point i  →  (width, reuse factor, strategy, io type), enumerated
//!                  width-major: i = ((w·R + r)·S + s)·O + o
//! ```
//!
//! A configuration applies as hls4ml's `Model`-level settings do (the
//! host's `design_from_layers`): `ap_fixed<W,…>` for the input, every
//! layer's result, and the weights and accumulator of layers with weights;
//! the reuse factor to layers with weights, built as hls4ml builds it
//! under the Resource strategy ([`crate::reuse::closest`]).

use serde::{Deserialize, Serialize};

use crate::{reuse, Act, Family, Kind, LayerFacts, Tool};

/// Most precisions in one grid.
pub const MAX_WIDTHS: usize = 8;
/// Most reuse factors in one grid.
pub const MAX_REUSE: usize = 16;
/// [`Grid::strategies`] bit: the Latency strategy.
pub const LATENCY: u8 = 1 << 0;
/// [`Grid::strategies`] bit: the Resource strategy.
pub const RESOURCE: u8 = 1 << 1;
/// [`Grid::io`] bit: io_parallel.
pub const IO_PARALLEL: u8 = 1 << 0;
/// [`Grid::io`] bit: io_stream.
pub const IO_STREAM: u8 = 1 << 1;

/// One layer of the swept network: what no configuration changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepLayer {
    /// What it computes.
    pub kind: Kind,
    /// Its activation (fused or its own).
    pub act: Act,
    /// Input elements.
    pub n_in: u32,
    /// Output elements.
    pub n_out: u32,
    /// Multiplications per inference.
    pub n_mult: u64,
    /// Weights pruned to zero.
    pub n_zero_weights: u64,
    /// Weights stored.
    pub n_weights: u64,
    /// Window positions (1 when not a window).
    pub positions: u32,
    /// Kernel size (0 when not a window).
    pub kernel: u16,
    /// The multiplication hls4ml checks a reuse factor against under the
    /// Resource strategy (`n_in`, `n_out` as it counts them); `(0, 0)`:
    /// the reuse factor is built as asked.
    pub rf_shape: (u32, u32),
}

impl SweepLayer {
    /// Whether the layer holds weights (and so takes the configuration's
    /// reuse factor, weight and accumulator precision).
    pub fn has_weights(&self) -> bool {
        matches!(
            self.kind,
            Kind::Dense | Kind::Conv | Kind::DepthwiseConv | Kind::BatchNorm
        )
    }
}

/// The configurations of a sweep: every combination of the listed values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// `ap_fixed` total widths; the first `n_widths` count.
    pub widths: [u8; MAX_WIDTHS],
    /// How many of `widths` are used.
    pub n_widths: u8,
    /// Reuse factors; the first `n_reuse` count.
    pub reuse_factors: [u32; MAX_REUSE],
    /// How many of `reuse_factors` are used.
    pub n_reuse: u8,
    /// [`LATENCY`] | [`RESOURCE`].
    pub strategies: u8,
    /// [`IO_PARALLEL`] | [`IO_STREAM`].
    pub io: u8,
    /// The part's family.
    pub family: Family,
    /// Clock period, ns.
    pub clock_ns: f32,
    /// Multipliers forced into fabric.
    pub fabric_mult: bool,
    /// The HLS tool.
    pub tool: Tool,
}

/// What is wrong with a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridError {
    /// No width, more than [`MAX_WIDTHS`], or a width outside 2..=64.
    Widths,
    /// No reuse factor, more than [`MAX_REUSE`], or a zero.
    ReuseFactors,
    /// No strategy, or an unknown bit.
    Strategies,
    /// No io type, or an unknown bit.
    Io,
    /// The clock period is not a positive number.
    Clock,
}

/// One grid point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// `ap_fixed` total width.
    pub width: u8,
    /// Reuse factor asked for (each layer builds its own, see
    /// [`layer_facts`]).
    pub reuse_factor: u32,
    /// Resource strategy (else Latency).
    pub resource: bool,
    /// io_stream (else io_parallel).
    pub stream: bool,
}

fn bits(mask: u8) -> impl Iterator<Item = bool> + Clone {
    [false, true]
        .into_iter()
        .zip([1u8, 2])
        .filter(move |(_, b)| mask & b != 0)
        .map(|(v, _)| v)
}

impl Grid {
    /// Checks the grid's counts and values.
    pub fn check(&self) -> Result<(), GridError> {
        let widths = self.widths.get(..usize::from(self.n_widths));
        if !widths.is_some_and(|w| !w.is_empty() && w.iter().all(|&w| (2..=64).contains(&w))) {
            return Err(GridError::Widths);
        }
        let rfs = self.reuse_factors.get(..usize::from(self.n_reuse));
        if !rfs.is_some_and(|r| !r.is_empty() && r.iter().all(|&r| r > 0)) {
            return Err(GridError::ReuseFactors);
        }
        if self.strategies == 0 || self.strategies & !(LATENCY | RESOURCE) != 0 {
            return Err(GridError::Strategies);
        }
        if self.io == 0 || self.io & !(IO_PARALLEL | IO_STREAM) != 0 {
            return Err(GridError::Io);
        }
        if !(self.clock_ns > 0.0 && self.clock_ns.is_finite()) {
            return Err(GridError::Clock);
        }
        Ok(())
    }

    /// Number of grid points (0 for a grid that fails [`Grid::check`]).
    pub fn len(&self) -> usize {
        if self.check().is_err() {
            return 0;
        }
        usize::from(self.n_widths)
            * usize::from(self.n_reuse)
            * bits(self.strategies).count()
            * bits(self.io).count()
    }

    /// Whether the grid has no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Grid point `i` (see the module docs for the order).
    pub fn config(&self, i: usize) -> Option<Config> {
        if i >= self.len() {
            return None;
        }
        let (n_s, n_o) = (bits(self.strategies).count(), bits(self.io).count());
        let o = i % n_o;
        let s = (i / n_o) % n_s;
        let r = (i / (n_o * n_s)) % usize::from(self.n_reuse);
        let w = i / (n_o * n_s * usize::from(self.n_reuse));
        Some(Config {
            width: self.widths[w],
            reuse_factor: self.reuse_factors[r],
            resource: bits(self.strategies).nth(s)?,
            stream: bits(self.io).nth(o)?,
        })
    }
}

/// The facts of `layer` (at position `index` of `n_layers`) under `cfg`.
pub fn layer_facts(
    layer: &SweepLayer,
    index: usize,
    n_layers: usize,
    cfg: &Config,
    grid: &Grid,
) -> LayerFacts {
    let w = u16::from(cfg.width);
    let weighted = layer.has_weights();
    let reuse_factor = if !weighted {
        1
    } else if cfg.resource && layer.rf_shape != (0, 0) {
        let (n_in, n_out) = layer.rf_shape;
        let built = reuse::closest(
            u64::from(n_in),
            u64::from(n_out),
            u64::from(cfg.reuse_factor),
        );
        u32::try_from(built).unwrap_or(cfg.reuse_factor)
    } else {
        cfg.reuse_factor.max(1)
    };
    LayerFacts {
        kind: layer.kind,
        act: layer.act,
        n_in: layer.n_in,
        n_out: layer.n_out,
        n_mult: layer.n_mult,
        n_zero_weights: layer.n_zero_weights,
        n_weights: layer.n_weights,
        positions: layer.positions,
        kernel: layer.kernel,
        reuse_factor,
        weight_bits: if weighted { w } else { 0 },
        input_bits: w,
        result_bits: w,
        accum_bits: if weighted { w } else { 0 },
        resource: cfg.resource,
        stream: cfg.stream,
        fabric_mult: grid.fabric_mult,
        family: grid.family,
        clock_ns: grid.clock_ns,
        tool: grid.tool,
        first: index == 0,
        last: index + 1 == n_layers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        let mut widths = [0; MAX_WIDTHS];
        widths[..3].copy_from_slice(&[8, 12, 16]);
        let mut reuse_factors = [0; MAX_REUSE];
        reuse_factors[..4].copy_from_slice(&[1, 2, 4, 8]);
        Grid {
            widths,
            n_widths: 3,
            reuse_factors,
            n_reuse: 4,
            strategies: LATENCY | RESOURCE,
            io: IO_PARALLEL,
            family: Family::Series7,
            clock_ns: 5.0,
            fabric_mult: false,
            tool: Tool::VitisHls,
        }
    }

    #[test]
    fn enumerates_every_combination_once() {
        let g = grid();
        assert_eq!(g.len(), 3 * 4 * 2);
        let mut seen = [[[false; 2]; 4]; 3];
        for i in 0..g.len() {
            let c = g.config(i).unwrap();
            let w = [8, 12, 16].iter().position(|&x| x == c.width).unwrap();
            let r = [1, 2, 4, 8]
                .iter()
                .position(|&x| x == c.reuse_factor)
                .unwrap();
            assert!(!c.stream);
            assert!(!seen[w][r][usize::from(c.resource)]);
            seen[w][r][usize::from(c.resource)] = true;
        }
        assert_eq!(g.config(g.len()), None);
    }

    #[test]
    fn bad_grids_are_named() {
        let mut g = grid();
        g.n_widths = 9;
        assert_eq!(g.check(), Err(GridError::Widths));
        assert!(g.is_empty());
        let mut g = grid();
        g.reuse_factors[1] = 0;
        assert_eq!(g.check(), Err(GridError::ReuseFactors));
        let mut g = grid();
        g.strategies = 4;
        assert_eq!(g.check(), Err(GridError::Strategies));
        let mut g = grid();
        g.io = 0;
        assert_eq!(g.check(), Err(GridError::Io));
        let mut g = grid();
        g.clock_ns = f32::NAN;
        assert_eq!(g.check(), Err(GridError::Clock));
    }

    #[test]
    fn resource_builds_the_closest_valid_reuse_factor() {
        let layer = SweepLayer {
            kind: Kind::Dense,
            act: Act::Relu,
            n_in: 16,
            n_out: 64,
            n_mult: 1024,
            n_zero_weights: 0,
            n_weights: 1024,
            positions: 1,
            kernel: 0,
            rf_shape: (16, 64),
        };
        let g = grid();
        let cfg = |rf, resource| Config {
            width: 16,
            reuse_factor: rf,
            resource,
            stream: false,
        };
        assert_eq!(layer_facts(&layer, 0, 1, &cfg(6, true), &g).reuse_factor, 4);
        assert_eq!(
            layer_facts(&layer, 0, 1, &cfg(6, false), &g).reuse_factor,
            6
        );
        let f = layer_facts(&layer, 0, 2, &cfg(1, false), &g);
        assert!(f.first && !f.last);
        assert_eq!((f.weight_bits, f.accum_bits, f.result_bits), (16, 16, 16));
    }
}
