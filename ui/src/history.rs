//! Stats history per container, kept in the state layer (not in widgets) and bounded:
//! 15 minutes at 1 s and 24 hours at 10 s. Points are compact (24 bytes) and the rings
//! grow only as samples arrive, so 100 containers watched for a minute cost kilobytes; the
//! worst case (24 h of every container) is fixed by the capacities below.
use std::collections::VecDeque;

use berth_engine::api::StatsSample;

/// Fine ring: 15 min of 1 s samples.
pub const FINE_CAP: usize = 15 * 60;
/// Coarse ring: 24 h of 10 s buckets.
pub const COARSE_CAP: usize = 24 * 360;
/// Seconds per coarse bucket.
pub const COARSE_STEP: i64 = 10;

/// One reading: CPU % (100 = a core), memory in KiB, and I/O rates in bytes/s.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    pub t: i64,
    pub cpu: f32,
    pub mem_kib: u32,
    pub rx: f32,
    pub tx: f32,
    pub blk_r: f32,
    pub blk_w: f32,
}

/// History and the latest raw sample of one container.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub fine: VecDeque<Point>,
    pub coarse: VecDeque<Point>,
    /// The bucket being averaged into `coarse`: (bucket start, sum, count).
    acc: Option<(i64, Point, u32)>,
    pub last: Option<StatsSample>,
    last_t: i64,
}

/// Append, dropping the oldest beyond `cap`; capacity doubles as usual but never past
/// `cap`, so a full ring holds exactly `cap` points.
fn push_bounded(ring: &mut VecDeque<Point>, p: Point, cap: usize) {
    if ring.len() >= cap {
        ring.pop_front();
    } else if ring.len() == ring.capacity() {
        ring.reserve_exact(ring.len().max(16).min(cap - ring.len()));
    }
    ring.push_back(p);
}

fn rate(now: u64, before: u64, dt: i64) -> f32 {
    if dt <= 0 { 0.0 } else { now.saturating_sub(before) as f32 / dt as f32 }
}

impl History {
    /// Add a sample taken at unix second `t`.
    pub fn push(&mut self, s: StatsSample, t: i64) {
        let p = match &self.last {
            Some(prev) => {
                let dt = t - self.last_t;
                Point {
                    t,
                    cpu: s.cpu_percent as f32,
                    mem_kib: (s.memory_usage / 1024).min(u32::MAX as u64) as u32,
                    rx: rate(s.net_rx, prev.net_rx, dt),
                    tx: rate(s.net_tx, prev.net_tx, dt),
                    blk_r: rate(s.block_read, prev.block_read, dt),
                    blk_w: rate(s.block_write, prev.block_write, dt),
                }
            }
            None => {
                Point { t, cpu: s.cpu_percent as f32, mem_kib: (s.memory_usage / 1024).min(u32::MAX as u64) as u32, ..Point::default() }
            }
        };
        self.last = Some(s);
        self.last_t = t;
        self.push_point(p);
    }

    pub fn push_point(&mut self, p: Point) {
        // A second sample in the same second replaces the first (refresh faster than 1 s).
        if self.fine.back().is_some_and(|b| b.t == p.t) {
            self.fine.pop_back();
        }
        push_bounded(&mut self.fine, p, FINE_CAP);
        let bucket = p.t - p.t.rem_euclid(COARSE_STEP);
        match &mut self.acc {
            Some((b, sum, n)) if *b == bucket => {
                sum.cpu += p.cpu;
                sum.mem_kib = sum.mem_kib.saturating_add(p.mem_kib);
                sum.rx += p.rx;
                sum.tx += p.tx;
                sum.blk_r += p.blk_r;
                sum.blk_w += p.blk_w;
                *n += 1;
            }
            _ => {
                self.flush();
                self.acc = Some((bucket, p, 1));
            }
        }
    }

    /// Close the bucket being averaged and append it to the coarse ring.
    fn flush(&mut self) {
        if let Some((b, sum, n)) = self.acc.take() {
            let nf = n as f32;
            let avg = Point {
                t: b,
                cpu: sum.cpu / nf,
                mem_kib: sum.mem_kib / n,
                rx: sum.rx / nf,
                tx: sum.tx / nf,
                blk_r: sum.blk_r / nf,
                blk_w: sum.blk_w / nf,
            };
            push_bounded(&mut self.coarse, avg, COARSE_CAP);
        }
    }

    /// Coarse points plus the bucket in progress (for the 24 h view).
    pub fn coarse_with_current(&self) -> Vec<Point> {
        let mut v: Vec<Point> = self.coarse.iter().copied().collect();
        if let Some((b, sum, n)) = self.acc {
            let nf = n as f32;
            v.push(Point {
                t: b,
                cpu: sum.cpu / nf,
                mem_kib: sum.mem_kib / n,
                rx: sum.rx / nf,
                tx: sum.tx / nf,
                blk_r: sum.blk_r / nf,
                blk_w: sum.blk_w / nf,
            });
        }
        v
    }

    /// The last `n` CPU values (for a row's sparkline), as whole percent.
    pub fn recent_cpu(&self, n: usize) -> impl Iterator<Item = u64> + '_ {
        self.fine.iter().skip(self.fine.len().saturating_sub(n)).map(|p| p.cpu.max(0.0).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(t: i64, cpu: f32) -> Point {
        Point { t, cpu, mem_kib: 10, ..Point::default() }
    }

    #[test]
    fn fine_ring_is_bounded_and_keeps_the_newest() {
        let mut h = History::default();
        for t in 0..(FINE_CAP as i64 + 100) {
            h.push_point(pt(t, t as f32));
        }
        assert_eq!(h.fine.len(), FINE_CAP);
        assert!(h.fine.capacity() < FINE_CAP + 16, "capacity {}", h.fine.capacity());
        assert_eq!(h.fine.back().unwrap().t, FINE_CAP as i64 + 99);
        assert_eq!(h.fine.front().unwrap().t, 100);
    }

    #[test]
    fn coarse_ring_averages_ten_second_buckets_and_is_bounded() {
        let mut h = History::default();
        for t in 0..30 {
            h.push_point(pt(t, if t < 10 { 10.0 } else { 20.0 }));
        }
        // Buckets 0 and 10 are closed, 20 is in progress.
        assert_eq!(h.coarse.len(), 2);
        assert_eq!(h.coarse[0].cpu, 10.0);
        assert_eq!(h.coarse[1].cpu, 20.0);
        assert_eq!(h.coarse[1].t, 10);
        assert_eq!(h.coarse_with_current().len(), 3);
        let total = (COARSE_CAP as i64 + 50) * COARSE_STEP;
        for t in (30..total).step_by(5) {
            h.push_point(pt(t, 1.0));
        }
        assert_eq!(h.coarse.len(), COARSE_CAP);
        assert!(h.coarse.capacity() < COARSE_CAP + 16, "capacity {}", h.coarse.capacity());
        assert_eq!(h.fine.len(), FINE_CAP);
    }

    #[test]
    fn rates_come_from_counter_deltas() {
        let mut h = History::default();
        let s = |rx: u64, br: u64| StatsSample { net_rx: rx, block_read: br, memory_usage: 2048, ..StatsSample::default() };
        h.push(s(1000, 0), 100);
        h.push(s(3000, 500), 102);
        let p = h.fine.back().unwrap();
        assert_eq!(p.rx, 1000.0);
        assert_eq!(p.blk_r, 250.0);
        assert_eq!(p.mem_kib, 2);
        // A counter that went backwards (container restarted) is not a negative rate.
        h.push(s(10, 0), 103);
        assert_eq!(h.fine.back().unwrap().rx, 0.0);
    }
}
