//! Go's fmt for template values: `print`, `println`, `printf` (flags, width, precision,
//! `*`, `[n]` indexes, `%!d(string=x)` and `%!(EXTRA ...)` errors) and how an action prints
//! a value (`[a b]`, `map[k:v]`, `{a b}` for a struct, `<nil>`).
use super::value::{Nil, V, Val, from_json, is_struct, sorted};

#[derive(Clone, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
}

/// Go's `unicode.IsPrint`, closely enough: letters, marks, numbers, punctuation, symbols
/// and the ASCII space; not controls, other spaces, format characters or private use.
pub fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xFFFE | 0xFFFF | 0xE000..=0xF8FF
        | 0xE0001..=0xE007F | 0xF0000..)
}

fn escape_rune(out: &mut String, c: char, quote: char, ascii: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if if ascii { c.is_ascii() && is_print(c) } else { is_print(c) } {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if c < ' ' || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's strconv.Quote (or QuoteToASCII).
pub fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_rune(&mut out, c, '"', ascii);
    }
    out.push('"');
    out
}

fn quote_rune(c: char, ascii: bool) -> String {
    let mut out = String::from("'");
    escape_rune(&mut out, c, '\'', ascii);
    out.push('\'');
    out
}

fn can_backquote(s: &str) -> bool {
    !s.chars().any(|c| (c < ' ' && c != '\t') || c == '`' || c == '\x7f' || c == '\u{feff}')
}

/// Go's `%v` of one value (what `{{.}}` prints, and `%v` in messages).
pub fn display(v: &Val) -> String {
    let mut p = Printer::default();
    p.print(v, 'v', 0);
    p.buf
}

/// Go's `%s` of one value.
pub fn display_s(v: &Val) -> String {
    let mut p = Printer::default();
    p.print(v, 's', 0);
    p.buf
}

/// Go's fmt.Sprint: spaces between operands when neither is a string.
pub fn sprint(args: &[V]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a.val, Val::Str(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print(&a.val, 'v', 0);
        prev_string = is_string;
    }
    p.buf
}

/// Go's fmt.Sprintln.
pub fn sprintln(args: &[V]) -> String {
    let mut p = Printer::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print(&a.val, 'v', 0);
    }
    p.buf.push('\n');
    p.buf
}

fn too_large(n: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&n)
}

fn parse_num(s: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num: i64 = 0;
    let mut isnum = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if too_large(num) {
            return (0, false, end);
        }
        num = num * 10 + (s[i] - b'0') as i64;
        isnum = true;
        i += 1;
    }
    (num as usize, isnum, i)
}

fn parse_arg_number(s: &[u8]) -> (i64, usize, bool) {
    if s.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..s.len() {
        if s[i] == b']' {
            let (w, ok, newi) = parse_num(s, 1, i);
            if !ok || newi != i {
                return (0, i + 1, false);
            }
            return (w as i64 - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

fn int_arg(v: &Val) -> Option<i64> {
    match v {
        Val::Int(i) => Some(*i),
        Val::Uint(u) => i64::try_from(*u).ok(),
        Val::Byte(b) => Some(*b as i64),
        _ => None,
    }
}

/// Go's fmt.Sprintf over template values.
pub fn sprintf(format: &str, args: &[V]) -> String {
    let mut p = Printer::default();
    let s = format.as_bytes();
    let end = s.len();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0;
    while i < end {
        let mut good_arg_num = true;
        let last = i;
        while i < end && s[i] != b'%' {
            i += 1;
        }
        if i > last {
            p.buf.push_str(&format[last..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match s[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        let mut arg_number = |arg_num: usize, i: usize, good: &mut bool| -> (usize, usize, bool) {
            if i >= end || s[i] != b'[' {
                return (arg_num, i, false);
            }
            reordered = true;
            let (index, wid, ok) = parse_arg_number(&s[i..]);
            if ok && index >= 0 && (index as usize) < args.len() {
                return (index as usize, i + wid, true);
            }
            *good = false;
            (arg_num, i + wid, ok)
        };
        let (n, ni, mut after_index) = arg_number(arg_num, i, &mut good_arg_num);
        arg_num = n;
        i = ni;
        if i < end && s[i] == b'*' {
            i += 1;
            let mut present = false;
            if arg_num < args.len() {
                if let Some(w) = int_arg(&args[arg_num].val).filter(|w| !too_large(*w)) {
                    present = true;
                    if w < 0 {
                        p.f.minus = true;
                        p.f.zero = false;
                    }
                    p.f.wid = Some(w.unsigned_abs() as usize);
                }
                arg_num += 1;
            }
            if !present {
                p.buf.push_str("%!(BADWIDTH)");
            }
            after_index = false;
        } else {
            let (w, present, ni) = parse_num(s, i, end);
            i = ni;
            if present {
                p.f.wid = Some(w);
                if after_index {
                    good_arg_num = false;
                }
            }
        }
        if i + 1 < end && s[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            let (n, ni, ai) = arg_number(arg_num, i, &mut good_arg_num);
            arg_num = n;
            i = ni;
            after_index = ai;
            if i < end && s[i] == b'*' {
                i += 1;
                let mut present = false;
                if arg_num < args.len() {
                    if let Some(pr) = int_arg(&args[arg_num].val).filter(|w| !too_large(*w) && *w >= 0) {
                        present = true;
                        p.f.prec = Some(pr as usize);
                    }
                    arg_num += 1;
                }
                if !present {
                    p.buf.push_str("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (pr, present, ni) = parse_num(s, i, end);
                i = ni;
                p.f.prec = Some(if present { pr } else { 0 });
            }
        }
        if !after_index {
            let (n, ni, _) = arg_number(arg_num, i, &mut good_arg_num);
            arg_num = n;
            i = ni;
        }
        let Some(verb) = format.get(i..).and_then(|r| r.chars().next()) else {
            p.buf.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.buf.push('%');
        } else if !good_arg_num {
            p.buf.push_str(&format!("%!{verb}(BADINDEX)"));
        } else if arg_num >= args.len() {
            p.buf.push_str(&format!("%!{verb}(MISSING)"));
        } else {
            if verb == 'v' {
                p.f.sharp_v = p.f.sharp;
                p.f.sharp = false;
                p.f.plus_v = p.f.plus;
                p.f.plus = false;
            }
            p.print(&args[arg_num].val, verb, 0);
            arg_num += 1;
        }
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.buf.push_str(", ");
            }
            if matches!(a.val, Val::Invalid) {
                p.buf.push_str("<nil>");
            } else {
                p.buf.push_str(&a.val.type_name());
                p.buf.push('=');
                p.print(&a.val, 'v', 0);
            }
        }
        p.buf.push(')');
    }
    p.buf
}

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid.filter(|w| *w > 0) else {
            self.buf.push_str(s);
            return;
        };
        let width = wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(width);
        } else {
            self.write_padding(width);
            self.buf.push_str(s);
        }
    }

    fn bad_verb(&mut self, verb: char, v: &Val) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if matches!(v, Val::Invalid | Val::Nil) {
            self.buf.push_str("<nil>");
        } else {
            self.buf.push_str(&v.type_name());
            self.buf.push('=');
            self.print(v, 'v', 0);
        }
        self.buf.push(')');
    }

    fn print(&mut self, v: &Val, verb: char, depth: usize) {
        if matches!(v, Val::Invalid) || (depth > 0 && matches!(v, Val::Nil)) {
            match verb {
                'T' | 'v' if self.f.sharp_v && depth > 0 => self.buf.push_str("interface {}(nil)"),
                'T' | 'v' => self.pad("<nil>"),
                _ if depth > 0 => self.buf.push_str("<nil>"),
                _ => self.bad_verb(verb, v),
            }
            return;
        }
        match verb {
            'T' => {
                let t = v.type_name();
                self.fmt_s(&t);
                return;
            }
            'p' => {
                self.bad_verb(verb, v);
                return;
            }
            _ => {}
        }
        match v {
            Val::Invalid | Val::Nil => {}
            Val::TypedNil(Nil::Slice) => self.buf.push_str(if self.f.sharp_v { "[]string(nil)" } else { "[]" }),
            Val::TypedNil(Nil::Map) => self.buf.push_str(if self.f.sharp_v { "map[string]string(nil)" } else { "map[]" }),
            Val::TypedNil(Nil::Set) => self.buf.push_str(if self.f.sharp_v { "map[string]struct {}(nil)" } else { "map[]" }),
            Val::EmptyStruct => self.buf.push_str(if self.f.sharp_v { "struct {}{}" } else { "{}" }),
            Val::TypedNil(Nil::Pointer) => match verb {
                'v' if self.f.sharp_v => self.buf.push_str("(*struct {})(nil)"),
                'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, v),
            },
            Val::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, v),
            },
            Val::Int(i) => self.fmt_integer(i.unsigned_abs(), *i < 0, true, verb, v),
            Val::Uint(u) => self.fmt_integer(*u, false, false, verb, v),
            Val::Byte(b) => self.fmt_integer(*b as u64, false, false, verb, v),
            Val::Float(f) => self.fmt_float_verb(*f, verb, v),
            Val::Complex(re, im) => match verb {
                'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E' => {
                    let old = self.f.plus;
                    self.buf.push('(');
                    self.fmt_float_verb(*re, verb, v);
                    self.f.plus = true;
                    self.fmt_float_verb(*im, verb, v);
                    self.buf.push_str("i)");
                    self.f.plus = old;
                }
                _ => self.bad_verb(verb, v),
            },
            Val::Str(s) => self.fmt_string(s, verb, v),
            Val::Array(a) => {
                let items: Vec<Val> = a.iter().map(from_json).collect();
                self.print_list(&items, "[]interface {}", verb, depth);
            }
            Val::Strings(s) => {
                let items: Vec<Val> = s.iter().map(|x| Val::Str(x.as_str().into())).collect();
                self.print_list(&items, "[]string", verb, depth);
            }
            Val::Object(m) if is_struct(m) => {
                let fields: Vec<(&str, Val)> = m.iter().map(|(k, x)| (k.as_str(), from_json(x))).collect();
                self.print_struct(&fields, verb, depth, "");
            }
            Val::Object(m) => {
                let entries: Vec<(&str, Val)> = sorted(m).into_iter().map(|(k, x)| (k.as_str(), from_json(x))).collect();
                self.print_map(&entries, "map[string]interface {}", verb, depth);
            }
            Val::Header(m) => {
                let entries: Vec<(&str, Val)> = sorted(m).into_iter().map(|(k, x)| (k.as_str(), from_json(x))).collect();
                self.print_map(&entries, "formatter.SubHeaderContext", verb, depth);
            }
            Val::Row(r) => {
                let fields: Vec<(&str, Val)> = r.fields.iter().map(|(k, x)| (k.as_str(), from_json(x))).collect();
                self.print_struct(&fields, verb, depth, "&");
            }
        }
    }

    fn print_list(&mut self, items: &[Val], type_name: &str, verb: char, depth: usize) {
        if self.f.sharp_v {
            self.buf.push_str(type_name);
            self.buf.push('{');
        } else {
            self.buf.push('[');
        }
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            self.print(x, verb, depth + 1);
        }
        self.buf.push(if self.f.sharp_v { '}' } else { ']' });
    }

    fn print_map(&mut self, entries: &[(&str, Val)], type_name: &str, verb: char, depth: usize) {
        if self.f.sharp_v {
            self.buf.push_str(type_name);
            self.buf.push('{');
        } else {
            self.buf.push_str("map[");
        }
        for (i, (k, x)) in entries.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            self.print(&Val::Str((*k).into()), verb, depth + 1);
            self.buf.push(':');
            self.print(x, verb, depth + 1);
        }
        self.buf.push(if self.f.sharp_v { '}' } else { ']' });
    }

    fn print_struct(&mut self, fields: &[(&str, Val)], verb: char, depth: usize, prefix: &str) {
        if depth == 0 {
            self.buf.push_str(prefix);
        }
        self.buf.push('{');
        for (i, (k, x)) in fields.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            if self.f.plus_v || self.f.sharp_v {
                self.buf.push_str(k);
                self.buf.push(':');
            }
            self.print(x, verb, depth + 1);
        }
        self.buf.push('}');
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(&s);
    }

    fn truncate(&self, s: &str) -> String {
        match self.f.prec {
            Some(n) => s.chars().take(n).collect(),
            None => s.to_string(),
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Val) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, false),
            'X' => self.fmt_sx(s, true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(&s) {
            self.pad(&format!("`{s}`"));
        } else {
            let q = quote(&s, self.f.plus);
            self.pad(&q);
        }
    }

    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
        let x = if upper { 'X' } else { 'x' };
        let bytes = s.as_bytes();
        let length = self.f.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(x);
        }
        for (i, b) in bytes[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(x);
                }
            }
            self.buf.push(digits[(b >> 4) as usize] as char);
            self.buf.push(digits[(b & 15) as usize] as char);
        }
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }

    fn fmt_integer(&mut self, u: u64, negative: bool, signed: bool, verb: char, v: &Val) {
        match verb {
            'v' if self.f.sharp_v && !signed => {
                let old = self.f.sharp;
                self.f.sharp = true;
                self.integer(u, 16, negative, verb, false);
                self.f.sharp = old;
            }
            'v' | 'd' => self.integer(u, 10, negative, verb, false),
            'b' => self.integer(u, 2, negative, verb, false),
            'o' | 'O' => self.integer(u, 8, negative, verb, false),
            'x' => self.integer(u, 16, negative, verb, false),
            'X' => self.integer(u, 16, negative, verb, true),
            'c' => {
                let c = if negative { '\u{FFFD}' } else { u32::try_from(u).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}') };
                self.pad(&c.to_string());
            }
            'q' => {
                let c = if negative { '\u{FFFD}' } else { u32::try_from(u).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}') };
                let s = if self.f.sharp && is_print(c) { format!("'{c}'") } else { quote_rune(c, self.f.plus) };
                self.pad(&s);
            }
            'U' => {
                let prec = self.f.prec.unwrap_or(4).max(4);
                let mut s = format!("U+{:0prec$X}", if negative { u.wrapping_neg() } else { u });
                if negative {
                    s = format!("U+-{}", &s[2..]);
                }
                if self.f.sharp
                    && !negative
                    && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32).filter(|c| is_print(*c))
                {
                    s.push_str(&format!(" '{c}'"));
                }
                let old = self.f.zero;
                self.f.zero = false;
                self.pad(&s);
                self.f.zero = old;
            }
            _ => self.bad_verb(verb, v),
        }
    }

    fn integer(&mut self, mut u: u64, base: u64, negative: bool, verb: char, upper: bool) {
        let digits: &[u8] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid.unwrap_or(0));
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && !self.f.minus && self.f.wid.is_some() {
            prec = self.f.wid.unwrap_or(0);
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            out.push(digits[(u % base) as usize]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while out.len() < prec {
            out.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => out.extend_from_slice(b"b0"),
                8 if out.last() != Some(&b'0') => out.push(b'0'),
                16 => out.extend_from_slice(if upper { b"X0" } else { b"x0" }),
                _ => {}
            }
        }
        if verb == 'O' {
            out.extend_from_slice(b"o0");
        }
        if negative {
            out.push(b'-');
        } else if self.f.plus {
            out.push(b'+');
        } else if self.f.space {
            out.push(b' ');
        }
        out.reverse();
        let s = String::from_utf8(out).unwrap_or_default();
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn fmt_float_verb(&mut self, v: f64, verb: char, val: &Val) {
        match verb {
            'v' => self.fmt_float(v, 'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(v, verb, -1),
            'f' | 'e' | 'E' | 'F' => self.fmt_float(v, verb, 6),
            _ => self.bad_verb(verb, val),
        }
    }

    fn fmt_float(&mut self, v: f64, verb: char, prec: i64) {
        let prec = self.f.prec.map_or(prec, |p| p as i64);
        let verb = if verb == 'F' { 'f' } else { verb };
        let formatted = format_float(v, verb, prec);
        let mut num: Vec<char> = if formatted.starts_with(['-', '+']) {
            formatted.chars().collect()
        } else {
            std::iter::once('+').chain(formatted.chars()).collect()
        };
        if self.f.space && num[0] == '+' && !self.f.plus {
            num[0] = ' ';
        }
        if num.get(1).is_some_and(|c| *c == 'I' || *c == 'N') {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1] == 'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            let s: String = num.into_iter().collect();
            self.pad(&s);
            self.f.zero = old;
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i64 = match verb {
                'v' | 'g' | 'G' | 'x' => {
                    if prec == -1 {
                        6
                    } else {
                        prec
                    }
                }
                _ => 0,
            };
            let mut tail: Vec<char> = Vec::new();
            let mut has_point = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            while i < num.len() {
                match num[i] {
                    '.' => has_point = true,
                    'p' | 'P' => {
                        tail = num.split_off(i);
                        break;
                    }
                    'e' | 'E' if verb != 'x' && verb != 'X' => {
                        tail = num.split_off(i);
                        break;
                    }
                    c => {
                        if c != '0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_point {
                if num.len() == 2 && num[1] == '0' {
                    digits -= 1;
                }
                num.push('.');
            }
            while digits > 0 {
                num.push('0');
                digits -= 1;
            }
            num.extend(tail);
        }
        if self.f.plus || num[0] != '+' {
            let wid = self.f.wid.unwrap_or(0);
            if self.f.zero && !self.f.minus && wid > num.len() {
                self.buf.push(num[0]);
                self.write_padding(wid - num.len());
                self.buf.extend(&num[1..]);
                return;
            }
            let s: String = num.into_iter().collect();
            self.pad(&s);
            return;
        }
        let s: String = num[1..].iter().collect();
        self.pad(&s);
    }
}

/// The decimal digits of |v| (no leading or trailing zeros) and the decimal point's place:
/// |v| = 0.DIGITS × 10^dp. `sig` significant digits, or the shortest that reads back.
fn decimal(v: f64, sig: Option<usize>) -> (Vec<u8>, i64) {
    let v = v.abs();
    if v == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match sig {
        Some(n) => format!("{:.*e}", n.saturating_sub(1), v),
        None => format!("{v:e}"),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return (Vec::new(), 0);
    }
    (digits, exp + 1)
}

fn fmt_e(out: &mut String, d: &[u8], dp: i64, prec: i64, e: char) {
    out.push(d.first().map_or('0', |c| *c as char));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as usize {
            out.push(d.get(i).map_or('0', |c| *c as char));
        }
    }
    out.push(e);
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_f(out: &mut String, d: &[u8], dp: i64, prec: i64) {
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(d.get(i).map_or('0', |c| *c as char));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = dp + i - 1;
            out.push(if j >= 0 { d.get(j as usize).map_or('0', |c| *c as char) } else { '0' });
        }
    }
}

fn fmt_x(v: f64, prec: i64, upper: bool) -> String {
    let bits = v.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1 << 52;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    out.push('0');
    out.push(if upper { 'X' } else { 'x' });
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if upper { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

/// Go's strconv.FormatFloat(v, verb, prec, 64).
pub fn format_float(v: f64, verb: char, prec: i64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let mut out = String::new();
    if verb == 'b' {
        let bits = v.to_bits();
        let mut exp = ((bits >> 52) & 0x7ff) as i64;
        let mut mant = bits & ((1u64 << 52) - 1);
        if exp == 0 {
            exp += 1;
        } else {
            mant |= 1 << 52;
        }
        exp -= 1023 + 52;
        if v.is_sign_negative() {
            out.push('-');
        }
        out.push_str(&format!("{mant}p{}{exp}", if exp >= 0 { "+" } else { "" }));
        return out;
    }
    if verb == 'x' || verb == 'X' {
        return fmt_x(v, prec, verb == 'X');
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    let shortest = prec < 0;
    match verb {
        'e' | 'E' => {
            let (d, dp) = decimal(v, if shortest { None } else { Some(prec as usize + 1) });
            let prec = if shortest { (d.len() as i64 - 1).max(0) } else { prec };
            fmt_e(&mut out, &d, dp, prec, verb);
        }
        'f' => {
            if shortest {
                let (d, dp) = decimal(v, None);
                fmt_f(&mut out, &d, dp, (d.len() as i64 - dp).max(0));
            } else {
                out.push_str(&format!("{:.*}", prec as usize, v.abs()));
            }
        }
        _ => {
            let e = if verb == 'G' { 'E' } else { 'e' };
            let want = if shortest { None } else { Some(prec.max(1) as usize) };
            let (d, dp) = decimal(v, want);
            let mut prec = if shortest { d.len() as i64 } else { prec.max(1) };
            let mut eprec = prec;
            if eprec > d.len() as i64 && d.len() as i64 >= dp {
                eprec = d.len() as i64;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > d.len() as i64 {
                    prec = d.len() as i64;
                }
                fmt_e(&mut out, &d, dp, prec - 1, e);
            } else {
                if prec > dp {
                    prec = d.len() as i64;
                }
                fmt_f(&mut out, &d, dp, (prec - dp).max(0));
            }
        }
    }
    out
}
