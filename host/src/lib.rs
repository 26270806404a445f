//! The Nyash host ABI (`../shared/docs/NYASH-ABI.md`): what modules emitted
//! by the Nyash compiler's WebAssembly backend import from `env`.
//!
//! Such a module is recognised by its shape (imports only from `env`, with
//! names from the ABI, and an export `main: () -> i32`). Boxes live in the
//! module's memory with a 12-byte header `[type_id][ref_count][field_count]`.
//! The host allocates (for `box_to_string`, `box_clone`) with the module's
//! exported `malloc` if it has one, else in pages it adds with `memory.grow`
//! and owns, never in memory the module's allocator owns.
//!
//! [`is_nyash_module`] tells such a module; [`add_to_linker`] defines the
//! imports it has, each with the type it declares; the store's data gives
//! access to a [`NyashHost`] ([`NyashView`]), which says where output goes.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use nyash_engine::{Engine, Linker, Module, Store};
//! use nyash_host::{NyashHost, NyashOutput, INTEGER_BOX};
//!
//! let engine = Engine::default();
//! let module = Module::new(
//!     &engine,
//!     r#"(module
//!          (import "env" "print" (func $print (param i32)))
//!          (import "env" "print_str" (func $print_str (param i32 i32)))
//!          (import "env" "box_print" (func $box_print (param i32)))
//!          (memory (export "memory") 1)
//!          (data (i32.const 64) "hi")
//!          ;; An IntegerBox holding 42: [type_id][ref_count][field_count] 42
//!          (data (i32.const 128) "\02\10\00\00\01\00\00\00\01\00\00\00\2a\00\00\00")
//!          (func (export "main") (result i32)
//!            (call $print (i32.const 7))
//!            (call $print_str (i32.const 64) (i32.const 2))
//!            (call $box_print (i32.const 128))
//!            (i32.const 0)))"#,
//! )?;
//! assert!(nyash_host::is_nyash_module(&module));
//! assert_eq!(INTEGER_BOX, 0x1002);
//!
//! let (stdout, stderr) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
//! let host = NyashHost::new(NyashOutput::Buffer { stdout: stdout.clone(), stderr });
//! let mut linker = Linker::new(&engine);
//! nyash_host::add_to_linker(&mut linker, &module)?;
//! let mut store = Store::new(&engine, host);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let main = instance.get_typed_func::<(), i32>(&mut store, "main")?;
//! assert_eq!(main.call(&mut store, ())?, 0);
//! assert_eq!(String::from_utf8_lossy(&stdout.lock().unwrap()), "7\nhi\n42\n");
//! # Ok::<(), nyash_engine::Error>(())
//! ```

#![warn(missing_docs)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use nyash_engine::{
    Caller, Error, Extern, ExternType, FuncType, Linker, Memory, Module, Result, Val, ValType,
};

/// Type id of a StringBox: fields `[ptr, len]` of UTF-8 bytes.
pub const STRING_BOX: u32 = 0x1001;
/// Type id of an IntegerBox: one field, the `i32` value.
pub const INTEGER_BOX: u32 = 0x1002;
/// Type id of a BoolBox: one field, 0 or 1.
pub const BOOL_BOX: u32 = 0x1003;
/// Type id of an ArrayBox: one field per element, each a box pointer.
pub const ARRAY_BOX: u32 = 0x1004;

const HEADER: u32 = 12;

/// The canvas calls and how many `i32` parameters each takes.
const CANVAS: &[(&str, usize)] = &[
    ("canvas_fillRect", 8),
    ("canvas_strokeRect", 8),
    ("canvas_fillText", 10),
    ("canvas_clear", 2),
    ("canvas_beginPath", 2),
    ("canvas_fill", 2),
    ("canvas_stroke", 2),
    ("canvas_arc", 7),
    ("canvas_setFillStyle", 4),
    ("canvas_setStrokeStyle", 4),
    ("canvas_setLineWidth", 3),
    ("canvas_fillCircle", 7),
    ("canvas_drawLine", 9),
];

const CONSOLE: &[&str] = &[
    "console_log",
    "console_warn",
    "console_error",
    "console_info",
    "console_debug",
];

const OTHERS: &[&str] = &[
    "print",
    "print_str",
    "box_to_string",
    "box_print",
    "box_equals",
    "box_clone",
];

fn known(name: &str) -> bool {
    OTHERS.contains(&name) || CONSOLE.contains(&name) || CANVAS.iter().any(|(n, _)| *n == name)
}

/// Where output goes: the process's streams, or buffers (for tests).
/// `console_warn` and `console_error` go to stderr, everything else to stdout.
#[derive(Clone, Default)]
pub enum NyashOutput {
    /// The process's own stdout and stderr (the default).
    #[default]
    Inherit,
    /// In-memory buffers that collect the output.
    Buffer {
        /// Collects what goes to stdout.
        stdout: Arc<Mutex<Vec<u8>>>,
        /// Collects what goes to stderr.
        stderr: Arc<Mutex<Vec<u8>>>,
    },
}

/// Host state of a Nyash program: where its output goes, what it asked of
/// the canvas, and the pages the host allocates in.
#[derive(Default)]
pub struct NyashHost {
    /// Where output goes.
    pub output: NyashOutput,
    /// Canvas calls made (there is no canvas on a command line).
    pub canvas_calls: u64,
    /// The host's own allocation region: [next, end).
    heap_next: u32,
    heap_end: u32,
}

impl NyashHost {
    /// Host state with output to `output`.
    pub fn new(output: NyashOutput) -> Self {
        NyashHost {
            output,
            ..Default::default()
        }
    }

    fn emit(&self, bytes: &[u8], stderr: bool) {
        match &self.output {
            NyashOutput::Inherit if stderr => {
                let _ = std::io::stderr().write_all(bytes);
            }
            NyashOutput::Inherit => {
                let mut out = std::io::stdout();
                let _ = out.write_all(bytes);
                let _ = out.flush();
            }
            NyashOutput::Buffer {
                stdout,
                stderr: err,
            } => {
                let b = if stderr { err } else { stdout };
                b.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(bytes);
            }
        }
    }
}

/// How a store's data gives access to its `NyashHost`: implemented by
/// `NyashHost` itself, and by an embedder's store data that holds one (the
/// CLI's holds a WASI context beside it).
pub trait NyashView: Send + 'static {
    /// The Nyash host state in the store's data.
    fn nyash(&mut self) -> &mut NyashHost;
}

impl NyashView for NyashHost {
    fn nyash(&mut self) -> &mut NyashHost {
        self
    }
}

/// Whether `module` has the shape of a Nyash module: it exports
/// `main: () -> i32` and imports only functions from `env` whose names are
/// in the ABI.
pub fn is_nyash_module(module: &Module) -> bool {
    let main_ok = module.exports().any(|(n, t)| {
        n == "main"
            && t == ExternType::Func(FuncType {
                params: vec![],
                results: vec![ValType::I32],
            })
    });
    main_ok
        && module
            .imports()
            .all(|(m, n, t)| m == "env" && known(n) && matches!(t, ExternType::Func(_)))
}

fn memory<T>(caller: &mut Caller<'_, T>) -> Result<Memory> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| Error::msg("the Nyash module has no exported `memory`"))
}

/// The little-endian `u32` at `at`, if it lies inside `data`. Addresses
/// come from the module and are computed with wrapping arithmetic (as wasm
/// does), so a hostile one reads nothing rather than overflowing.
fn read_u32(data: &[u8], at: u32) -> Option<u32> {
    let at = at as usize;
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn bytes(data: &[u8], ptr: u32, len: u32) -> Result<&[u8]> {
    let (p, l) = (ptr as usize, len as usize);
    p.checked_add(l)
        .and_then(|end| data.get(p..end))
        .ok_or_else(|| Error::msg(format!("string at {ptr:#x} (+{len}) is outside memory")))
}

/// A box's text, as `box_print` and `box_to_string` show it.
fn describe(data: &[u8], b: u32, depth: u32) -> String {
    let Some(ty) = read_u32(data, b) else {
        return format!("<invalid box {b:#x}>");
    };
    let field = |i: u32| read_u32(data, b.wrapping_add(HEADER).wrapping_add(i.wrapping_mul(4)));
    match ty {
        STRING_BOX => match (field(0), field(1)) {
            (Some(p), Some(l)) => bytes(data, p, l)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_else(|_| format!("<invalid string box {b:#x}>")),
            _ => format!("<invalid string box {b:#x}>"),
        },
        INTEGER_BOX => field(0).map_or(format!("<invalid box {b:#x}>"), |v| (v as i32).to_string()),
        BOOL_BOX => field(0).map_or(format!("<invalid box {b:#x}>"), |v| (v != 0).to_string()),
        ARRAY_BOX if depth < 8 => {
            let n = read_u32(data, b.wrapping_add(8)).unwrap_or(0).min(1 << 16);
            let items: Vec<String> = (0..n)
                .map(|i| field(i).map_or("?".into(), |e| describe(data, e, depth + 1)))
                .collect();
            format!("[{}]", items.join(", "))
        }
        other => format!("<box {other:#x}>"),
    }
}

fn equal(data: &[u8], a: u32, b: u32, depth: u32) -> bool {
    if a == b {
        return true;
    }
    let (Some(ta), Some(tb)) = (read_u32(data, a), read_u32(data, b)) else {
        return false;
    };
    if ta != tb || depth > 8 {
        return false;
    }
    let f = |x: u32, i: u32| read_u32(data, x.wrapping_add(HEADER).wrapping_add(i.wrapping_mul(4)));
    match ta {
        STRING_BOX => match (f(a, 0), f(a, 1), f(b, 0), f(b, 1)) {
            (Some(pa), Some(la), Some(pb), Some(lb)) => matches!(
                (bytes(data, pa, la), bytes(data, pb, lb)),
                (Ok(x), Ok(y)) if x == y
            ),
            _ => false,
        },
        INTEGER_BOX | BOOL_BOX => f(a, 0).is_some() && f(a, 0) == f(b, 0),
        ARRAY_BOX => {
            let (na, nb) = (
                read_u32(data, a.wrapping_add(8)),
                read_u32(data, b.wrapping_add(8)),
            );
            na.is_some()
                && na == nb
                && (0..na.unwrap_or(0).min(1 << 16)).all(|i| match (f(a, i), f(b, i)) {
                    (Some(x), Some(y)) => equal(data, x, y, depth + 1),
                    _ => false,
                })
        }
        _ => false,
    }
}

/// Allocates `size` bytes the module may read: through its exported
/// `malloc`, or in host-owned pages added with `memory.grow`.
fn alloc<T: NyashView>(caller: &mut Caller<'_, T>, size: u32) -> Result<u32> {
    let size = size
        .checked_next_multiple_of(4)
        .ok_or_else(|| Error::msg("allocation too large"))?;
    if let Some(malloc) = caller.get_export("malloc").and_then(Extern::into_func) {
        let mut out = [Val::I32(0)];
        malloc.call(&mut *caller, &[Val::I32(size as i32)], &mut out)?;
        return out[0]
            .i32()
            .map(|p| p as u32)
            .ok_or_else(|| Error::msg("`malloc` returned no i32"));
    }
    let host = caller.data_mut().nyash();
    if host.heap_end.saturating_sub(host.heap_next) < size {
        let mem = memory(caller)?;
        let pages = u64::from(size).div_ceil(65536).max(1);
        let old = mem.grow(&mut *caller, pages)?;
        let host = caller.data_mut().nyash();
        host.heap_next = (old * 65536) as u32;
        host.heap_end = ((old + pages) * 65536).min(u64::from(u32::MAX)) as u32;
    }
    let host = caller.data_mut().nyash();
    let p = host.heap_next;
    host.heap_next += size;
    Ok(p)
}

fn write_words(data: &mut [u8], at: u32, words: &[u32]) -> Result<()> {
    for (i, w) in words.iter().enumerate() {
        let p = at as usize + 4 * i;
        data.get_mut(p..p + 4)
            .ok_or_else(|| Error::msg("allocation outside memory"))?
            .copy_from_slice(&w.to_le_bytes());
    }
    Ok(())
}

/// A new StringBox holding `text`.
fn new_string<T: NyashView>(caller: &mut Caller<'_, T>, text: &[u8]) -> Result<u32> {
    let too_big = || Error::msg("string too large for a 32-bit memory");
    let len = u32::try_from(text.len()).map_err(|_| too_big())?;
    let p = alloc(caller, len.checked_add(HEADER + 8).ok_or_else(too_big)?)?;
    let mem = memory(caller)?;
    let data = mem.data_mut(&mut *caller);
    // `p` may come from the module's own `malloc`: trust none of it.
    let at = p
        .checked_add(HEADER + 8)
        .ok_or_else(|| Error::msg("allocation outside memory"))?;
    write_words(data, p, &[STRING_BOX, 1, 2, at, len])?;
    let at = at as usize;
    data.get_mut(at..at + text.len())
        .ok_or_else(|| Error::msg("allocation outside memory"))?
        .copy_from_slice(text);
    Ok(p)
}

/// Defines the Nyash host functions `module` imports, each by its declared
/// type (imports from other modules are left alone): one line per import,
/// each defined by the function of its name below. Fails with a link error
/// for an `env` import that is not part of the ABI, or if a name is already
/// defined in `linker`.
pub fn add_to_linker<T: NyashView>(linker: &mut Linker<T>, module: &Module) -> Result<()> {
    for (m, name, ty) in module.imports() {
        let ExternType::Func(ty) = ty else { continue };
        if m != "env" {
            continue;
        }
        match name {
            "print" => linker.func_wrap("env", name, print::<T>)?,
            "print_str" => linker.func_wrap("env", name, print_str::<T>)?,
            "box_print" => linker.func_wrap("env", name, box_print::<T>)?,
            "box_to_string" => linker.func_wrap("env", name, box_to_string::<T>)?,
            "box_equals" => linker.func_wrap("env", name, box_equals::<T>)?,
            "box_clone" => linker.func_wrap("env", name, box_clone::<T>)?,
            _ if CONSOLE.contains(&name) => add_console(linker, name, ty)?,
            _ if CANVAS.iter().any(|(c, _)| *c == name) => {
                linker.func_new("env", name, ty, canvas::<T>)?
            }
            _ => return Err(Error::link("env", name, "not part of the Nyash host ABI")),
        };
    }
    Ok(())
}

/// `print(value: i32)`: the value and a newline, on stdout.
fn print<T: NyashView>(mut c: Caller<'_, T>, v: i32) {
    c.data_mut()
        .nyash()
        .emit(format!("{v}\n").as_bytes(), false);
}

/// The UTF-8 bytes at `[p, p + l)` and a newline, to stdout or stderr.
fn print_line<T: NyashView>(c: &mut Caller<'_, T>, p: u32, l: u32, stderr: bool) -> Result<()> {
    let mem = memory(c)?;
    let (data, host) = mem.data_and_store_mut(c);
    let mut line = bytes(data, p, l)?.to_vec();
    line.push(b'\n');
    host.nyash().emit(&line, stderr);
    Ok(())
}

/// `print_str(ptr: i32, len: i32)`: the string and a newline, on stdout.
fn print_str<T: NyashView>(mut c: Caller<'_, T>, p: u32, l: u32) -> Result<()> {
    print_line(&mut c, p, l, false)
}

/// `console_log`, `console_info`, `console_debug` (stdout), `console_warn`,
/// `console_error` (stderr), in the form the module declares: one `i32`
/// (a value to print, the older form) or a string's `(ptr, len)`.
fn add_console<'l, T: NyashView>(
    linker: &'l mut Linker<T>,
    name: &str,
    ty: FuncType,
) -> Result<&'l mut Linker<T>> {
    let stderr = matches!(name, "console_warn" | "console_error");
    if ty.params.len() == 1 {
        linker.func_new("env", name, ty, move |c, args, _| {
            console_value(c, args, stderr)
        })
    } else {
        linker.func_new("env", name, ty, move |c, args, _| {
            console_str(c, args, stderr)
        })
    }
}

/// A `console_*` call with one `i32`: the value and a newline.
fn console_value<T: NyashView>(mut c: Caller<'_, T>, args: &[Val], stderr: bool) -> Result<()> {
    let v = args.first().and_then(Val::i32).unwrap_or(0);
    c.data_mut()
        .nyash()
        .emit(format!("{v}\n").as_bytes(), stderr);
    Ok(())
}

/// A `console_*` call with a string's `(ptr, len)`: the string and a newline.
fn console_str<T: NyashView>(mut c: Caller<'_, T>, args: &[Val], stderr: bool) -> Result<()> {
    let arg = |i: usize| args.get(i).and_then(Val::i32).unwrap_or(0) as u32;
    print_line(&mut c, arg(0), arg(1), stderr)
}

/// `box_print(box: i32)`: the box's text and a newline, on stdout.
fn box_print<T: NyashView>(mut c: Caller<'_, T>, b: u32) -> Result<()> {
    let mem = memory(&mut c)?;
    let (data, host) = mem.data_and_store_mut(&mut c);
    let text = describe(data, b, 0);
    host.nyash().emit(format!("{text}\n").as_bytes(), false);
    Ok(())
}

/// `box_to_string(box: i32) -> i32`: a StringBox of the box's text (the box
/// itself if it is one).
fn box_to_string<T: NyashView>(mut c: Caller<'_, T>, b: u32) -> Result<u32> {
    let mem = memory(&mut c)?;
    let data = mem.data(&c);
    if read_u32(data, b) == Some(STRING_BOX) {
        return Ok(b);
    }
    let text = describe(data, b, 0);
    new_string(&mut c, text.as_bytes())
}

/// `box_equals(a: i32, b: i32) -> i32`: 1 if the boxes are equal by value.
fn box_equals<T: NyashView>(mut c: Caller<'_, T>, a: u32, b: u32) -> Result<i32> {
    let mem = memory(&mut c)?;
    Ok(equal(mem.data(&c), a, b, 0) as i32)
}

/// `box_clone(box: i32) -> i32`: a shallow copy of the box (header and
/// fields), in memory the host allocates.
fn box_clone<T: NyashView>(mut c: Caller<'_, T>, b: u32) -> Result<u32> {
    let mem = memory(&mut c)?;
    let data = mem.data(&c);
    let fields = read_u32(data, b.wrapping_add(8))
        .ok_or_else(|| Error::msg(format!("box {b:#x} is outside memory")))?;
    let size = HEADER + 4 * fields.min(1 << 16);
    let copy = bytes(data, b, size)?.to_vec();
    let p = alloc(&mut c, size)?;
    let data = mem.data_mut(&mut c);
    data.get_mut(p as usize..p as usize + size as usize)
        .ok_or_else(|| Error::msg("allocation outside memory"))?
        .copy_from_slice(&copy);
    Ok(p)
}

/// Every `canvas_*` call: counted, nothing drawn (there is no canvas on a
/// command line).
fn canvas<T: NyashView>(mut c: Caller<'_, T>, _args: &[Val], _results: &mut [Val]) -> Result<()> {
    c.data_mut().nyash().canvas_calls += 1;
    Ok(())
}
