//! `nyash-engine run` of a component: a WASI command (it exports
//! `wasi:cli/run@0.2.x`) runs its `run` with WASI 0.2 (the same flags as
//! a module: `--dir`, `--env`, the arguments after the file, `--fuel`,
//! `--timeout`; inherited stdio; the exit status `wasi:cli/exit` asked
//! for, 1 if `run` returns `err`); `--invoke 'name(args)'` calls an export
//! with arguments in WAVE (the `wasm-wave` crate's syntax, as `wasmtime
//! run --invoke` takes them) and prints its result in WAVE.
//!
//! Names are written as wasmtime writes them: `add` (a function the
//! component exports, or the only one of that name in its exported
//! instances), `iface.add` (in the exported instance `iface`),
//! `ns:pkg/iface.add@1.2.3` (in the exported instance
//! `ns:pkg/iface@1.2.3`, or a semver-compatible version of it). The export
//! name itself also works before a `#`: `ns:pkg/iface@1.2.3#add`.
//!
//! Either way the component gets the WASI 0.2 interfaces
//! `nyash_wasi::p2::add_to_linker` defines, at any 0.2.x version; one
//! that imports anything else fails to instantiate with an error naming
//! the import.

use std::path::Path;
use std::process::ExitCode;

use nyash_engine::component::types::{ComponentFunc, ComponentItem};
use nyash_engine::component::{Component, Linker, Type, Val};
use nyash_engine::{Engine, Error, Store};
use nyash_wasi::WasiCtx;
use wasm_wave::untyped::UntypedFuncCall;

use super::RunOptions;

/// Whether the file at `path` is a component: a binary one (its header
/// says so) or a text one (its first form is `(component`).
pub(crate) fn is_component_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    if f.take(64 << 10).read_to_end(&mut head).is_err() {
        return false;
    }
    if head.starts_with(b"\0asm") {
        return nyash_engine::component::is_component(&head);
    }
    if Component::is_precompiled(&head) {
        return true;
    }
    skip_blank(&head).starts_with(b"(component")
}

/// The `.nwasm` artifact of the component at `path` (for `compile` and
/// `bundle`).
pub(crate) fn artifact(engine: &Engine, path: &Path) -> Result<Vec<u8>, Error> {
    Component::from_file(engine, path)?.serialize()
}

/// Whether the artifact at `[off, off + len)` of `path` is a component's.
pub(crate) fn is_component_artifact_at(path: &Path, off: u64) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(off))?;
            f.read_exact(&mut head)
        })
        .is_ok_and(|()| Component::is_precompiled(&head))
}

/// The component to run: bundled into this executable, a `.nwasm`
/// artifact (with `--allow-precompiled`), or compiled (through the cache).
fn load(engine: &Engine, path: &Path, opts: &RunOptions) -> Result<Component, Error> {
    if let Some((off, len)) = opts.bundle {
        // SAFETY: the artifact is the one `bundle` appended to this very
        // executable, which the user chose to run.
        return unsafe { Component::deserialize_embedded(engine, path, off, len) };
    }
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    if Component::is_precompiled(&head[..n]) {
        if !opts.allow_precompiled {
            return Err(Error::msg(format!(
                "{}: this is a precompiled .nwasm artifact, which is native code; \
                 run it with --allow-precompiled if you trust where it came from",
                path.display()
            )));
        }
        // SAFETY: the user vouched for this artifact with --allow-precompiled.
        return unsafe { Component::deserialize_file(engine, path) };
    }
    Component::from_file(engine, path)
}

/// `text` after leading white space and comments (`;; ...` to the end of
/// the line, `(; ... ;)` nested).
fn skip_blank(mut text: &[u8]) -> &[u8] {
    loop {
        text = text.trim_ascii_start();
        if let Some(rest) = text.strip_prefix(b";;") {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            text = &rest[end..];
        } else if text.starts_with(b"(;") {
            let mut depth = 0usize;
            let mut i = 0;
            while i + 1 < text.len() {
                match &text[i..i + 2] {
                    b"(;" => {
                        depth += 1;
                        i += 2;
                    }
                    b";)" => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => i += 1,
                }
            }
            if depth > 0 {
                return &[];
            }
            text = &text[i..];
        } else {
            return text;
        }
    }
}

/// The export of `wasi:cli/run` at a 0.2.x version, if the component
/// has one (the newest, if several).
fn run_export(component: &Component) -> Option<String> {
    let names: Vec<&str> = component.export_names().collect();
    lookup_name(&names, "wasi:cli/run@0.2.0").map(str::to_string)
}

/// A store for `component` with WASI 0.2 (the context `run` of a module
/// would get: inherited stdio, `--dir`, `--env`, `args` after the
/// program's name), `--fuel` and `--timeout`, and the component
/// instantiated in it.
fn instantiate(
    engine: &Engine,
    component: &Component,
    path: &Path,
    opts: &RunOptions,
    args: &[String],
) -> Result<(Store<WasiCtx>, nyash_engine::component::Instance), Error> {
    let shown = path.display().to_string();
    let mut store = Store::new(engine, super::wasi_ctx(path, opts, args)?);
    super::limit_store(&mut store, engine, opts)?;
    let mut linker = Linker::<WasiCtx>::new(engine);
    nyash_wasi::p2::add_to_linker(&mut linker)?;
    let instance = linker
        .instantiate(&mut store, component)
        .map_err(|e| e.context(shown))?;
    Ok((store, instance))
}

/// Runs the component at `path`: its `wasi:cli/run` with `args` as the
/// program's arguments, or the export `--invoke` names, with the
/// arguments in its call.
pub(crate) fn run(
    engine: &Engine,
    path: &Path,
    opts: &RunOptions,
    args: &[String],
) -> Result<ExitCode, Error> {
    let shown = path.display().to_string();
    let component = load(engine, path, opts)?;
    let command = run_export(&component);
    // A bundled component takes the call as its first argument, unless it
    // is a command (whose arguments are the program's).
    let (invoke, args) = match (&opts.invoke, opts.bundle) {
        (None, Some(_)) if command.is_none() && !args.is_empty() => {
            (Some(args[0].as_str()), &args[1..])
        }
        (i, _) => (i.as_deref(), args),
    };
    let Some(invoke) = invoke else {
        return match command {
            Some(name) => run_command(engine, &component, path, opts, args, &name),
            None => no_invoke(engine, &component, path, opts),
        };
    };
    if !args.is_empty() {
        return Err(Error::msg(format!(
            "{shown}: a component's export takes its arguments inside --invoke, in WAVE \
             (`--invoke 'f(1, \"x\")'`); nothing may follow the component (got `{}`)",
            args.join(" ")
        )));
    }
    let call = Call::parse(invoke)?;
    let (path_in_component, func) = find_func(&component, &call)?;
    let params = call.params(&func)?;

    let (mut store, instance) = instantiate(engine, &component, path, opts, &[])?;
    let mut index = None;
    for name in &path_in_component {
        index = instance.get_export_index(&mut store, index.as_ref(), name);
    }
    let f = index
        .and_then(|i| instance.get_func(&mut store, &i))
        .ok_or_else(|| {
            Error::msg(format!(
                "{shown}: export `{}` found in the component's type but not in its instance",
                path_in_component.join("#")
            ))
        })?;
    let mut results = vec![Val::Bool(false); f.results(&store).len()];
    f.call(&mut store, &params, &mut results)
        .map_err(|e| match e.exit_status() {
            Some(_) => e,
            None => e.context(format!("{shown}: calling `{}`", call.shown)),
        })?;
    for r in &results {
        let text = wasm_wave::to_string(r).map_err(|e| {
            Error::msg(format!(
                "`{}` returned a {} value, which has no WAVE form to print: {e}",
                call.shown,
                r.kind()
            ))
        })?;
        println!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a WASI command: `run` of its export `export` (`wasi:cli/run@0.2.x`)
/// with `args` as the program's arguments. Its exit status: 0 when `run`
/// returns `ok`, 1 when it returns `err`, or what `wasi:cli/exit` asked
/// for (an error whose `exit_status` the caller turns into the status).
fn run_command(
    engine: &Engine,
    component: &Component,
    path: &Path,
    opts: &RunOptions,
    args: &[String],
    export: &str,
) -> Result<ExitCode, Error> {
    let shown = path.display().to_string();
    let (mut store, instance) = instantiate(engine, component, path, opts, args)?;
    let missing = || Error::msg(format!("{shown}: `{export}` exports no function `run`"));
    let iface = instance
        .get_export_index(&mut store, None, export)
        .ok_or_else(missing)?;
    let run = instance
        .get_export_index(&mut store, Some(&iface), "run")
        .ok_or_else(missing)?;
    let run = instance
        .get_typed_func::<(), (Result<(), ()>,)>(&mut store, &run)
        .map_err(|e| e.context(format!("{shown}: `{export}`'s `run`")))?;
    match run.call(&mut store, ()) {
        Ok((Ok(()),)) => Ok(ExitCode::SUCCESS),
        Ok((Err(()),)) => Ok(ExitCode::FAILURE),
        Err(e) if e.exit_status().is_some() => Err(e),
        Err(e) => Err(e.context(format!("{shown}: running `{export}`"))),
    }
}

/// `run` of a component that is not a WASI command, without `--invoke`:
/// says what can be invoked.
fn no_invoke(
    engine: &Engine,
    component: &Component,
    path: &Path,
    opts: &RunOptions,
) -> Result<ExitCode, Error> {
    let shown = path.display().to_string();
    // Instantiating first reports an import we do not provide, if any.
    instantiate(engine, component, path, opts, &[])?;
    let funcs = invocable(component);
    if funcs.is_empty() {
        return Err(Error::msg(format!(
            "{shown}: a component runs by calling an export with --invoke, and this one \
             exports no functions (nor `wasi:cli/run`)"
        )));
    }
    let list: Vec<String> = funcs
        .iter()
        .map(|(name, f)| format!("  {name}: {f}"))
        .collect();
    Err(Error::msg(format!(
        "{shown}: a component runs by calling one of its exports with \
         --invoke 'NAME(ARGS)' (arguments in WAVE), or as a WASI command (if it exports \
         `wasi:cli/run`); it exports:\n{}",
        list.join("\n")
    )))
}

/// The functions `--invoke` can name, with the names it takes: the root's,
/// then those of each exported instance.
fn invocable(component: &Component) -> Vec<(String, ComponentFunc)> {
    let mut out = Vec::new();
    for (name, item) in component.exports() {
        match item {
            ComponentItem::ComponentFunc(f) => out.push((name.to_string(), f)),
            ComponentItem::ComponentInstance(inst) => {
                for (fname, item) in inst.exports() {
                    if let ComponentItem::ComponentFunc(f) = item {
                        out.push((item_name(name, fname), f));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The name `--invoke` takes for function `func` of the exported instance
/// `instance`, as wasmtime writes it: `iface.func`,
/// `ns:pkg/iface.func@1.2.3` for the instance `ns:pkg/iface@1.2.3`.
fn item_name(instance: &str, func: &str) -> String {
    match instance.split_once('@') {
        Some((base, version)) => format!("{base}.{func}@{version}"),
        None => format!("{instance}.{func}"),
    }
}

/// A parsed `--invoke`: the function's name and the arguments' text.
struct Call {
    /// The text the WAVE parser read (a bare name gets `()`; an
    /// `instance#func` prefix is cut to `func`).
    source: String,
    /// The exported instance named, if one was.
    instance: Option<String>,
    /// The function's name.
    func: String,
    /// The name as the user wrote it, for messages.
    shown: String,
}

impl Call {
    fn parse(invoke: &str) -> Result<Call, Error> {
        let invoke = invoke.trim();
        let open = invoke.find('(');
        let name = &invoke[..open.unwrap_or(invoke.len())];
        let rest = open.map_or("()", |o| &invoke[o..]);
        let bad = |e: &dyn std::fmt::Display| {
            Error::msg(format!(
                "--invoke `{invoke}`: not a call in WAVE syntax, `NAME(ARG, ...)` \
                 (e.g. --invoke 'add(1, 2)', --invoke 'greet(\"hi\")'): {e}"
            ))
        };
        // `ns:pkg/iface@1.2.3#func`: the instance's export name, then the
        // function's.
        if let Some((instance, func)) = name.rsplit_once('#') {
            let source = format!("{func}{rest}");
            let parsed = UntypedFuncCall::parse(&source).map_err(|e| bad(&e))?;
            return Ok(Call {
                func: parsed.name().to_string(),
                instance: Some(instance.to_string()),
                shown: name.to_string(),
                source,
            });
        }
        let source = format!("{name}{rest}");
        let parsed = UntypedFuncCall::parse(&source).map_err(|e| bad(&e))?;
        let (instance, func) = split_item_name(parsed.name());
        Ok(Call {
            instance,
            func,
            shown: name.to_string(),
            source,
        })
    }

    /// The arguments, each parsed as its parameter's type.
    fn params(&self, func: &ComponentFunc) -> Result<Vec<Val>, Error> {
        let call = UntypedFuncCall::parse(&self.source)
            .map_err(|e| Error::msg(format!("--invoke `{}`: {e}", self.source)))?;
        let params: Vec<(&str, Type)> = func.params().collect();
        let signature = || format!("`{}` is {func}", self.shown);
        let nodes: Vec<&wasm_wave::ast::Node> = match call.params_node() {
            Some(node) => node
                .as_tuple()
                .map_err(|e| Error::msg(format!("--invoke `{}`: {e}", self.source)))?
                .collect(),
            None => Vec::new(),
        };
        let given = || match nodes.len() {
            1 => "1 argument given".to_string(),
            n => format!("{n} arguments given"),
        };
        if nodes.len() > params.len() {
            return Err(Error::msg(format!(
                "--invoke `{}`: {}, but {}",
                self.source,
                given(),
                signature()
            )));
        }
        let mut out = Vec::with_capacity(params.len());
        for (i, (name, ty)) in params.iter().enumerate() {
            let what = || format!("--invoke `{}`: parameter `{name}` ({ty})", self.source);
            if has_resource(ty, 0) {
                return Err(Error::msg(format!(
                    "{}: resource handles cannot be written in WAVE, so `{}` cannot be \
                     invoked from the command line",
                    what(),
                    self.shown
                )));
            }
            let v = match nodes.get(i) {
                Some(node) => node.to_wasm_value::<Val>(ty, &self.source).map_err(|e| {
                    let span = e.span();
                    let at = self
                        .source
                        .get(span.clone())
                        .filter(|s| !s.is_empty())
                        .map(|s| format!(" at `{s}`"))
                        .unwrap_or_default();
                    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
                    let source = std::error::Error::source(&e)
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default();
                    Error::msg(format!("{}: {}{detail}{source}{at}", what(), e.kind()))
                })?,
                // WAVE lets trailing `option` arguments be left out.
                None if matches!(ty, Type::Option(_)) => Val::Option(None),
                None => {
                    return Err(Error::msg(format!(
                        "{}: missing ({}, but {})",
                        what(),
                        given(),
                        signature()
                    )));
                }
            };
            out.push(v);
        }
        Ok(out)
    }
}

/// Whether values of `ty` can hold a resource handle (which WAVE cannot
/// write). Types nest as deep as a component has definitions: past a
/// depth of 100 the answer is yes, and the parser refuses the value.
fn has_resource(ty: &Type, depth: u32) -> bool {
    if depth > 100 {
        return true;
    }
    let d = depth + 1;
    match ty {
        Type::Own(_) | Type::Borrow(_) | Type::Stream | Type::Future | Type::ErrorContext => true,
        Type::List(l) => has_resource(&l.ty(), d),
        Type::FixedLengthList(l) => has_resource(&l.ty(), d),
        Type::Record(r) => r.fields().any(|(_, t)| has_resource(&t, d)),
        Type::Tuple(t) => t.types().any(|t| has_resource(&t, d)),
        Type::Variant(v) => v
            .cases()
            .any(|(_, t)| t.is_some_and(|t| has_resource(&t, d))),
        Type::Option(o) => has_resource(&o.ty(), d),
        Type::Result(r) => [r.ok(), r.err()]
            .iter()
            .flatten()
            .any(|t| has_resource(t, d)),
        Type::Map(m) => has_resource(&m.key(), d) || has_resource(&m.value(), d),
        _ => false,
    }
}

/// A WAVE function name, `[ns:pkg/][iface.]func[@version]`, as the
/// instance it names (`[ns:pkg/]iface[@version]`) and the function.
fn split_item_name(name: &str) -> (Option<String>, String) {
    let (body, version) = match name.rsplit_once('@') {
        Some((b, v)) => (b, Some(v)),
        None => (name, None),
    };
    let (package, rest) = match body.rsplit_once('/') {
        Some((p, r)) => (Some(p), r),
        None => (None, body),
    };
    let (iface, func) = match rest.split_once('.') {
        Some((i, f)) => (Some(i), f),
        None => (None, rest),
    };
    let instance = match (package, iface) {
        (None, None) => None,
        (p, i) => {
            let mut s = String::new();
            if let Some(p) = p {
                s.push_str(p);
                s.push('/');
            }
            // `ns:pkg/func`: a package without an interface names nothing
            // a component can export; keep the name whole, so the lookup
            // fails naming it.
            s.push_str(i.unwrap_or(func));
            if let Some(v) = version {
                s.push('@');
                s.push_str(v);
            }
            Some(s)
        }
    };
    (instance, func.to_string())
}

/// The export `call` names: its path of export names and its type.
fn find_func(component: &Component, call: &Call) -> Result<(Vec<String>, ComponentFunc), Error> {
    let exports = || {
        let funcs = invocable(component);
        if funcs.is_empty() {
            " (it exports no functions)".to_string()
        } else {
            let names: Vec<String> = funcs.iter().map(|(n, f)| format!("{n}: {f}")).collect();
            format!("; it exports:\n  {}", names.join("\n  "))
        }
    };
    let not_found = || {
        Error::msg(format!(
            "--invoke: the component exports no function `{}`{}",
            call.shown,
            exports()
        ))
    };
    if let Some(instance) = &call.instance {
        let names: Vec<&str> = component.exports().map(|(n, _)| n).collect();
        let Some(found) = lookup_name(&names, instance) else {
            return Err(not_found());
        };
        let found = found.to_string();
        let Some((_, ComponentItem::ComponentInstance(inst))) =
            component.exports().find(|(n, _)| *n == found)
        else {
            return Err(not_found());
        };
        return match inst.exports().find(|(n, _)| *n == call.func) {
            Some((_, ComponentItem::ComponentFunc(f))) => Ok((vec![found, call.func.clone()], f)),
            _ => Err(not_found()),
        };
    }
    if let Some((_, ComponentItem::ComponentFunc(f))) =
        component.exports().find(|(n, _)| *n == call.func)
    {
        return Ok((vec![call.func.clone()], f));
    }
    // Not at the root: the one exported instance that has it.
    let mut found = Vec::new();
    for (iname, item) in component.exports() {
        if let ComponentItem::ComponentInstance(inst) = item
            && let Some((_, ComponentItem::ComponentFunc(f))) =
                inst.exports().find(|(n, _)| *n == call.func)
        {
            found.push((iname.to_string(), f));
        }
    }
    match found.len() {
        0 => Err(not_found()),
        1 => {
            let (iname, f) = found.remove(0);
            Ok((vec![iname, call.func.clone()], f))
        }
        _ => {
            let names: Vec<String> = found
                .iter()
                .map(|(i, _)| format!("`{}`", item_name(i, &call.func)))
                .collect();
            Err(Error::msg(format!(
                "--invoke: several exported instances have a function `{}`; name one: {}",
                call.func,
                names.join(", ")
            )))
        }
    }
}

/// The export name in `names` that `want` means: itself, or else, for a
/// versioned name, the newest semver-compatible version of the same
/// interface (the same major version, or for `0.x` the same minor).
fn lookup_name<'n>(names: &[&'n str], want: &str) -> Option<&'n str> {
    if let Some(n) = names.iter().find(|n| **n == want) {
        return Some(n);
    }
    let (base, version) = want.rsplit_once('@')?;
    let key = |v: &str| -> Option<(u64, u64, u64)> {
        let mut it = v.split('.').map(|p| p.parse::<u64>().ok());
        let r = (it.next()??, it.next()??, it.next()??);
        it.next().is_none().then_some(r)
    };
    let (major, minor, _) = key(version)?;
    names
        .iter()
        .filter_map(|n| {
            let (b, v) = n.rsplit_once('@')?;
            let k = key(v)?;
            let compatible = b == base && k.0 == major && (major != 0 || k.1 == minor);
            compatible.then_some((k, *n))
        })
        .max()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_names_split_as_wasmtime_reads_them() {
        let s = |n: &str| split_item_name(n);
        assert_eq!(s("add"), (None, "add".into()));
        assert_eq!(s("iface.add"), (Some("iface".into()), "add".into()));
        assert_eq!(
            s("ns:pkg/iface.add"),
            (Some("ns:pkg/iface".into()), "add".into())
        );
        assert_eq!(
            s("ns:pkg/iface.add@1.2.3"),
            (Some("ns:pkg/iface@1.2.3".into()), "add".into())
        );
        assert_eq!(
            item_name("ns:pkg/iface@1.2.3", "add"),
            "ns:pkg/iface.add@1.2.3"
        );
        assert_eq!(item_name("iface", "add"), "iface.add");
    }

    #[test]
    fn versions_match_semver_compatible_exports() {
        let names = ["a:b/c@0.2.1", "a:b/c@0.2.6", "a:b/c@1.0.0", "x"];
        assert_eq!(lookup_name(&names, "a:b/c@0.2.0"), Some("a:b/c@0.2.6"));
        assert_eq!(lookup_name(&names, "a:b/c@1.9.0"), Some("a:b/c@1.0.0"));
        assert_eq!(lookup_name(&names, "a:b/c@0.3.0"), None);
        assert_eq!(lookup_name(&names, "x"), Some("x"));
    }

    #[test]
    fn text_components_are_recognised_after_comments() {
        assert_eq!(
            skip_blank(b"  ;; c\n (; a (; b ;) ;)(component)"),
            b"(component)"
        );
        assert_eq!(skip_blank(b"(; open"), b"");
        assert_eq!(skip_blank(b"(module)"), b"(module)");
    }
}
