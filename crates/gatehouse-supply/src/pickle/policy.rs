//! Which globals a pickle may import and call.
//!
//! Default deny: a global is *allowed* only if it is on the allowlist (torch rebuild helpers and
//! storages, NumPy reconstruction, `collections.OrderedDict`, inert builtins). Everything else is
//! a finding; the denylist only decides how severe. A denylist alone is not a defence — scanners
//! built that way were bypassed through `importlib.import_module`, `marshal.loads`,
//! `numpy.testing._private.utils.runstring`, `torch.load` on embedded bytes, `pydoc.pipepager`
//! and many more.

use crate::finding::Severity;

/// The decision for one global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// On the allowlist.
    Allowed,
    /// On the denylist, with the reason.
    Denied(Severity, &'static str),
    /// Neither: reported as not allowlisted.
    Unknown,
}

/// Allowlisted `(module, name)` pairs, by ecosystem.
const ALLOW: &[(&str, &str)] = &[
    // Python builtins that only build inert values.
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("builtins", "bytes"),
    ("builtins", "complex"),
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "bool"),
    ("builtins", "str"),
    ("builtins", "slice"),
    ("builtins", "range"),
    ("builtins", "object"),
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("collections", "Counter"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "timedelta"),
    ("decimal", "Decimal"),
    ("uuid", "UUID"),
    // PyTorch checkpoints (what torch.load(weights_only=True) accepts, minus the gadgets).
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._utils", "_rebuild_sparse_tensor"),
    ("torch._utils", "_rebuild_nested_tensor"),
    ("torch._utils", "_rebuild_device_tensor_from_numpy"),
    ("torch._utils", "_rebuild_meta_tensor_no_storage"),
    ("torch._utils", "_rebuild_qtensor"),
    ("torch._utils", "_rebuild_wrapper_subclass"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.nn.parameter", "Parameter"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch", "Tensor"),
    ("torch.serialization", "_get_layout"),
    ("torch", "FloatStorage"),
    ("torch", "DoubleStorage"),
    ("torch", "HalfStorage"),
    ("torch", "BFloat16Storage"),
    ("torch", "LongStorage"),
    ("torch", "IntStorage"),
    ("torch", "ShortStorage"),
    ("torch", "CharStorage"),
    ("torch", "ByteStorage"),
    ("torch", "BoolStorage"),
    ("torch", "ComplexFloatStorage"),
    ("torch", "ComplexDoubleStorage"),
    ("torch", "QInt8Storage"),
    ("torch", "QUInt8Storage"),
    ("torch", "QInt32Storage"),
    ("torch", "QUInt4x2Storage"),
    ("torch", "QUInt2x4Storage"),
    ("torch", "UntypedStorage"),
    ("torch.storage", "UntypedStorage"),
    ("torch.storage", "TypedStorage"),
    ("torch", "float32"),
    ("torch", "float64"),
    ("torch", "float16"),
    ("torch", "bfloat16"),
    ("torch", "int64"),
    ("torch", "int32"),
    ("torch", "int16"),
    ("torch", "int8"),
    ("torch", "uint8"),
    ("torch", "bool"),
    ("torch", "complex64"),
    ("torch", "complex128"),
    ("torch", "float8_e4m3fn"),
    ("torch", "float8_e5m2"),
    ("torch", "strided"),
    ("torch", "sparse_coo"),
    ("torch", "sparse_csr"),
    ("torch", "per_tensor_affine"),
    ("torch", "per_channel_affine"),
    // NumPy reconstruction (numpy 1.x and 2.x module paths).
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    // joblib's array wrapper (its BUILD is followed by raw array bytes; see the interpreter).
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy.dtypes", "Float32DType"),
    ("numpy.dtypes", "Float64DType"),
    ("numpy.dtypes", "Int64DType"),
    ("numpy.dtypes", "Int32DType"),
];

/// Module roots whose every member can run code, spawn processes, open sockets, load code or
/// rewrite interpreter state.
const DENY_MODULES: &[(&str, &str)] = &[
    (
        "os",
        "operating-system access (command execution, file writes)",
    ),
    ("posix", "operating-system access (command execution)"),
    ("nt", "operating-system access (command execution)"),
    ("subprocess", "spawns processes"),
    ("_posixsubprocess", "spawns processes"),
    ("commands", "spawns processes"),
    ("pty", "spawns processes"),
    ("popen2", "spawns processes"),
    ("platform", "spawns processes (platform.popen)"),
    ("importlib", "imports arbitrary modules"),
    ("imp", "imports arbitrary modules"),
    ("zipimport", "imports code from archives"),
    ("pkgutil", "imports arbitrary modules (resolve_name)"),
    ("runpy", "runs modules as scripts"),
    ("marshal", "loads raw code objects"),
    ("types", "builds functions and code objects"),
    ("code", "executes source"),
    ("codeop", "compiles source"),
    ("pickle", "nested unpickling"),
    ("_pickle", "nested unpickling"),
    ("cPickle", "nested unpickling"),
    ("dill", "unpickles code objects"),
    ("cloudpickle", "unpickles code objects"),
    ("shelve", "nested unpickling"),
    ("sys", "interpreter state (modules, hooks)"),
    ("socket", "network access"),
    ("_socket", "network access"),
    ("ssl", "network access"),
    ("http", "network access"),
    ("urllib", "network access"),
    ("urllib2", "network access"),
    ("requests", "network access"),
    ("httplib", "network access"),
    ("ftplib", "network access"),
    ("smtplib", "network access"),
    ("telnetlib", "network access"),
    ("xmlrpc", "network access"),
    ("webbrowser", "launches programs"),
    ("shutil", "file-system writes and deletes"),
    ("tempfile", "file-system writes"),
    ("pathlib", "file-system access"),
    ("io", "file access"),
    ("_io", "file access"),
    ("fileinput", "file access"),
    ("glob", "file-system access"),
    ("ctypes", "native code execution"),
    ("_ctypes", "native code execution"),
    ("cffi", "native code execution"),
    ("multiprocessing", "spawns processes"),
    ("asyncio", "spawns processes and opens sockets"),
    ("threading", "runs callables in threads"),
    ("_thread", "runs callables in threads"),
    ("signal", "interpreter signal handlers"),
    ("pdb", "executes source (debugger)"),
    ("bdb", "executes source (debugger)"),
    ("trace", "executes source"),
    ("profile", "executes source (profile.run)"),
    ("cProfile", "executes source (cProfile.run)"),
    ("timeit", "executes source"),
    ("doctest", "executes source"),
    ("pydoc", "spawns processes (pipepager)"),
    ("idlelib", "executes source"),
    ("lib2to3", "executes source"),
    ("site", "interpreter state"),
    ("ensurepip", "installs packages"),
    ("pip", "installs packages"),
    ("setuptools", "installs packages and runs code"),
    ("distutils", "runs commands"),
    ("venv", "spawns processes"),
    ("linecache", "reads arbitrary files"),
    (
        "operator",
        "gadget: attribute and item access on any object",
    ),
    (
        "functools",
        "gadget: partial application and reduce over any callable",
    ),
    ("itertools", "gadget: drives callables over iterables"),
    ("copyreg", "registers reducers and extension codes"),
    ("copy_reg", "registers reducers and extension codes"),
    ("__main__", "refers to the loading program's own namespace"),
    ("torch.hub", "downloads and runs code"),
    ("torch.jit", "loads TorchScript code"),
    ("torch.package", "loads packaged code"),
    (
        "torch.utils.cpp_extension",
        "compiles and loads native code",
    ),
    ("torch._inductor", "compiles and runs generated code"),
    ("torch._dynamo", "compiles and runs generated code"),
    ("torch.fx", "generates and runs code"),
    ("torch.distributed", "network access and remote calls"),
    ("torch.multiprocessing", "spawns processes"),
    ("torch.ops", "calls arbitrary native operators"),
    ("numpy.testing", "executes source (runstring)"),
    ("numpy.distutils", "runs commands"),
    ("numpy.f2py", "compiles and runs code"),
    ("numpy.lib.npyio", "nested loading with pickles"),
    ("numpy.load", "nested loading with pickles"),
    ("keras", "deserialises layers with code"),
    ("tensorflow", "runs graph ops with file and process access"),
    ("yaml", "unsafe YAML loading"),
    ("jinja2", "template execution"),
    ("builtins.__import__", "imports arbitrary modules"),
];

/// Individual builtins (and attribute names) that are dangerous anywhere in a dotted path.
const DENY_NAMES: &[(&str, &str)] = &[
    ("eval", "evaluates source"),
    ("exec", "executes source"),
    ("execfile", "executes a file"),
    ("compile", "compiles source"),
    ("getattr", "gadget: arbitrary attribute access"),
    ("setattr", "overwrites attributes"),
    ("delattr", "deletes attributes"),
    ("__import__", "imports arbitrary modules"),
    ("open", "file access"),
    ("file", "file access"),
    ("input", "reads the terminal"),
    ("breakpoint", "starts a debugger"),
    ("globals", "interpreter namespace access"),
    ("locals", "interpreter namespace access"),
    ("vars", "namespace access"),
    ("help", "spawns a pager"),
    ("exit", "terminates the process"),
    ("quit", "terminates the process"),
    ("memoryview", "raw memory access"),
    ("system", "runs a shell command"),
    ("popen", "runs a shell command"),
    ("spawn", "spawns processes"),
    ("load", "nested loading"),
    ("loads", "nested loading"),
    ("_load_from_bytes", "nested torch.load of embedded bytes"),
    ("__globals__", "reaches module globals"),
    ("__builtins__", "reaches builtins"),
    ("__subclasses__", "enumerates classes for gadgets"),
    ("__reduce__", "invokes reducers"),
    ("__reduce_ex__", "invokes reducers"),
    ("__getattribute__", "gadget: arbitrary attribute access"),
    ("__setattr__", "overwrites attributes"),
    ("__dict__", "overwrites object state"),
    ("__code__", "reaches code objects"),
    ("__class__", "gadget: type traversal"),
    ("__base__", "gadget: type traversal"),
    ("__bases__", "gadget: type traversal"),
    ("__mro__", "gadget: type traversal"),
    ("__init__", "gadget: function globals"),
    ("__loader__", "loader access"),
    ("_popen", "spawns processes (uuid._popen)"),
    ("_get_command_stdout", "spawns processes"),
    ("__spec__", "loader access"),
];

/// Python 2 → 3 module renames applied by `Unpickler.find_class` when `fix_imports` is on and the
/// protocol is below 3 (`_compat_pickle.IMPORT_MAPPING`, the entries that matter for vetting).
const IMPORT_MAPPING: &[(&str, &str)] = &[
    ("__builtin__", "builtins"),
    ("copy_reg", "copyreg"),
    ("Queue", "queue"),
    ("SocketServer", "socketserver"),
    ("ConfigParser", "configparser"),
    ("repr", "reprlib"),
    ("_winreg", "winreg"),
    ("thread", "_thread"),
    ("dummy_thread", "_dummy_thread"),
    ("xmlrpclib", "xmlrpc.client"),
    ("SimpleXMLRPCServer", "xmlrpc.server"),
    ("httplib", "http.client"),
    ("Cookie", "http.cookies"),
    ("cookielib", "http.cookiejar"),
    ("BaseHTTPServer", "http.server"),
    ("SimpleHTTPServer", "http.server"),
    ("CGIHTTPServer", "http.server"),
    ("commands", "subprocess"),
    ("urlparse", "urllib.parse"),
    ("robotparser", "urllib.robotparser"),
    ("urllib2", "urllib.request"),
    ("anydbm", "dbm"),
    ("_abcoll", "collections.abc"),
    ("cPickle", "pickle"),
    ("cStringIO", "io"),
    ("StringIO", "io"),
    ("UserString", "collections"),
    ("UserList", "collections"),
    ("UserDict", "collections"),
    ("exceptions", "builtins"),
];

/// `_compat_pickle.NAME_MAPPING` entries (Python 2 name → Python 3 module and name).
/// `(python2 module, name) → (python3 module, name)`.
type Rename = ((&'static str, &'static str), (&'static str, &'static str));

const NAME_MAPPING: &[Rename] = &[
    (("__builtin__", "xrange"), ("builtins", "range")),
    (("__builtin__", "reduce"), ("functools", "reduce")),
    (("__builtin__", "intern"), ("sys", "intern")),
    (("__builtin__", "unichr"), ("builtins", "chr")),
    (("__builtin__", "unicode"), ("builtins", "str")),
    (("__builtin__", "long"), ("builtins", "int")),
    (("itertools", "izip"), ("builtins", "zip")),
    (("itertools", "imap"), ("builtins", "map")),
    (("itertools", "ifilter"), ("builtins", "filter")),
    (("itertools", "ifilterfalse"), ("itertools", "filterfalse")),
    (("itertools", "izip_longest"), ("itertools", "zip_longest")),
    (
        ("UserDict", "IterableUserDict"),
        ("collections", "UserDict"),
    ),
    (("UserList", "UserList"), ("collections", "UserList")),
    (("UserString", "UserString"), ("collections", "UserString")),
    (("whichdb", "whichdb"), ("dbm", "whichdb")),
    (("_socket", "fromfd"), ("socket", "fromfd")),
    (("urllib", "urlopen"), ("urllib.request", "urlopen")),
    (("urllib", "urlretrieve"), ("urllib.request", "urlretrieve")),
    (("exceptions", "StandardError"), ("builtins", "Exception")),
];

/// Applies CPython's `fix_imports` renames for protocols below 3.
pub fn fix_imports(proto: u8, module: String, name: String) -> (String, String) {
    if proto >= 3 {
        return (module, name);
    }
    for ((m, n), (m3, n3)) in NAME_MAPPING {
        if *m == module && *n == name {
            return ((*m3).to_string(), (*n3).to_string());
        }
    }
    for (m, m3) in IMPORT_MAPPING {
        if *m == module {
            return ((*m3).to_string(), name);
        }
    }
    (module, name)
}

/// The allowlist and denylist in force for one scan.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    extra_allow: Vec<(String, String)>,
}

impl Policy {
    /// The built-in policy.
    pub fn new() -> Self {
        Policy::default()
    }

    /// Adds `module.name` (split at the last dot unless given as `module:name`) to the allowlist.
    /// Denylisted globals cannot be allowed this way.
    pub fn allow(&mut self, qualified: &str) {
        let split = qualified
            .split_once(':')
            .or_else(|| qualified.rsplit_once('.'));
        if let Some((m, n)) = split {
            self.extra_allow.push((m.to_string(), n.to_string()));
        }
    }

    /// Decides one global after `fix_imports`.
    pub fn judge(&self, module: &str, name: &str) -> Verdict {
        if let Some((sev, why)) = denied(module, name) {
            return Verdict::Denied(sev, why);
        }
        if ALLOW.iter().any(|(m, n)| *m == module && *n == name)
            || self
                .extra_allow
                .iter()
                .any(|(m, n)| m == module && n == name)
        {
            return Verdict::Allowed;
        }
        Verdict::Unknown
    }
}

fn denied(module: &str, name: &str) -> Option<(Severity, &'static str)> {
    // A module matches a denied root if it equals it or is a submodule of it.
    for (root, why) in DENY_MODULES {
        if module == *root
            || module
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
            || format!("{module}.{name}") == *root
        {
            return Some((Severity::Critical, why));
        }
    }
    // Every component of a dotted name is an attribute lookup (`find_class` walks it).
    for part in name.split('.') {
        for (bad, why) in DENY_NAMES {
            if part == *bad {
                return Some((Severity::Critical, why));
            }
        }
    }
    // Any module component that is a dangerous module (e.g. `torch._utils.os` style traversal is
    // only possible through names, but a module path like `foo.os` is suspicious as well).
    for part in name.split('.').skip(1) {
        for (root, why) in DENY_MODULES {
            if part == *root {
                return Some((Severity::Critical, why));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlisted_torch_helper_is_allowed() {
        assert_eq!(
            Policy::new().judge("torch._utils", "_rebuild_tensor_v2"),
            Verdict::Allowed
        );
    }

    #[test]
    fn denylisted_module_and_submodule() {
        let p = Policy::new();
        assert!(matches!(
            p.judge("os", "system"),
            Verdict::Denied(Severity::Critical, _)
        ));
        assert!(matches!(
            p.judge("importlib.machinery", "SourceFileLoader"),
            Verdict::Denied(..)
        ));
        assert!(matches!(p.judge("osx", "thing"), Verdict::Unknown));
    }

    #[test]
    fn dotted_name_traversal_is_denied() {
        let p = Policy::new();
        assert!(matches!(
            p.judge("torch._utils", "_rebuild_tensor.__globals__"),
            Verdict::Denied(..)
        ));
        assert!(matches!(
            p.judge("collections", "OrderedDict.os"),
            Verdict::Denied(..)
        ));
    }

    #[test]
    fn user_allow_cannot_override_denylist() {
        let mut p = Policy::new();
        p.allow("os.system");
        p.allow("sklearn.linear_model._base.LinearRegression");
        assert!(matches!(p.judge("os", "system"), Verdict::Denied(..)));
        assert_eq!(
            p.judge("sklearn.linear_model._base", "LinearRegression"),
            Verdict::Allowed
        );
    }

    #[test]
    fn fix_imports_maps_python2_names() {
        assert_eq!(
            fix_imports(2, "__builtin__".into(), "eval".into()),
            ("builtins".to_string(), "eval".to_string())
        );
        assert_eq!(
            fix_imports(4, "__builtin__".into(), "eval".into()),
            ("__builtin__".to_string(), "eval".to_string())
        );
    }
}
