//! `zest estimate`: a user's network and hls4ml configuration → design →
//! the surrogate's six targets, the part's utilisation and each layer's
//! share.

use serde::Serialize;

use crate::design::{Design, HlsConfig, LayerKind, Targets};
use crate::learn::rules;
use crate::learn::surrogate::{round_targets, Surrogate};
use crate::part::{capacity, utilisation};
use zest_features::N_TARGETS;
use zest_features::{slot_name, slot_unit};

/// One slot outside its training range, in words and units:
/// `result width 8 bits (trained: always 16 bits)`.
fn describe_violation(slot: usize, value: f32, (lo, hi): (f32, f32)) -> String {
    let (k, unit) = slot_unit(slot);
    let show = |x: f32| {
        let s = format!("{:.2}", x * k);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let range = if lo == hi {
        format!("always {}{unit}", show(lo))
    } else {
        format!("{}..{}{unit}", show(lo), show(hi))
    };
    format!(
        "{} {}{unit} (trained: {range})",
        slot_name(slot),
        show(value)
    )
}

/// One layer's share of the estimate.
#[derive(Debug, Clone, Serialize)]
pub struct LayerShare {
    /// Layer name.
    pub name: String,
    /// Kind.
    pub kind: LayerKind,
    /// Inputs → outputs.
    pub n_in: u64,
    /// Outputs.
    pub n_out: u64,
    /// LUT, FF, DSP, BRAM18, latency, II of this layer alone.
    pub costs: [f64; N_TARGETS],
    /// What synthesis reported for this layer's own module, where the
    /// input had per-module reports (an hls4ml project, a Zynq record).
    pub recorded: Option<Targets>,
}

/// Everything `zest estimate` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EstimateReport {
    /// Network name.
    pub design: String,
    /// The configuration applied.
    pub config: HlsConfig,
    /// The six targets (whole units).
    pub targets: Targets,
    /// Utilisation of the part, % (LUT, FF, DSP, BRAM), when the part is known.
    pub utilisation: Option<[f64; 4]>,
    /// Per layer.
    pub layers: Vec<LayerShare>,
    /// Inputs outside what the model was trained on.
    pub warnings: Vec<String>,
    /// Which model answered.
    pub model: String,
    /// Conservative mode: the quantile asked for and the upper bounds.
    pub upper: Option<UpperBound>,
    /// What synthesis reported, when the input was a synthesis record.
    pub recorded: Option<Targets>,
}

/// Upper bounds at a stated quantile (`zest estimate --upper Q`).
#[derive(Debug, Clone, Serialize)]
pub struct UpperBound {
    /// The quantile: on held-out designs, about this fraction of true
    /// values lay at or below such bounds (`zest eval` measures it).
    pub quantile: f64,
    /// The bounds (whole units).
    pub targets: Targets,
}

/// Estimates `design` with `model`.
pub fn estimate(
    model: &Surrogate,
    design: &Design,
    cfg: &HlsConfig,
    model_name: &str,
    upper: Option<f64>,
) -> EstimateReport {
    // The layer facts once: tokens, rules and warnings all read them.
    let facts = crate::tokens::layer_facts(design);
    let design_tokens: Vec<_> = facts.iter().map(zest_features::LayerFacts::token).collect();
    let e = model.estimate_tokens(&design_tokens);
    let rules = rules::Rules::of(design, &facts);
    let ruled = rules.apply(e.targets);
    let targets = round_targets(&ruled);
    let mut warnings = Vec::new();
    let upper = upper.and_then(|q| {
        let b = model.upper(&e.targets, q).map(|t| UpperBound {
            quantile: q,
            targets: round_targets(&rules.apply(t)),
        });
        if b.is_none() {
            warnings.push(format!(
                "this model has too few calibration residuals for --upper {q}"
            ));
        }
        b
    });
    let utilisation = utilisation_of(&design.part, &targets);
    warnings.extend(fit_warning(&design.part, utilisation));
    for (l, f) in design.layers.iter().zip(&facts) {
        let built = f.reuse_factor;
        if built != l.reuse_factor.max(1) {
            warnings.push(format!(
                "layer {}: hls4ml does not accept ReuseFactor {} for this layer and builds {built} (the closest valid value); estimated at {built}",
                l.name, l.reuse_factor
            ));
        }
    }
    for (l, t) in design.layers.iter().zip(&design_tokens) {
        let out: Vec<String> = model
            .range_violations(t)
            .into_iter()
            .map(|(slot, range)| describe_violation(slot, t[slot], range))
            .collect();
        if !out.is_empty() {
            warnings.push(format!(
                "layer {} ({:?}) lies outside what its kind was trained on, so the estimate extrapolates: {}",
                l.name,
                l.kind,
                out.join("; ")
            ));
        }
    }
    if capacity(&design.part).is_none() {
        warnings.push(format!(
            "part {} is not in zest's capacity table: no utilisation",
            design.part
        ));
    }
    EstimateReport {
        design: design.id.clone(),
        config: cfg.clone(),
        targets,
        utilisation,
        layers: design
            .layers
            .iter()
            .zip(e.per_layer)
            .enumerate()
            .map(|(i, (l, c))| LayerShare {
                name: l.name.clone(),
                kind: l.kind,
                n_in: l.n_in(),
                n_out: l.n_out(),
                costs: c,
                recorded: design
                    .per_layer
                    .as_ref()
                    .and_then(|p| p.get(i).copied().flatten()),
            })
            .collect(),
        warnings,
        model: model_name.to_string(),
        upper,
        recorded: design
            .targets
            .to_array()
            .iter()
            .any(|v| v.is_finite())
            .then_some(design.targets),
    }
}

/// LUT, FF, DSP and BRAM18 of `t` as % of `part`, when zest knows the part.
pub fn utilisation_of(part: &str, t: &Targets) -> Option<[f64; 4]> {
    utilisation(part, [t.lut, t.ff, t.dsp, t.bram18])
}

/// A warning when the estimate needs more of a resource than `part` has.
pub fn fit_warning(part: &str, utilisation: Option<[f64; 4]>) -> Option<String> {
    let u = utilisation?;
    let over: Vec<String> = ["LUT", "FF", "DSP", "BRAM18"]
        .iter()
        .zip(u)
        .filter(|(_, p)| *p > 100.0)
        .map(|(n, p)| format!("{n} {p:.0} %"))
        .collect();
    (!over.is_empty()).then(|| {
        format!(
            "the design does not fit {part}: it needs {} of the part (raise the reuse factor, use the Resource strategy, or narrow the precision)",
            over.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{mlp, synthetic_design};
    use crate::design::{Activation, Precision};

    #[test]
    fn a_reuse_factor_hls4ml_replaces_is_named_and_estimated_as_built() {
        let model = crate::models::load_model(None).expect("embedded model");
        let net = |rf: u32, resource: bool| {
            let layers = mlp(
                &[104, 48, 8],
                Precision::DEFAULT,
                rf,
                Activation::Relu,
                Activation::Linear,
            );
            synthetic_design("sweep", layers, resource)
        };
        let rf_warnings = |r: &EstimateReport| -> Vec<String> {
            r.warnings
                .iter()
                .filter(|w| w.contains("ReuseFactor"))
                .cloned()
                .collect()
        };
        let cfg = HlsConfig::default();
        let asked = estimate(&model, &net(1024, true), &cfg, "default", None);
        let warned = rf_warnings(&asked);
        // 104 × 48 builds 832; 48 × 8 builds 384 (its largest valid value).
        assert_eq!(warned.len(), 2, "{:?}", asked.warnings);
        assert!(warned[0].contains("builds 832"), "{}", warned[0]);
        // At 832 the first layer is valid; the second still builds 384.
        let built = estimate(&model, &net(832, true), &cfg, "default", None);
        let warned = rf_warnings(&built);
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("builds 384"), "{}", warned[0]);
        assert_eq!(asked.layers[0].costs, built.layers[0].costs);
        // The Latency strategy keeps what it is given.
        let latency = estimate(&model, &net(1024, false), &cfg, "default", None);
        assert!(rf_warnings(&latency).is_empty());
    }
}
