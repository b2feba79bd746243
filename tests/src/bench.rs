//! Timing for the benchmarks: repeated runs after a warm-up, reported as the median and the
//! slowest.

use std::future::Future;
use std::time::{Duration, Instant};

/// Runs `step` `runs` times after one warm-up; returns the median and the slowest.
pub async fn time<F, Fut>(runs: usize, step: F) -> anyhow::Result<(Duration, Duration)>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    step().await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        step().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times[runs / 2], times[runs - 1]))
}

/// A duration in milliseconds.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
