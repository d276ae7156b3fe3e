//! Docker's json-file log format: one `{"log":"…","stream":"stdout","time":"RFC3339Nano"}`
//! object per line of output. Partial lines are held until their newline (or 16 KiB, where
//! docker splits too), so a line written in pieces stays one entry.
use std::io::Write;
use std::path::Path;

const MAX_LINE: usize = 16 * 1024;

pub struct JsonLog {
    file: Option<std::fs::File>,
    pending: [(String, Vec<u8>); 2],
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

impl JsonLog {
    pub fn open(path: &Path) -> Self {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).ok();
        Self { file, pending: [("stdout".into(), Vec::new()), ("stderr".into(), Vec::new())] }
    }

    fn slot(&mut self, stream: &str) -> usize {
        if stream == "stderr" { 1 } else { 0 }
    }

    pub fn write(&mut self, stream: &str, data: &[u8]) {
        let i = self.slot(stream);
        self.pending[i].1.extend_from_slice(data);
        loop {
            let buf = &self.pending[i].1;
            let cut = match buf.iter().position(|&b| b == b'\n') {
                Some(p) => p + 1,
                None if buf.len() >= MAX_LINE => MAX_LINE,
                None => break,
            };
            let line: Vec<u8> = self.pending[i].1.drain(..cut).collect();
            self.emit(stream, &line);
        }
    }

    /// Flush a partial last line of `stream`.
    pub fn finish(&mut self, stream: &str) {
        let i = self.slot(stream);
        if !self.pending[i].1.is_empty() {
            let line = std::mem::take(&mut self.pending[i].1);
            self.emit(stream, &line);
        }
    }

    fn emit(&mut self, stream: &str, line: &[u8]) {
        let e = Entry {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: stream.to_string(),
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        };
        if let (Some(f), Ok(mut s)) = (&mut self.file, serde_json::to_vec(&e)) {
            s.push(b'\n');
            let _ = f.write_all(&s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_like_docker() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x-json.log");
        let mut l = JsonLog::open(&p);
        l.write("stdout", b"hel");
        l.write("stderr", b"oops\n");
        l.write("stdout", b"lo\nwor");
        l.finish("stdout");
        let v: Vec<Entry> = std::fs::read_to_string(&p).unwrap().lines().map(|x| serde_json::from_str(x).unwrap()).collect();
        assert_eq!(
            v.iter().map(|e| (e.log.as_str(), e.stream.as_str())).collect::<Vec<_>>(),
            [("oops\n", "stderr"), ("hello\n", "stdout"), ("wor", "stdout")]
        );
        assert!(chrono::DateTime::parse_from_rfc3339(&v[0].time).is_ok());
    }
}
