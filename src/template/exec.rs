//! The executor: Go's text/template/exec.go over [`V`] values: variables and scopes,
//! pipelines (the piped value is the last argument), field chains, method calls on docker's
//! list contexts, argument checking against Go signatures, `break`/`continue`, and errors
//! that name the node being evaluated (`template: :1:2: executing "" at <.Foo>: ...`).
use std::borrow::Cow;
use std::rc::Rc;

use serde_json::{Map, Value};

use super::fmt::{display, quote};
use super::funcs::{self, Builtin, Func, Param};
use super::parse::{Action, Arg, Branch, Command, Node, Number, Pipe, Set, TemplateCall};
use super::value::{Nil, V, Val, from_json, is_pointer_field, is_struct, sorted, typed_nil};

/// Nested if/range/with and template calls deeper than this stop with an error (Go allows
/// 100000, more than a Rust stack holds).
pub const MAX_DEPTH: usize = 100;
/// `{{range N}}` and friends stop after this many iterations in one execution.
pub const MAX_ITERATIONS: u64 = 10_000_000;

pub enum Flow {
    Err(String),
    Break,
    Continue,
}

type R<T> = Result<T, Flow>;

#[derive(Clone, Copy)]
enum At<'x> {
    Arg(&'x Arg),
    Cmd(&'x Command),
    Pipe(&'x Pipe),
    Action(&'x Action),
    Call(&'x TemplateCall),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::Arg(a) => a.pos(),
            At::Cmd(c) => c.pos,
            At::Pipe(p) => p.pos,
            At::Action(a) => a.pos,
            At::Call(c) => c.pos,
        }
    }
    fn context(&self) -> String {
        match self {
            At::Arg(a) => a.to_string(),
            At::Cmd(c) => c.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Action(a) => format!("{{{{{}}}}}", a.pipe),
            At::Call(c) => c.to_string(),
        }
    }
}

pub struct Exec<'x, 'o> {
    set: &'x Set,
    name: &'x str,
    vars: Vec<(&'x str, V<'x>)>,
    node: Option<At<'x>>,
    out: &'o mut String,
    depth: usize,
    iterations: u64,
    header: bool,
    root: Option<&'x Map<String, Value>>,
}

/// Run the template `set.name` over `data`, appending to `out` (which keeps what was written
/// before an error, as Go's writer does). `header` selects docker's HeaderFunctions.
pub fn execute<'x>(set: &'x Set, data: V<'x>, header: bool, out: &mut String) -> Result<(), String> {
    let Some(tree) = set.trees.get(&set.name) else {
        return Err(format!("template: {}: {} is an incomplete or empty template", set.name, quote(&set.name, false)));
    };
    let root = match data.val {
        Val::Object(m) => Some(m),
        _ => None,
    };
    let mut e = Exec { set, name: &set.name, vars: vec![("$", data.clone())], node: None, out, depth: 0, iterations: 0, header, root };
    match e.walk_list(&data, tree) {
        Ok(()) => Ok(()),
        Err(Flow::Err(msg)) => Err(msg),
        // The parser keeps break and continue inside range.
        Err(Flow::Break | Flow::Continue) => Ok(()),
    }
}

fn str_val<'x>(s: &'x str) -> V<'x> {
    V::new(Val::Str(Cow::Borrowed(s)))
}

impl<'x> Exec<'x, '_> {
    fn at(&mut self, a: At<'x>) {
        self.node = Some(a);
    }

    fn err<T>(&self, msg: impl std::fmt::Display) -> R<T> {
        let name = quote(self.name, false);
        let Some(at) = self.node else { return Err(Flow::Err(format!("template: {}: {msg}", self.name))) };
        let pos = at.pos().min(self.set.text.len());
        let text = self.set.text.get(..pos).unwrap_or("");
        let (line, col) = match text.rfind('\n') {
            None => (1, pos),
            Some(i) => (1 + text.matches('\n').count(), pos - (i + 1)),
        };
        Err(Flow::Err(format!("template: {}:{line}:{col}: executing {name} at <{}>: {msg}", self.set.name, at.context())))
    }

    fn walk_list(&mut self, dot: &V<'x>, list: &'x [Node]) -> R<()> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &V<'x>, node: &'x Node) -> R<()> {
        match node {
            Node::Text(t) => {
                self.out.push_str(t);
                Ok(())
            }
            Node::Action(a) => {
                self.at(At::Action(a));
                let v = self.eval_pipeline(dot, &a.pipe)?;
                if a.pipe.decl.is_empty() {
                    self.at(At::Action(a));
                    match v.val {
                        Val::Invalid => self.out.push_str("<no value>"),
                        val => self.out.push_str(&display(&val)),
                    }
                }
                Ok(())
            }
            Node::If(b) => self.nested(|e| e.if_or_with(false, dot, b)),
            Node::With(b) => self.nested(|e| e.if_or_with(true, dot, b)),
            Node::Range(b) => self.nested(|e| match e.range(dot, b) {
                Err(Flow::Break) => Ok(()),
                r => r,
            }),
            Node::Template(c) => self.template(dot, c),
            Node::Break => Err(Flow::Break),
            Node::Continue => Err(Flow::Continue),
        }
    }

    /// Run `f` one level deeper, with the variables it declares dropped afterwards.
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> R<()>) -> R<()> {
        if self.depth >= MAX_DEPTH {
            return self.err(format!("exceeded maximum template depth ({MAX_DEPTH})"));
        }
        self.depth += 1;
        let mark = self.vars.len();
        let r = f(self);
        self.vars.truncate(mark);
        self.depth -= 1;
        r
    }

    fn if_or_with(&mut self, with: bool, dot: &V<'x>, b: &'x Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        if val.val.truth() {
            if with { self.walk_list(&val, &b.list) } else { self.walk_list(dot, &b.list) }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(())
        }
    }

    fn range(&mut self, dot: &V<'x>, b: &'x Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let mut ran = false;
        match &val.val {
            Val::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    ran = true;
                    if !self.iteration(b, mark, V::new(Val::Int(i as i64)), V::boxed(from_json(x)))? {
                        break;
                    }
                }
            }
            Val::Strings(items) => {
                let items = Rc::clone(items);
                for (i, x) in items.iter().enumerate() {
                    ran = true;
                    let elem = V::new(Val::Str(Cow::Owned(x.clone())));
                    if !self.iteration(b, mark, V::new(Val::Int(i as i64)), elem)? {
                        break;
                    }
                }
            }
            Val::Object(m) | Val::Header(m) => {
                let header = matches!(val.val, Val::Header(_));
                for (k, x) in sorted(m) {
                    ran = true;
                    let elem = if header { V::new(from_json(x)) } else { V::boxed(from_json(x)) };
                    if !self.iteration(b, mark, str_val(k), elem)? {
                        break;
                    }
                }
            }
            Val::Int(_) | Val::Uint(_) | Val::Byte(_) => {
                if b.pipe.decl.len() > 1 {
                    return self.err(format!("can't use {} to iterate over more than one variable", display(&val.val)));
                }
                let n: u64 = match val.val {
                    Val::Int(i) => i.max(0) as u64,
                    Val::Uint(u) => u,
                    Val::Byte(b) => b as u64,
                    _ => 0,
                };
                for i in 0..n {
                    ran = true;
                    let v = V::new(match val.val {
                        Val::Int(_) => Val::Int(i as i64),
                        Val::Byte(_) => Val::Byte(i as u8),
                        _ => Val::Uint(i),
                    });
                    if !self.iteration(b, mark, v.clone(), v)? {
                        break;
                    }
                }
            }
            Val::Invalid | Val::TypedNil(Nil::Slice | Nil::Map | Nil::Set) => {}
            other => return self.err(format!("range can't iterate over {}", display(other))),
        }
        if !ran && let Some(e) = &b.else_list {
            return self.walk_list(dot, e);
        }
        Ok(())
    }

    /// One pass of a range body; `Ok(false)` after `{{break}}`.
    fn iteration(&mut self, b: &'x Branch, mark: usize, index: V<'x>, elem: V<'x>) -> R<bool> {
        self.iterations += 1;
        if self.iterations > MAX_ITERATIONS {
            return self.err(format!("range: more than {MAX_ITERATIONS} iterations"));
        }
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                let v = if decl.len() > 1 { index.clone() } else { elem.clone() };
                self.set_var(&decl[0], v)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let r = self.walk_list(&elem, &b.list);
        self.vars.truncate(mark);
        match r {
            Ok(()) | Err(Flow::Continue) => Ok(true),
            Err(Flow::Break) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn template(&mut self, dot: &V<'x>, c: &'x TemplateCall) -> R<()> {
        self.at(At::Call(c));
        let Some(tree) = self.set.trees.get(&c.name) else {
            return self.err(format!("template {} not defined", quote(&c.name, false)));
        };
        if self.depth >= MAX_DEPTH {
            return self.err(format!("exceeded maximum template depth ({MAX_DEPTH})"));
        }
        let dot = match &c.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => V::invalid(),
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$", dot.clone())]);
        let name = std::mem::replace(&mut self.name, &c.name);
        self.depth += 1;
        let r = self.walk_list(&dot, tree);
        self.depth -= 1;
        self.vars = vars;
        self.name = name;
        r
    }

    fn set_var(&mut self, name: &str, v: V<'x>) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => self.err(format!("undefined variable: {name}")),
        }
    }

    fn set_top_var(&mut self, n: usize, v: V<'x>) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = v;
        }
    }

    fn var_value(&self, name: &str) -> R<V<'x>> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.err(format!("undefined variable: {name}")),
        }
    }

    fn eval_pipeline(&mut self, dot: &V<'x>, pipe: &'x Pipe) -> R<V<'x>> {
        self.at(At::Pipe(pipe));
        let mut value: Option<V<'x>> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.unbox());
        }
        let v = value.unwrap_or_else(V::invalid);
        for d in &pipe.decl {
            if pipe.is_assign {
                self.set_var(d, v.clone())?;
            } else {
                self.vars.push((d.as_str(), v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<V<'x>>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.err(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &V<'x>, cmd: &'x Command, fin: Option<V<'x>>) -> R<V<'x>> {
        let Some(first) = cmd.args.first() else { return self.err("empty command") };
        match first {
            Arg::Field { idents, .. } => {
                self.at(At::Arg(first));
                self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, fin)
            }
            Arg::Chain { .. } => self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Identifier { name, .. } => self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, fin),
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { .. } => self.eval_variable(dot, first, &cmd.args, fin),
            _ => {
                self.at(At::Arg(first));
                self.not_a_function(&cmd.args, &fin)?;
                match first {
                    Arg::Bool { val, .. } => Ok(V::new(Val::Bool(*val))),
                    Arg::Dot { .. } => Ok(dot.clone()),
                    Arg::Nil { .. } => self.err("nil is not a command"),
                    Arg::Number { num, .. } => self.ideal_constant(num),
                    Arg::String { text, .. } => Ok(str_val(text)),
                    _ => self.err(format!("can't evaluate command {}", quote(&first.to_string(), false))),
                }
            }
        }
    }

    fn ideal_constant(&self, num: &Number) -> R<V<'x>> {
        let t = &num.text;
        if num.is_complex {
            return Ok(V::new(Val::Complex(num.complex.0, num.complex.1)));
        }
        let hex_int = t.len() > 2 && t.starts_with('0') && matches!(t.as_bytes()[1], b'x' | b'X') && !t.contains(['p', 'P']);
        let rune_int = t.starts_with('\'');
        if num.is_float && !hex_int && !rune_int && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(V::new(Val::Float(num.float)));
        }
        if num.is_int {
            return Ok(V::new(Val::Int(num.int)));
        }
        if num.is_uint {
            return self.err(format!("{t} overflows int"));
        }
        Ok(V::invalid())
    }

    fn eval_chain(&mut self, dot: &V<'x>, chain: &'x Arg, args: &'x [Arg], fin: Option<V<'x>>) -> R<V<'x>> {
        self.at(At::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else { return self.err("internal error: not a chain") };
        if matches!(**node, Arg::Nil { .. }) {
            return self.err(format!("indirection through explicit nil in {chain}"));
        }
        let base = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, base, chain, fields, args, fin)
    }

    fn eval_variable(&mut self, dot: &V<'x>, var: &'x Arg, args: &'x [Arg], fin: Option<V<'x>>) -> R<V<'x>> {
        self.at(At::Arg(var));
        let Arg::Variable { idents, .. } = var else { return self.err("internal error: not a variable") };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            if !args.is_empty() {
                self.not_a_function(args, &fin)?;
            } else if fin.is_some() {
                return self.err(format!("can't give argument to non-function {var}"));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &idents[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &V<'x>,
        receiver: V<'x>,
        node: &'x Arg,
        idents: &'x [String],
        args: &'x [Arg],
        fin: Option<V<'x>>,
    ) -> R<V<'x>> {
        let Some((last, init)) = idents.split_last() else { return Ok(receiver) };
        let mut r = receiver;
        for id in init {
            r = self.eval_field(dot, id, node, &[], None, r)?;
        }
        self.eval_field(dot, last, node, args, fin, r)
    }

    fn is_root(&self, m: &Map<String, Value>) -> bool {
        self.root.is_some_and(|r| std::ptr::eq(r, m))
    }

    fn eval_field(&mut self, dot: &V<'x>, name: &'x str, node: &'x Arg, args: &'x [Arg], fin: Option<V<'x>>, receiver: V<'x>) -> R<V<'x>> {
        let has_args = args.len() > 1 || fin.is_some();
        match receiver.val {
            Val::Invalid => Ok(V::invalid()),
            Val::TypedNil(Nil::Map | Nil::Set) if has_args => self.err(format!("{name} is not a method but has arguments")),
            Val::TypedNil(Nil::Map | Nil::Set) => Ok(V::invalid()),
            Val::Nil | Val::TypedNil(_) => self.err(format!("nil pointer evaluating interface {{}}.{name}")),
            Val::Row(row) => {
                if name == "Label" && row.kind.has_label {
                    return self.eval_call(dot, Func::RowLabel(row.labels), false, At::Arg(node), name, args, fin);
                }
                match row.fields.get(name) {
                    Some(v) => self.eval_call(dot, Func::Field(v), false, At::Arg(node), name, args, fin),
                    None => self.err(format!("can't evaluate field {name} in type {}", row.kind.type_name)),
                }
            }
            Val::Header(m) => {
                if name == "Label" {
                    return self.eval_call(dot, Func::HeaderLabel, false, At::Arg(node), name, args, fin);
                }
                if has_args {
                    return self.err(format!("{name} is not a method but has arguments"));
                }
                Ok(m.get(name).map(|v| V::new(from_json(v))).unwrap_or_else(V::invalid))
            }
            Val::Object(m) => {
                if has_args {
                    return self.err(format!("{name} is not a method but has arguments"));
                }
                let typed = self.is_root(m) || is_struct(m);
                match m.get(name) {
                    // A null field of a docker struct is a nil of the field's type.
                    Some(Value::Null) if typed => Ok(V::new(Val::TypedNil(typed_nil(name)))),
                    Some(v) => Ok(V::boxed(from_json(v))),
                    None if typed && is_pointer_field(name) => Ok(V::new(Val::TypedNil(Nil::Pointer))),
                    None if typed => self.err(format!("map has no entry for key {}", quote(name, false))),
                    None => Ok(V::invalid()),
                }
            }
            _ => self.err(format!("can't evaluate field {name} in type {}", receiver.type_name())),
        }
    }

    fn eval_function(&mut self, dot: &V<'x>, ident: &'x Arg, name: &'x str, site: At<'x>, args: &'x [Arg], fin: Option<V<'x>>) -> R<V<'x>> {
        self.at(At::Arg(ident));
        let Some((b, is_builtin)) = funcs::lookup(name, self.header) else {
            return self.err(format!("{} is not a defined function", quote(name, false)));
        };
        self.eval_call(dot, Func::Builtin(b), is_builtin, site, name, args, fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &V<'x>,
        func: Func<'x>,
        is_builtin: bool,
        site: At<'x>,
        name: &str,
        args: &'x [Arg],
        fin: Option<V<'x>>,
    ) -> R<V<'x>> {
        let args: &'x [Arg] = args.get(1..).unwrap_or(&[]);
        let sig = func.sig();
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = if sig.variadic.is_some() {
            if num_in < sig.fixed.len() {
                return self.err(format!("wrong number of args for {name}: want at least {} got {}", sig.fixed.len(), args.len()));
            }
            sig.fixed.len()
        } else {
            if num_in != sig.fixed.len() {
                return self.err(format!("wrong number of args for {name}: want {} got {num_in}", sig.fixed.len()));
            }
            args.len()
        };
        if is_builtin && matches!(func, Func::Builtin(Builtin::And | Builtin::Or)) {
            let or = name == "or";
            let mut v = V::invalid();
            for a in args {
                v = self.eval_arg(dot, Some(Param::Value), a)?;
                if v.clone().unbox().val.truth() == or {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = self.validate_type(f, Some(Param::Value))?;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, Some(sig.fixed[i]), &args[i])?);
            i += 1;
        }
        if let Some(vp) = sig.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(vp), &args[i])?);
                i += 1;
            }
        }
        let mut callee = String::new();
        if let Some(f) = fin {
            let t = match sig.variadic {
                Some(vp) if num_in > num_fixed => vp,
                Some(_) => sig.fixed[num_in - 1],
                None => sig.fixed[sig.fixed.len() - 1],
            };
            if args.is_empty() {
                callee = match &f.val {
                    Val::Str(s) => s.to_string(),
                    v => format!("<{} Value>", v.type_name()),
                };
            }
            argv.push(self.validate_type(f, Some(t))?);
        }
        if let Some(a) = args.first() {
            callee = a.to_string();
        }
        match funcs::invoke(func, argv, &callee) {
            Ok(v) => Ok(v),
            Err(msg) => {
                self.at(site);
                self.err(format!("error calling {name}: {msg}"))
            }
        }
    }

    fn eval_arg(&mut self, dot: &V<'x>, typ: Option<Param>, arg: &'x Arg) -> R<V<'x>> {
        self.at(At::Arg(arg));
        let v = match arg {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                return match typ {
                    None | Some(Param::Any | Param::Value) => Ok(V::invalid()),
                    Some(Param::Strings) => Ok(V::new(Val::Strings(Rc::from(Vec::new())))),
                    Some(p) => self.err(format!("cannot assign nil to {}", p.go_name())),
                };
            }
            Arg::Field { idents, .. } => self.eval_field_chain(dot, dot.clone(), arg, idents, std::slice::from_ref(arg), None)?,
            Arg::Variable { .. } => self.eval_variable(dot, arg, &[], None)?,
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Identifier { name, .. } => self.eval_function(dot, arg, name, At::Arg(arg), &[], None)?,
            Arg::Chain { .. } => self.eval_chain(dot, arg, &[], None)?,
            Arg::Bool { .. } | Arg::Number { .. } | Arg::String { .. } => {
                return match (typ, arg) {
                    (None | Some(Param::Any | Param::Value), Arg::Bool { val, .. }) => Ok(V::new(Val::Bool(*val))),
                    (None | Some(Param::Any | Param::Value), Arg::Number { num, .. }) => self.ideal_constant(num),
                    (None | Some(Param::Any | Param::Value), Arg::String { text, .. }) => Ok(str_val(text)),
                    (Some(Param::Str), Arg::String { text, .. }) => Ok(str_val(text)),
                    (Some(Param::Str), _) => self.err(format!("expected string; found {arg}")),
                    (Some(Param::Int), Arg::Number { num, .. }) if num.is_int => Ok(V::new(Val::Int(num.int))),
                    (Some(Param::Int), _) => self.err(format!("expected integer; found {arg}")),
                    (Some(Param::Strings), _) | (_, _) => self.err(format!("can't handle {arg} for arg of type []string")),
                };
            }
        };
        self.validate_type(v, typ)
    }

    fn validate_type(&self, v: V<'x>, typ: Option<Param>) -> R<V<'x>> {
        let Some(p) = typ else { return Ok(v) };
        let wrong = |v: &V| -> R<V<'x>> {
            let got = if matches!(v.val, Val::Nil) { "interface {}".to_string() } else { v.val.type_name() };
            self.err(format!("wrong type for value; expected {}; got {got}", p.go_name()))
        };
        match p {
            Param::Value => Ok(v),
            Param::Any => Ok(v.unbox()),
            Param::Str => match v.val {
                Val::Invalid => self.err("invalid value; expected string"),
                Val::Str(_) => Ok(V::new(v.val)),
                _ => wrong(&v),
            },
            Param::Int => match v.val {
                Val::Invalid => self.err("invalid value; expected int"),
                Val::Int(_) => Ok(V::new(v.val)),
                _ => wrong(&v),
            },
            Param::Strings => match v.val {
                Val::Invalid | Val::TypedNil(Nil::Slice) => Ok(V::new(Val::Strings(Rc::from(Vec::new())))),
                Val::Strings(_) => Ok(V::new(v.val)),
                // docker's typed structs hold []string where the JSON has an array of strings.
                Val::Array(a) if a.iter().all(Value::is_string) => {
                    Ok(V::new(Val::Strings(a.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect())))
                }
                _ => wrong(&v),
            },
        }
    }
}
