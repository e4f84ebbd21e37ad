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
