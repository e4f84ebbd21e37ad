//! `zest sweep`: one network over a grid of hls4ml configurations
//! (precision, reuse factor, strategy, io type), every point estimated by
//! the fixed-point model, hls4ml's rules applied, the points over the
//! part's limits dropped and the rest reduced to their Pareto set (LUT,
//! FF, DSP, BRAM18, latency). On the host or on a board: both run
//! [`zest_fixed::sweep`] on the same layer facts ([`zest_features::sweep`]),
//! so they give the same set, point for point; the board receives one
//! request (the network and the grid) instead of one `Estimate` per design.

use serde::Serialize;
use zest_board::client::BoardClient;
use zest_board::BoardError;
use zest_features::sweep::{
    Grid, SweepLayer, IO_PARALLEL, IO_STREAM, LATENCY, MAX_REUSE, MAX_WIDTHS, RESOURCE,
};
use zest_features::{Target, N_TARGETS};
use zest_fixed::model::{FixedModel, ModelError};
use zest_fixed::sweep::{Point, MAX_FRONT};
use zest_proto::{SweepRequest, MAX_SWEEP_LAYERS};

use crate::design::{Design, IoType, Strategy};
use crate::part::capacity;
use crate::tokens::layer_facts;

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A grid axis is empty, too long or out of range.
    #[error("{0}")]
    Grid(String),
    /// zest has no capacities for the part.
    #[error("unknown part {0:?}: zest knows the capacities of xc7z007s, xc7z010, xc7z020, xczu9eg, xcu250, xcvu9p and xcu200")]
    UnknownPart(String),
    /// The network does not fit a sweep request.
    #[error("{0}")]
    Network(String),
    /// The fixed-point model does not parse.
    #[error("fixed-point model")]
    Model(#[source] ModelError),
    /// The sweep itself failed.
    #[error("sweep: {0}")]
    Sweep(#[from] zest_fixed::sweep::SweepError),
    /// The board failed.
    #[error(transparent)]
    Board(#[from] BoardError),
}

/// The axes of a sweep and its limits.
#[derive(Debug, Clone, Serialize)]
pub struct SweepSpec {
    /// `ap_fixed` total widths (1..=8 of them, 2..=64 bits).
    pub widths: Vec<u8>,
    /// Reuse factors (1..=16 of them).
    pub reuse_factors: Vec<u32>,
    /// Strategies.
    pub strategies: Vec<Strategy>,
    /// IO types.
    pub io_types: Vec<IoType>,
    /// The FPGA part.
    pub part: String,
    /// Clock period, ns.
    pub clock_ns: f64,
    /// HLS tool, as [`zest_features::Tool::from_name`] reads it (`None`:
    /// unknown).
    pub tool: Option<String>,
    /// Utilisation bound on LUT, FF, DSP and BRAM18 (0.8: 80 % of the part).
    pub bound: f64,
    /// Latency bound, cycles.
    pub max_latency: Option<f64>,
    /// II bound, cycles.
    pub max_ii: Option<f64>,
}

/// One configuration of the grid, as hls4ml names it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SweepConfig {
    /// Grid index.
    pub index: u32,
    /// `ap_fixed` total width.
    pub width: u8,
    /// Reuse factor asked for.
    pub reuse_factor: u32,
    /// `latency` or `resource`.
    pub strategy: &'static str,
    /// `io_parallel` or `io_stream`.
    pub io_type: &'static str,
}

/// A point of the Pareto set.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SweepPoint {
    /// The configuration.
    pub config: SweepConfig,
    /// LUT, FF, DSP, BRAM18, latency cycles, II (after hls4ml's rules).
    pub targets: [f64; N_TARGETS],
}

/// A sweep's answer.
#[derive(Debug, Clone, Serialize)]
pub struct SweepResult {
    /// Who computed it.
    pub engine: String,
    /// Grid points.
    pub grid_points: usize,
    /// Estimated.
    pub evaluated: u32,
    /// Over a limit.
    pub infeasible: u32,
    /// The Pareto set outgrew [`MAX_FRONT`] points.
    pub overflow: bool,
    /// The limits, in [`Target`] order (infinity: none).
    pub limits: [f64; N_TARGETS],
    /// The feasible Pareto set, ascending by grid index.
    pub pareto: Vec<SweepPoint>,
    /// Wall-clock seconds, as the host saw them.
    pub seconds: f64,
    /// Bytes sent and received (board only).
    pub bytes: Option<(usize, usize)>,
    /// Bytes sent and received when the same grid went to the board as
    /// one `Estimate` per configuration instead ([`estimate_path_bytes`]).
    pub estimate_path_bytes: Option<(usize, usize)>,
}

/// The network's layers as a sweep needs them: everything but the
/// configuration, read from `design`'s own layer facts.
pub fn sweep_layers(design: &Design) -> Result<Vec<SweepLayer>, SweepError> {
    if design.layers.is_empty() || design.layers.len() > MAX_SWEEP_LAYERS {
        return Err(SweepError::Network(format!(
            "{} has {} layers; a sweep takes 1..={MAX_SWEEP_LAYERS}",
            design.id,
            design.layers.len()
        )));
    }
    let small = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(design
        .layers
        .iter()
        .zip(layer_facts(design))
        .map(|(l, f)| SweepLayer {
            kind: f.kind,
            act: f.act,
            n_in: f.n_in,
            n_out: f.n_out,
            n_mult: f.n_mult,
            n_zero_weights: f.n_zero_weights,
            n_weights: f.n_weights,
            positions: f.positions,
            kernel: f.kernel,
            rf_shape: crate::reuse::rf_shape(l).map_or((0, 0), |(i, o)| (small(i), small(o))),
        })
        .collect())
}

impl SweepSpec {
    /// The grid the board and the host expand.
    pub fn grid(&self) -> Result<Grid, SweepError> {
        let axis = |what: &str, n: usize, max: usize| {
            if n == 0 || n > max {
                Err(SweepError::Grid(format!(
                    "{what}: 1..={max} values, not {n}"
                )))
            } else {
                Ok(n as u8)
            }
        };
        let n_widths = axis("precisions", self.widths.len(), MAX_WIDTHS)?;
        let n_reuse = axis("reuse factors", self.reuse_factors.len(), MAX_REUSE)?;
        if let Some(w) = self.widths.iter().find(|w| !(2..=64).contains(*w)) {
            return Err(SweepError::Grid(format!(
                "precision width {w}: 2..=64 bits"
            )));
        }
        if self.reuse_factors.contains(&0) {
            return Err(SweepError::Grid("reuse factor 0: at least 1".into()));
        }
        let mut widths = [0; MAX_WIDTHS];
        widths[..self.widths.len()].copy_from_slice(&self.widths);
        let mut reuse_factors = [0; MAX_REUSE];
        reuse_factors[..self.reuse_factors.len()].copy_from_slice(&self.reuse_factors);
        let strategies = self.strategies.iter().fold(0, |m, s| {
            m | match s {
                Strategy::Latency => LATENCY,
                Strategy::Resource => RESOURCE,
            }
        });
        let io = self.io_types.iter().fold(0, |m, s| {
            m | match s {
                IoType::IoParallel => IO_PARALLEL,
                IoType::IoStream => IO_STREAM,
            }
        });
        let grid = Grid {
            widths,
            n_widths,
            reuse_factors,
            n_reuse,
            strategies,
            io,
            family: crate::tokens::family_of(&self.part),
            clock_ns: self.clock_ns as f32,
            fabric_mult: false,
            tool: self
                .tool
                .as_deref()
                .map_or(zest_features::Tool::Unknown, zest_features::Tool::from_name),
        };
        grid.check().map_err(|e| {
            use zest_features::sweep::GridError;
            SweepError::Grid(
                match e {
                    GridError::Widths => "precision widths: 2..=64 bits each",
                    GridError::ReuseFactors => "reuse factors: at least 1 each",
                    GridError::Strategies => "strategies: at least one",
                    GridError::Io => "io types: at least one",
                    GridError::Clock => "clock period: a positive number of ns",
                }
                .into(),
            )
        })?;
        Ok(grid)
    }

    /// Upper limits in [`Target`] order: the part's capacity times the
    /// bound, the latency and II bounds; infinity where none.
    pub fn limits(&self) -> Result<[f64; N_TARGETS], SweepError> {
        let c = capacity(&self.part).ok_or_else(|| SweepError::UnknownPart(self.part.clone()))?;
        if !(self.bound > 0.0 && self.bound.is_finite()) {
            return Err(SweepError::Grid(format!(
                "utilisation bound {}: a positive fraction",
                self.bound
            )));
        }
        let mut l = [f64::INFINITY; N_TARGETS];
        l[Target::Lut as usize] = (c.lut * self.bound).floor();
        l[Target::Ff as usize] = (c.ff * self.bound).floor();
        l[Target::Dsp as usize] = (c.dsp * self.bound).floor();
        l[Target::Bram18 as usize] = (c.bram18 * self.bound).floor();
        if let Some(v) = self.max_latency {
            l[Target::LatencyCycles as usize] = v;
        }
        if let Some(v) = self.max_ii {
            l[Target::Ii as usize] = v;
        }
        Ok(l)
    }
}

/// Grid point `index` of `grid`, named.
pub fn config_of(grid: &Grid, index: u32) -> Option<SweepConfig> {
    let c = grid.config(index as usize)?;
    Some(SweepConfig {
        index,
        width: c.width,
        reuse_factor: c.reuse_factor,
        strategy: if c.resource { "resource" } else { "latency" },
        io_type: if c.stream { "io_stream" } else { "io_parallel" },
    })
}

fn named(
    grid: &Grid,
    points: impl IntoIterator<Item = (u32, [f64; N_TARGETS])>,
) -> Vec<SweepPoint> {
    points
        .into_iter()
        .filter_map(|(index, targets)| {
            Some(SweepPoint {
                config: config_of(grid, index)?,
                targets,
            })
        })
        .collect()
}

/// Sweeps on the host with the fixed-point model `fixed` (its bytes): what
/// a board answers, bit for bit. The grid points are estimated in parallel
/// by the decoded model the firmware runs ([`zest_fixed::fast`], bit for
/// bit the reference), then reduced in grid order as the board does.
pub fn on_host(
    fixed: &[u8],
    layers: &[SweepLayer],
    grid: &Grid,
    limits: &[f64; N_TARGETS],
) -> Result<SweepResult, SweepError> {
    use rayon::prelude::*;
    let start = std::time::Instant::now();
    let model = FixedModel::parse(fixed).map_err(SweepError::Model)?;
    let id = FixedModel::id_of(fixed).map_err(SweepError::Model)?;
    let need = zest_fixed::fast::Layout::need(&model).map_err(SweepError::Model)?;
    let (mut l8, mut l16, mut l32, mut l64) = (
        vec![0i8; need.i8s],
        vec![0i16; need.i16s],
        vec![0i32; need.i32s],
        vec![0i64; need.i64s],
    );
    let mut buffers = zest_fixed::fast::Buffers::new(&mut l8, &mut l16, &mut l32, &mut l64);
    let layout = buffers.decode(&model).map_err(SweepError::Model)?;
    let fast = buffers
        .model(&layout)
        .ok_or(SweepError::Model(ModelError::Capacity))?;
    if layers.is_empty() || layers.len() > zest_fixed::sweep::MAX_LAYERS {
        return Err(SweepError::Sweep(zest_fixed::sweep::SweepError::Layers));
    }
    let raws: Vec<Option<[i64; N_TARGETS]>> = (0..grid.len())
        .into_par_iter()
        .map(|i| {
            let cfg = grid.config(i)?;
            let mut facts =
                vec![zest_features::sweep::layer_facts(&layers[0], 0, 1, &cfg, grid); layers.len()];
            let mut tokens = vec![[0i64; zest_features::TOKEN_LEN]; layers.len()];
            zest_fixed::sweep::point_facts(layers, grid, &cfg, &mut facts);
            zest_fixed::sweep::quantize_tokens(&model.input, &facts, &mut tokens);
            fast.estimate(tokens.iter().map(|t| &t[..])).ok()
        })
        .collect();
    let mut front = vec![
        Point {
            index: 0,
            targets: [0.0; N_TARGETS],
        };
        MAX_FRONT
    ];
    let out = zest_fixed::sweep::sweep(&model.total, layers, grid, limits, &mut front, |i, _| {
        raws.get(i as usize).copied().flatten()
    })?;
    let pareto = named(
        grid,
        front[..out.front as usize]
            .iter()
            .map(|p| (p.index, p.targets)),
    );
    Ok(SweepResult {
        engine: format!("host fixed-point model {id:016x} (what a board computes)"),
        grid_points: grid.len(),
        evaluated: out.evaluated,
        infeasible: out.infeasible,
        overflow: out.overflow,
        limits: *limits,
        pareto,
        seconds: start.elapsed().as_secs_f64(),
        bytes: None,
        estimate_path_bytes: None,
    })
}

/// Sweeps on the board behind `client`, whose model must be `fixed`;
/// `wait` bounds the board's computing time.
pub fn on_board(
    client: &mut BoardClient,
    fixed: &[u8],
    layers: &[SweepLayer],
    grid: &Grid,
    limits: &[f64; N_TARGETS],
    wait: std::time::Duration,
) -> Result<SweepResult, SweepError> {
    let start = std::time::Instant::now();
    let id = FixedModel::id_of(fixed).map_err(SweepError::Model)?;
    let mut bytes = Vec::new();
    for l in layers {
        bytes.extend(
            postcard::to_allocvec(l)
                .map_err(|e| SweepError::Network(format!("encode a layer: {e}")))?,
        );
    }
    let req = SweepRequest {
        model_id: id,
        grid: *grid,
        limits: *limits,
        n_layers: u8::try_from(layers.len())
            .map_err(|_| SweepError::Network(format!("{} layers", layers.len())))?,
        layers: &bytes,
    };
    let run = client.sweep(&req, wait)?;
    Ok(SweepResult {
        engine: format!(
            "board {} ({}, fixed-point model {:016x})",
            client.port(),
            crate::board::engine_name(run.engine),
            run.model_id
        ),
        grid_points: grid.len(),
        evaluated: run.evaluated,
        infeasible: run.infeasible,
        overflow: run.overflow,
        limits: *limits,
        pareto: named(grid, run.points),
        seconds: start.elapsed().as_secs_f64(),
        bytes: Some(run.bytes),
        estimate_path_bytes: None,
    })
}

/// What the grid costs on the link without `Sweep`: every configuration's
/// tokens (built as the board builds them) sent as `Estimate` requests,
/// the bytes sent and received counted.
pub fn estimate_path_bytes(
    client: &mut BoardClient,
    fixed: &[u8],
    layers: &[SweepLayer],
    grid: &Grid,
) -> Result<(usize, usize), SweepError> {
    let model = FixedModel::parse(fixed).map_err(SweepError::Model)?;
    let id = FixedModel::id_of(fixed).map_err(SweepError::Model)?;
    let designs: Vec<zest_fixed::model::Tokens> = (0..grid.len())
        .filter_map(|i| grid.config(i))
        .map(|c| {
            layers
                .iter()
                .enumerate()
                .map(|(k, l)| {
                    let facts = zest_features::sweep::layer_facts(l, k, layers.len(), &c, grid);
                    let mut t = [0i64; zest_features::TOKEN_LEN];
                    zest_fixed::sweep::quantize_token(&model.input, &facts, &mut t);
                    t.to_vec()
                })
                .collect()
        })
        .collect();
    let (tx, rx) = (client.bytes_sent, client.bytes_received);
    zest_board::estimate::estimate_on_board(client, &model, id, &designs, |_| {})?;
    Ok((client.bytes_sent - tx, client.bytes_received - rx))
}

/// What [`check_architectures`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct ArchitectureCheck {
    /// Distinct architectures swept (designs that differ only in their
    /// configuration count once).
    pub architectures: usize,
    /// Designs whose network does not fit a sweep request (over
    /// [`MAX_SWEEP_LAYERS`] layers).
    pub skipped: usize,
    /// Grid points per architecture.
    pub grid_points: usize,
    /// Configurations estimated, on each side.
    pub configurations: usize,
    /// Architectures whose board and host sweeps differ (index among the
    /// distinct architectures, and the first design that has it).
    pub mismatches: Vec<(usize, String)>,
    /// Seconds the board took, link included.
    pub board_seconds: f64,
    /// Seconds the host took (one thread).
    pub host_seconds: f64,
    /// Configurations per second on the board, link included.
    pub board_configurations_per_s: f64,
    /// Configurations per second on the host.
    pub host_configurations_per_s: f64,
    /// Bytes sent and received for all the sweeps.
    pub bytes: (usize, usize),
}

/// Sweeps every distinct architecture of `designs` (the first `max` of
/// them, if given) over `spec`'s grid on the board and on the host, and
/// compares the two sets point for point.
pub fn check_architectures(
    client: &mut BoardClient,
    fixed: &[u8],
    designs: &[Design],
    spec: &SweepSpec,
    max: Option<usize>,
    wait: std::time::Duration,
    mut progress: impl FnMut(usize, usize),
) -> Result<ArchitectureCheck, SweepError> {
    let (grid, limits) = (spec.grid()?, spec.limits()?);
    let mut seen = std::collections::HashSet::new();
    let mut archs: Vec<(String, Vec<SweepLayer>)> = Vec::new();
    let mut skipped = 0;
    for d in designs {
        match sweep_layers(d) {
            Ok(layers) => {
                let key = postcard::to_allocvec(&layers)
                    .map_err(|e| SweepError::Network(format!("encode {}: {e}", d.id)))?;
                if seen.insert(key) {
                    archs.push((d.id.clone(), layers));
                }
            }
            Err(_) => skipped += 1,
        }
    }
    if let Some(n) = max {
        archs.truncate(n);
    }
    let (mut board_s, mut host_s) = (0.0, 0.0);
    let (mut tx, mut rx) = (0, 0);
    let mut mismatches = Vec::new();
    for (k, (id, layers)) in archs.iter().enumerate() {
        progress(k, archs.len());
        let b = on_board(client, fixed, layers, &grid, &limits, wait)?;
        let h = on_host(fixed, layers, &grid, &limits)?;
        board_s += b.seconds;
        host_s += h.seconds;
        if let Some((t, r)) = b.bytes {
            tx += t;
            rx += r;
        }
        let same = b.pareto == h.pareto
            && (b.evaluated, b.infeasible, b.overflow) == (h.evaluated, h.infeasible, h.overflow);
        if !same {
            mismatches.push((k, id.clone()));
        }
    }
    let configurations = archs.len() * grid.len();
    Ok(ArchitectureCheck {
        architectures: archs.len(),
        skipped,
        grid_points: grid.len(),
        configurations,
        mismatches,
        board_seconds: board_s,
        host_seconds: host_s,
        board_configurations_per_s: configurations as f64 / f64::max(board_s, 1e-9),
        host_configurations_per_s: configurations as f64 / f64::max(host_s, 1e-9),
        bytes: (tx, rx),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{mlp, synthetic_design};
    use crate::design::{Activation, Precision};

    fn jet() -> Design {
        let layers = mlp(
            &[16, 64, 32, 32, 5],
            Precision::DEFAULT,
            1,
            Activation::Relu,
            Activation::Softmax,
        );
        synthetic_design("jet", layers, false)
    }

    fn spec() -> SweepSpec {
        SweepSpec {
            widths: vec![6, 8, 12, 16, 18],
            reuse_factors: vec![1, 2, 3, 4, 8, 16, 64, 100],
            strategies: vec![Strategy::Latency, Strategy::Resource],
            io_types: vec![IoType::IoParallel, IoType::IoStream],
            part: crate::part::PYNQ_Z2.into(),
            clock_ns: 5.0,
            tool: Some("Vivado HLS 2019.2".into()),
            bound: 0.8,
            max_latency: None,
            max_ii: None,
        }
    }

    /// The facts the board expands for each grid point are the facts the
    /// host computes for the design hls4ml would build with that
    /// configuration: the sweep estimates what `zest estimate` does.
    #[test]
    fn every_grid_point_has_the_facts_of_the_design_it_names() {
        let base = jet();
        let layers = sweep_layers(&base).unwrap();
        let spec = spec();
        let grid = spec.grid().unwrap();
        assert_eq!(grid.len(), 5 * 8 * 2 * 2);
        for i in 0..grid.len() {
            let c = grid.config(i).unwrap();
            let p = Precision {
                width: u16::from(c.width),
                ..Precision::DEFAULT
            };
            let mut d = base.clone();
            d.strategy = if c.resource {
                Strategy::Resource
            } else {
                Strategy::Latency
            };
            d.io_type = if c.stream {
                IoType::IoStream
            } else {
                IoType::IoParallel
            };
            d.input = p;
            d.part = spec.part.clone();
            d.clock_ns = spec.clock_ns;
            d.tool.clone_from(&spec.tool);
            for l in &mut d.layers {
                if l.kind.has_weights() {
                    l.weight = Some(p);
                    l.accum = Some(p);
                    l.reuse_factor = c.reuse_factor;
                }
                l.result = Some(p);
            }
            let want = layer_facts(&d);
            let got: Vec<_> = layers
                .iter()
                .enumerate()
                .map(|(k, l)| zest_features::sweep::layer_facts(l, k, layers.len(), &c, &grid))
                .collect();
            assert_eq!(got, want, "grid point {i}: {c:?}");
        }
    }

    #[test]
    fn host_sweep_keeps_only_feasible_non_dominated_points() {
        let layers = sweep_layers(&jet()).unwrap();
        let spec = spec();
        let (grid, limits) = (spec.grid().unwrap(), spec.limits().unwrap());
        let r = on_host(crate::models::DEFAULT_FIXED, &layers, &grid, &limits).unwrap();
        assert_eq!(r.evaluated as usize, grid.len());
        assert!(!r.pareto.is_empty() && !r.overflow);
        let obj = |p: &SweepPoint| zest_fixed::sweep::OBJECTIVES.map(|t| p.targets[t as usize]);
        for a in &r.pareto {
            assert!(a.targets.iter().zip(&limits).all(|(v, l)| v <= l));
            for b in &r.pareto {
                let (oa, ob) = (obj(a), obj(b));
                let dominates = oa.iter().zip(&ob).all(|(x, y)| x <= y);
                assert!(a == b || !dominates, "{a:?} dominates {b:?}");
            }
        }
        // Tighter limits: fewer feasible points, none over the limit.
        let tight = SweepSpec {
            bound: 0.05,
            ..spec.clone()
        };
        let t = on_host(
            crate::models::DEFAULT_FIXED,
            &layers,
            &grid,
            &tight.limits().unwrap(),
        )
        .unwrap();
        assert!(t.infeasible > r.infeasible);
        assert!(matches!(
            SweepSpec {
                part: "xc9nope".into(),
                ..spec.clone()
            }
            .limits(),
            Err(SweepError::UnknownPart(_))
        ));
        assert!(matches!(
            SweepSpec {
                widths: vec![],
                ..spec
            }
            .grid(),
            Err(SweepError::Grid(_))
        ));
    }
}
