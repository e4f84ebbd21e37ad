//! Predicted-vs-true scatter plots (log-log PNG, one per target) for
//! `zest eval --plots DIR`: cross-validation in blue, the realistic
//! hold-out in orange, extrapolation in green, the diagonal in grey.
//!
//! Text needs a TrueType font: the first of `$ZEST_FONT` and the usual
//! DejaVu/Liberation paths that exists (Debian: `fonts-dejavu-core`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::design::Targets;
use crate::learn::eval::{EvalSuite, Report};

/// Why plots could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// No font file.
    #[error("no TrueType font for the plot labels: install fonts-dejavu-core or set ZEST_FONT to a .ttf file")]
    NoFont,
    /// Drawing or writing failed.
    #[error("{path}: {why}")]
    Draw {
        /// The PNG.
        path: String,
        /// What failed.
        why: String,
    },
}

const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

fn register_font() -> Result<(), PlotError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        let candidates = std::env::var_os("ZEST_FONT")
            .map(PathBuf::from)
            .into_iter()
            .chain(FONT_PATHS.iter().map(PathBuf::from));
        for p in candidates {
            if let Ok(bytes) = std::fs::read(&p) {
                // plotters keeps fonts for the life of the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::NoFont)
    }
}

/// Writes `DIR/<target>.png` for the six targets; returns the files.
pub fn write_plots(dir: &Path, suite: &EvalSuite) -> Result<Vec<PathBuf>, PlotError> {
    register_font()?;
    std::fs::create_dir_all(dir).map_err(|e| PlotError::Draw {
        path: dir.display().to_string(),
        why: e.to_string(),
    })?;
    let mut sets: Vec<(&Report, RGBColor)> = vec![
        (&suite.cross_validation, RGBColor(31, 119, 180)),
        (&suite.realistic, RGBColor(255, 127, 14)),
        (&suite.extrapolation, RGBColor(44, 160, 44)),
    ];
    if let Some(r) = &suite.unseen {
        sets.push((r, RGBColor(214, 39, 40)));
    }
    let mut files = Vec::new();
    for (t, name) in Targets::NAMES.iter().enumerate() {
        let path = dir.join(format!("{name}.png"));
        let shown = path.display().to_string();
        let err = |e: &dyn std::fmt::Display| PlotError::Draw {
            path: shown.clone(),
            why: e.to_string(),
        };
        // Values +1 so zeros have a place on the log axes.
        let pts: Vec<Vec<(f64, f64)>> = sets
            .iter()
            .map(|(r, _)| {
                r.points
                    .iter()
                    .map(|p| (p.truth.to_array()[t] + 1.0, p.pred.to_array()[t] + 1.0))
                    .filter(|(y, e)| y.is_finite() && e.is_finite())
                    .collect()
            })
            .collect();
        let hi = pts
            .iter()
            .flatten()
            .flat_map(|(a, b)| [*a, *b])
            .fold(10.0f64, f64::max)
            * 1.5;
        let root = BitMapBackend::new(&path, (720, 720)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let title = format!(
            "{name}: estimate vs synthesis (+1), SMAPE CV {:.1} %, realistic {:.1} %",
            sets[0].0.targets[t].1.smape, sets[1].0.targets[t].1.smape
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d((1.0..hi).log_scale(), (1.0..hi).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(format!("{name} from synthesis"))
            .y_desc(format!("{name} estimated by zest"))
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(
                [(1.0, 1.0), (hi, hi)],
                &RGBColor(150, 150, 150),
            ))
            .map_err(|e| err(&e))?;
        for ((r, color), p) in sets.iter().zip(&pts) {
            let c = *color;
            chart
                .draw_series(
                    p.iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, c.mix(0.6).filled())),
                )
                .map_err(|e| err(&e))?
                .label(format!("{} ({} designs)", short(&r.name), r.n_designs))
                .legend(move |(x, y)| Circle::new((x, y), 4, c.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
        drop(chart);
        drop(root);
        files.push(path);
    }
    Ok(files)
}

fn short(name: &str) -> &str {
    name.split(" (").next().unwrap_or(name)
}

/// Draws one line with its points and legend entry on `chart` (a macro:
/// the two panels' coordinate types differ).
macro_rules! lines {
    ($chart:expr, $err:ident, $pts:expr, $color:expr, $name:expr) => {{
        let (pts, color) = ($pts, $color);
        $chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| $err(&e))?
            .label($name)
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
        $chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(|e| $err(&e))?;
    }};
}

/// The legend box, lower left (or where `$pos` says).
macro_rules! legend {
    ($chart:expr, $err:ident) => {
        legend!($chart, $err, SeriesLabelPosition::LowerLeft)
    };
    ($chart:expr, $err:ident, $pos:expr) => {
        $chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position($pos)
            .draw()
            .map_err(|e| $err(&e))?
    };
}

/// `zest optimize`'s plot: per step, test accuracy (float and fixed point)
/// above, estimated DSP and LUT (log scale) below.
pub fn write_optimize_plot(
    path: &Path,
    report: &crate::network::optimize::OptimizeReport,
) -> Result<(), PlotError> {
    register_font()?;
    let shown = path.display().to_string();
    let err = |e: &dyn std::fmt::Display| PlotError::Draw {
        path: shown.clone(),
        why: e.to_string(),
    };
    let rows = &report.rows;
    let n = rows.len();
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let root = BitMapBackend::new(path, (800, 720)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, bottom) = root.split_vertically(360);
    let xs = 0..n as i32;
    let label = |x: &i32| names.get(*x as usize).cloned().unwrap_or_default();
    let accs: Vec<f64> = rows
        .iter()
        .flat_map(|r| [r.metrics.float_test_accuracy, r.metrics.fixed_test_accuracy])
        .map(|a| 100.0 * a)
        .collect();
    let lo = accs.iter().copied().fold(100.0, f64::min);
    let lo = (lo - 2.0).floor().max(0.0);
    let mut chart = ChartBuilder::on(&top)
        .caption("test accuracy per step", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..100.5)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| label(&(x.round() as i32)))
        .y_desc("accuracy %")
        .draw()
        .map_err(|e| err(&e))?;
    let series = |f: &dyn Fn(&crate::network::optimize::StepRow) -> f64| -> Vec<(f64, f64)> {
        xs.clone()
            .map(|i| (f64::from(i), f(&rows[i as usize])))
            .collect()
    };
    for (pts, color, name) in [
        (
            series(&|r| 100.0 * r.metrics.float_test_accuracy),
            RGBColor(31, 119, 180),
            "float",
        ),
        (
            series(&|r| 100.0 * r.metrics.fixed_test_accuracy),
            RGBColor(214, 39, 40),
            "fixed point (hls4ml)",
        ),
    ] {
        lines!(chart, err, pts, color, name);
    }
    legend!(chart, err);
    let hi = rows
        .iter()
        .flat_map(|r| [r.estimate.dsp, r.estimate.lut])
        .fold(10.0, f64::max)
        * 2.0;
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            format!("estimated by {}", short(&report.estimator)),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (1.0..hi).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| label(&(x.round() as i32)))
        .y_desc("DSP, LUT (+1)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(|e| err(&e))?;
    for (pts, color, name) in [
        (
            series(&|r| r.estimate.dsp + 1.0),
            RGBColor(44, 160, 44),
            "DSP",
        ),
        (
            series(&|r| r.estimate.lut + 1.0),
            RGBColor(148, 103, 189),
            "LUT",
        ),
    ] {
        lines!(chart, err, pts, color, name);
    }
    legend!(chart, err);
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// `zest explore`'s plot, one colour per run (e.g. BO, random, grid):
/// the feasible Pareto fronts as accuracy against estimated DSP and
/// against LUT (every feasible design faint behind), and the feasible
/// hypervolume after each evaluation (MetaML-Pro's Fig. 20 analogue).
pub fn write_explore_plot(
    path: &Path,
    runs: &[(crate::explore::Summary, Vec<crate::explore::Evaluation>)],
) -> Result<(), PlotError> {
    register_font()?;
    let shown = path.display().to_string();
    let err = |e: &dyn std::fmt::Display| PlotError::Draw {
        path: shown.clone(),
        why: e.to_string(),
    };
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
    ];
    let root = BitMapBackend::new(path, (1200, 820)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, bottom) = root.split_vertically(430);
    let (left, right) = top.split_horizontally(600);
    let name = |s: &crate::explore::Summary| format!("{} ({})", s.search, s.flow);
    let feasible: Vec<(f64, f64, f64)> = runs
        .iter()
        .flat_map(|(_, ev)| ev.iter().flat_map(|e| e.candidates.iter()))
        .filter(|c| c.feasible)
        .map(|c| (100.0 * c.accuracy, c.estimate.dsp, c.estimate.lut))
        .collect();
    let acc_lo = feasible.iter().map(|f| f.0).fold(100.0, f64::min).floor() - 0.5;
    let acc_hi = feasible.iter().map(|f| f.0).fold(0.0, f64::max).ceil() + 0.5;
    for (panel, (area, pick, label)) in [
        (
            &left,
            (|f: &(f64, f64, f64)| f.1) as fn(&(f64, f64, f64)) -> f64,
            "estimated DSP",
        ),
        (
            &right,
            (|f: &(f64, f64, f64)| f.2) as fn(&(f64, f64, f64)) -> f64,
            "estimated LUT",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let hi = feasible.iter().map(pick).fold(10.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("feasible fronts: accuracy vs {label}"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..hi, acc_lo.min(acc_hi - 1.0)..acc_hi)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(label)
            .y_desc("fixed-point test accuracy %")
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(
                feasible
                    .iter()
                    .map(|f| Circle::new((pick(f), f.0), 2, RGBColor(180, 180, 180).filled())),
            )
            .map_err(|e| err(&e))?;
        for (k, (s, _)) in runs.iter().enumerate() {
            let color = colors[k % colors.len()];
            let mut pts: Vec<(f64, f64)> = s
                .pareto
                .iter()
                .map(|d| {
                    let f = (100.0 * d.accuracy, d.estimate.dsp, d.estimate.lut);
                    (pick(&f), f.0)
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            // The 2-D front of this projection, as a staircase.
            let mut best = f64::NEG_INFINITY;
            let stairs: Vec<(f64, f64)> = pts
                .into_iter()
                .filter(|p| {
                    let keep = p.1 > best;
                    best = best.max(p.1);
                    keep
                })
                .collect();
            let label = name(s);
            if panel == 0 {
                lines!(chart, err, stairs, color, label);
            } else {
                lines!(chart, err, stairs, color, "");
            }
        }
        if panel == 0 {
            legend!(chart, err, SeriesLabelPosition::LowerRight);
        }
    }
    let n = runs
        .iter()
        .map(|(s, _)| s.hypervolume_trace.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let hv_hi = runs
        .iter()
        .flat_map(|(s, _)| s.hypervolume_trace.iter().copied())
        .fold(0.01, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "feasible hypervolume per evaluation (normalised objectives, reference (1, 1, 1))",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d((1.0..n as f64).log_scale(), 0.0..hv_hi)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("evaluation (log scale)")
        .y_desc("hypervolume")
        .draw()
        .map_err(|e| err(&e))?;
    for (k, (s, _)) in runs.iter().enumerate() {
        let pts: Vec<(f64, f64)> = s
            .hypervolume_trace
            .iter()
            .enumerate()
            .map(|(i, v)| ((i + 1) as f64, *v))
            .collect();
        let color = colors[k % colors.len()];
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(format!(
                "{}: {:.4} after {}",
                name(s),
                s.hypervolume,
                s.evaluations
            ))
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
    }
    legend!(chart, err, SeriesLabelPosition::LowerRight);
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// `zest sweep --plot`: the feasible Pareto set as estimated DSP against
/// latency, each point coloured by its LUTs (blue few, red many) and
/// labelled with its width and reuse factor.
pub fn write_sweep_plot(
    path: &Path,
    network: &str,
    result: &crate::sweep::SweepResult,
) -> Result<(), PlotError> {
    register_font()?;
    let shown = path.display().to_string();
    let err = |e: &dyn std::fmt::Display| PlotError::Draw {
        path: shown.clone(),
        why: e.to_string(),
    };
    let pts: Vec<(f64, f64, f64, String)> = result
        .pareto
        .iter()
        .map(|p| {
            (
                p.targets[2],
                p.targets[4],
                p.targets[0],
                format!("W{} RF{}", p.config.width, p.config.reuse_factor),
            )
        })
        .collect();
    let x_hi = pts.iter().map(|p| p.0).fold(1.0, f64::max) * 1.1;
    let y_hi = pts.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let (l_lo, l_hi) = pts.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
        (lo.min(p.2), hi.max(p.2))
    });
    let colour = |lut: f64| {
        let f = if l_hi > l_lo {
            ((lut - l_lo) / (l_hi - l_lo)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        RGBColor((40.0 + 200.0 * f) as u8, 60, (230.0 - 190.0 * f) as u8)
    };
    let root = BitMapBackend::new(path, (900, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{network}: feasible Pareto set, {} of {} configurations (LUT {:.0}–{:.0}: blue → red)",
                pts.len(),
                result.evaluated,
                if l_lo.is_finite() { l_lo } else { 0.0 },
                l_hi
            ),
            ("sans-serif", 17),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_hi, 0.0..y_hi)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("estimated DSP")
        .y_desc("estimated latency (cycles)")
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            pts.iter()
                .map(|p| Circle::new((p.0, p.1), 6, colour(p.2).filled())),
        )
        .map_err(|e| err(&e))?;
    chart
        .draw_series(pts.iter().map(|p| {
            Text::new(
                p.3.clone(),
                (p.0, p.1),
                ("sans-serif", 11).into_font().color(&BLACK),
            )
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
