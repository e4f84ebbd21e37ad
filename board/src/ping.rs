//! Link round-trip and throughput: `zest board ping`.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::client::BoardClient;
use crate::Result;

/// Summary of a ping run. Times in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct PingReport {
    /// The port, as given.
    pub port: String,
    /// Echo payload size in bytes.
    pub size: usize,
    /// Requests sent.
    pub sent: u32,
    /// Replies received with the right payload.
    pub received: u32,
    /// Requests with no reply in time.
    pub lost: u32,
    /// Replies whose payload differed from what was sent.
    pub corrupted: u32,
    /// Fastest round trip.
    pub rtt_min_us: f64,
    /// Median round trip.
    pub rtt_median_us: f64,
    /// 99th-percentile round trip.
    pub rtt_p99_us: f64,
    /// Slowest round trip.
    pub rtt_max_us: f64,
    /// Echo requests answered per second (wall clock of the whole run).
    pub requests_per_s: f64,
    /// Payload bytes echoed per second, each way.
    pub payload_bytes_per_s: f64,
}

/// Deterministic payload for request `i`, covering every byte value.
fn payload(i: u32, size: usize) -> Vec<u8> {
    (0..size)
        .map(|j| (j as u32).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx].as_secs_f64() * 1e6
}

/// Sends `count` echo requests of `size` bytes one after another.
/// `on_progress(done)` is called after each.
pub fn ping(
    client: &mut BoardClient,
    count: u32,
    size: usize,
    mut on_progress: impl FnMut(u32),
) -> Result<PingReport> {
    let mut rtts = Vec::with_capacity(count as usize);
    let (mut lost, mut corrupted) = (0u32, 0u32);
    let start = Instant::now();
    for i in 0..count {
        let data = payload(i, size);
        let t = Instant::now();
        match client.echo_once(&data)? {
            Some(back) if back == data => rtts.push(t.elapsed()),
            Some(_) => corrupted += 1,
            None => lost += 1,
        }
        on_progress(i + 1);
    }
    let wall = start.elapsed().as_secs_f64();
    rtts.sort_unstable();
    let received = rtts.len() as u32;
    Ok(PingReport {
        port: client.port().to_string(),
        size,
        sent: count,
        received,
        lost,
        corrupted,
        rtt_min_us: percentile(&rtts, 0.0),
        rtt_median_us: percentile(&rtts, 0.5),
        rtt_p99_us: percentile(&rtts, 0.99),
        rtt_max_us: percentile(&rtts, 1.0),
        requests_per_s: f64::from(received) / wall,
        payload_bytes_per_s: f64::from(received) * size as f64 / wall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_sorted_ranks() {
        let v: Vec<Duration> = (1..=101).map(Duration::from_micros).collect();
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 1.0), 101.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn payloads_differ_per_request_and_cover_bytes() {
        assert_ne!(payload(0, 32), payload(1, 32));
        let p = payload(0, 512);
        let distinct: std::collections::HashSet<u8> = p.iter().copied().collect();
        assert_eq!(distinct.len(), 256);
    }
}
