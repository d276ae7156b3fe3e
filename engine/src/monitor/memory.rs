//! An idle monitor's memory. A monitor sits in `poll` for the whole life of its container,
//! one per container, so what it keeps resident after the start counts once per container.
//! Starting a container touches a lot: SQLite, libcontainer, serde, the spec, several MB
//! of the berth binary's code. Once the container runs, [`release`] gives back what the
//! idle loop does not need:
//!
//! - the heap's free pages (`malloc_trim`; the caller first closes the database);
//! - the page-table entries of clean file pages (the binary's code and read-only data,
//!   libc's): `MADV_DONTNEED` on a read-only private mapping's page that is still the
//!   file's only drops the mapping of a page-cache page, which faults back in when used
//!   again — the poll loop needs few. Copied-on-write pages (relocated GOT entries in the
//!   RELRO segment) are found page by page in `/proc/self/pagemap` and kept: dropping
//!   them would lose their contents. Writable mappings are never touched;
//! - the stack below the current frame (16 KiB of margin kept: `madvise` runs below it).
//!
//! `BERTH_MONITOR_NO_TRIM=1` in the starter's environment turns all of this off.

/// Environment variable that keeps the monitor from releasing memory.
pub const NO_TRIM_ENV: &str = "BERTH_MONITOR_NO_TRIM";

/// Release what an idle monitor does not need (see the module docs). Must be called from
/// the monitor's only thread, with nothing borrowed from the released ranges (heap blocks
/// still allocated are never touched: only free ones are trimmed).
pub fn release() {
    if std::env::var_os(NO_TRIM_ENV).is_some_and(|v| v == "1") {
        return;
    }
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    let here = 0u8;
    let sp = &here as *const u8 as usize;
    let (mut ranges, mixed) = droppable(&smaps, sp);
    drop(smaps);
    if let Ok(pagemap) = std::fs::File::open("/proc/self/pagemap") {
        for (start, len) in mixed {
            ranges.extend(file_pages(&pagemap, start, len));
        }
    }
    for (start, len) in ranges {
        // SAFETY: clean file-backed ranges hold nothing that is not in the file, and the
        // stack range lies below the current frame (unused); see `droppable`.
        unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
    }
    unsafe { libc::malloc_trim(0) };
}

/// Below this much of the current stack pointer, stack pages are left alone.
const STACK_MARGIN: usize = 16 * 1024;

/// Bits of a `/proc/PID/pagemap` entry.
const PM_PRESENT: u64 = 1 << 63;
const PM_SWAPPED: u64 = 1 << 62;
const PM_FILE: u64 = 1 << 61;

/// The runs of pages in `[start, start+len)` that are not private copies (present file
/// pages, or not present at all), from the pagemap.
fn file_pages(pagemap: &std::fs::File, start: usize, len: usize) -> Vec<(usize, usize)> {
    use std::os::unix::fs::FileExt;
    let pages = len / 4096;
    let mut raw = vec![0u8; pages * 8];
    if pagemap.read_exact_at(&mut raw, (start / 4096 * 8) as u64).is_err() {
        return Vec::new();
    }
    let entries: Vec<u64> = raw.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]))).collect();
    runs(start, &entries)
}

/// Coalesce the droppable pages (file pages, or absent and not swapped) into ranges.
fn runs(start: usize, entries: &[u64]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, &e) in entries.iter().enumerate() {
        let ok = if e & PM_PRESENT != 0 { e & PM_FILE != 0 } else { e & PM_SWAPPED == 0 };
        if !ok {
            continue;
        }
        let addr = start + i * 4096;
        match out.last_mut() {
            Some((s, l)) if *s + *l == addr => *l += 4096,
            _ => out.push((addr, 4096)),
        }
    }
    out
}

/// The ranges of `/proc/self/smaps` text that can be dropped whole — file mappings without
/// write permission and without anonymous pages, and the part of `[stack]` more than
/// [`STACK_MARGIN`] below `sp` — and the read-only file mappings that have some private
/// pages (to be looked at page by page).
#[allow(clippy::type_complexity)]
fn droppable(smaps: &str, sp: usize) -> (Vec<(usize, usize)>, Vec<(usize, usize)>) {
    let mut out = Vec::new();
    let mut mixed = Vec::new();
    let mut cur: Option<(usize, usize, bool, bool)> = None; // start, end, clean file mapping, stack
    let mut anon_kb = 0u64;
    let flush = |cur: Option<(usize, usize, bool, bool)>, anon_kb: u64, out: &mut Vec<(usize, usize)>, mixed: &mut Vec<(usize, usize)>| {
        let Some((start, end, file, stack)) = cur else { return };
        if file && anon_kb == 0 {
            out.push((start, end - start));
        } else if file {
            mixed.push((start, end - start));
        } else if stack {
            let top = sp.saturating_sub(STACK_MARGIN) & !4095;
            if top > start && top <= end {
                out.push((start, top - start));
            }
        }
    };
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or_default();
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            flush(cur.take(), anon_kb, &mut out, &mut mixed);
            anon_kb = 0;
            let perms = f.next().unwrap_or_default();
            let inode = f.nth(2).unwrap_or("0");
            let path = f.next().unwrap_or_default();
            let file = inode != "0" && path.starts_with('/') && !perms.contains('w');
            cur = Some((start, end, file, path == "[stack]"));
            continue;
        }
        if first == "Anonymous:" {
            anon_kb = f.next().and_then(|n| n.parse().ok()).unwrap_or(1);
        }
    }
    flush(cur, anon_kb, &mut out, &mut mixed);
    (out, mixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_file_mappings_and_unused_stack_are_dropped() {
        let smaps = "\
55d0a0000000-55d0a0400000 r--p 00000000 fe:01 1234 /usr/local/bin/berth
Rss:                1024 kB
Anonymous:             0 kB
55d0a0400000-55d0a1000000 r-xp 00400000 fe:01 1234 /usr/local/bin/berth
Anonymous:             0 kB
55d0a1000000-55d0a1100000 r--p 01000000 fe:01 1234 /usr/local/bin/berth
Anonymous:           724 kB
55d0a1100000-55d0a1200000 rw-p 01100000 fe:01 1234 /usr/local/bin/berth
Anonymous:             8 kB
55d0a1200000-55d0a1300000 rw-p 00000000 00:00 0 [heap]
Anonymous:           100 kB
7ffc00000000-7ffc00100000 rw-p 00000000 00:00 0 [stack]
Anonymous:           200 kB
";
        let sp = 0x7ffc000f0000;
        let (whole, mixed) = droppable(smaps, sp);
        assert_eq!(
            whole,
            vec![(0x55d0a0000000, 0x400000), (0x55d0a0400000, 0xc00000), (0x7ffc00000000, 0x7ffc000f0000 - 0x4000 - 0x7ffc00000000)]
        );
        assert_eq!(mixed, vec![(0x55d0a1000000, 0x100000)]);
        // A stack pointer near the bottom leaves the stack alone.
        assert_eq!(droppable(smaps, 0x7ffc00002000).0.len(), 2);
    }

    #[test]
    fn private_pages_are_kept() {
        let file = PM_PRESENT | PM_FILE | 7;
        let anon = PM_PRESENT | 9;
        let got = runs(0x1000, &[file, file, anon, 0, file, PM_SWAPPED, anon]);
        assert_eq!(got, vec![(0x1000, 0x2000), (0x4000, 0x2000)]);
    }

    #[test]
    fn releasing_keeps_the_process_working() {
        let v: Vec<u64> = (0..100_000).collect();
        release();
        assert_eq!(v.iter().sum::<u64>(), 4_999_950_000);
    }
}
