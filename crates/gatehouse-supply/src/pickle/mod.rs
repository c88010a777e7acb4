//! A pickle opcode interpreter with CPython's `_pickle.c` semantics, used to decide what a
//! `pickle.load` of the same bytes would import and call.
//!
//! Published scanners that look for dangerous strings or walk opcodes without modelling the stack
//! have been bypassed many times: `STACK_GLOBAL` fed from the memo, strings built by protocol-0
//! escapes, `FRAME` lengths that hide bytes from a naive frame walker, `INST`/`OBJ` calls that do not
//! look like `REDUCE`, extension codes. This interpreter keeps the real stack, the mark fence and
//! the memo, resolves every global the way `Unpickler.find_class` does (including the Python 2
//! `fix_imports` renames), and reports:
//!
//! * every global that is imported and is not on the [allowlist](crate::pickle::policy) (importing
//!   a module runs its top-level code), and
//! * every call (`REDUCE`, `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`) of a callable that is not on the
//!   allowlist, with the severity given by the denylist.
//!
//! Where the interpreter stops before CPython would (a malformed or unsupported stream) the result
//! says so in [`PickleAnalysis::incomplete`]; callers report that as *incomplete*, never as clean.

pub mod policy;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use crate::finding::{Finding, Severity};
use policy::{Policy, Verdict};

/// Largest string or bytes operand kept in memory; longer ones are skipped (their content is
/// never needed to resolve a global: module and attribute names are short).
const MAX_KEPT_OPERAND: u64 = 64 * 1024;
/// Longest protocol-0 text line accepted.
const MAX_LINE: usize = 1024 * 1024;
/// Stack depth limit (CPython has none; a deeper stack only costs memory).
const MAX_STACK: usize = 1 << 20;
/// Memo size limit.
const MAX_MEMO: usize = 1 << 20;
/// Highest protocol CPython 3 accepts.
const HIGHEST_PROTOCOL: u8 = 5;

/// A value on the abstract stack. Containers are opaque: pickle has no opcode that takes an item
/// back out of a list or dict, so only their identity matters; strings and tuples keep their
/// content because `STACK_GLOBAL` and call arguments read them.
#[derive(Debug, Clone)]
enum Value {
    None,
    Bool,
    Int,
    Float,
    Str(Option<Rc<str>>),
    Bytes,
    Tuple(Rc<[Value]>),
    List,
    Dict,
    Set,
    Global(Rc<Global>),
    /// The result of calling something.
    Object(Rc<str>),
    Persistent,
}

/// A resolved global reference.
#[derive(Debug)]
struct Global {
    module: String,
    name: String,
}

impl Global {
    fn qualified(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// What the interpreter found in one pickle stream (possibly several pickles back to back).
#[derive(Debug, Default, Clone)]
pub struct PickleAnalysis {
    /// Security findings.
    pub findings: Vec<Finding>,
    /// Every global imported, qualified, in order of first appearance.
    pub globals: Vec<String>,
    /// Why the analysis stopped before the end of the stream, if it did.
    pub incomplete: Option<String>,
    /// Number of pickles (STOP opcodes) read.
    pub pickles: usize,
    /// Bytes consumed.
    pub bytes: u64,
}

impl PickleAnalysis {
    /// True when nothing was found and the stream was fully analysed.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.incomplete.is_none()
    }
}

/// How many pickles to read from one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pickles {
    /// Read pickles until the stream ends; trailing bytes that are not a pickle make the
    /// analysis incomplete.
    UntilEnd,
    /// Read exactly this many pickles and stop (legacy PyTorch files carry raw tensor data after
    /// their fifth pickle).
    Exactly(usize),
}

#[derive(Debug)]
enum Stop {
    /// A malformed stream: CPython raises at this point.
    Malformed(String),
    /// The stream ended cleanly at a pickle boundary.
    Eof,
    Io(std::io::Error),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Stop::Malformed("pickle data was truncated".into())
        } else {
            Stop::Io(e)
        }
    }
}

fn bad<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Malformed(msg.into()))
}

/// Byte source with position tracking.
struct Input<R> {
    r: BufReader<R>,
    pos: u64,
}

impl<R: Read> Input<R> {
    fn at_eof(&mut self) -> Result<bool, Stop> {
        Ok(self.r.fill_buf()?.is_empty())
    }

    fn byte(&mut self) -> Result<u8, Stop> {
        // Fast path straight from the buffer: most opcodes and operands are a few bytes.
        if let Some(&b) = self.r.buffer().first() {
            self.r.consume(1);
            self.pos += 1;
            return Ok(b);
        }
        let mut b = [0u8; 1];
        self.r.read_exact(&mut b)?;
        self.pos += 1;
        Ok(b[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Stop> {
        if let Some(Ok(b)) = self.r.buffer().get(..N).map(<[u8; N]>::try_from) {
            self.r.consume(N);
            self.pos += N as u64;
            return Ok(b);
        }
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        self.pos += N as u64;
        Ok(b)
    }

    /// Reads `n` bytes, keeping them only if short.
    fn operand(&mut self, n: u64) -> Result<Option<Vec<u8>>, Stop> {
        if n <= MAX_KEPT_OPERAND {
            let mut v = Vec::new();
            let got = (&mut self.r).take(n).read_to_end(&mut v)? as u64;
            self.pos += got;
            if got != n {
                return bad("pickle data was truncated");
            }
            Ok(Some(v))
        } else {
            let got = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())?;
            self.pos += got;
            if got != n {
                return bad("pickle data was truncated");
            }
            Ok(None)
        }
    }

    /// Reads a protocol-0 line; the trailing `\n` is removed (and nothing else, as in CPython).
    fn line(&mut self) -> Result<Vec<u8>, Stop> {
        let mut v = Vec::new();
        let got = (&mut self.r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut v)?;
        self.pos += got as u64;
        match v.last() {
            Some(b'\n') => {
                v.pop();
                Ok(v)
            }
            _ if got > MAX_LINE => bad("protocol-0 line too long"),
            _ => bad("pickle data was truncated"),
        }
    }
}

/// Parses a Python `int()` literal in base 10 (whitespace, sign, underscores between digits).
fn parse_py_int(text: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(text).ok()?.trim();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut v: i64 = 0;
    for c in digits.bytes() {
        if c == b'_' {
            continue;
        }
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

/// Decodes a `STRING` operand: a quoted Python 2 `repr` with backslash escapes.
fn decode_string_repr(line: &[u8]) -> Result<Vec<u8>, Stop> {
    let inner = match line {
        [q, inner @ .., e] if (*q == b'\'' || *q == b'"') && q == e => inner,
        _ => return bad("the STRING opcode argument must be quoted"),
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = inner.get(i) else {
            return bad("Trailing \\ in string");
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match inner.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let h = inner
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match h.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => return bad("invalid \\x escape"),
                }
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Decodes a `UNICODE` operand (`raw-unicode-escape`): bytes are Latin-1 code points except
/// `\uXXXX` and `\UXXXXXXXX`.
fn decode_raw_unicode_escape(line: &[u8]) -> Result<String, Stop> {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while let Some(&c) = line.get(i) {
        if c == b'\\' {
            let width = match line.get(i + 1) {
                Some(b'u') => Some(4),
                Some(b'U') => Some(8),
                _ => None,
            };
            if let Some(w) = width {
                let hex = line
                    .get(i + 2..i + 2 + w)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let cp = hex.and_then(|h| u32::from_str_radix(h, 16).ok());
                match cp.and_then(char::from_u32) {
                    Some(ch) => {
                        out.push(ch);
                        i += 2 + w;
                        continue;
                    }
                    None => return bad("truncated \\uXXXX escape"),
                }
            }
        }
        out.push(char::from(c));
        i += 1;
    }
    Ok(out)
}

fn text(bytes: Option<Vec<u8>>) -> Value {
    Value::Str(bytes.and_then(|b| String::from_utf8(b).ok()).map(Rc::from))
}

/// Analyses a pickle stream. `origin` prefixes finding locations (e.g. `archive/data.pkl`).
pub fn analyze<R: BufRead>(
    reader: R,
    policy: &Policy,
    count: Pickles,
    origin: &str,
) -> PickleAnalysis {
    // A concrete buffer in front of the (often dynamically dispatched) source keeps the
    // per-opcode read inlined.
    let mut m = Machine {
        input: Input {
            r: BufReader::with_capacity(1 << 16, reader),
            pos: 0,
        },
        policy,
        origin,
        out: PickleAnalysis::default(),
        seen: HashMap::new(),
    };
    let mut n = 0usize;
    loop {
        if let Pickles::Exactly(k) = count
            && n >= k
        {
            break;
        }
        let start = m.input.pos;
        match m.one_pickle() {
            Ok(()) => n += 1,
            Err(Stop::Eof) if n > 0 && count == Pickles::UntilEnd => break,
            Err(Stop::Eof) => {
                m.out.incomplete = Some(format!("stream ended after {n} pickle(s)"));
                break;
            }
            Err(Stop::Malformed(why)) => {
                let at = m.input.pos;
                m.out.incomplete = Some(if n > 0 {
                    format!(
                        "bytes from offset {start} after {n} pickle(s) are not a valid pickle (at byte {at}: {why})"
                    )
                } else {
                    format!("malformed pickle at byte {at}: {why}")
                });
                break;
            }
            Err(Stop::Io(e)) => {
                m.out.incomplete = Some(format!("read error: {e}"));
                break;
            }
        }
    }
    m.out.pickles = n;
    m.out.bytes = m.input.pos;
    m.out
}

struct Machine<'p, R> {
    input: Input<R>,
    policy: &'p Policy,
    origin: &'p str,
    out: PickleAnalysis,
    /// Deduplicates findings: (rule, subject) → already reported.
    seen: HashMap<(&'static str, String), ()>,
}

impl<R: Read> Machine<'_, R> {
    fn report(&mut self, rule: &'static str, severity: Severity, subject: String, message: String) {
        if self.seen.insert((rule, subject), ()).is_none() {
            let at = format!("{}@{}", self.origin, self.input.pos);
            self.out
                .findings
                .push(Finding::new(rule, severity, message).at(at));
        }
    }

    /// Resolves and vets a global as `find_class` would.
    fn global(&mut self, proto: u8, module: String, name: String) -> Value {
        let (module, name) = policy::fix_imports(proto, module, name);
        let g = Global { module, name };
        let q = g.qualified();
        if !self.out.globals.contains(&q) && self.out.globals.len() < 10_000 {
            self.out.globals.push(q.clone());
        }
        match self.policy.judge(&g.module, &g.name) {
            Verdict::Allowed => {}
            Verdict::Denied(sev, why) => self.report(
                "pickle-dangerous-global",
                sev,
                q.clone(),
                format!("imports `{q}`: {why}"),
            ),
            Verdict::Unknown => self.report(
                "pickle-unknown-global",
                Severity::Medium,
                q.clone(),
                format!(
                    "imports `{q}`, which is not on the allowlist (importing runs module code)"
                ),
            ),
        }
        Value::Global(Rc::new(g))
    }

    /// Vets a call of `callable` (by REDUCE, INST, OBJ, NEWOBJ or NEWOBJ_EX).
    fn call(&mut self, op: &str, callable: &Value, args: Option<&Value>) -> Value {
        let evidence = args.map(describe_args).unwrap_or_default();
        match callable {
            Value::Global(g) => {
                let q = g.qualified();
                match self.policy.judge(&g.module, &g.name) {
                    Verdict::Allowed => {}
                    Verdict::Denied(sev, why) => self.report(
                        "pickle-dangerous-call",
                        sev,
                        format!("{q}{evidence}"),
                        format!("{op} calls `{q}{evidence}`: {why}"),
                    ),
                    Verdict::Unknown => self.report(
                        "pickle-unknown-call",
                        Severity::High,
                        q.clone(),
                        format!("{op} calls `{q}`, which is not on the allowlist"),
                    ),
                }
                Value::Object(Rc::from(q.as_str()))
            }
            other => {
                let what = kind_name(other);
                self.report(
                    "pickle-computed-call",
                    Severity::High,
                    what.clone(),
                    format!("{op} calls a computed value ({what}), not a vetted global"),
                );
                Value::Object(Rc::from(format!("<{what}>").as_str()))
            }
        }
    }

    fn one_pickle(&mut self) -> Result<(), Stop> {
        if self.input.at_eof()? {
            return Err(Stop::Eof);
        }
        let mut stack: Vec<Value> = Vec::new();
        let mut marks: Vec<usize> = Vec::new();
        let mut memo: HashMap<u64, Value> = HashMap::new();
        let mut proto: u8 = 0;
        loop {
            let op = self.input.byte()?;
            let fence = marks.last().copied().unwrap_or(0);
            macro_rules! pop {
                () => {
                    if stack.len() > fence {
                        stack.pop().ok_or(Stop::Malformed(String::new()))?
                    } else {
                        return bad("unpickling stack underflow");
                    }
                };
            }
            macro_rules! push {
                ($v:expr) => {{
                    if stack.len() >= MAX_STACK {
                        return bad("stack too deep");
                    }
                    stack.push($v);
                }};
            }
            macro_rules! pop_mark {
                () => {{
                    let Some(m) = marks.pop() else {
                        return bad("could not find MARK");
                    };
                    stack.split_off(m.min(stack.len()))
                }};
            }
            // Pops to the last MARK without collecting the items; returns how many there were.
            macro_rules! drop_mark {
                () => {{
                    let Some(m) = marks.pop() else {
                        return bad("could not find MARK");
                    };
                    let n = stack.len().saturating_sub(m);
                    stack.truncate(m);
                    n
                }};
            }
            macro_rules! memo_put {
                ($k:expr) => {{
                    let Some(top) = (if stack.len() > fence {
                        stack.last().cloned()
                    } else {
                        None
                    }) else {
                        return bad("unpickling stack underflow");
                    };
                    if memo.len() >= MAX_MEMO && !memo.contains_key(&$k) {
                        return bad("memo too large");
                    }
                    memo.insert($k, top);
                }};
            }
            macro_rules! memo_get {
                ($k:expr) => {{
                    match memo.get(&$k) {
                        Some(v) => {
                            let v = v.clone();
                            if stack.len() >= MAX_STACK {
                                return bad("stack too deep");
                            }
                            stack.push(v);
                        }
                        None => return bad(format!("memo value not found at index {}", $k)),
                    }
                }};
            }
            match op {
                // MARK
                b'(' => {
                    if marks.len() >= MAX_STACK {
                        return bad("too many marks");
                    }
                    marks.push(stack.len());
                }
                // STOP
                b'.' => {
                    let _ = pop!();
                    return Ok(());
                }
                // POP
                b'0' => {
                    if stack.len() > fence {
                        stack.pop();
                    } else if !marks.is_empty() {
                        let _ = drop_mark!();
                    } else {
                        return bad("unpickling stack underflow");
                    }
                }
                // POP_MARK
                b'1' => {
                    let _ = drop_mark!();
                }
                // DUP
                b'2' => {
                    let Some(top) = (if stack.len() > fence {
                        stack.last().cloned()
                    } else {
                        None
                    }) else {
                        return bad("unpickling stack underflow");
                    };
                    if stack.len() >= MAX_STACK {
                        return bad("stack too deep");
                    }
                    stack.push(top);
                }
                // FLOAT
                b'F' => {
                    let l = self.input.line()?;
                    let s =
                        std::str::from_utf8(&l).map_err(|_| Stop::Malformed("bad FLOAT".into()))?;
                    if s.trim().parse::<f64>().is_err() && !is_py_float_special(s.trim()) {
                        return bad("could not convert string to float");
                    }
                    push!(Value::Float)
                }
                // INT
                b'I' => {
                    let l = self.input.line()?;
                    match l.as_slice() {
                        b"00" | b"01" => push!(Value::Bool),
                        _ => match parse_py_int(&l) {
                            Some(_) => push!(Value::Int),
                            None if is_py_bigint(&l) => push!(Value::Int),
                            None => return bad("invalid literal for int()"),
                        },
                    }
                }
                // BININT, BININT1, BININT2
                b'J' => {
                    let _ = self.input.array::<4>()?;
                    push!(Value::Int)
                }
                b'K' => {
                    let _ = self.input.byte()?;
                    push!(Value::Int)
                }
                b'M' => {
                    let _ = self.input.array::<2>()?;
                    push!(Value::Int)
                }
                // LONG
                b'L' => {
                    let mut l = self.input.line()?;
                    if l.last() == Some(&b'L') {
                        l.pop();
                    }
                    if parse_py_int(&l).is_none() && !is_py_bigint(&l) {
                        return bad("invalid literal for int()");
                    }
                    push!(Value::Int)
                }
                // NONE
                b'N' => push!(Value::None),
                // PERSID
                b'P' => {
                    let _ = self.input.line()?;
                    push!(Value::Persistent)
                }
                // BINPERSID
                b'Q' => {
                    let _ = pop!();
                    push!(Value::Persistent)
                }
                // REDUCE
                b'R' => {
                    let args = pop!();
                    let callable = pop!();
                    let v = self.call("REDUCE", &callable, Some(&args));
                    push!(v)
                }
                // STRING
                b'S' => {
                    let l = self.input.line()?;
                    let raw = decode_string_repr(&l)?;
                    push!(text(Some(raw)))
                }
                // BINSTRING
                b'T' => {
                    let n = i32::from_le_bytes(self.input.array::<4>()?);
                    if n < 0 {
                        return bad("BINSTRING pickle has negative byte count");
                    }
                    let b = self.input.operand(n as u64)?;
                    push!(text(b))
                }
                // SHORT_BINSTRING
                b'U' => {
                    let n = self.input.byte()?;
                    let b = self.input.operand(u64::from(n))?;
                    push!(text(b))
                }
                // UNICODE
                b'V' => {
                    let l = self.input.line()?;
                    let s = decode_raw_unicode_escape(&l)?;
                    push!(Value::Str(Some(Rc::from(s.as_str()))))
                }
                // BINUNICODE
                b'X' => {
                    let n = u32::from_le_bytes(self.input.array::<4>()?);
                    let b = self.input.operand(u64::from(n))?;
                    push!(self.utf8(b)?)
                }
                // APPEND
                b'a' => {
                    let _ = pop!();
                    let _ = self.container_top(&stack, fence, "APPEND")?;
                }
                // BUILD
                b'b' => {
                    let _state = pop!();
                    let target = self.container_top(&stack, fence, "BUILD")?;
                    if matches!(target, Value::Object(o) if &**o == "joblib.numpy_pickle.NumpyArrayWrapper")
                    {
                        // joblib's unpickler reads the array's bytes straight from the stream
                        // after this BUILD; their length depends on state we do not model.
                        return bad(
                            "joblib NumpyArrayWrapper: inline array data follows and is not analysed",
                        );
                    }
                    if let Value::Global(g) = target {
                        let q = g.qualified();
                        self.report(
                            "pickle-build-on-global",
                            Severity::Critical,
                            q.clone(),
                            format!("BUILD sets attributes on the global `{q}` itself (overwrites module or class state)"),
                        );
                    }
                }
                // GLOBAL
                b'c' => {
                    let module = self.line_utf8()?;
                    let name = self.line_utf8()?;
                    let v = self.global(proto, module, name);
                    push!(v)
                }
                // DICT
                b'd' => {
                    if drop_mark!() % 2 != 0 {
                        return bad("odd number of items for DICT");
                    }
                    push!(Value::Dict)
                }
                // EMPTY_DICT
                b'}' => push!(Value::Dict),
                // APPENDS
                b'e' => {
                    let _ = drop_mark!();
                    let fence = marks.last().copied().unwrap_or(0);
                    let _ = self.container_top(&stack, fence, "APPENDS")?;
                }
                // GET
                b'g' => {
                    let l = self.input.line()?;
                    match parse_py_int(&l) {
                        Some(k) if k >= 0 => memo_get!(k as u64),
                        _ => return bad("invalid GET index"),
                    }
                }
                // BINGET
                b'h' => {
                    let k = self.input.byte()?;
                    memo_get!(u64::from(k))
                }
                // LONG_BINGET
                b'j' => {
                    let k = u32::from_le_bytes(self.input.array::<4>()?);
                    memo_get!(u64::from(k))
                }
                // INST
                b'i' => {
                    let module = self.line_utf8()?;
                    let name = self.line_utf8()?;
                    let items = pop_mark!();
                    let cls = self.global(proto, module, name);
                    let args = Value::Tuple(Rc::from(items));
                    let v = self.call("INST", &cls, Some(&args));
                    push!(v)
                }
                // LIST
                b'l' => {
                    let _ = drop_mark!();
                    push!(Value::List)
                }
                // EMPTY_LIST
                b']' => push!(Value::List),
                // OBJ
                b'o' => {
                    let mut items = pop_mark!();
                    if items.is_empty() {
                        return bad("unpickling stack underflow");
                    }
                    let cls = items.remove(0);
                    let args = Value::Tuple(Rc::from(items));
                    let v = self.call("OBJ", &cls, Some(&args));
                    push!(v)
                }
                // PUT
                b'p' => {
                    let l = self.input.line()?;
                    match parse_py_int(&l) {
                        Some(k) if k >= 0 => memo_put!(k as u64),
                        Some(_) => return bad("negative PUT argument"),
                        None => return bad("invalid PUT index"),
                    }
                }
                // BINPUT
                b'q' => {
                    let k = self.input.byte()?;
                    memo_put!(u64::from(k))
                }
                // LONG_BINPUT
                b'r' => {
                    let k = u32::from_le_bytes(self.input.array::<4>()?);
                    memo_put!(u64::from(k))
                }
                // SETITEM
                b's' => {
                    let _ = pop!();
                    let _ = pop!();
                    let _ = self.container_top(&stack, fence, "SETITEM")?;
                }
                // TUPLE
                b't' => {
                    let items = pop_mark!();
                    push!(Value::Tuple(Rc::from(items)))
                }
                // EMPTY_TUPLE
                b')' => push!(Value::Tuple(Rc::from(Vec::new()))),
                // SETITEMS
                b'u' => {
                    if drop_mark!() % 2 != 0 {
                        return bad("odd number of items for SETITEMS");
                    }
                    let fence = marks.last().copied().unwrap_or(0);
                    let _ = self.container_top(&stack, fence, "SETITEMS")?;
                }
                // BINFLOAT
                b'G' => {
                    let _ = self.input.array::<8>()?;
                    push!(Value::Float)
                }
                // PROTO
                0x80 => {
                    let p = self.input.byte()?;
                    if p > HIGHEST_PROTOCOL {
                        return bad(format!("unsupported pickle protocol: {p}"));
                    }
                    proto = p;
                }
                // NEWOBJ
                0x81 => {
                    let args = pop!();
                    let cls = pop!();
                    let v = self.call("NEWOBJ", &cls, Some(&args));
                    push!(v)
                }
                // EXT1, EXT2, EXT4
                0x82..=0x84 => {
                    let code: u32 = match op {
                        0x82 => u32::from(self.input.byte()?),
                        0x83 => u32::from(u16::from_le_bytes(self.input.array::<2>()?)),
                        _ => {
                            let c = i32::from_le_bytes(self.input.array::<4>()?);
                            if c <= 0 {
                                return bad("EXT specifies code <= 0");
                            }
                            c as u32
                        }
                    };
                    if code == 0 {
                        return bad("EXT specifies code <= 0");
                    }
                    // copyreg's extension registry is empty unless the loading program (or an
                    // earlier call in this stream) registered codes: the target is invisible here.
                    self.report(
                        "pickle-extension-code",
                        Severity::High,
                        code.to_string(),
                        format!("EXT opcode loads extension code {code}, a global resolved through copyreg's registry that cannot be vetted"),
                    );
                    push!(Value::Global(Rc::new(Global {
                        module: "copyreg._extension_registry".into(),
                        name: code.to_string(),
                    })))
                }
                // TUPLE1..3
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if stack.len() < fence + n {
                        return bad("unpickling stack underflow");
                    }
                    let items = stack.split_off(stack.len() - n);
                    push!(Value::Tuple(Rc::from(items)))
                }
                // NEWTRUE, NEWFALSE
                0x88 | 0x89 => push!(Value::Bool),
                // LONG1
                0x8a => {
                    let n = self.input.byte()?;
                    let _ = self.input.operand(u64::from(n))?;
                    push!(Value::Int)
                }
                // LONG4
                0x8b => {
                    let n = i32::from_le_bytes(self.input.array::<4>()?);
                    if n < 0 {
                        return bad("LONG pickle has negative byte count");
                    }
                    let _ = self.input.operand(n as u64)?;
                    push!(Value::Int)
                }
                // BINBYTES, SHORT_BINBYTES
                b'B' => {
                    let n = u32::from_le_bytes(self.input.array::<4>()?);
                    let _ = self.input.operand(u64::from(n))?;
                    push!(Value::Bytes)
                }
                b'C' => {
                    let n = self.input.byte()?;
                    let _ = self.input.operand(u64::from(n))?;
                    push!(Value::Bytes)
                }
                // SHORT_BINUNICODE
                0x8c => {
                    let n = self.input.byte()?;
                    let b = self.input.operand(u64::from(n))?;
                    push!(self.utf8(b)?)
                }
                // BINUNICODE8
                0x8d => {
                    let n = u64::from_le_bytes(self.input.array::<8>()?);
                    if n > i64::MAX as u64 {
                        return bad("BINUNICODE8 exceeds system's maximum size");
                    }
                    let b = self.input.operand(n)?;
                    push!(self.utf8(b)?)
                }
                // BINBYTES8, BYTEARRAY8
                0x8e | 0x96 => {
                    let n = u64::from_le_bytes(self.input.array::<8>()?);
                    if n > i64::MAX as u64 {
                        return bad("BINBYTES8 exceeds system's maximum size");
                    }
                    let _ = self.input.operand(n)?;
                    push!(Value::Bytes)
                }
                // EMPTY_SET
                0x8f => push!(Value::Set),
                // ADDITEMS
                0x90 => {
                    let _ = drop_mark!();
                    let fence = marks.last().copied().unwrap_or(0);
                    let _ = self.container_top(&stack, fence, "ADDITEMS")?;
                }
                // FROZENSET
                0x91 => {
                    let _ = drop_mark!();
                    push!(Value::Set)
                }
                // NEWOBJ_EX
                0x92 => {
                    let _kwargs = pop!();
                    let args = pop!();
                    let cls = pop!();
                    let v = self.call("NEWOBJ_EX", &cls, Some(&args));
                    push!(v)
                }
                // STACK_GLOBAL
                0x93 => {
                    let name = pop!();
                    let module = pop!();
                    match (&module, &name) {
                        (Value::Str(Some(m)), Value::Str(Some(n))) => {
                            let v = self.global(proto, m.to_string(), n.to_string());
                            push!(v)
                        }
                        (Value::Str(_), Value::Str(_)) => {
                            self.report(
                                "pickle-unresolved-global",
                                Severity::High,
                                "oversized".into(),
                                "STACK_GLOBAL with a module or name too long to resolve".into(),
                            );
                            push!(Value::Global(Rc::new(Global {
                                module: "<unresolved>".into(),
                                name: "<unresolved>".into(),
                            })))
                        }
                        _ => return bad("STACK_GLOBAL requires str"),
                    }
                }
                // MEMOIZE
                0x94 => {
                    let k = memo.len() as u64;
                    memo_put!(k)
                }
                // FRAME: CPython's C unpickler only checks that the announced bytes are present and
                // then keeps reading opcodes linearly; frame boundaries do not delimit anything.
                0x95 => {
                    let _ = self.input.array::<8>()?;
                }
                // NEXT_BUFFER: needs out-of-band buffers, which no model loader passes.
                0x97 => {
                    return bad(
                        "pickle stream refers to out-of-band data but no *buffers* argument was given",
                    );
                }
                // READONLY_BUFFER
                0x98 => {
                    let _ = self.container_top(&stack, fence, "READONLY_BUFFER")?;
                }
                other => return bad(format!("invalid load key, '\\x{other:02x}'")),
            }
        }
    }

    fn container_top<'s>(
        &mut self,
        stack: &'s [Value],
        fence: usize,
        op: &str,
    ) -> Result<&'s Value, Stop> {
        if stack.len() <= fence {
            return bad(format!("{op}: unpickling stack underflow"));
        }
        stack
            .last()
            .ok_or_else(|| Stop::Malformed("unpickling stack underflow".into()))
    }

    fn utf8(&self, b: Option<Vec<u8>>) -> Result<Value, Stop> {
        match b {
            Some(b) => match String::from_utf8(b) {
                Ok(s) => Ok(Value::Str(Some(Rc::from(s.as_str())))),
                Err(_) => bad("invalid UTF-8 in string operand"),
            },
            None => Ok(Value::Str(None)),
        }
    }

    fn line_utf8(&mut self) -> Result<String, Stop> {
        let l = self.input.line()?;
        String::from_utf8(l).map_err(|_| Stop::Malformed("invalid UTF-8 in GLOBAL operand".into()))
    }
}

/// Whether CPython's `INT`/`LONG` parsing (`strtol` with base 0, then `int(s, 0)`) could accept
/// the text: decimal, `0x`/`0o`/`0b` prefixes, leading-zero octal, underscores. Deliberately
/// lenient: accepting more than CPython only means reading on where it would stop.
fn is_py_bigint(l: &[u8]) -> bool {
    let s = String::from_utf8_lossy(l);
    let t = s.trim().trim_start_matches(['-', '+']);
    t.bytes().next().is_some_and(|c| c.is_ascii_digit())
        && t.bytes()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, b'_' | b'x' | b'X' | b'o' | b'O'))
}

fn is_py_float_special(s: &str) -> bool {
    let t = s.trim_start_matches(['-', '+']).to_ascii_lowercase();
    matches!(t.as_str(), "inf" | "infinity" | "nan")
}

fn kind_name(v: &Value) -> String {
    match v {
        Value::Object(from) => format!("result of `{from}`"),
        Value::Persistent => "persistent id".into(),
        Value::Str(_) => "str".into(),
        Value::Tuple(_) => "tuple".into(),
        Value::List => "list".into(),
        Value::Dict => "dict".into(),
        _ => "literal".into(),
    }
}

/// A short rendering of string arguments, e.g. `("id",)`, for evidence in a finding.
fn describe_args(args: &Value) -> String {
    let Value::Tuple(items) = args else {
        return String::new();
    };
    let mut parts = Vec::new();
    for it in items.iter().take(3) {
        match it {
            Value::Str(Some(s)) => {
                let short: String = s.chars().take(60).collect();
                parts.push(format!("{short:?}"));
            }
            Value::Global(g) => parts.push(g.qualified()),
            _ => {}
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("({})", parts.join(", "))
    }
}

#[cfg(test)]
pub(crate) mod tests;
