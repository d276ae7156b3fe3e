//! Docker's human units: sizes ("7.8MB", "64MiB") and ages ("3 minutes ago"), shared by
//! the CLI and the dashboard so both print exactly what docker users expect.

/// Docker's `units.HumanSize`: decimal units, 3 significant digits ("7.8MB", "1.23GB").
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", trim_float(v), UNITS[i])
}

/// Binary units as `docker stats` prints them ("64MiB").
pub fn human_size_binary(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{}{}", trim_float(v), UNITS[i])
}

fn trim_float(v: f64) -> String {
    // %.4g as Go prints it: up to 4 significant digits, no trailing zeros.
    let digits = if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    let s = format!("{:.*}", digits, v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..60 => format!("{s} seconds"),
        60..120 => "About a minute".into(),
        120..3600 => format!("{} minutes", s / 60),
        3600..7200 => "About an hour".into(),
        7200..172800 => format!("{} hours", s / 3600),
        _ => {
            let h = s / 3600;
            if h < 24 * 7 * 2 {
                format!("{} days", h / 24)
            } else if h < 24 * 30 * 2 {
                format!("{} weeks", h / 24 / 7)
            } else if h < 24 * 365 * 2 {
                format!("{} months", h / 24 / 30)
            } else {
                format!("{} years", h / 24 / 365)
            }
        }
    }
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// "3 minutes ago" for a unix time; "N/A" for 0 (unknown), as docker does.
pub fn ago(unix: i64) -> String {
    if unix <= 0 {
        return "N/A".into();
    }
    format!("{} ago", human_duration(now_unix() - unix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(7_800_000), "7.8MB");
        assert_eq!(human_size(1_234_567_890), "1.235GB");
        assert_eq!(human_size_binary(64 * 1024 * 1024), "64MiB");
    }

    #[test]
    fn durations_like_docker() {
        assert_eq!(human_duration(3 * 60), "3 minutes");
        assert_eq!(human_duration(2 * 3600), "2 hours");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(86400 * 3), "3 days");
    }
}
