//! Training a user's [`Mlp`] with burn (CPU `flex` backend): minibatch
//! Adam on the cross-entropy of the training split, features standardised
//! by the training split's mean and deviation, early stopping on the
//! validation split's loss with the best weights kept, seeded (the same
//! seed, data and split give the same weights byte for byte).
//!
//! Pruning masks are honoured while training: the forward pass uses
//! `W ⊙ M`, so a pruned weight gets no gradient and stays at exactly zero
//! in the exported network (fine-tuning under masks, MetaML-Pro §4.2).

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, TensorData};
use serde::Serialize;

use crate::dataset::{Dataset, Split};
use crate::network::{DenseLayer, Mlp};

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TrainOptions {
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Samples per minibatch.
    pub batch_size: usize,
    /// Most passes over the training split.
    pub max_epochs: usize,
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
    /// Seed of the initialisation and of the minibatch order.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            learning_rate: 3e-3,
            batch_size: 64,
            max_epochs: 200,
            patience: 15,
            seed: 1,
        }
    }
}

/// What training did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    /// Epochs run.
    pub epochs: usize,
    /// Epoch of the best validation loss (the weights kept).
    pub best_epoch: usize,
    /// That validation loss (mean cross-entropy, nats).
    pub val_loss: f64,
    /// Accuracy on the training, validation and test splits.
    pub train_accuracy: f64,
    /// See `train_accuracy`.
    pub val_accuracy: f64,
    /// See `train_accuracy`.
    pub test_accuracy: f64,
}

#[derive(Module, Debug)]
struct Net {
    layers: Vec<Linear>,
}

impl Net {
    fn forward(&self, x: Tensor<2>, masks: &[Tensor<2>]) -> Tensor<2> {
        let mut h = x;
        let last = self.layers.len().saturating_sub(1);
        for (k, (l, m)) in self.layers.iter().zip(masks).enumerate() {
            let w = l.weight.val() * m.clone();
            h = h.matmul(w);
            if let Some(b) = &l.bias {
                h = h + b.val().unsqueeze::<2>();
            }
            if k < last {
                h = burn::tensor::activation::relu(h);
            }
        }
        h
    }
}

/// Per-feature mean and standard deviation of the samples `idx` (1 where a
/// feature is constant there, so it passes through unscaled).
pub fn standardisation(data: &Dataset, idx: &[usize]) -> (Vec<f32>, Vec<f32>) {
    let n = data.n_features();
    let mut mean = vec![0f64; n];
    let mut sq = vec![0f64; n];
    for &i in idx {
        for (f, v) in data.sample(i).iter().enumerate() {
            mean[f] += f64::from(*v);
            sq[f] += f64::from(*v) * f64::from(*v);
        }
    }
    let k = idx.len().max(1) as f64;
    let std = mean
        .iter()
        .zip(&sq)
        .map(|(s, q)| {
            let var = q / k - (s / k) * (s / k);
            if var > 1e-12 {
                var.sqrt() as f32
            } else {
                1.0
            }
        })
        .collect();
    (mean.iter().map(|s| (s / k) as f32).collect(), std)
}

fn rows(data: &Dataset, idx: &[usize], mean: &[f32], std: &[f32], device: &Device) -> Tensor<2> {
    let n = data.n_features();
    let mut x = Vec::with_capacity(idx.len() * n);
    for &i in idx {
        x.extend(
            data.sample(i)
                .iter()
                .zip(mean.iter().zip(std))
                .map(|(v, (m, s))| (v - m) / s),
        );
    }
    Tensor::from_data(TensorData::new(x, [idx.len(), n]), device)
}

fn one_hot(data: &Dataset, idx: &[usize], device: &Device) -> Tensor<2> {
    let k = data.classes.len();
    let mut y = vec![0f32; idx.len() * k];
    for (r, &i) in idx.iter().enumerate() {
        y[r * k + data.labels[i] as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(y, [idx.len(), k]), device)
}

fn cross_entropy(net: &Net, x: Tensor<2>, y: Tensor<2>, masks: &[Tensor<2>]) -> Tensor<1> {
    let [n, _] = x.dims();
    let logp = log_softmax(net.forward(x, masks), 1);
    (logp * y).sum().neg() / (n.max(1) as f32)
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .try_to_vec::<f32>()
        .ok()
        .and_then(|v| v.first().copied())
        .map_or(f64::NAN, f64::from)
}

/// Trains a fresh network of layer widths `widths` (input first, classes
/// last) on `split.train`, stopping early on `split.val`; returns it with
/// the standardisation folded in (it takes raw features).
pub fn train_new(
    widths: &[usize],
    data: &Dataset,
    split: &Split,
    opts: &TrainOptions,
) -> (Mlp, TrainReport) {
    let device = Device::flex().autodiff();
    device.seed(opts.seed);
    let layers: Vec<Linear> = widths
        .windows(2)
        .map(|w| LinearConfig::new(w[0], w[1]).init(&device))
        .collect();
    let masks: Vec<Vec<bool>> = widths.windows(2).map(|w| vec![true; w[0] * w[1]]).collect();
    fit(Net { layers }, masks, data, split, opts, &device)
}

/// Fine-tunes `net` (raw-feature weights, as [`train_new`] returns them)
/// under its masks: the standardisation is unfolded, training resumes, and
/// the result is folded again. Pruned weights stay exact zeros.
pub fn fine_tune(
    net: &Mlp,
    data: &Dataset,
    split: &Split,
    opts: &TrainOptions,
) -> (Mlp, TrainReport) {
    let device = Device::flex().autodiff();
    device.seed(opts.seed);
    let (mean, std) = standardisation(data, &split.train);
    // Unfold: W_z[i][o] = W[i][o] · s_i, b_z = b + Σ_i m_i · W[i][o].
    let mut z = net.clone();
    if let Some(first) = z.layers.first_mut() {
        for i in 0..first.n_in {
            for o in 0..first.n_out {
                let k = i * first.n_out + o;
                first.bias[o] += mean[i] * first.weight[k];
                first.weight[k] *= std[i];
            }
        }
    }
    let layers = z
        .layers
        .iter()
        .map(|l| {
            let mut lin = LinearConfig::new(l.n_in, l.n_out).init(&device);
            lin.weight = Param::from_tensor(Tensor::from_data(
                TensorData::new(l.weight.clone(), [l.n_in, l.n_out]),
                &device,
            ));
            lin.bias = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(l.bias.clone(), [l.n_out]),
                &device,
            )));
            lin
        })
        .collect();
    let masks = z.layers.iter().map(|l| l.mask.clone()).collect();
    fit(Net { layers }, masks, data, split, opts, &device)
}

fn fit(
    mut net: Net,
    masks: Vec<Vec<bool>>,
    data: &Dataset,
    split: &Split,
    opts: &TrainOptions,
    device: &Device,
) -> (Mlp, TrainReport) {
    let (mean, std) = standardisation(data, &split.train);
    let mask_t: Vec<Tensor<2>> = net
        .layers
        .iter()
        .zip(&masks)
        .map(|(l, m)| {
            let [i, o] = l.weight.val().dims();
            let v: Vec<f32> = m.iter().map(|&b| f32::from(u8::from(b))).collect();
            Tensor::from_data(TensorData::new(v, [i, o]), device)
        })
        .collect();
    let x_train = rows(data, &split.train, &mean, &std, device);
    let y_train = one_hot(data, &split.train, device);
    let val_idx = if split.val.is_empty() {
        &split.train
    } else {
        &split.val
    };
    let x_val = rows(data, val_idx, &mean, &std, device);
    let y_val = one_hot(data, val_idx, device);
    let mut opt = AdamConfig::new().init();
    let mut rng = fastrand::Rng::with_seed(opts.seed);
    let n = split.train.len();
    let mut order: Vec<i64> = (0..n as i64).collect();
    let val_loss =
        |net: &Net| scalar(cross_entropy(net, x_val.clone(), y_val.clone(), &mask_t).detach());
    let mut best = (val_loss(&net), 0usize, net.clone());
    let mut epoch = 0;
    while epoch < opts.max_epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(opts.batch_size.max(1)) {
            let idx: Tensor<1, Int> =
                Tensor::from_data(TensorData::new(chunk.to_vec(), [chunk.len()]), device);
            let xb = x_train.clone().select(0, idx.clone());
            let yb = y_train.clone().select(0, idx);
            let l = cross_entropy(&net, xb, yb, &mask_t);
            let grads = GradientsParams::from_grads(l.backward(), &net);
            net = opt.step(opts.learning_rate, net, grads);
        }
        epoch += 1;
        let v = val_loss(&net);
        if v < best.0 {
            best = (v, epoch, net.clone());
        } else if epoch - best.1 >= opts.patience {
            break;
        }
    }
    let (val_loss, best_epoch, net) = best;
    let mut mlp = Mlp {
        layers: net
            .layers
            .iter()
            .zip(masks)
            .map(|(l, mask)| {
                let d = crate::learn::train::export(l);
                let mut weight = d.weight;
                for (w, m) in weight.iter_mut().zip(&mask) {
                    if !m {
                        *w = 0.0;
                    }
                }
                let (n_in, n_out, bias) = (d.inputs, d.outputs, d.bias);
                DenseLayer {
                    n_in,
                    n_out,
                    weight,
                    bias,
                    mask,
                }
            })
            .collect(),
    };
    mlp.fold_standardisation(&mean, &std);
    let report = TrainReport {
        epochs: epoch,
        best_epoch,
        val_loss,
        train_accuracy: mlp.accuracy(data, &split.train),
        val_accuracy: mlp.accuracy(data, &split.val),
        test_accuracy: mlp.accuracy(data, &split.test),
    };
    (mlp, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::LabelColumn;

    /// Two noisy blobs a 2-8-2 network separates.
    fn blobs() -> Dataset {
        let mut rng = fastrand::Rng::with_seed(3);
        let text: String = (0..200)
            .map(|i| {
                let c = i % 2;
                let (x, y) = (c as f32 * 4.0 + rng.f32(), 10.0 + rng.f32() * 2.0);
                format!("{x},{y},{c}\n")
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("zest-blobs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("blobs.csv");
        std::fs::write(&path, text).unwrap();
        crate::dataset::read(&path, &LabelColumn::Last).unwrap()
    }

    #[test]
    fn training_learns_repeats_byte_for_byte_and_keeps_pruned_zeros() {
        let data = blobs();
        let split = Split::stratified(&data, 0.2, 0.2, 1);
        let opts = TrainOptions {
            max_epochs: 30,
            batch_size: 16,
            learning_rate: 1e-2,
            ..TrainOptions::default()
        };
        let (a, ra) = train_new(&[2, 8, 2], &data, &split, &opts);
        assert!(ra.test_accuracy > 0.95, "{ra:?}");
        let (b, _) = train_new(&[2, 8, 2], &data, &split, &opts);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        // Prune every other weight of the first layer and fine-tune: those
        // stay 0.0, the rest train.
        let mut p = a.clone();
        for k in (0..16).step_by(2) {
            p.layers[0].mask[k] = false;
        }
        let (f, rf) = fine_tune(&p, &data, &split, &opts);
        let w = &f.layers[0].weight;
        assert!((0..16).step_by(2).all(|k| w[k] == 0.0), "{w:?}");
        assert!((1..16).step_by(2).any(|k| w[k] != 0.0), "{w:?}");
        assert!(rf.test_accuracy > 0.9, "{rf:?}");
        // Fine-tuning starts where the network was: its first validation
        // loss is no worse than a fresh network's.
        assert!(rf.val_loss <= ra.val_loss + 0.5, "{rf:?} {ra:?}");
    }
}
