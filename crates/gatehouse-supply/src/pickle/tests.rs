//! Payloads are assembled opcode by opcode, so each test states exactly which bytes CPython's
//! unpickler would see.

use super::policy::Policy;
use super::*;
use crate::finding::Severity;

/// A pickle assembler.
#[derive(Default)]
pub(crate) struct P(pub(crate) Vec<u8>);

impl P {
    pub(crate) fn proto(mut self, p: u8) -> Self {
        self.0.extend([0x80, p]);
        self
    }
    pub(crate) fn op(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }
    pub(crate) fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// GLOBAL (protocol 0 text form).
    pub(crate) fn global(self, m: &str, n: &str) -> Self {
        self.op(b'c').raw(format!("{m}\n{n}\n").as_bytes())
    }
    pub(crate) fn short_unicode(mut self, s: &str) -> Self {
        self.0.push(0x8c);
        self.0.push(s.len() as u8);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    pub(crate) fn stack_global(self) -> Self {
        self.op(0x93)
    }
    pub(crate) fn memoize(self) -> Self {
        self.op(0x94)
    }
    pub(crate) fn binget(self, i: u8) -> Self {
        self.op(b'h').op(i)
    }
    pub(crate) fn binput(self, i: u8) -> Self {
        self.op(b'q').op(i)
    }
    pub(crate) fn tuple1(self) -> Self {
        self.op(0x85)
    }
    pub(crate) fn reduce(self) -> Self {
        self.op(b'R')
    }
    pub(crate) fn mark(self) -> Self {
        self.op(b'(')
    }
    pub(crate) fn stop(self) -> Self {
        self.op(b'.')
    }
    pub(crate) fn frame(mut self, len: u64) -> Self {
        self.0.push(0x95);
        self.0.extend(len.to_le_bytes());
        self
    }
    pub(crate) fn bytes(self) -> Vec<u8> {
        self.0
    }
}

fn run(bytes: &[u8]) -> PickleAnalysis {
    analyze(bytes, &Policy::new(), Pickles::UntilEnd, "t")
}

fn has(a: &PickleAnalysis, rule: &str, needle: &str, sev: Severity) -> bool {
    a.findings
        .iter()
        .any(|f| f.rule == rule && f.message.contains(needle) && f.severity == sev)
}

/// A torch-style state dict: OrderedDict with one tensor rebuilt from a persistent storage.
pub(crate) fn benign_state_dict() -> Vec<u8> {
    P::default()
        .proto(2)
        .global("collections", "OrderedDict")
        .op(b')')
        .reduce()
        .binput(0)
        .short_unicode("weight")
        .global("torch._utils", "_rebuild_tensor_v2")
        .mark()
        .mark()
        .short_unicode("storage")
        .global("torch", "FloatStorage")
        .short_unicode("0")
        .short_unicode("cpu")
        .op(b'K')
        .op(4)
        .op(b't')
        .op(b'Q')
        .op(b'K')
        .op(0)
        .op(b'K')
        .op(2)
        .op(b'K')
        .op(2)
        .op(0x86)
        .op(b'K')
        .op(2)
        .op(b'K')
        .op(1)
        .op(0x86)
        .op(0x89)
        .global("collections", "OrderedDict")
        .op(b')')
        .reduce()
        .op(b't')
        .reduce()
        .op(b's')
        .stop()
        .bytes()
}

#[test]
fn benign_state_dict_is_clean() {
    let a = run(&benign_state_dict());
    assert!(a.is_clean(), "{a:?}");
    assert_eq!(a.pickles, 1);
    assert!(
        a.globals
            .contains(&"torch._utils._rebuild_tensor_v2".to_string())
    );
}

#[test]
fn protocol0_os_system() {
    let p = P::default()
        .global("os", "system")
        .mark()
        .raw(b"S'id'\n")
        .op(b't')
        .reduce()
        .stop()
        .bytes();
    let a = run(&p);
    assert!(
        has(
            &a,
            "pickle-dangerous-call",
            "os.system(\"id\")",
            Severity::Critical
        ),
        "{a:?}"
    );
    assert!(a.incomplete.is_none());
}

#[test]
fn python2_builtin_eval_is_mapped_by_fix_imports() {
    let p = P::default()
        .proto(2)
        .global("__builtin__", "eval")
        .short_unicode("1+1")
        .tuple1()
        .reduce()
        .stop()
        .bytes();
    let a = run(&p);
    assert!(
        has(
            &a,
            "pickle-dangerous-call",
            "builtins.eval",
            Severity::Critical
        ),
        "{a:?}"
    );
}

#[test]
fn importlib_import_module_via_stack_global_from_memo() {
    // The module and attribute names are memoized first and only later fetched by BINGET, so
    // no GLOBAL text and no adjacent string pair names the callable.
    let p = P::default()
        .proto(4)
        .short_unicode("importlib")
        .memoize()
        .op(b'0')
        .short_unicode("import_module")
        .memoize()
        .op(b'0')
        .binget(0)
        .binget(1)
        .stack_global()
        .short_unicode("os")
        .tuple1()
        .reduce()
        .stop()
        .bytes();
    let a = run(&p);
    assert!(
        has(
            &a,
            "pickle-dangerous-call",
            "importlib.import_module(\"os\")",
            Severity::Critical
        ),
        "{a:?}"
    );
}

#[test]
fn marshal_loads_and_function_type() {
    let p = P::default()
        .proto(2)
        .global("types", "FunctionType")
        .global("marshal", "loads")
        .raw(&[b'C', 3, 0xe3, 0, 0])
        .tuple1()
        .reduce()
        .op(b'}')
        .op(0x86)
        .reduce()
        .op(b')')
        .reduce()
        .stop()
        .bytes();
    let a = run(&p);
    assert!(
        has(
            &a,
            "pickle-dangerous-call",
            "marshal.loads",
            Severity::Critical
        ),
        "{a:?}"
    );
    assert!(has(
        &a,
        "pickle-dangerous-call",
        "types.FunctionType",
        Severity::Critical
    ));
    assert!(has(
        &a,
        "pickle-computed-call",
        "result of `types.FunctionType`",
        Severity::High
    ));
}

#[test]
fn stdlib_and_torch_gadgets_are_not_on_the_allowlist() {
    for (m, n) in [
        ("numpy.testing._private.utils", "runstring"),
        ("pydoc", "pipepager"),
        ("torch.storage", "_load_from_bytes"),
        ("torch.serialization", "load"),
        ("torch._inductor.codecache", "compile_file"),
        ("operator", "attrgetter"),
        ("functools", "partial"),
        ("runpy", "run_path"),
    ] {
        let p = P::default()
            .proto(4)
            .short_unicode(m)
            .short_unicode(n)
            .stack_global()
            .short_unicode("x")
            .tuple1()
            .reduce()
            .stop()
            .bytes();
        let a = run(&p);
        assert!(
            has(
                &a,
                "pickle-dangerous-call",
                &format!("{m}.{n}"),
                Severity::Critical
            ),
            "{m}.{n}: {a:?}"
        );
    }
}

#[test]
fn unknown_callable_is_a_finding_not_clean() {
    let p = P::default()
        .proto(4)
        .short_unicode("sklearn.linear_model")
        .short_unicode("LinearRegression")
        .stack_global()
        .op(b')')
        .reduce()
        .stop()
        .bytes();
    let a = run(&p);
    assert!(has(
        &a,
        "pickle-unknown-call",
        "sklearn.linear_model.LinearRegression",
        Severity::High
    ));
    assert!(has(
        &a,
        "pickle-unknown-global",
        "sklearn",
        Severity::Medium
    ));
    let mut pol = Policy::new();
    pol.allow("sklearn.linear_model.LinearRegression");
    assert!(analyze(p.as_slice(), &pol, Pickles::UntilEnd, "t").is_clean());
}

#[test]
fn frame_boundary_does_not_hide_opcodes() {
    // A FRAME announcing only 2 bytes, followed by a payload that spans the "frame end". A walker
    // that skips frames or treats frames as isolated streams misses the call; CPython's C
    // unpickler reads straight through.
    let payload = P::default()
        .global("os", "system")
        .short_unicode("id")
        .tuple1()
        .reduce()
        .stop()
        .bytes();
    let p = P::default().proto(4).frame(2).raw(&payload).bytes();
    let a = run(&p);
    assert!(
        has(&a, "pickle-dangerous-call", "os.system", Severity::Critical),
        "{a:?}"
    );
    // A frame length larger than the rest of the stream: the C unpickler fails ("truncated")
    // *before* executing anything, but we still report what the bytes hold and call it incomplete.
    let p = P::default().proto(4).frame(1 << 40).raw(&payload).bytes();
    let a = run(&p);
    assert!(
        has(&a, "pickle-dangerous-call", "os.system", Severity::Critical),
        "{a:?}"
    );
}

#[test]
fn inst_and_obj_calls() {
    let inst = P::default()
        .mark()
        .raw(b"S'ls'\n")
        .op(b'i')
        .raw(b"subprocess\ncheck_output\n")
        .stop()
        .bytes();
    let a = run(&inst);
    assert!(
        has(
            &a,
            "pickle-dangerous-call",
            "INST calls `subprocess.check_output",
            Severity::Critical
        ),
        "{a:?}"
    );
    let obj = P::default()
        .mark()
        .global("posix", "system")
        .raw(b"S'id'\n")
        .op(b'o')
        .stop()
        .bytes();
    let a = run(&obj);
    assert!(
        has(
            &a,
            "pickle-dangerous-call",
            "OBJ calls `posix.system",
            Severity::Critical
        ),
        "{a:?}"
    );
}

#[test]
fn newobj_and_newobj_ex() {
    let p = P::default()
        .proto(4)
        .global("socket", "socket")
        .op(b')')
        .op(0x81)
        .op(b'0')
        .global("subprocess", "Popen")
        .short_unicode("id")
        .tuple1()
        .op(b'}')
        .op(0x92)
        .stop()
        .bytes();
    let a = run(&p);
    assert!(
        has(
            &a,
            "pickle-dangerous-call",
            "NEWOBJ calls `socket.socket",
            Severity::Critical
        ),
        "{a:?}"
    );
    assert!(has(
        &a,
        "pickle-dangerous-call",
        "NEWOBJ_EX calls `subprocess.Popen",
        Severity::Critical
    ));
}

#[test]
fn extension_codes_are_findings() {
    for ext in [
        &[0x82u8, 1][..],
        &[0x83, 0x10, 0x00],
        &[0x84, 0xff, 0, 0, 0],
    ] {
        let p = P::default()
            .proto(2)
            .raw(ext)
            .short_unicode("id")
            .tuple1()
            .reduce()
            .stop()
            .bytes();
        let a = run(&p);
        assert!(
            has(
                &a,
                "pickle-extension-code",
                "extension code",
                Severity::High
            ),
            "{a:?}"
        );
    }
}

#[test]
fn second_pickle_in_the_same_file_is_analysed() {
    let mut bytes = P::default().proto(2).op(b'K').op(1).stop().bytes();
    bytes.extend(
        P::default()
            .proto(2)
            .global("os", "system")
            .short_unicode("id")
            .tuple1()
            .reduce()
            .stop()
            .bytes(),
    );
    let a = run(&bytes);
    assert_eq!(a.pickles, 2);
    assert!(has(
        &a,
        "pickle-dangerous-call",
        "os.system",
        Severity::Critical
    ));
}

#[test]
fn protocol0_escaped_strings_feed_stack_global() {
    // "o\x73" == "os", "\u0073ystem" == "system": text escapes decoded like CPython.
    let p = P::default()
        .raw(b"S'o\\x73'\n")
        .raw(b"V\\u0073ystem\n")
        .stack_global()
        .raw(b"S'id'\n")
        .tuple1()
        .reduce()
        .stop()
        .bytes();
    let a = run(&p);
    assert!(
        has(&a, "pickle-dangerous-call", "os.system", Severity::Critical),
        "{a:?}"
    );
}

#[test]
fn protocol0_text_memo_indices() {
    let p = P::default()
        .raw(b"Vbuiltins\np7\n0Vexec\np8\n0")
        .raw(b"g7\ng8\n")
        .stack_global()
        .raw(b"(Vprint(1)\ntR.")
        .bytes();
    let a = run(&p);
    assert!(
        has(
            &a,
            "pickle-dangerous-call",
            "builtins.exec",
            Severity::Critical
        ),
        "{a:?}"
    );
}

#[test]
fn build_on_a_global_is_an_attribute_overwrite() {
    let p = P::default()
        .proto(2)
        .global("collections", "OrderedDict")
        .op(b'N')
        .op(b'}')
        .short_unicode("x")
        .op(b'N')
        .op(b's')
        .op(0x86)
        .op(b'b')
        .stop()
        .bytes();
    let a = run(&p);
    assert!(
        has(
            &a,
            "pickle-build-on-global",
            "collections.OrderedDict",
            Severity::Critical
        ),
        "{a:?}"
    );
}

#[test]
fn dotted_attribute_traversal_is_denied() {
    let p = P::default()
        .proto(4)
        .short_unicode("torch._utils")
        .short_unicode("_rebuild_tensor.__globals__")
        .stack_global()
        .stop()
        .bytes();
    let a = run(&p);
    assert!(
        has(
            &a,
            "pickle-dangerous-global",
            "__globals__",
            Severity::Critical
        ),
        "{a:?}"
    );
}

#[test]
fn truncated_stream_keeps_findings_and_is_incomplete() {
    let p = P::default()
        .proto(2)
        .global("os", "system")
        .short_unicode("id")
        .tuple1()
        .reduce()
        .bytes();
    let a = run(&p);
    assert!(has(
        &a,
        "pickle-dangerous-call",
        "os.system",
        Severity::Critical
    ));
    assert!(a.incomplete.is_some());
}

#[test]
fn garbage_after_pickle_is_incomplete() {
    let mut p = benign_state_dict();
    p.extend_from_slice(b"\xffjunk");
    let a = run(&p);
    assert!(a.findings.is_empty());
    assert!(
        a.incomplete
            .as_deref()
            .is_some_and(|s| s.contains("not a valid pickle")),
        "{a:?}"
    );
}

#[test]
fn mark_fence_is_respected() {
    // REDUCE reaching below a MARK is an error in CPython: the stream is incomplete.
    let p = P::default()
        .proto(2)
        .global("os", "system")
        .mark()
        .reduce()
        .stop()
        .bytes();
    let a = run(&p);
    assert!(a.incomplete.is_some());
}

#[test]
fn hostile_lengths_do_not_allocate() {
    let p = P::default()
        .proto(4)
        .op(0x8d)
        .raw(&u64::MAX.to_le_bytes())
        .bytes();
    assert!(run(&p).incomplete.is_some());
    let p = P::default()
        .proto(4)
        .op(0x8e)
        .raw(&(1u64 << 62).to_le_bytes())
        .bytes();
    assert!(run(&p).incomplete.is_some());
}

#[test]
fn never_panics_on_arbitrary_prefixes() {
    let base = benign_state_dict();
    for cut in 0..base.len() {
        let _ = run(&base[..cut]);
        let mut flipped = base.clone();
        if let Some(b) = flipped.get_mut(cut) {
            *b = b.wrapping_add(0x41);
        }
        let _ = run(&flipped);
    }
}

#[test]
fn protocol0_int_literals_in_any_base_are_accepted() {
    // CPython's INT uses strtol(base 0): hex and octal literals load fine.
    let p = P::default()
        .raw(b"I0x1f\nI010\nL0o17L\n")
        .global("os", "system")
        .raw(b"(S'id'\ntR.")
        .bytes();
    let a = run(&p);
    assert!(a.incomplete.is_none(), "{a:?}");
    assert!(has(
        &a,
        "pickle-dangerous-call",
        "os.system",
        Severity::Critical
    ));
}

#[test]
fn joblib_inline_arrays_are_incomplete_not_clean() {
    let p = P::default()
        .proto(4)
        .short_unicode("joblib.numpy_pickle")
        .short_unicode("NumpyArrayWrapper")
        .stack_global()
        .op(b')')
        .op(0x81)
        .op(b'}')
        .op(b'b')
        .raw(&[0x93, 0x4e, 0x55, 0x4d])
        .bytes();
    let a = run(&p);
    assert!(a.findings.is_empty(), "{a:?}");
    assert!(
        a.incomplete
            .as_deref()
            .is_some_and(|s| s.contains("joblib")),
        "{a:?}"
    );
}
