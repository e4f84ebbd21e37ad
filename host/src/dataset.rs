//! A user's training data: the samples a network zest optimises is trained
//! and scored on.
//!
//! # Format
//!
//! One CSV file, optionally gzip-compressed (recognised by its magic bytes,
//! not its name), one sample per record:
//!
//! ```text
//! [header]                      optional, one of the two forms below
//! f_1,f_2,...,f_n,label         every data record: n numbers and the label
//! ```
//!
//! * **No header**: the first record is data like the rest.
//! * **Column names**: a first record with a cell that is not a number
//!   where the second record's is names the columns; the label column may
//!   then be chosen by name.
//! * **scikit-learn's header**: `rows,features,class names...` (the
//!   first line of scikit-learn's bundled `breast_cancer.csv`): two
//!   integers, the sample and feature counts, then two or more class
//!   names in label order, on a line with another number of cells than
//!   the data's. Both counts are checked against the data.
//!
//! The label column is the last unless [`LabelColumn`] says otherwise (by
//! 0-based index or by header name); every other column is a feature.
//! Features are finite numbers (`NaN` and `inf` are refused). Labels are
//! integer class indices `0..k` (k from scikit-learn's class names when
//! given, else the largest label + 1) or, when no label cell is a number,
//! class names, numbered in order of first appearance.
//!
//! Every error names the file, the 1-based line and the column.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Which column holds the label.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// The last column.
    #[default]
    Last,
    /// The column at this 0-based index.
    Index(usize),
    /// The column with this header name.
    Name(String),
    /// No label: every column is a feature (data to predict).
    None,
}

impl std::str::FromStr for LabelColumn {
    type Err = std::convert::Infallible;

    /// A number is an index, anything else a name; `last` is the default.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "last" => LabelColumn::Last,
            t => t
                .parse()
                .map(LabelColumn::Index)
                .unwrap_or_else(|_| LabelColumn::Name(t.to_string())),
        })
    }
}

/// A labelled data set, features row-major.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// Where it was read from.
    pub source: PathBuf,
    /// Feature names (from the header; `f0`, `f1`, ... without one).
    pub feature_names: Vec<String>,
    /// Class names (from the header or the labels; the indices as text
    /// for integer labels without names).
    pub classes: Vec<String>,
    /// `n_samples × n_features` values, sample by sample.
    pub features: Vec<f32>,
    /// Class index per sample.
    pub labels: Vec<u32>,
}

/// Why a data file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file could not be opened or read (or is not valid gzip).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A cell, a record or the header breaks the format.
    #[error("{path}:{line}: {why}")]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong, naming the column.
        why: String,
    },
    /// The label column given does not exist.
    #[error("{path}: no label column {column}: {why}")]
    NoLabelColumn {
        /// The file.
        path: PathBuf,
        /// As given.
        column: String,
        /// What the file has instead.
        why: String,
    },
    /// No data records.
    #[error("{path}: no samples")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.features
            .len()
            .checked_div(self.n_features())
            .unwrap_or(0)
    }

    /// Whether there are no samples (never, for a data set [`read`] returns).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether each sample has a label (not so for [`LabelColumn::None`]).
    pub fn is_labelled(&self) -> bool {
        self.labels.len() == self.len() && !self.classes.is_empty()
    }

    /// Number of features per sample.
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Sample `i`'s features.
    pub fn sample(&self, i: usize) -> &[f32] {
        let n = self.n_features();
        &self.features[i * n..(i + 1) * n]
    }

    /// Fraction of the samples `idx` that `predict` classifies right (NaN
    /// for none).
    pub fn accuracy(&self, idx: &[usize], predict: impl Fn(&[f32]) -> usize + Sync) -> f64 {
        use rayon::prelude::*;
        if idx.is_empty() {
            return f64::NAN;
        }
        let right = idx
            .par_iter()
            .filter(|&&i| predict(self.sample(i)) == self.labels[i] as usize)
            .count();
        right as f64 / idx.len() as f64
    }

    /// Samples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes.len()];
        for &l in &self.labels {
            c[l as usize] += 1;
        }
        c
    }
}

/// Reads `path` (CSV, gzip or not) with the label in `label`.
pub fn read(path: &Path, label: &LabelColumn) -> Result<Dataset, DatasetError> {
    let raw = std::fs::read(path).map_err(|e| io_error(path, e))?;
    from_bytes(path, raw, label)
}

/// An I/O error on `path`.
fn io_error(path: &Path, source: std::io::Error) -> DatasetError {
    DatasetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Parses `raw`, the bytes of the file at `path` (CSV, gzip or not, named
/// in errors), with the label in `label`: for a caller that has read the
/// file already, to check its CRC, and must parse exactly what it checked.
pub fn from_bytes(path: &Path, raw: Vec<u8>, label: &LabelColumn) -> Result<Dataset, DatasetError> {
    let text = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut s = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut s)
            .map_err(|e| io_error(path, e))?;
        s
    } else {
        raw
    };
    parse(path, &text, label)
}

/// A header the first record may be.
enum Header {
    None,
    Names(Vec<String>),
    /// scikit-learn's: sample count, feature count, class names.
    Sklearn {
        rows: usize,
        features: usize,
        classes: Vec<String>,
    },
}

fn is_number(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
}

fn header_of(first: &csv::StringRecord, next: Option<&csv::StringRecord>) -> Header {
    let next_len = next.map(csv::StringRecord::len);
    let cells: Vec<&str> = first.iter().map(str::trim).collect();
    let ints: Vec<Option<usize>> = cells.iter().map(|c| c.parse().ok()).collect();
    if let (Some(Some(rows)), Some(Some(features))) = (ints.first(), ints.get(1)) {
        let names = &cells[2..];
        // At least two class names, and a line shaped unlike the data
        // (`1,2,cat` followed by `3,4,dog` is data).
        if names.len() >= 2
            && names.iter().all(|c| !is_number(c))
            && next_len == Some(features + 1)
            && next_len != Some(cells.len())
        {
            return Header::Sklearn {
                rows: *rows,
                features: *features,
                classes: names.iter().map(|s| s.to_string()).collect(),
            };
        }
    }
    // Names: a cell that is not a number above one that is (a column of
    // class names is data, whatever its first line).
    let numeric_below = |i: usize| next.and_then(|r| r.get(i)).is_none_or(is_number);
    if cells
        .iter()
        .enumerate()
        .any(|(i, c)| !is_number(c) && numeric_below(i))
    {
        Header::Names(cells.iter().map(|s| s.to_string()).collect())
    } else {
        Header::None
    }
}

fn parse(path: &Path, text: &[u8], label: &LabelColumn) -> Result<Dataset, DatasetError> {
    let format = |line: u64, why: String| DatasetError::Format {
        path: path.to_path_buf(),
        line,
        why,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut records = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            format(line, format!("not CSV: {e}"))
        })?;
        // Blank lines are not samples.
        if r.len() == 1 && r.get(0).is_some_and(|c| c.trim().is_empty()) {
            continue;
        }
        let line = r.position().map_or(0, |p| p.line());
        records.push((line, r));
    }
    let Some((first_line, first)) = records.first().cloned() else {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    };
    let header = header_of(&first, records.get(1).map(|(_, r)| r));
    let data = match header {
        Header::None => &records[..],
        _ => &records[1..],
    };
    let Some((_, row0)) = data.first() else {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    };
    let width = row0.len();
    let names: Vec<String> = match &header {
        Header::Names(n) => {
            if n.len() != width {
                return Err(format(
                    first_line,
                    format!(
                        "the header names {} columns, the first sample has {width}",
                        n.len()
                    ),
                ));
            }
            n.clone()
        }
        _ => (0..width).map(|i| format!("column {i}")).collect(),
    };
    let no_column = |why: String| DatasetError::NoLabelColumn {
        path: path.to_path_buf(),
        column: match label {
            LabelColumn::Last => "last".into(),
            LabelColumn::Index(i) => i.to_string(),
            LabelColumn::Name(n) => format!("{n:?}"),
            LabelColumn::None => "none".into(),
        },
        why,
    };
    let label_at = match label {
        LabelColumn::Last => width
            .checked_sub(1)
            .ok_or_else(|| no_column("the file has no columns".into()))?,
        LabelColumn::Index(i) if *i < width => *i,
        LabelColumn::Index(_) => {
            return Err(no_column(format!(
                "the file has {width} columns (0..{})",
                width.saturating_sub(1)
            )))
        }
        // Past every column: no cell is the label.
        LabelColumn::None => usize::MAX,
        LabelColumn::Name(n) => match &header {
            Header::Names(h) => h
                .iter()
                .position(|c| c == n)
                .ok_or_else(|| no_column(format!("the header has {}", h.join(", "))))?,
            _ => return Err(no_column("the file has no header of column names".into())),
        },
    };
    let labelled = *label != LabelColumn::None;
    if width < 1 + usize::from(labelled) {
        return Err(format(
            data[0].0,
            "a sample needs at least one feature and the label".into(),
        ));
    }
    let column = |i: usize| match &header {
        Header::Names(h) => format!("column {} ({:?})", i + 1, h[i]),
        _ => format!("column {}", i + 1),
    };
    // Labels: integers, unless no label cell is a number (class names).
    let named_labels = labelled
        && data
            .iter()
            .all(|(_, r)| r.get(label_at).is_some_and(|c| !is_number(c)));
    let mut classes: Vec<String> = match &header {
        Header::Sklearn { classes, .. } => classes.clone(),
        _ => Vec::new(),
    };
    let fixed_classes = !classes.is_empty();
    let mut features = Vec::with_capacity(data.len() * (width - 1));
    let mut labels = Vec::with_capacity(data.len());
    for (line, r) in data {
        if r.len() != width {
            return Err(format(
                *line,
                format!(
                    "{} columns where the first sample has {width} (a ragged row)",
                    r.len()
                ),
            ));
        }
        for (i, cell) in r.iter().enumerate() {
            let cell = cell.trim();
            if i == label_at {
                let class = if named_labels {
                    match classes.iter().position(|c| c == cell) {
                        Some(k) => k,
                        None if fixed_classes => {
                            return Err(format(
                                *line,
                                format!(
                                    "{}: label {cell:?} is none of the classes {}",
                                    column(i),
                                    classes.join(", ")
                                ),
                            ))
                        }
                        None => {
                            classes.push(cell.to_string());
                            classes.len() - 1
                        }
                    }
                } else {
                    let v: f64 = cell.parse().map_err(|_| {
                        format(
                            *line,
                            format!("{}: label {cell:?} is not a class index", column(i)),
                        )
                    })?;
                    if !(v >= 0.0 && v.fract() == 0.0 && v < f64::from(u32::MAX)) {
                        return Err(format(
                            *line,
                            format!(
                                "{}: label {cell:?} is not a class index (0, 1, 2, ...)",
                                column(i)
                            ),
                        ));
                    }
                    let k = v as usize;
                    if fixed_classes && k >= classes.len() {
                        return Err(format(
                            *line,
                            format!(
                                "{}: label {k} is outside the {} classes the header names ({})",
                                column(i),
                                classes.len(),
                                classes.join(", ")
                            ),
                        ));
                    }
                    k
                };
                labels.push(class as u32);
            } else {
                let v: f32 = cell.parse().map_err(|_| {
                    format(*line, format!("{}: {cell:?} is not a number", column(i)))
                })?;
                if !v.is_finite() {
                    return Err(format(
                        *line,
                        format!("{}: {cell:?} is not a finite number", column(i)),
                    ));
                }
                features.push(v);
            }
        }
    }
    if !named_labels && !fixed_classes {
        let k = labels.iter().max().map_or(0, |m| *m as usize + 1);
        classes = (0..k).map(|c| c.to_string()).collect();
    }
    if let Header::Sklearn {
        rows,
        features: n_features,
        ..
    } = header
    {
        if rows != data.len() || n_features != width - usize::from(labelled) {
            return Err(format(
                first_line,
                format!(
                    "the header announces {rows} samples of {n_features} features, the file holds {} of {}",
                    data.len(),
                    width - usize::from(labelled)
                ),
            ));
        }
    }
    let feature_names = names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != label_at)
        .map(|(i, n)| match header {
            Header::Names(_) => n.clone(),
            _ => format!("f{i}"),
        })
        .collect();
    Ok(Dataset {
        source: path.to_path_buf(),
        feature_names,
        classes,
        features,
        labels,
    })
}

/// A stratified split of a data set's samples into training, validation
/// and test sets (sample indices, each set in file order): the same seed
/// and fractions give the same split, and each class is dealt in
/// proportion (within one sample) to every set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// Seed it was dealt with.
    pub seed: u64,
    /// Training samples.
    pub train: Vec<usize>,
    /// Validation samples (early stopping).
    pub val: Vec<usize>,
    /// Test samples (the accuracy reported).
    pub test: Vec<usize>,
}

impl Split {
    /// Deals each class's samples, shuffled by `seed`, into `val_frac`
    /// validation, `test_frac` test and the rest training.
    pub fn stratified(data: &Dataset, val_frac: f64, test_frac: f64, seed: u64) -> Split {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (mut train, mut val, mut test) = (Vec::new(), Vec::new(), Vec::new());
        for class in 0..data.classes.len() {
            let mut idx: Vec<usize> = (0..data.len())
                .filter(|&i| data.labels[i] as usize == class)
                .collect();
            rng.shuffle(&mut idx);
            let n = idx.len() as f64;
            let n_test = (n * test_frac).round() as usize;
            let n_val = ((n * val_frac).round() as usize).min(idx.len() - n_test.min(idx.len()));
            let n_test = n_test.min(idx.len());
            test.extend_from_slice(&idx[..n_test]);
            val.extend_from_slice(&idx[n_test..n_test + n_val]);
            train.extend_from_slice(&idx[n_test + n_val..]);
        }
        for s in [&mut train, &mut val, &mut test] {
            s.sort_unstable();
        }
        Split {
            seed,
            train,
            val,
            test,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str, label: &LabelColumn) -> Result<Dataset, DatasetError> {
        parse(Path::new("t.csv"), text.as_bytes(), label)
    }

    fn err(text: &str, label: &LabelColumn) -> String {
        parse_str(text, label).expect_err(text).to_string()
    }

    #[test]
    fn headerless_named_and_sklearn_headers() {
        let d = parse_str("1,2,0\n3,4,1\n", &LabelColumn::Last).unwrap();
        assert_eq!((d.len(), d.n_features()), (2, 2));
        assert_eq!(d.sample(1), &[3.0, 4.0]);
        assert_eq!(d.classes, ["0", "1"]);
        let d = parse_str("a,b,y\n1,2,0\n3,4,1\n", &LabelColumn::Name("a".into())).unwrap();
        assert_eq!(d.feature_names, ["b", "y"]);
        assert_eq!(d.labels, [1, 3]);
        let d = parse_str("2,2,no,yes\n1,2,0\n3,4,1\n", &LabelColumn::Last).unwrap();
        assert_eq!(d.classes, ["no", "yes"]);
        assert_eq!(d.class_counts(), [1, 1]);
        let d = parse_str("a,b,y\n1,2,0.5\n", &LabelColumn::None).unwrap();
        assert_eq!((d.n_features(), d.len(), d.is_labelled()), (3, 1, false));
        assert_eq!(d.sample(0), &[1.0, 2.0, 0.5]);
        let d = parse_str("1,2,cat\n3,4,dog\n5,6,cat\n", &LabelColumn::Last).unwrap();
        assert_eq!(
            (d.classes.clone(), d.labels.clone()),
            (vec!["cat".into(), "dog".into()], vec![0, 1, 0])
        );
    }

    #[test]
    fn bad_cells_are_named_by_line_and_column() {
        let last = LabelColumn::Last;
        assert_eq!(
            err("1,2,0\n3,4\n", &last),
            "t.csv:2: 2 columns where the first sample has 3 (a ragged row)"
        );
        assert_eq!(
            err("1,2,0\n3,x,1\n", &last),
            "t.csv:2: column 2: \"x\" is not a number"
        );
        assert_eq!(
            err("1,2,0\nNaN,4,1\n", &last),
            "t.csv:2: column 1: \"NaN\" is not a finite number"
        );
        assert_eq!(
            err("1,2,0\n3,4,1.5\n", &last),
            "t.csv:2: column 3: label \"1.5\" is not a class index (0, 1, 2, ...)"
        );
        assert!(err("2,2,no,yes\n1,2,0\n3,4,2\n", &last)
            .starts_with("t.csv:3: column 3: label 2 is outside the 2 classes"));
        assert_eq!(
            err("1,2,0\n", &LabelColumn::Index(3)),
            "t.csv: no label column 3: the file has 3 columns (0..2)"
        );
        assert_eq!(
            err("a,b\n1,0\n", &LabelColumn::Name("label".into())),
            "t.csv: no label column \"label\": the header has a, b"
        );
        assert_eq!(err("", &last), "t.csv: no samples");
        assert!(err("3,2,no,yes\n1,2,0\n3,4,1\n", &last).contains("announces 3 samples"));
    }

    #[test]
    fn a_split_is_stratified_seeded_and_complete() {
        let text: String = (0..100)
            .map(|i| format!("{i},{}\n", u32::from(i % 4 == 0)))
            .collect();
        let d = parse_str(&text, &LabelColumn::Last).unwrap();
        let s = Split::stratified(&d, 0.2, 0.2, 7);
        assert_eq!(s, Split::stratified(&d, 0.2, 0.2, 7));
        assert_ne!(s.test, Split::stratified(&d, 0.2, 0.2, 8).test);
        let mut all: Vec<usize> = [&s.train, &s.val, &s.test]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        // 25 of class 1: 5 test, 5 validation; 75 of class 0: 15 and 15.
        let ones = |set: &[usize]| set.iter().filter(|&&i| d.labels[i] == 1).count();
        assert_eq!(
            (ones(&s.test), ones(&s.val), s.test.len(), s.val.len()),
            (5, 5, 20, 20)
        );
    }
}
