//! Latencies, kept whole (microseconds) and sorted once: exact percentiles, no histogram error.

#[derive(Debug, Default, Clone)]
pub struct Latencies {
    micros: Vec<u64>,
    sorted: bool,
}

impl Latencies {
    pub fn push(&mut self, micros: u64) {
        self.micros.push(micros);
        self.sorted = false;
    }

    pub fn extend(&mut self, more: impl IntoIterator<Item = u64>) {
        self.micros.extend(more);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// The nearest-rank percentile `q` (0 to 100), in milliseconds.
    pub fn percentile_ms(&mut self, q: usize) -> f64 {
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
        let n = self.micros.len();
        if n == 0 {
            return 0.0;
        }
        let rank = (q.min(100) * n).div_ceil(100).max(1);
        let micros = self.micros.get(rank - 1).copied().unwrap_or_default();
        micros as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut l = Latencies::default();
        l.extend((1..=100).map(|ms| ms * 1000));
        assert!((l.percentile_ms(50) - 50.0).abs() < 1e-9);
        assert!((l.percentile_ms(99) - 99.0).abs() < 1e-9);
        assert!((l.percentile_ms(100) - 100.0).abs() < 1e-9);
        let mut one = Latencies::default();
        one.push(7000);
        assert!((one.percentile_ms(1) - 7.0).abs() < 1e-9);
        assert!((Latencies::default().percentile_ms(99)).abs() < 1e-9);
    }
}
