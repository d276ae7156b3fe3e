//! Keys as a terminal sends them: xterm's encoding of a crossterm key event (control
//! chords, arrows in normal or application-cursor mode, function keys, alt as ESC prefix).
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The bytes xterm sends for a key, or None for keys a terminal does not transmit.
pub fn encode_key(k: &KeyEvent, application_cursor: bool) -> Option<Vec<u8>> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    let mut out: Vec<u8> = match k.code {
        KeyCode::Char(c) if ctrl => {
            let b = match c.to_ascii_lowercase() {
                c @ 'a'..='z' => c as u8 - b'a' + 1,
                '@' | ' ' | '2' => 0,
                '[' | '3' => 0x1b,
                '\\' | '4' => 0x1c,
                ']' | '5' => 0x1d,
                '^' | '6' => 0x1e,
                '_' | '7' | '/' => 0x1f,
                '8' | '?' => 0x7f,
                _ => return None,
            };
            vec![b]
        }
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up | KeyCode::Down | KeyCode::Right | KeyCode::Left => {
            let c = match k.code {
                KeyCode::Up => b'A',
                KeyCode::Down => b'B',
                KeyCode::Right => b'C',
                _ => b'D',
            };
            let m = modifier_param(k.modifiers);
            if m > 1 {
                format!("\x1b[1;{m}{}", c as char).into_bytes()
            } else if application_cursor {
                vec![0x1b, b'O', c]
            } else {
                vec![0x1b, b'[', c]
            }
        }
        KeyCode::Home => {
            if application_cursor {
                b"\x1bOH".to_vec()
            } else {
                b"\x1b[H".to_vec()
            }
        }
        KeyCode::End => {
            if application_cursor {
                b"\x1bOF".to_vec()
            } else {
                b"\x1b[F".to_vec()
            }
        }
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::Insert => b"\x1b[2~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        KeyCode::F(n) => match n {
            1 => b"\x1bOP".to_vec(),
            2 => b"\x1bOQ".to_vec(),
            3 => b"\x1bOR".to_vec(),
            4 => b"\x1bOS".to_vec(),
            5 => b"\x1b[15~".to_vec(),
            6 => b"\x1b[17~".to_vec(),
            7 => b"\x1b[18~".to_vec(),
            8 => b"\x1b[19~".to_vec(),
            9 => b"\x1b[20~".to_vec(),
            10 => b"\x1b[21~".to_vec(),
            11 => b"\x1b[23~".to_vec(),
            12 => b"\x1b[24~".to_vec(),
            _ => return None,
        },
        _ => return None,
    };
    if alt && !out.is_empty() && !matches!(k.code, KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right) {
        out.insert(0, 0x1b);
    }
    Some(out)
}

/// xterm's modifier parameter: 1 + shift + 2·alt + 4·ctrl.
fn modifier_param(m: KeyModifiers) -> u8 {
    1 + m.contains(KeyModifiers::SHIFT) as u8 + 2 * m.contains(KeyModifiers::ALT) as u8 + 4 * m.contains(KeyModifiers::CONTROL) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn keys_encode_like_xterm() {
        let n = KeyModifiers::NONE;
        assert_eq!(encode_key(&k(KeyCode::Char('a'), n), false).unwrap(), b"a");
        assert_eq!(encode_key(&k(KeyCode::Char('é'), n), false).unwrap(), "é".as_bytes());
        assert_eq!(encode_key(&k(KeyCode::Char('c'), KeyModifiers::CONTROL), false).unwrap(), [3]);
        assert_eq!(encode_key(&k(KeyCode::Char('d'), KeyModifiers::CONTROL), false).unwrap(), [4]);
        assert_eq!(encode_key(&k(KeyCode::Enter, n), false).unwrap(), b"\r");
        assert_eq!(encode_key(&k(KeyCode::Up, n), false).unwrap(), b"\x1b[A");
        assert_eq!(encode_key(&k(KeyCode::Up, n), true).unwrap(), b"\x1bOA");
        assert_eq!(encode_key(&k(KeyCode::Right, KeyModifiers::CONTROL), false).unwrap(), b"\x1b[1;5C");
        assert_eq!(encode_key(&k(KeyCode::Char('x'), KeyModifiers::ALT), false).unwrap(), b"\x1bx");
        assert_eq!(encode_key(&k(KeyCode::F(5), n), false).unwrap(), b"\x1b[15~");
        assert_eq!(encode_key(&k(KeyCode::Backspace, n), false).unwrap(), [0x7f]);
    }
}
