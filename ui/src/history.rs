//! Stats history per container, kept in the state layer (not in widgets) and bounded:
//! at least 15 minutes at 1 s (the fine ring) and 24 hours at 10 s (the coarse ring, each
//! point the average of its 10 s bucket), so the charts can show 1 m, 15 m, 1 h and 24 h.
//!
//! Why compact: a dashboard may watch hundreds of containers for days. Plain points
//! (7 numbers, 32 bytes) would cost 24 h × 8640 + 900 points ≈ 300 KB per container.
//! Here points live in chunks of [`SLOTS`] consecutive time slots; each chunk stores, per
//! series, either one constant (an idle container: CPU 0, rates 0, memory unchanged) or
//! the values quantised against the chunk's own maximum — `u8` for CPU and the I/O rates
//! (error ≤ 0.2 % of the chunk's peak), `u16` for memory. A slot bit mask marks the seconds
//! that have a sample, so there are no per-point timestamps.
//!
//! **Bound**: a container's history never takes more than [`MAX_BYTES`] of heap (85,120
//! bytes: 152 chunks of at most 560), whatever arrives; a day of random data reaches it,
//! an idle container's day costs 17 KB (both tested below).
use std::collections::VecDeque;

use berth_engine::api::StatsSample;

/// Time slots per chunk.
pub const SLOTS: usize = 64;
/// Seconds the fine ring keeps (at least), one point per second.
pub const FINE_SPAN: i64 = 15 * 60;
/// Seconds per coarse bucket.
pub const COARSE_STEP: i64 = 10;
/// Seconds the coarse ring keeps (at least).
pub const COARSE_SPAN: i64 = 24 * 3600;
/// Chunks each ring holds at most: enough to cover its span from any phase, plus the one
/// being filled.
pub const FINE_CHUNKS: usize = (FINE_SPAN as usize).div_ceil(SLOTS) + 1;
pub const COARSE_CHUNKS: usize = (COARSE_SPAN as usize / COARSE_STEP as usize).div_ceil(SLOTS) + 1;
/// Series per point: cpu, memory, rx, tx, block read, block write.
const SERIES: usize = 6;
/// The memory series (quantised to 16 bits; the others to 8).
const MEM: usize = 1;
/// Heap bytes of one chunk at most: its inline part plus every series quantised.
const CHUNK_MAX_BYTES: usize = std::mem::size_of::<Chunk>() + (SERIES - 1) * SLOTS + 2 * SLOTS;
/// The most heap one container's [`History`] can take.
pub const MAX_BYTES: usize = (FINE_CHUNKS + COARSE_CHUNKS) * CHUNK_MAX_BYTES;

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

impl Point {
    fn values(&self) -> [f32; SERIES] {
        [self.cpu, self.mem_kib as f32, self.rx, self.tx, self.blk_r, self.blk_w]
    }
    fn from_values(t: i64, v: [f32; SERIES]) -> Point {
        Point { t, cpu: v[0], mem_kib: v[1].round() as u32, rx: v[2], tx: v[3], blk_r: v[4], blk_w: v[5] }
    }
}

/// One series of one chunk.
#[derive(Clone, Debug, PartialEq)]
enum Lane {
    /// Every slot written so far holds this value.
    Const(f32),
    /// value = q / 255 × max.
    U8 { max: f32, q: Box<[u8; SLOTS]> },
    /// value = q / 65535 × max.
    U16 { max: f32, q: Box<[u16; SLOTS]> },
}

fn quant(v: f32, max: f32, top: f32) -> f32 {
    if max <= 0.0 { 0.0 } else { (v / max * top).round().clamp(0.0, top) }
}

impl Lane {
    fn get(&self, slot: usize) -> f32 {
        match self {
            Lane::Const(c) => *c,
            Lane::U8 { max, q } => q[slot] as f32 / 255.0 * max,
            Lane::U16 { max, q } => q[slot] as f32 / 65535.0 * max,
        }
    }

    fn set(&mut self, slot: usize, v: f32, wide: bool) {
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        if let Lane::Const(c) = *self {
            if c == v {
                return;
            }
            // The first differing value: every slot so far held `c`.
            let max = c.max(v);
            *self = if wide {
                Lane::U16 { max, q: Box::new([quant(c, max, 65535.0) as u16; SLOTS]) }
            } else {
                Lane::U8 { max, q: Box::new([quant(c, max, 255.0) as u8; SLOTS]) }
            };
        }
        match self {
            Lane::Const(_) => {}
            Lane::U8 { max, q } => {
                if v > *max {
                    // A new peak: the chunk's other values are rescaled to it.
                    let k = *max / v;
                    q.iter_mut().for_each(|x| *x = (*x as f32 * k).round() as u8);
                    *max = v;
                }
                q[slot] = quant(v, *max, 255.0) as u8;
            }
            Lane::U16 { max, q } => {
                if v > *max {
                    let k = *max / v;
                    q.iter_mut().for_each(|x| *x = (*x as f32 * k).round() as u16);
                    *max = v;
                }
                q[slot] = quant(v, *max, 65535.0) as u16;
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Lane::Const(_) => 0,
            Lane::U8 { .. } => SLOTS,
            Lane::U16 { .. } => 2 * SLOTS,
        }
    }
}

/// [`SLOTS`] consecutive time slots of one ring.
#[derive(Clone, Debug)]
struct Chunk {
    /// Index of the first slot (time / step).
    start: i64,
    present: u64,
    lanes: [Lane; SERIES],
}

impl Chunk {
    fn new(start: i64, slot: usize, v: [f32; SERIES]) -> Chunk {
        Chunk { start, present: 1 << slot, lanes: v.map(|x| Lane::Const(if x.is_finite() { x.max(0.0) } else { 0.0 })) }
    }
    fn set(&mut self, slot: usize, v: [f32; SERIES]) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            lane.set(slot, v[i], i == MEM);
        }
        self.present |= 1 << slot;
    }
    fn get(&self, slot: usize) -> [f32; SERIES] {
        std::array::from_fn(|i| self.lanes[i].get(slot))
    }
}

/// A ring of chunks covering at least `span` seconds at `step` seconds per slot.
#[derive(Clone, Debug)]
struct Ring {
    step: i64,
    span: i64,
    cap: usize,
    chunks: VecDeque<Chunk>,
}

impl Ring {
    const fn new(step: i64, span: i64, cap: usize) -> Ring {
        Ring { step, span, cap, chunks: VecDeque::new() }
    }

    /// Store `p` in its slot (a point for an already-written slot replaces it). Points
    /// older than the ring's newest chunk are dropped (the clock went backwards).
    fn put(&mut self, p: &Point) {
        let idx = p.t.div_euclid(self.step);
        let start = idx - idx.rem_euclid(SLOTS as i64);
        let slot = (idx - start) as usize;
        match self.chunks.back_mut() {
            Some(c) if c.start == start => c.set(slot, p.values()),
            Some(c) if c.start > start => {}
            _ => {
                // Drop chunks wholly older than the span (from the new point) before adding
                // one, so the ring never holds more than `cap`.
                let oldest = idx - self.span / self.step;
                while self.chunks.front().is_some_and(|c| c.start + SLOTS as i64 <= oldest) || self.chunks.len() >= self.cap {
                    self.chunks.pop_front();
                }
                if self.chunks.len() == self.chunks.capacity() {
                    self.chunks.reserve_exact(self.chunks.len().max(2).min(self.cap - self.chunks.len()));
                }
                self.chunks.push_back(Chunk::new(start, slot, p.values()));
            }
        }
    }

    /// Every stored point with t ≥ `from`, oldest first.
    fn points_from(&self, from: i64) -> impl Iterator<Item = Point> + '_ {
        let step = self.step;
        self.chunks
            .iter()
            .filter(move |c| (c.start + SLOTS as i64) * step > from)
            .flat_map(move |c| {
                (0..SLOTS)
                    .filter(move |s| c.present & (1 << s) != 0)
                    .map(move |s| Point::from_values((c.start + s as i64) * step, c.get(s)))
            })
            .filter(move |p| p.t >= from)
    }

    fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.present.count_ones() as usize).sum()
    }

    fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.chunks.iter().flat_map(|c| c.lanes.iter()).map(Lane::heap_bytes).sum::<usize>()
    }
}

/// History and the latest raw sample of one container.
#[derive(Clone, Debug)]
pub struct History {
    fine: Ring,
    coarse: Ring,
    /// The bucket being averaged into `coarse`: (bucket start, sums, count).
    acc: Option<(i64, [f32; SERIES], u32)>,
    pub last: Option<StatsSample>,
    last_t: i64,
    /// The newest point as stored (for "did anything visible change").
    newest: Option<Point>,
}

impl Default for History {
    fn default() -> Self {
        History {
            fine: Ring::new(1, FINE_SPAN, FINE_CHUNKS),
            coarse: Ring::new(COARSE_STEP, COARSE_SPAN, COARSE_CHUNKS),
            acc: None,
            last: None,
            last_t: 0,
            newest: None,
        }
    }
}

fn rate(now: u64, before: u64, dt: i64) -> f32 {
    if dt <= 0 { 0.0 } else { now.saturating_sub(before) as f32 / dt as f32 }
}

/// The numbers a user sees of a sample (the list's columns, the charts' titles).
fn shown(s: &StatsSample) -> (i64, u64, u64, u64, u64, u64, u64, u64) {
    (
        (s.cpu_percent * 10.0).round() as i64,
        s.memory_usage >> 10,
        s.memory_limit,
        s.net_rx >> 10,
        s.net_tx >> 10,
        s.block_read >> 10,
        s.block_write >> 10,
        s.pids,
    )
}

impl History {
    /// Add a sample taken at unix second `t`. True when something a user can see changed:
    /// a shown number (CPU to 0.1 %, memory and totals to the KiB, pids) or a charted rate.
    pub fn push(&mut self, s: StatsSample, t: i64) -> bool {
        let mem_kib = (s.memory_usage / 1024).min(u32::MAX as u64) as u32;
        let p = match &self.last {
            Some(prev) => {
                let dt = t - self.last_t;
                Point {
                    t,
                    cpu: s.cpu_percent as f32,
                    mem_kib,
                    rx: rate(s.net_rx, prev.net_rx, dt),
                    tx: rate(s.net_tx, prev.net_tx, dt),
                    blk_r: rate(s.block_read, prev.block_read, dt),
                    blk_w: rate(s.block_write, prev.block_write, dt),
                }
            }
            None => Point { t, cpu: s.cpu_percent as f32, mem_kib, ..Point::default() },
        };
        let changed = self.last.as_ref().is_none_or(|l| shown(l) != shown(&s))
            || self.newest.is_none_or(|n| (n.rx, n.tx, n.blk_r, n.blk_w) != (p.rx, p.tx, p.blk_r, p.blk_w));
        self.last = Some(s);
        self.last_t = t;
        self.push_point(p);
        changed
    }

    pub fn push_point(&mut self, p: Point) {
        self.newest = Some(p);
        self.fine.put(&p);
        let bucket = p.t - p.t.rem_euclid(COARSE_STEP);
        match &mut self.acc {
            Some((b, sum, n)) if *b == bucket => {
                for (s, v) in sum.iter_mut().zip(p.values()) {
                    *s += v;
                }
                *n += 1;
            }
            _ => {
                self.flush();
                self.acc = Some((bucket, p.values(), 1));
            }
        }
    }

    fn current_bucket(&self) -> Option<Point> {
        self.acc.map(|(b, sum, n)| Point::from_values(b, sum.map(|s| s / n as f32)))
    }

    /// Close the bucket being averaged and append it to the coarse ring.
    fn flush(&mut self) {
        if let Some(p) = self.current_bucket() {
            self.coarse.put(&p);
        }
        self.acc = None;
    }

    /// Points of the last `span` seconds before `now`: 1 s points up to 15 minutes,
    /// 10 s averages (with the bucket in progress) beyond.
    pub fn window(&self, now: i64, span: i64) -> Vec<Point> {
        let from = now - span;
        if span <= FINE_SPAN {
            self.fine.points_from(from).collect()
        } else {
            self.coarse.points_from(from).chain(self.current_bucket().filter(|p| p.t >= from)).collect()
        }
    }

    /// Unix second of the oldest point [`History::window`] would return (decodes one point).
    pub fn window_start(&self, now: i64, span: i64) -> Option<i64> {
        let from = now - span;
        if span <= FINE_SPAN {
            self.fine.points_from(from).next()
        } else {
            self.coarse.points_from(from).next().or(self.current_bucket().filter(|p| p.t >= from))
        }
        .map(|p| p.t)
    }

    /// Points in the fine ring (1 s).
    pub fn fine_len(&self) -> usize {
        self.fine.len()
    }

    /// Points in the coarse ring (10 s), the bucket in progress not counted.
    pub fn coarse_len(&self) -> usize {
        self.coarse.len()
    }

    /// Unix second of the newest point.
    pub fn newest_t(&self) -> Option<i64> {
        self.newest.map(|p| p.t)
    }

    /// The last `n` CPU values (for a row's sparkline), as whole percent.
    pub fn recent_cpu(&self, n: usize) -> Vec<u64> {
        let Some(t) = self.newest_t() else { return vec![] };
        let v: Vec<u64> = self.fine.points_from(t + 1 - n as i64).map(|p| p.cpu.max(0.0).round() as u64).collect();
        v[v.len().saturating_sub(n)..].to_vec()
    }

    /// Heap bytes held (the chunks; the latest raw sample is not counted).
    pub fn heap_bytes(&self) -> usize {
        self.fine.heap_bytes() + self.coarse.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(t: i64, cpu: f32) -> Point {
        Point { t, cpu, mem_kib: 10, ..Point::default() }
    }

    #[test]
    fn fine_ring_keeps_fifteen_minutes_and_no_more_chunks_than_its_cap() {
        let mut h = History::default();
        for t in 0..(FINE_SPAN + 1000) {
            h.push_point(pt(t, (t % 100) as f32));
        }
        let w = h.window(FINE_SPAN + 999, FINE_SPAN);
        assert_eq!(w.len() as i64, FINE_SPAN + 1, "every second of the last 15 minutes");
        assert_eq!(w.last().unwrap().t, FINE_SPAN + 999);
        assert!((w.last().unwrap().cpu - 99.0).abs() < 0.5, "{:?}", w.last());
        assert!(h.fine.chunks.len() <= FINE_CHUNKS);
        assert!(h.fine.chunks.capacity() <= FINE_CHUNKS, "capacity {}", h.fine.chunks.capacity());
        assert!(h.fine_len() <= FINE_CHUNKS * SLOTS);
    }

    #[test]
    fn coarse_ring_averages_ten_second_buckets_and_keeps_a_day() {
        let mut h = History::default();
        for t in 0..30 {
            h.push_point(pt(t, if t < 10 { 10.0 } else { 20.0 }));
        }
        // Buckets 0 and 10 are closed, 20 is in progress.
        assert_eq!(h.coarse_len(), 2);
        let w = h.window(29, 3600);
        assert_eq!(w.iter().map(|p| (p.t, p.cpu.round())).collect::<Vec<_>>(), [(0, 10.0), (10, 20.0), (20, 20.0)]);
        let end = COARSE_SPAN + 5000;
        for t in (30..end).step_by(5) {
            h.push_point(pt(t, 1.0));
        }
        let day = h.window(end, COARSE_SPAN);
        assert!(day.len() as i64 >= COARSE_SPAN / COARSE_STEP, "{} points", day.len());
        assert!(h.coarse.chunks.capacity() <= COARSE_CHUNKS, "capacity {}", h.coarse.chunks.capacity());
    }

    #[test]
    fn quantised_values_stay_within_a_step_of_the_chunk_peak() {
        let mut h = History::default();
        let vals = [0.0, 3.3, 50.0, 12.5, 199.0, 7.0, 0.4];
        for (i, v) in vals.iter().enumerate() {
            h.push_point(Point { t: i as i64, cpu: *v, mem_kib: 1000 + i as u32 * 3, rx: *v * 1000.0, ..Point::default() });
        }
        let w = h.window(vals.len() as i64, 60);
        for (p, v) in w.iter().zip(vals) {
            assert!((p.cpu - v).abs() <= 199.0 / 255.0, "{} vs {v}", p.cpu);
            assert!((p.rx - v * 1000.0).abs() <= 199_000.0 / 255.0);
        }
        assert_eq!(w.iter().map(|p| p.mem_kib).collect::<Vec<_>>(), [1000, 1003, 1006, 1009, 1012, 1015, 1018]);
    }

    /// The module's bound: a day of every series changing every second stays within
    /// MAX_BYTES (< 100 KB), and an idle container costs about a fifth of it.
    #[test]
    fn a_day_of_history_stays_within_the_stated_bound() {
        let mut busy = History::default();
        let mut idle = History::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for t in 0..(COARSE_SPAN + 3600) {
            let v = |r: &mut fastrand::Rng| r.f32() * 1e6;
            busy.push_point(Point {
                t,
                cpu: rng.f32() * 200.0,
                mem_kib: rng.u32(1000..2_000_000),
                rx: v(&mut rng),
                tx: v(&mut rng),
                blk_r: v(&mut rng),
                blk_w: v(&mut rng),
            });
            idle.push_point(Point { t, mem_kib: 812, ..Point::default() });
        }
        const { assert!(MAX_BYTES < 100_000) };
        let (b, i) = (busy.heap_bytes(), idle.heap_bytes());
        assert!(b <= MAX_BYTES, "busy {b} > {MAX_BYTES}");
        assert!(b > MAX_BYTES / 2, "busy {b}: the bound is not loose");
        assert!(i <= 20_000, "idle {i}");
        // The day is all there.
        assert!(busy.window(COARSE_SPAN + 3599, COARSE_SPAN).len() as i64 >= COARSE_SPAN / COARSE_STEP);
    }

    #[test]
    fn rates_come_from_counter_deltas() {
        let mut h = History::default();
        let s = |rx: u64, br: u64| StatsSample { net_rx: rx, block_read: br, memory_usage: 2048, ..StatsSample::default() };
        h.push(s(1000, 0), 100);
        h.push(s(3000, 500), 102);
        let p = *h.window(102, 60).last().unwrap();
        assert_eq!(p.rx, 1000.0);
        assert_eq!(p.blk_r, 250.0);
        assert_eq!(p.mem_kib, 2);
        // A counter that went backwards (container restarted) is not a negative rate.
        h.push(s(10, 0), 103);
        assert_eq!(h.window(103, 60).last().unwrap().rx, 0.0);
    }

    #[test]
    fn an_unchanged_sample_is_not_a_visible_change() {
        let mut h = History::default();
        let s = |cpu: f64, mem: u64| StatsSample { cpu_percent: cpu, memory_usage: mem, pids: 1, ..StatsSample::default() };
        assert!(h.push(s(0.0, 4096), 1));
        assert!(!h.push(s(0.0, 4096), 2));
        assert!(!h.push(s(0.0, 4096), 3));
        assert!(!h.push(s(0.01, 4096 + 100), 4), "below what is shown");
        assert!(h.push(s(0.3, 4096 + 100), 5));
        assert!(h.push(s(0.3, 8192), 6));
    }
}
