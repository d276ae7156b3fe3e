//! Network counters of a container: `/proc/<pid>/net/dev` shows the interfaces of the
//! process's network namespace. Loopback is excluded, as docker does.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetSample {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Sum rx/tx bytes over every interface but `lo`.
pub fn parse_net_dev(text: &str) -> NetSample {
    let mut s = NetSample::default();
    for l in text.lines().skip(2) {
        let Some((iface, rest)) = l.split_once(':') else { continue };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest.split_whitespace().map(|v| v.parse().unwrap_or(0)).collect();
        if f.len() >= 9 {
            s.rx_bytes += f[0];
            s.tx_bytes += f[8];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_loopback() {
        let t = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:  999999     10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0\n  eth0:    1500      3    0    0    0     0          0         0      700       2    0    0    0     0       0          0\n veth1:     500      1    0    0    0     0          0         0      300       1    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev(t), NetSample { rx_bytes: 2000, tx_bytes: 1000 });
        assert_eq!(parse_net_dev(""), NetSample::default());
    }
}
