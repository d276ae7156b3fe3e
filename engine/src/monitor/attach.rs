//! The attach protocol between the monitor and its clients, over the unix socket
//! `containers/<id>/attach.sock`. Hand-rolled because it is five message kinds: each frame is
//! `[kind u8][len u32 BE][payload]`. Clients send stdin bytes, stdin EOF and window sizes;
//! the monitor sends output tagged stdout/stderr to every client. The socket is reached
//! through `/proc/self/fd/<dir fd>/attach.sock` because a container dir under a long state
//! root can exceed the 108-byte limit of a socket path.
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const RESIZE: u8 = 3;
pub const CLOSE_STDIN: u8 = 4;

pub const SOCKET: &str = "attach.sock";
const MAX_FRAME: usize = 1 << 20;

pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + payload.len());
    v.push(kind);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn resize_frame(rows: u16, cols: u16) -> Vec<u8> {
    let mut p = rows.to_be_bytes().to_vec();
    p.extend_from_slice(&cols.to_be_bytes());
    frame(RESIZE, &p)
}

/// Split complete frames off the front of `buf`.
pub fn parse(buf: &mut Vec<u8>) -> io::Result<Vec<(u8, Vec<u8>)>> {
    let mut out = Vec::new();
    loop {
        if buf.len() < 5 {
            return Ok(out);
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "attach frame too large"));
        }
        if buf.len() < 5 + len {
            return Ok(out);
        }
        let kind = buf[0];
        let payload = buf[5..5 + len].to_vec();
        buf.drain(..5 + len);
        out.push((kind, payload));
    }
}

/// Read one frame (blocking); None at EOF.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "attach frame too large"));
    }
    let mut p = vec![0u8; len];
    r.read_exact(&mut p)?;
    Ok(Some((head[0], p)))
}

fn dir_fd(dir: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC).open(dir)
}

/// Connect to a container's attach socket.
pub fn connect(container_dir: &Path) -> io::Result<UnixStream> {
    let d = dir_fd(container_dir)?;
    UnixStream::connect(format!("/proc/self/fd/{}/{SOCKET}", d.as_raw_fd()))
}

/// Bind a socket named `name` in `dir` (replacing a stale one).
pub fn bind(dir: &Path, name: &str) -> io::Result<UnixListener> {
    let _ = std::fs::remove_file(dir.join(name));
    let d = dir_fd(dir)?;
    UnixListener::bind(format!("/proc/self/fd/{}/{name}", d.as_raw_fd()))
}

/// Write a whole frame, for clients.
pub fn send(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    w.write_all(&frame(kind, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut wire = frame(STDIN, b"ls\n");
        wire.extend(resize_frame(24, 80));
        wire.extend(frame(CLOSE_STDIN, b""));
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for chunk in wire.chunks(3) {
            buf.extend_from_slice(chunk);
            got.extend(parse(&mut buf).unwrap());
        }
        assert_eq!(got, vec![(STDIN, b"ls\n".to_vec()), (RESIZE, vec![0, 24, 0, 80]), (CLOSE_STDIN, vec![])]);
        assert!(buf.is_empty());
        let mut bad = vec![STDIN, 0xff, 0xff, 0xff, 0xff];
        assert!(parse(&mut bad).is_err());
        let mut r = std::io::Cursor::new(frame(STDOUT, b"hi"));
        assert_eq!(read_frame(&mut r).unwrap(), Some((STDOUT, b"hi".to_vec())));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }
}
