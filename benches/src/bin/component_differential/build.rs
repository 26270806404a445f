//! Assembles a seed's component with `wasm-encoder`'s component encoder.
//!
//! The root component:
//!
//! ```text
//! (component
//!   (import "host" (instance <IT>))         ; the host's echo/transform/bad
//!   (component $E ...)                      ; the types' functions, in core wasm
//!   (component $X ...)                      ; $E with a broken realloc
//!   (component $F (import "e" (instance <IT>)) ...)  ; a forwarder
//!   (instance $e (instantiate $E))
//!   (instance $x (instantiate $X))
//!   (instance $fe (instantiate $F (with "e" (instance $e))))
//!   (instance $fh (instantiate $F (with "e" (instance $host))))
//!   (instance $fx (instantiate $F (with "e" (instance $x))))
//!   (export "e" (instance $e)) (export "fe" (instance $fe)) (export "fh" (instance $fh))
//!   (export "x" (instance $x)) (export "fx" (instance $fx)))
//! ```
//!
//! `<IT>` is the instance type both `$E`'s instances and the host's match:
//! for each type `T{i}` of the seed the named types it uses (`t{id}`,
//! exported with `eq` bounds) and the functions `echo-{i}`, `transform-{i}`
//! and `bad-{i}`, each `(param "x" T{i}) (result T{i})` (or, for a spread
//! tuple, one parameter per element), and `take-{i}` (`(param "x" T{i})
//! (result u32)`: keeps the value) and `give-{i}` (`(param "k" u32)
//! (result T{i})`: returns it), so values such as strings also cross as
//! a parameter with a scalar result and as a result of a scalar
//! parameter.
//!
//! `$E` defines the types (exporting the named ones, as a component must
//! before an exported function may use them), one core module (memory,
//! bump allocator, the functions of [`crate::emit`]) and lifts its
//! functions with its string encoding (and maybe a `post-return` that
//! clobbers what was allocated). `$F` aliases the types out of its
//! import, lowers the imported functions into a memory module's memory and
//! allocator with *its* string encoding, and lifts a core module's
//! forwarding functions again under the same names: a call of `fe`'s
//! function goes host → `$F` → (adapter, transcoding between the two
//! encodings) → `$E` and back; `fh`'s goes host → `$F` → host. `$X`'s
//! allocator returns pointers out of bounds or misaligned: every call that
//! must allocate in it traps, directly (`x`) or in the adapter (`fx`).

use std::collections::HashMap;

use wasm_encoder::{
    CanonicalOption, ComponentBuilder, ComponentDefinedTypeEncoder, ComponentExportKind,
    ComponentTypeRef, ComponentValType, ExportKind, InstanceType, ModuleArg, PrimitiveValType,
    TypeBounds, ValType,
};

use crate::emit::{self, CoreModule, Corruption, Enc, EvilRealloc, core_sig, realloc_sig};
use crate::types::{Ty, case_name, enum_name, field_name, flag_name};

/// The function names each type gets.
pub const FUNCS: [&str; 3] = ["echo", "transform", "bad"];

/// A seed's component, as generated.
pub struct Spec {
    pub types: Vec<Ty>,
    /// `$E`'s string encoding.
    pub inner_enc: Enc,
    /// `$F`'s string encoding.
    pub outer_enc: Enc,
    /// How each type's `bad` breaks its result.
    pub corruptions: Vec<Corruption>,
    /// For each type: a tuple whose elements are passed as parameters of
    /// their own (the function's result is still the tuple).
    pub spread: Vec<bool>,
    /// How each type's host `bad` fails.
    pub host_bad: Vec<crate::HostBad>,
    /// How `$X` (`$E` with a broken allocator) breaks it.
    pub evil_realloc: EvilRealloc,
    /// Whether `$E`'s and `$F`'s lifts have a `post-return`.
    pub inner_post_return: bool,
    pub outer_post_return: bool,
}

/// A defined (non-primitive) type, its parts already in the space.
enum Def {
    List(ComponentValType),
    Record(Vec<(String, ComponentValType)>),
    Tuple(Vec<ComponentValType>),
    Variant(Vec<(String, Option<ComponentValType>)>),
    Enum(Vec<String>),
    Option(ComponentValType),
    Result(Option<ComponentValType>, Option<ComponentValType>),
    Flags(Vec<String>),
    FixedList(ComponentValType, u32),
    Map(ComponentValType, ComponentValType),
}

fn encode(def: &Def, enc: ComponentDefinedTypeEncoder<'_>) {
    match def {
        Def::List(t) => enc.list(*t),
        Def::Record(fs) => enc.record(fs.iter().map(|(n, t)| (n.as_str(), *t))),
        Def::Tuple(ts) => enc.tuple(ts.iter().copied()),
        Def::Variant(cs) => enc.variant(cs.iter().map(|(n, t)| (n.as_str(), *t))),
        Def::Enum(ns) => enc.enum_type(ns.iter().map(|n| n.as_str())),
        Def::Option(t) => enc.option(*t),
        Def::Result(ok, err) => enc.result(*ok, *err),
        Def::Flags(ns) => enc.flags(ns.iter().map(|n| n.as_str())),
        Def::FixedList(t, n) => enc.fixed_length_list(*t, *n),
        Def::Map(k, v) => enc.map(*k, *v),
    }
}

/// Where types are defined: a component, an instance type, or a component
/// that takes its named types out of an imported instance.
trait Space {
    fn define(&mut self, def: &Def) -> u32;
    /// Names the type `idx` `t{id}`; the index to use for it from then on.
    fn name(&mut self, idx: u32, id: usize) -> u32;
    /// The named type `t{id}` if the space gets it from elsewhere.
    fn alias_named(&mut self, _id: usize) -> Option<u32> {
        None
    }
    fn func(
        &mut self,
        params: &[(String, ComponentValType)],
        result: Option<ComponentValType>,
    ) -> u32;
}

struct CompSpace<'a> {
    b: &'a mut ComponentBuilder,
    /// Named types are aliased out of this instance's exports.
    from: Option<u32>,
}

impl Space for CompSpace<'_> {
    fn define(&mut self, def: &Def) -> u32 {
        let (i, enc) = self.b.type_defined(None);
        encode(def, enc);
        i
    }
    fn name(&mut self, idx: u32, id: usize) -> u32 {
        self.b.export(
            format!("t{id}").as_str(),
            ComponentExportKind::Type,
            idx,
            None,
        )
    }
    fn alias_named(&mut self, id: usize) -> Option<u32> {
        let inst = self.from?;
        Some(
            self.b
                .alias_export(inst, &format!("t{id}"), ComponentExportKind::Type),
        )
    }
    fn func(
        &mut self,
        params: &[(String, ComponentValType)],
        result: Option<ComponentValType>,
    ) -> u32 {
        let (i, mut enc) = self.b.type_function(None);
        enc.params(params.iter().map(|(n, t)| (n.as_str(), *t)))
            .result(result);
        i
    }
}

struct InstSpace<'a>(&'a mut InstanceType);

impl Space for InstSpace<'_> {
    fn define(&mut self, def: &Def) -> u32 {
        let i = self.0.type_count();
        encode(def, self.0.ty().defined_type());
        i
    }
    fn name(&mut self, idx: u32, id: usize) -> u32 {
        self.0.export(
            format!("t{id}").as_str(),
            ComponentTypeRef::Type(TypeBounds::Eq(idx)),
        );
        self.0.type_count() - 1
    }
    fn func(
        &mut self,
        params: &[(String, ComponentValType)],
        result: Option<ComponentValType>,
    ) -> u32 {
        let i = self.0.type_count();
        self.0
            .ty()
            .function()
            .params(params.iter().map(|(n, t)| (n.as_str(), *t)))
            .result(result);
        i
    }
}

/// Puts types into a space, each named type once.
#[derive(Default)]
struct Types {
    named: HashMap<usize, u32>,
}

impl Types {
    fn val(&mut self, s: &mut dyn Space, ty: &Ty) -> ComponentValType {
        use PrimitiveValType as P;
        let prim = |p| ComponentValType::Primitive(p);
        let named_id = match ty {
            Ty::Record { id, .. }
            | Ty::Variant { id, .. }
            | Ty::Enum { id, .. }
            | Ty::Flags { id, .. } => Some(*id),
            _ => None,
        };
        if let Some(id) = named_id {
            if let Some(&i) = self.named.get(&id) {
                return ComponentValType::Type(i);
            }
            if let Some(i) = s.alias_named(id) {
                self.named.insert(id, i);
                return ComponentValType::Type(i);
            }
        }
        let def = match ty {
            Ty::Bool => return prim(P::Bool),
            Ty::S8 => return prim(P::S8),
            Ty::U8 => return prim(P::U8),
            Ty::S16 => return prim(P::S16),
            Ty::U16 => return prim(P::U16),
            Ty::S32 => return prim(P::S32),
            Ty::U32 => return prim(P::U32),
            Ty::S64 => return prim(P::S64),
            Ty::U64 => return prim(P::U64),
            Ty::F32 => return prim(P::F32),
            Ty::F64 => return prim(P::F64),
            Ty::Char => return prim(P::Char),
            Ty::String => return prim(P::String),
            Ty::List(t) => Def::List(self.val(s, t)),
            Ty::Record { fields, .. } => Def::Record(
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (field_name(i), self.val(s, t)))
                    .collect(),
            ),
            Ty::Tuple(ts) => Def::Tuple(ts.iter().map(|t| self.val(s, t)).collect()),
            Ty::Variant { cases, .. } => Def::Variant(
                cases
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (case_name(i), t.as_ref().map(|t| self.val(s, t))))
                    .collect(),
            ),
            Ty::Enum { cases, .. } => Def::Enum((0..*cases as usize).map(enum_name).collect()),
            Ty::Option(t) => Def::Option(self.val(s, t)),
            Ty::Result(ok, err) => Def::Result(
                ok.as_ref().map(|t| self.val(s, t)),
                err.as_ref().map(|t| self.val(s, t)),
            ),
            Ty::Flags { count, .. } => Def::Flags((0..*count as usize).map(flag_name).collect()),
            Ty::FixedList(t, n) => Def::FixedList(self.val(s, t), *n),
            Ty::Map(k, v) => Def::Map(self.val(s, k), self.val(s, v)),
        };
        let i = s.define(&def);
        match named_id {
            Some(id) => {
                let i = s.name(i, id);
                self.named.insert(id, i);
                ComponentValType::Type(i)
            }
            None => ComponentValType::Type(i),
        }
    }

    /// The function type of each type: `(param "x" T) (result T)`, or
    /// for a spread tuple `(param "p0" T0) (param "p1" T1) ... (result
    /// (tuple T0 T1 ...))`.
    fn funcs(&mut self, s: &mut dyn Space, spec: &Spec) -> Vec<u32> {
        spec.types
            .iter()
            .zip(&spec.spread)
            .map(|(t, spread)| {
                let v = self.val(s, t);
                let params = match t {
                    Ty::Tuple(ts) if *spread => ts
                        .iter()
                        .enumerate()
                        .map(|(k, t)| (format!("p{k}"), self.val(s, t)))
                        .collect(),
                    _ => vec![("x".to_string(), v)],
                };
                s.func(&params, Some(v))
            })
            .collect()
    }

    /// The types of each type's `take` (its parameters, `(result u32)`)
    /// and `give` (`(param "k" u32) (result T)`).
    fn take_give(&mut self, s: &mut dyn Space, spec: &Spec) -> Vec<(u32, u32)> {
        spec.types
            .iter()
            .zip(&spec.spread)
            .map(|(t, spread)| {
                let v = self.val(s, t);
                let params = match t {
                    Ty::Tuple(ts) if *spread => ts
                        .iter()
                        .enumerate()
                        .map(|(k, t)| (format!("p{k}"), self.val(s, t)))
                        .collect(),
                    _ => vec![("x".to_string(), v)],
                };
                let u32 = ComponentValType::Primitive(PrimitiveValType::U32);
                let take = s.func(&params, Some(u32));
                let give = s.func(&[("k".to_string(), u32)], Some(v));
                (take, give)
            })
            .collect()
    }
}

/// The instance type `<IT>`.
fn instance_type(spec: &Spec) -> InstanceType {
    let mut it = InstanceType::new();
    let mut types = Types::default();
    let fts = types.funcs(&mut InstSpace(&mut it), spec);
    let tg = types.take_give(&mut InstSpace(&mut it), spec);
    for (i, ft) in fts.iter().enumerate() {
        for name in FUNCS {
            it.export(format!("{name}-{i}").as_str(), ComponentTypeRef::Func(*ft));
        }
        it.export(
            format!("take-{i}").as_str(),
            ComponentTypeRef::Func(tg[i].0),
        );
        it.export(
            format!("give-{i}").as_str(),
            ComponentTypeRef::Func(tg[i].1),
        );
    }
    it
}

fn options(mem: u32, realloc: u32, enc: Enc) -> Vec<CanonicalOption> {
    vec![
        CanonicalOption::Memory(mem),
        CanonicalOption::Realloc(realloc),
        enc.option(),
    ]
}

/// Defines in `m` a `post-return` function for each type's lifted
/// signature (exported as `post-{i}`), each calling `reset`, which
/// clobbers everything allocated and starts the allocator again: an
/// engine that lifted a result after `post-return` would read garbage.
fn post_returns(m: &mut CoreModule, spec: &Spec, reset: u32) {
    for (i, ty) in spec.types.iter().enumerate() {
        let (_, results) = core_sig(ty, false);
        m.func(
            Some(&format!("post-{i}")),
            results.clone(),
            vec![],
            &emit::call_only(results.len(), reset),
        );
    }
}

const NO_ARGS: [(&str, ModuleArg); 0] = [];

/// `$E`: the types' functions in core wasm.
fn inner(spec: &Spec, evil: Option<EvilRealloc>) -> ComponentBuilder {
    let mut b = ComponentBuilder::default();
    let mut types = Types::default();
    let fts = types.funcs(
        &mut CompSpace {
            b: &mut b,
            from: None,
        },
        spec,
    );
    let tg = types.take_give(
        &mut CompSpace {
            b: &mut b,
            from: None,
        },
        spec,
    );
    let mut m = CoreModule::default();
    m.define_memory();
    let (p, r) = realloc_sig();
    let realloc = m.func(Some("realloc"), p, r, &emit::realloc_body(evil));
    let reset = m.func(Some("reset"), vec![], vec![], &emit::reset_body());
    if spec.inner_post_return {
        post_returns(&mut m, spec, reset);
    }
    for (i, ty) in spec.types.iter().enumerate() {
        let (p, r) = core_sig(ty, false);
        let enc = spec.inner_enc;
        let bodies = [
            emit::echo(ty, realloc, enc),
            emit::transform(ty, realloc, enc),
            emit::bad(ty, spec.corruptions[i], realloc, enc),
        ];
        for (name, body) in FUNCS.iter().zip(&bodies) {
            m.func(Some(&format!("{name}-{i}")), p.clone(), r.clone(), body);
        }
        m.func(
            Some(&format!("take-{i}")),
            p.clone(),
            vec![ValType::I32],
            &emit::take(ty, realloc, enc),
        );
        m.func(
            Some(&format!("give-{i}")),
            vec![ValType::I32],
            r.clone(),
            &emit::give(ty),
        );
    }
    let module = b.core_module(None, &m.finish());
    let ci = b.core_instantiate(None, module, NO_ARGS);
    let mem = b.core_alias_export(None, ci, "mem", ExportKind::Memory);
    let realloc = b.core_alias_export(None, ci, "realloc", ExportKind::Func);
    for (i, ft) in fts.iter().enumerate() {
        let mut opts = options(mem, realloc, spec.inner_enc);
        if spec.inner_post_return {
            let pr = b.core_alias_export(None, ci, &format!("post-{i}"), ExportKind::Func);
            opts.push(CanonicalOption::PostReturn(pr));
        }
        for name in FUNCS {
            let name = format!("{name}-{i}");
            let cf = b.core_alias_export(None, ci, &name, ExportKind::Func);
            let f = b.lift_func(None, cf, *ft, opts.iter().copied());
            b.export(name.as_str(), ComponentExportKind::Func, f, None);
        }
        lift_take_give(&mut b, ci, i, tg[i], mem, realloc, spec.inner_enc);
    }
    b
}

/// Lifts core instance `ci`'s `take-{i}` and `give-{i}` (types `tg`),
/// without a `post-return`, and exports them.
fn lift_take_give(
    b: &mut ComponentBuilder,
    ci: u32,
    i: usize,
    tg: (u32, u32),
    mem: u32,
    realloc: u32,
    enc: Enc,
) {
    for (name, ft) in [("take", tg.0), ("give", tg.1)] {
        let name = format!("{name}-{i}");
        let cf = b.core_alias_export(None, ci, &name, ExportKind::Func);
        let f = b.lift_func(None, cf, ft, options(mem, realloc, enc));
        b.export(name.as_str(), ComponentExportKind::Func, f, None);
    }
}

/// `$F`: lowers its import's functions and lifts them again.
fn forwarder(spec: &Spec) -> ComponentBuilder {
    let mut b = ComponentBuilder::default();
    let ti = b.type_instance(None, &instance_type(spec));
    let inst = b.import("e", ComponentTypeRef::Instance(ti));
    let mut types = Types::default();
    let fts = types.funcs(
        &mut CompSpace {
            b: &mut b,
            from: Some(inst),
        },
        spec,
    );
    let tg = types.take_give(
        &mut CompSpace {
            b: &mut b,
            from: Some(inst),
        },
        spec,
    );
    // The memory and allocator, in a module of their own: the lowered
    // imports need them, and the forwarding module needs the lowered
    // imports.
    let mut mm = CoreModule::default();
    mm.define_memory();
    let (p, r) = realloc_sig();
    mm.func(
        Some("realloc"),
        p.clone(),
        r.clone(),
        &emit::realloc_body(None),
    );
    mm.func(Some("reset"), vec![], vec![], &emit::reset_body());
    let mm = b.core_module(None, &mm.finish());
    let mi = b.core_instantiate(None, mm, NO_ARGS);
    let mem = b.core_alias_export(None, mi, "mem", ExportKind::Memory);
    let realloc = b.core_alias_export(None, mi, "realloc", ExportKind::Func);

    let mut lowered = Vec::new();
    for i in 0..spec.types.len() {
        for name in FUNCS.iter().chain(&["take", "give"]) {
            let name = format!("{name}-{i}");
            let f = b.alias_export(inst, &name, ComponentExportKind::Func);
            let cf = b.lower_func(None, f, options(mem, realloc, spec.outer_enc));
            lowered.push((name, cf));
        }
    }
    let imp = b.core_instantiate_exports(
        None,
        lowered
            .iter()
            .map(|(n, f)| (n.as_str(), ExportKind::Func, *f))
            .collect::<Vec<_>>(),
    );
    let reset = b.core_alias_export(None, mi, "reset", ExportKind::Func);
    let env = b.core_instantiate_exports(
        None,
        [
            ("mem", ExportKind::Memory, mem),
            ("realloc", ExportKind::Func, realloc),
            ("reset", ExportKind::Func, reset),
        ],
    );

    let mut m = CoreModule::default();
    m.import_memory("env", "mem");
    let realloc_f = m.import_func("env", "realloc", p, r);
    let reset_f = m.import_func("env", "reset", vec![], vec![]);
    let mut callees = Vec::new();
    let mut tg_callees = Vec::new();
    for (i, ty) in spec.types.iter().enumerate() {
        let (p, r) = core_sig(ty, true);
        for name in FUNCS {
            callees.push(m.import_func("imp", &format!("{name}-{i}"), p.clone(), r.clone()));
        }
        // `take`: the lifted parameters, an `i32`; `give`: an `i32` and
        // the lowered result (a return pointer past one value).
        let (lp, _) = core_sig(ty, false);
        let mut gp = vec![ValType::I32];
        gp.extend(p.get(lp.len()..).unwrap_or_default().iter().copied());
        tg_callees.push((
            m.import_func("imp", &format!("take-{i}"), lp, vec![ValType::I32]),
            m.import_func("imp", &format!("give-{i}"), gp, r.clone()),
        ));
    }
    let mut callees = callees.into_iter();
    for (i, ty) in spec.types.iter().enumerate() {
        let (p, r) = core_sig(ty, false);
        for name in FUNCS {
            let callee = callees.next().unwrap_or(0);
            m.func(
                Some(&format!("{name}-{i}")),
                p.clone(),
                r.clone(),
                &emit::forward(ty, callee, realloc_f),
            );
        }
        let (take, give) = tg_callees[i];
        m.func(
            Some(&format!("take-{i}")),
            p.clone(),
            vec![ValType::I32],
            &emit::forward_take(p.len(), take),
        );
        m.func(
            Some(&format!("give-{i}")),
            vec![ValType::I32],
            r.clone(),
            &emit::forward_give(ty, give, realloc_f),
        );
    }
    if spec.outer_post_return {
        post_returns(&mut m, spec, reset_f);
    }
    let module = b.core_module(None, &m.finish());
    let ci = b.core_instantiate(
        None,
        module,
        [
            ("env", ModuleArg::Instance(env)),
            ("imp", ModuleArg::Instance(imp)),
        ],
    );
    for (i, ft) in fts.iter().enumerate() {
        let mut opts = options(mem, realloc, spec.outer_enc);
        if spec.outer_post_return {
            let pr = b.core_alias_export(None, ci, &format!("post-{i}"), ExportKind::Func);
            opts.push(CanonicalOption::PostReturn(pr));
        }
        for name in FUNCS {
            let name = format!("{name}-{i}");
            let cf = b.core_alias_export(None, ci, &name, ExportKind::Func);
            let f = b.lift_func(None, cf, *ft, opts.iter().copied());
            b.export(name.as_str(), ComponentExportKind::Func, f, None);
        }
        lift_take_give(&mut b, ci, i, tg[i], mem, realloc, spec.outer_enc);
    }
    b
}

/// The root component's binary.
pub fn component(spec: &Spec) -> Vec<u8> {
    let mut b = ComponentBuilder::default();
    let ti = b.type_instance(None, &instance_type(spec));
    let host = b.import("host", ComponentTypeRef::Instance(ti));
    let e = b.component(None, inner(spec, None));
    let x = b.component(None, inner(spec, Some(spec.evil_realloc)));
    let f = b.component(None, forwarder(spec));
    let no_args: [(&str, ComponentExportKind, u32); 0] = [];
    let ei = b.instantiate(None, e, no_args);
    let xi = b.instantiate(None, x, no_args);
    let fe = b.instantiate(None, f, [("e", ComponentExportKind::Instance, ei)]);
    let fh = b.instantiate(None, f, [("e", ComponentExportKind::Instance, host)]);
    let fx = b.instantiate(None, f, [("e", ComponentExportKind::Instance, xi)]);
    for (name, i) in [("e", ei), ("fe", fe), ("fh", fh), ("x", xi), ("fx", fx)] {
        b.export(name, ComponentExportKind::Instance, i, None);
    }
    b.finish()
}
