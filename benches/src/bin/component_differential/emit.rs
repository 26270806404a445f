//! The core wasm the generated components run: a bump allocator as
//! `realloc`, and for each interface type `T` the core functions lifted as
//! `echo`, `transform` and `bad` (`(param "x" T) (result T)`), emitted
//! from `T`'s canonical-ABI flattening and memory layout, plus the
//! forwarder's functions that call a lowered import with the arguments they
//! got.
//!
//! The canonical ABI's rules these follow: a function's parameters are
//! passed flat when they flatten to at most 16 core values, else as one
//! pointer to them in memory (which the caller allocated with the callee's
//! `realloc`); a result that flattens to one core value is returned flat,
//! else the callee returns a pointer to it in memory (a lowered import
//! gets an extra parameter instead: where to write it). A variant's flat
//! form is its discriminant and then slots each holding the *join* of the
//! cases' core types at that position (`i32` and `f32` join as `i32`,
//! anything else mixed as `i64`), so a payload is read back out of its
//! slots by wrapping and reinterpreting.

use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, ImportSection, Instruction as I, MemArg,
    MemArgTarget, MemorySection, MemoryType, Module, TypeSection, ValType,
};

use crate::types::{Flat, Ty, disc_size, flags_mask};

/// A string encoding of the canonical options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enc {
    Utf8,
    Utf16,
    Latin1Utf16,
}

impl Enc {
    pub fn option(self) -> wasm_encoder::CanonicalOption {
        match self {
            Enc::Utf8 => wasm_encoder::CanonicalOption::UTF8,
            Enc::Utf16 => wasm_encoder::CanonicalOption::UTF16,
            Enc::Latin1Utf16 => wasm_encoder::CanonicalOption::CompactUTF16,
        }
    }
}

/// The largest number of flat parameters; past it they are spilled.
pub const MAX_FLAT_PARAMS: usize = 16;

pub fn vt(f: Flat) -> ValType {
    match f {
        Flat::I32 => ValType::I32,
        Flat::I64 => ValType::I64,
        Flat::F32 => ValType::F32,
        Flat::F64 => ValType::F64,
    }
}

/// The core signature of a function `(param "x" T) (result T)` lifted
/// (`lowered` false) or lowered (`lowered` true: a result that does not
/// fit one value is written where an extra parameter says).
pub fn core_sig(ty: &Ty, lowered: bool) -> (Vec<ValType>, Vec<ValType>) {
    let flat = ty.flat();
    let mut params: Vec<ValType> = if flat.len() > MAX_FLAT_PARAMS {
        vec![ValType::I32]
    } else {
        flat.iter().map(|f| vt(*f)).collect()
    };
    let results = if flat.len() == 1 {
        vec![vt(flat[0])]
    } else if lowered {
        params.push(ValType::I32);
        vec![]
    } else {
        vec![ValType::I32]
    };
    (params, results)
}

fn ma(offset: u32) -> MemArg {
    MemArg {
        offset: offset.into(),
        align: 0,
        target: MemArgTarget::Memory(0),
        ordering: None,
    }
}

/// A flat value at hand: a local of core type `ty` (a variant slot's local
/// has the join's type; its reader converts).
#[derive(Clone, Copy)]
struct Src {
    local: u32,
    ty: Flat,
}

/// One function being emitted.
pub struct FnGen {
    nparams: u32,
    locals: Vec<ValType>,
    code: Vec<I<'static>>,
    realloc: u32,
    enc: Enc,
}

impl FnGen {
    pub fn new(nparams: usize, realloc: u32, enc: Enc) -> FnGen {
        FnGen {
            nparams: nparams as u32,
            locals: Vec::new(),
            code: Vec::new(),
            realloc,
            enc,
        }
    }

    fn local(&mut self, t: ValType) -> u32 {
        self.locals.push(t);
        self.nparams + self.locals.len() as u32 - 1
    }

    fn op(&mut self, i: I<'static>) {
        self.code.push(i);
    }

    fn ops(&mut self, is: impl IntoIterator<Item = I<'static>>) {
        self.code.extend(is);
    }

    pub fn finish(mut self) -> Function {
        self.op(I::End);
        let mut f = Function::new_with_locals_types(self.locals);
        for i in &self.code {
            f.instruction(i);
        }
        f
    }

    /// A fresh local holding `size` bytes aligned to `align` from `realloc`.
    fn alloc(&mut self, size: u32, align: u32) -> u32 {
        let l = self.local(ValType::I32);
        self.ops([
            I::I32Const(0),
            I::I32Const(0),
            I::I32Const(align as i32),
            I::I32Const(size as i32),
            I::Call(self.realloc),
            I::LocalSet(l),
        ]);
        l
    }

    /// Pushes `src` converted to `want` (a variant slot's join narrowed to
    /// the case's own type).
    fn push(&mut self, src: Src, want: Flat) {
        self.op(I::LocalGet(src.local));
        match (src.ty, want) {
            (a, b) if a == b => {}
            (Flat::I64, Flat::I32) => self.op(I::I32WrapI64),
            (Flat::I64, Flat::F32) => self.ops([I::I32WrapI64, I::F32ReinterpretI32]),
            (Flat::I64, Flat::F64) => self.op(I::F64ReinterpretI64),
            (Flat::I32, Flat::F32) => self.op(I::F32ReinterpretI32),
            // Not reached: a slot's type is the join of what it holds.
            _ => self.op(I::Unreachable),
        }
    }

    fn next(srcs: &mut std::slice::Iter<'_, Src>) -> Src {
        // Not reached past the end: the sources are the type's flattening.
        srcs.next().copied().unwrap_or(Src {
            local: 0,
            ty: Flat::I32,
        })
    }

    fn store_disc(&mut self, size: u32, off: u32) {
        self.op(match size {
            1 => I::I32Store8(ma(off)),
            2 => I::I32Store16(ma(off)),
            _ => I::I32Store(ma(off)),
        });
    }

    fn load_disc(&mut self, size: u32, off: u32) {
        self.op(match size {
            1 => I::I32Load8U(ma(off)),
            2 => I::I32Load16U(ma(off)),
            _ => I::I32Load(ma(off)),
        });
    }

    /// Stores the value of `ty` whose flat values are `srcs` at
    /// `base + off` in memory (the canonical ABI's `store` of a lifted
    /// value, done from its flat form).
    fn store_flat(&mut self, ty: &Ty, base: u32, off: u32, srcs: &mut std::slice::Iter<'_, Src>) {
        let mut prim = |g: &mut FnGen, want: Flat, store: I<'static>| {
            let s = Self::next(srcs);
            g.op(I::LocalGet(base));
            g.push(s, want);
            g.op(store);
        };
        match ty {
            Ty::Bool | Ty::S8 | Ty::U8 => prim(self, Flat::I32, I::I32Store8(ma(off))),
            Ty::S16 | Ty::U16 => prim(self, Flat::I32, I::I32Store16(ma(off))),
            Ty::S32 | Ty::U32 | Ty::Char => prim(self, Flat::I32, I::I32Store(ma(off))),
            Ty::S64 | Ty::U64 => prim(self, Flat::I64, I::I64Store(ma(off))),
            Ty::F32 => prim(self, Flat::F32, I::F32Store(ma(off))),
            Ty::F64 => prim(self, Flat::F64, I::F64Store(ma(off))),
            Ty::Enum { .. } | Ty::Flags { .. } => {
                let store = match ty.size_align().0 {
                    1 => I::I32Store8(ma(off)),
                    2 => I::I32Store16(ma(off)),
                    _ => I::I32Store(ma(off)),
                };
                prim(self, Flat::I32, store)
            }
            Ty::String | Ty::List(_) => {
                prim(self, Flat::I32, I::I32Store(ma(off)));
                prim(self, Flat::I32, I::I32Store(ma(off + 4)));
            }
            Ty::Record { fields: ts, .. } | Ty::Tuple(ts) => {
                for (t, o) in ts.iter().zip(ty.field_offsets()) {
                    self.store_flat(t, base, off + o, srcs);
                }
            }
            Ty::Variant { .. } | Ty::Option(_) | Ty::Result(..) => {
                let cases = ty.cases().unwrap_or_default();
                let dsize = disc_size(cases.len());
                let d = self.local(ValType::I32);
                let ds = Self::next(srcs);
                self.push(ds, Flat::I32);
                self.op(I::LocalSet(d));
                let slots: Vec<Src> = ty.joined().iter().map(|_| Self::next(srcs)).collect();
                let poff = off + ty.payload_offset();
                for (k, case) in cases.iter().enumerate() {
                    self.ops([
                        I::LocalGet(d),
                        I::I32Const(k as i32),
                        I::I32Eq,
                        I::If(BlockType::Empty),
                        I::LocalGet(base),
                        I::I32Const(k as i32),
                    ]);
                    self.store_disc(dsize, off);
                    if let Some(t) = case {
                        self.store_flat(t, base, poff, &mut slots.iter());
                    }
                    self.op(I::End);
                }
            }
            Ty::FixedList(..) | Ty::Map(..) => self.store_flat(&ty.abi(), base, off, srcs),
        }
    }

    /// Pushes the value of `ty` at `base + off` as its one flat value
    /// (`ty` must flatten to one value).
    fn load_single(&mut self, ty: &Ty, base: u32, off: u32) {
        self.op(I::LocalGet(base));
        self.load_single_at(ty, off);
    }

    fn load_single_at(&mut self, ty: &Ty, off: u32) {
        match ty {
            Ty::Bool | Ty::U8 => self.op(I::I32Load8U(ma(off))),
            Ty::S8 => self.op(I::I32Load8S(ma(off))),
            Ty::U16 => self.op(I::I32Load16U(ma(off))),
            Ty::S16 => self.op(I::I32Load16S(ma(off))),
            Ty::S32 | Ty::U32 | Ty::Char => self.op(I::I32Load(ma(off))),
            Ty::S64 | Ty::U64 => self.op(I::I64Load(ma(off))),
            Ty::F32 => self.op(I::F32Load(ma(off))),
            Ty::F64 => self.op(I::F64Load(ma(off))),
            Ty::Enum { .. } | Ty::Flags { .. } => self.load_disc(ty.size_align().0, off),
            Ty::Variant { .. } | Ty::Option(_) | Ty::Result(..) => {
                self.load_disc(disc_size(ty.cases().unwrap_or_default().len()), off)
            }
            Ty::Record { fields: ts, .. } | Ty::Tuple(ts) if ts.len() == 1 => {
                self.load_single_at(&ts[0], off)
            }
            Ty::FixedList(t, 1) => self.load_single_at(t, off),
            // Not reached: these flatten to more than one value.
            _ => self.op(I::Unreachable),
        }
    }

    /// `local += by`.
    fn bump(&mut self, l: u32, by: i32) {
        self.ops([I::LocalGet(l), I::I32Const(by), I::I32Add, I::LocalSet(l)]);
    }

    /// Swaps the ASCII letters' case in `len` code units of `unit` bytes
    /// from `ptr` (locals).
    fn swap_units(&mut self, ptr: u32, len: u32, unit: u32) {
        let end = self.local(ValType::I32);
        let p = self.local(ValType::I32);
        let c = self.local(ValType::I32);
        let (load, store) = if unit == 1 {
            (I::I32Load8U(ma(0)), I::I32Store8(ma(0)))
        } else {
            (I::I32Load16U(ma(0)), I::I32Store16(ma(0)))
        };
        self.ops([
            I::LocalGet(ptr),
            I::LocalSet(p),
            I::LocalGet(ptr),
            I::LocalGet(len),
            I::I32Const(unit as i32),
            I::I32Mul,
            I::I32Add,
            I::LocalSet(end),
            I::Block(BlockType::Empty),
            I::Loop(BlockType::Empty),
            I::LocalGet(p),
            I::LocalGet(end),
            I::I32GeU,
            I::BrIf(1),
            I::LocalGet(p),
            load,
            I::LocalSet(c),
        ]);
        self.swap_case_of(c);
        self.ops([I::LocalGet(p), I::LocalGet(c), store]);
        self.bump(p, unit as i32);
        self.ops([I::Br(0), I::End, I::End]);
    }

    /// `c = c ^ 0x20` if `c` is an ASCII letter.
    fn swap_case_of(&mut self, c: u32) {
        self.ops([
            I::LocalGet(c),
            I::I32Const(0x20),
            I::I32Or,
            I::I32Const(b'a' as i32),
            I::I32Sub,
            I::I32Const(26),
            I::I32LtU,
            I::If(BlockType::Empty),
            I::LocalGet(c),
            I::I32Const(0x20),
            I::I32Xor,
            I::LocalSet(c),
            I::End,
        ]);
    }

    /// Transforms the value of `ty` at `base + off` in place, as
    /// [`crate::types::transform`] says.
    fn xform(&mut self, ty: &Ty, base: u32, off: u32) {
        let m = ma(off);
        let rmw = |g: &mut FnGen, load: I<'static>, change: &[I<'static>], store: I<'static>| {
            g.ops([I::LocalGet(base), I::LocalGet(base), load]);
            g.ops(change.iter().cloned());
            g.op(store);
        };
        let inc32 = [I::I32Const(1), I::I32Add];
        match ty {
            Ty::Bool => rmw(
                self,
                I::I32Load8U(m),
                &[I::I32Const(1), I::I32Xor],
                I::I32Store8(m),
            ),
            Ty::S8 | Ty::U8 => rmw(self, I::I32Load8U(m), &inc32, I::I32Store8(m)),
            Ty::S16 | Ty::U16 => rmw(self, I::I32Load16U(m), &inc32, I::I32Store16(m)),
            Ty::S32 | Ty::U32 => rmw(self, I::I32Load(m), &inc32, I::I32Store(m)),
            Ty::S64 | Ty::U64 => rmw(
                self,
                I::I64Load(m),
                &[I::I64Const(1), I::I64Add],
                I::I64Store(m),
            ),
            Ty::F32 => rmw(self, I::F32Load(m), &[I::F32Neg], I::F32Store(m)),
            Ty::F64 => rmw(self, I::F64Load(m), &[I::F64Neg], I::F64Store(m)),
            Ty::Char => {
                let c = self.local(ValType::I32);
                self.ops([I::LocalGet(base), I::I32Load(m), I::LocalSet(c)]);
                self.swap_case_of(c);
                self.ops([I::LocalGet(base), I::LocalGet(c), I::I32Store(m)]);
            }
            Ty::Flags { count, .. } => {
                let store = match ty.size_align().0 {
                    1 => I::I32Store8(m),
                    2 => I::I32Store16(m),
                    _ => I::I32Store(m),
                };
                self.ops([I::LocalGet(base), I::LocalGet(base)]);
                self.load_disc(ty.size_align().0, off);
                self.ops([I::I32Const(flags_mask(*count) as i32), I::I32Xor, store]);
            }
            Ty::Enum { cases, .. } => {
                let d = self.local(ValType::I32);
                let size = ty.size_align().0;
                self.op(I::LocalGet(base));
                self.load_disc(size, off);
                self.ops([
                    I::I32Const(1),
                    I::I32Add,
                    I::LocalSet(d),
                    I::LocalGet(base),
                    I::LocalGet(d),
                    I::I32Const(0),
                    I::LocalGet(d),
                    I::I32Const(*cases as i32),
                    I::I32Ne,
                    I::Select,
                ]);
                self.store_disc(size, off);
            }
            Ty::String => {
                let ptr = self.local(ValType::I32);
                let len = self.local(ValType::I32);
                self.ops([
                    I::LocalGet(base),
                    I::I32Load(m),
                    I::LocalSet(ptr),
                    I::LocalGet(base),
                    I::I32Load(ma(off + 4)),
                    I::LocalSet(len),
                ]);
                match self.enc {
                    Enc::Utf8 => self.swap_units(ptr, len, 1),
                    Enc::Utf16 => self.swap_units(ptr, len, 2),
                    Enc::Latin1Utf16 => {
                        // The tag bit says UTF-16 (code units in the rest).
                        self.ops([
                            I::LocalGet(len),
                            I::I32Const(i32::MIN),
                            I::I32And,
                            I::If(BlockType::Empty),
                            I::LocalGet(len),
                            I::I32Const(i32::MAX),
                            I::I32And,
                            I::LocalSet(len),
                        ]);
                        self.swap_units(ptr, len, 2);
                        self.op(I::Else);
                        self.swap_units(ptr, len, 1);
                        self.op(I::End);
                    }
                }
            }
            Ty::List(t) => {
                let (size, align) = t.size_align();
                let ptr = self.local(ValType::I32);
                let len = self.local(ValType::I32);
                let p = self.local(ValType::I32);
                let end = self.local(ValType::I32);
                self.ops([
                    I::LocalGet(base),
                    I::I32Load(m),
                    I::LocalSet(ptr),
                    I::LocalGet(base),
                    I::I32Load(ma(off + 4)),
                    I::LocalSet(len),
                    // Each element transformed.
                    I::LocalGet(ptr),
                    I::LocalSet(p),
                    I::LocalGet(ptr),
                    I::LocalGet(len),
                    I::I32Const(size as i32),
                    I::I32Mul,
                    I::I32Add,
                    I::LocalSet(end),
                    I::Block(BlockType::Empty),
                    I::Loop(BlockType::Empty),
                    I::LocalGet(p),
                    I::LocalGet(end),
                    I::I32GeU,
                    I::BrIf(1),
                ]);
                self.xform(t, p, 0);
                self.bump(p, size as i32);
                self.ops([I::Br(0), I::End, I::End]);
                // Then reversed: swap the ends through a scratch element
                // while they have not met (a list of 0 or 1 elements stays).
                let lo = self.local(ValType::I32);
                let hi = self.local(ValType::I32);
                self.ops([
                    I::LocalGet(len),
                    I::I32Const(1),
                    I::I32GtU,
                    I::If(BlockType::Empty),
                ]);
                let tmp = self.alloc(size, align);
                self.ops([
                    I::LocalGet(ptr),
                    I::LocalSet(lo),
                    I::LocalGet(end),
                    I::I32Const(size as i32),
                    I::I32Sub,
                    I::LocalSet(hi),
                    I::Block(BlockType::Empty),
                    I::Loop(BlockType::Empty),
                    I::LocalGet(lo),
                    I::LocalGet(hi),
                    I::I32GeU,
                    I::BrIf(1),
                ]);
                let copy = I::MemoryCopy {
                    src_mem: 0,
                    dst_mem: 0,
                };
                for (dst, src) in [(tmp, lo), (lo, hi), (hi, tmp)] {
                    self.ops([
                        I::LocalGet(dst),
                        I::LocalGet(src),
                        I::I32Const(size as i32),
                        copy.clone(),
                    ]);
                }
                self.bump(lo, size as i32);
                self.bump(hi, -(size as i32));
                self.ops([I::Br(0), I::End, I::End, I::End]);
            }
            Ty::Record { fields: ts, .. } | Ty::Tuple(ts) => {
                for (t, o) in ts.iter().zip(ty.field_offsets()) {
                    self.xform(t, base, off + o);
                }
            }
            Ty::Variant { .. } | Ty::Option(_) | Ty::Result(..) => {
                let cases = ty.cases().unwrap_or_default();
                if cases.iter().all(|c| c.is_none()) {
                    return;
                }
                let d = self.local(ValType::I32);
                self.op(I::LocalGet(base));
                self.load_disc(disc_size(cases.len()), off);
                self.op(I::LocalSet(d));
                let poff = off + ty.payload_offset();
                for (k, case) in cases.iter().enumerate() {
                    let Some(t) = case else { continue };
                    self.ops([
                        I::LocalGet(d),
                        I::I32Const(k as i32),
                        I::I32Eq,
                        I::If(BlockType::Empty),
                    ]);
                    self.xform(t, base, poff);
                    self.op(I::End);
                }
            }
            Ty::FixedList(..) | Ty::Map(..) => self.xform(&ty.abi(), base, off),
        }
    }

    /// The parameters as sources.
    fn param_srcs(ty: &Ty) -> Vec<Src> {
        ty.flat()
            .into_iter()
            .enumerate()
            .map(|(i, f)| Src {
                local: i as u32,
                ty: f,
            })
            .collect()
    }

    /// A local pointing at the argument in memory: the spilled parameter,
    /// or a fresh area the flat parameters are stored to.
    fn arg_in_memory(&mut self, ty: &Ty) -> u32 {
        if ty.flat().len() > MAX_FLAT_PARAMS {
            return 0;
        }
        let (size, align) = ty.size_align();
        let area = self.alloc(size, align);
        let srcs = Self::param_srcs(ty);
        self.store_flat(ty, area, 0, &mut srcs.iter());
        area
    }

    /// Returns the value at `area` as the lifted function's result.
    fn return_from_memory(&mut self, ty: &Ty, area: u32) {
        if ty.flat().len() == 1 {
            self.load_single(ty, area, 0);
        } else {
            self.op(I::LocalGet(area));
        }
    }
}

/// The body of `echo`: returns its argument.
pub fn echo(ty: &Ty, realloc: u32, enc: Enc) -> Function {
    let (params, _) = core_sig(ty, false);
    let mut g = FnGen::new(params.len(), realloc, enc);
    let n = ty.flat().len();
    if n == 1 || n > MAX_FLAT_PARAMS {
        // One flat value in and out, or the spilled argument's pointer
        // returned as the result's (the same layout).
        g.op(I::LocalGet(0));
    } else {
        let area = g.arg_in_memory(ty);
        g.op(I::LocalGet(area));
    }
    g.finish()
}

/// Where `take` keeps the value it got (its one flat value or its
/// pointer), below the allocator's start, for `give`.
const TAKEN: u32 = 8;

/// The store and load of a value's `echo` result (one core value) at
/// [`TAKEN`].
fn taken_ops(ty: &Ty) -> (I<'static>, I<'static>) {
    let (_, results) = core_sig(ty, false);
    match results.first() {
        Some(ValType::I64) => (I::I64Store(ma(TAKEN)), I::I64Load(ma(TAKEN))),
        Some(ValType::F32) => (I::F32Store(ma(TAKEN)), I::F32Load(ma(TAKEN))),
        Some(ValType::F64) => (I::F64Store(ma(TAKEN)), I::F64Load(ma(TAKEN))),
        _ => (I::I32Store(ma(TAKEN)), I::I32Load(ma(TAKEN))),
    }
}

/// The body of `take` (`(param "x" T) (result u32)`): keeps its argument
/// as `echo` would return it (at [`TAKEN`]) and returns 1 — a function
/// taking a string (or any value) and returning a scalar.
pub fn take(ty: &Ty, realloc: u32, enc: Enc) -> Function {
    let (params, _) = core_sig(ty, false);
    let mut g = FnGen::new(params.len(), realloc, enc);
    let n = ty.flat().len();
    let (store, _) = taken_ops(ty);
    let v = if n == 1 || n > MAX_FLAT_PARAMS {
        0
    } else {
        g.arg_in_memory(ty)
    };
    g.op(I::I32Const(0));
    g.op(I::LocalGet(v));
    g.op(store);
    g.op(I::I32Const(1));
    g.finish()
}

/// The body of `give` (`(param "k" u32) (result T)`): returns what `take`
/// kept — a function taking a scalar and returning a string (or any value).
pub fn give(ty: &Ty) -> Function {
    let mut g = FnGen::new(1, 0, Enc::Utf8);
    let (_, load) = taken_ops(ty);
    g.op(I::I32Const(0));
    g.op(load);
    g.finish()
}

/// The body of a forwarder of `take`: the arguments passed on, the `u32`
/// returned.
pub fn forward_take(nparams: usize, callee: u32) -> Function {
    let mut g = FnGen::new(nparams, 0, Enc::Utf8);
    for i in 0..nparams {
        g.op(I::LocalGet(i as u32));
    }
    g.op(I::Call(callee));
    g.finish()
}

/// The body of a forwarder of `give`: `forward` with one `u32` parameter.
pub fn forward_give(ty: &Ty, callee: u32, realloc: u32) -> Function {
    let mut g = FnGen::new(1, realloc, Enc::Utf8);
    let in_memory = ty.flat().len() > 1;
    let ret = in_memory.then(|| {
        let (size, align) = ty.size_align();
        g.alloc(size, align)
    });
    g.op(I::LocalGet(0));
    if let Some(r) = ret {
        g.op(I::LocalGet(r));
    }
    g.op(I::Call(callee));
    if let Some(r) = ret {
        g.op(I::LocalGet(r));
    }
    g.finish()
}

/// The body of `transform`: the argument in memory, transformed in place,
/// returned.
pub fn transform(ty: &Ty, realloc: u32, enc: Enc) -> Function {
    let (params, _) = core_sig(ty, false);
    let mut g = FnGen::new(params.len(), realloc, enc);
    let area = g.arg_in_memory(ty);
    g.xform(ty, area, 0);
    g.return_from_memory(ty, area);
    g.finish()
}

/// How `bad` breaks its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// `unreachable`: a trap in the guest.
    Unreachable,
    /// The result's pointer past the end of memory.
    PointerOutOfBounds,
    /// The result's pointer one byte off its alignment.
    PointerMisaligned,
    /// A discriminant one past the last case.
    Discriminant,
    /// A char that is a surrogate.
    Surrogate,
    /// A string or list whose bytes lie past the end of memory.
    ContentsOutOfBounds,
}

/// The first part of `ty` reachable through record and tuple fields (not
/// through lists or cases) that can be made invalid, with its offset.
pub fn breakable(ty: &Ty, off: u32) -> Option<(&Ty, u32)> {
    match ty {
        Ty::Char | Ty::String | Ty::List(_) | Ty::Enum { .. } => Some((ty, off)),
        Ty::Variant { .. } | Ty::Option(_) | Ty::Result(..) => Some((ty, off)),
        Ty::Record { fields: ts, .. } | Ty::Tuple(ts) => ts
            .iter()
            .zip(ty.field_offsets())
            .find_map(|(t, o)| breakable(t, off + o)),
        _ => None,
    }
}

/// The corruptions `bad` can apply to a result of `ty`.
pub fn corruptions(ty: &Ty) -> Vec<Corruption> {
    let ty = &ty.abi();
    let mut out = vec![Corruption::Unreachable];
    let (_, align) = ty.size_align();
    let n = ty.flat().len();
    if n > 1 {
        out.push(Corruption::PointerOutOfBounds);
        if align > 1 {
            out.push(Corruption::PointerMisaligned);
        }
    }
    match breakable(ty, 0) {
        Some((Ty::Char, _)) => out.push(Corruption::Surrogate),
        Some((Ty::String | Ty::List(_), _)) if n > 1 => out.push(Corruption::ContentsOutOfBounds),
        Some((Ty::Enum { cases, .. }, _)) if *cases < 256 => out.push(Corruption::Discriminant),
        Some((t @ (Ty::Variant { .. } | Ty::Option(_) | Ty::Result(..)), _))
            if t.cases().unwrap_or_default().len() < 256 =>
        {
            out.push(Corruption::Discriminant)
        }
        _ => {}
    }
    out
}

/// The body of `bad`: the argument echoed, then broken as `how` says; the
/// lifting of its result must trap.
pub fn bad(ty: &Ty, how: Corruption, realloc: u32, enc: Enc) -> Function {
    let ty = &ty.abi();
    let (params, _) = core_sig(ty, false);
    let mut g = FnGen::new(params.len(), realloc, enc);
    let area = g.arg_in_memory(ty);
    match how {
        Corruption::Unreachable => g.op(I::Unreachable),
        Corruption::PointerOutOfBounds => g.op(I::I32Const(-16)),
        Corruption::PointerMisaligned => g.ops([I::LocalGet(area), I::I32Const(1), I::I32Add]),
        Corruption::Discriminant | Corruption::Surrogate | Corruption::ContentsOutOfBounds => {
            let Some((t, off)) = breakable(ty, 0) else {
                g.op(I::Unreachable);
                return g.finish();
            };
            g.op(I::LocalGet(area));
            match (how, t) {
                (Corruption::Surrogate, _) => g.ops([I::I32Const(0xd800), I::I32Store(ma(off))]),
                (Corruption::ContentsOutOfBounds, _) => {
                    // The pointer near the end of the address space, one
                    // element or a few bytes long.
                    g.ops([I::I32Const(-8), I::I32Store(ma(off))]);
                    g.ops([
                        I::LocalGet(area),
                        I::I32Const(100),
                        I::I32Store(ma(off + 4)),
                    ]);
                }
                (_, Ty::Enum { cases, .. }) => {
                    g.op(I::I32Const(*cases as i32));
                    g.store_disc(disc_size(*cases as usize), off);
                }
                (_, t) => {
                    let n = t.cases().unwrap_or_default().len();
                    g.op(I::I32Const(n as i32));
                    g.store_disc(disc_size(n), off);
                }
            }
            g.return_from_memory(ty, area);
        }
    }
    g.finish()
}

/// The body of a forwarder: calls the lowered import `callee` with its
/// arguments; a result in memory is written to an area from `realloc`,
/// whose address is returned.
pub fn forward(ty: &Ty, callee: u32, realloc: u32) -> Function {
    let (params, _) = core_sig(ty, false);
    let mut g = FnGen::new(params.len(), realloc, Enc::Utf8);
    let in_memory = ty.flat().len() > 1;
    let ret = in_memory.then(|| {
        let (size, align) = ty.size_align();
        g.alloc(size, align)
    });
    for i in 0..params.len() {
        g.op(I::LocalGet(i as u32));
    }
    if let Some(r) = ret {
        g.op(I::LocalGet(r));
    }
    g.op(I::Call(callee));
    if let Some(r) = ret {
        g.op(I::LocalGet(r));
    }
    g.finish()
}

/// The body of `realloc (old_ptr old_size align new_size) -> ptr`: a bump
/// allocator over global 0, growing the memory as needed, copying the old
/// contents (the canonical ABI reallocates when a transcoded string turns
/// out shorter or longer than first allocated).
///
/// An `evil` allocator returns a pointer out of bounds, or one byte past
/// the aligned one when the alignment asked for is more than 1: every
/// lowering that allocates must then trap.
pub fn realloc_body(evil: Option<EvilRealloc>) -> Function {
    let mut g = FnGen::new(4, 0, Enc::Utf8);
    if evil == Some(EvilRealloc::OutOfBounds) {
        g.op(I::I32Const(-16));
        return g.finish();
    }
    let new = g.local(ValType::I32);
    g.ops([
        // new = (bump + align - 1) & -align
        I::GlobalGet(0),
        I::LocalGet(2),
        I::I32Add,
        I::I32Const(1),
        I::I32Sub,
        I::I32Const(0),
        I::LocalGet(2),
        I::I32Sub,
        I::I32And,
        I::LocalSet(new),
        // bump = new + new_size, trapping on overflow
        I::LocalGet(new),
        I::LocalGet(3),
        I::I32Add,
        I::GlobalSet(0),
        I::GlobalGet(0),
        I::LocalGet(new),
        I::I32LtU,
        I::If(BlockType::Empty),
        I::Unreachable,
        I::End,
        // grow to cover bump
        I::GlobalGet(0),
        I::MemorySize(0),
        I::I32Const(16),
        I::I32Shl,
        I::I32GtU,
        I::If(BlockType::Empty),
        I::GlobalGet(0),
        I::MemorySize(0),
        I::I32Const(16),
        I::I32Shl,
        I::I32Sub,
        I::I32Const(0xffff),
        I::I32Add,
        I::I32Const(16),
        I::I32ShrU,
        I::MemoryGrow(0),
        I::I32Const(-1),
        I::I32Eq,
        I::If(BlockType::Empty),
        I::Unreachable,
        I::End,
        I::End,
        // copy min(old_size, new_size) bytes
        I::LocalGet(1),
        I::If(BlockType::Empty),
        I::LocalGet(new),
        I::LocalGet(0),
        I::LocalGet(1),
        I::LocalGet(3),
        I::LocalGet(1),
        I::LocalGet(3),
        I::I32LtU,
        I::Select,
        I::MemoryCopy {
            src_mem: 0,
            dst_mem: 0,
        },
        I::End,
        I::LocalGet(new),
    ]);
    if evil == Some(EvilRealloc::Misaligned) {
        g.ops([I::LocalGet(2), I::I32Const(1), I::I32GtU, I::I32Add]);
    }
    g.finish()
}

/// How an evil `realloc` misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvilRealloc {
    OutOfBounds,
    Misaligned,
}

/// The body of `reset`: fills everything allocated since the start with
/// 0xee and starts the allocator again.
pub fn reset_body() -> Function {
    let mut g = FnGen::new(0, 0, Enc::Utf8);
    g.ops([
        I::I32Const(START as i32),
        I::I32Const(0xee),
        I::GlobalGet(0),
        I::I32Const(START as i32),
        I::I32Sub,
        I::MemoryFill(0),
        I::I32Const(START as i32),
        I::GlobalSet(0),
    ]);
    g.finish()
}

/// A body that ignores its `nparams` parameters and calls `f`.
pub fn call_only(nparams: usize, f: u32) -> Function {
    let mut g = FnGen::new(nparams, 0, Enc::Utf8);
    g.op(I::Call(f));
    g.finish()
}

/// Where the allocator starts.
const START: u32 = 16;

/// A core module being assembled: function types deduplicated.
#[derive(Default)]
pub struct CoreModule {
    types: TypeSection,
    sigs: Vec<(Vec<ValType>, Vec<ValType>)>,
    imports: ImportSection,
    imported_funcs: u32,
    funcs: FunctionSection,
    code: CodeSection,
    exports: ExportSection,
    memory: bool,
}

impl CoreModule {
    fn sig(&mut self, params: Vec<ValType>, results: Vec<ValType>) -> u32 {
        if let Some(i) = self
            .sigs
            .iter()
            .position(|(p, r)| *p == params && *r == results)
        {
            return i as u32;
        }
        self.types
            .ty()
            .function(params.iter().copied(), results.iter().copied());
        self.sigs.push((params, results));
        self.sigs.len() as u32 - 1
    }

    /// Imports a function (before any is defined); its index.
    pub fn import_func(
        &mut self,
        module: &str,
        name: &str,
        params: Vec<ValType>,
        results: Vec<ValType>,
    ) -> u32 {
        let t = self.sig(params, results);
        self.imports.import(module, name, EntityType::Function(t));
        self.imported_funcs += 1;
        self.imported_funcs - 1
    }

    pub fn import_memory(&mut self, module: &str, name: &str) {
        self.imports
            .import(module, name, EntityType::Memory(memory_type()));
    }

    /// Defines the memory (exported as `mem`) and the allocator's global.
    pub fn define_memory(&mut self) {
        self.memory = true;
        self.exports.export("mem", ExportKind::Memory, 0);
    }

    /// Defines a function (exported as `name` if given); its index.
    pub fn func(
        &mut self,
        name: Option<&str>,
        params: Vec<ValType>,
        results: Vec<ValType>,
        body: &Function,
    ) -> u32 {
        let t = self.sig(params, results);
        self.funcs.function(t);
        self.code.function(body);
        let index = self.imported_funcs + self.funcs.len() - 1;
        if let Some(n) = name {
            self.exports.export(n, ExportKind::Func, index);
        }
        index
    }

    pub fn finish(self) -> Module {
        let mut m = Module::new();
        m.section(&self.types);
        if !self.imports.is_empty() {
            m.section(&self.imports);
        }
        m.section(&self.funcs);
        if self.memory {
            let mut mems = MemorySection::new();
            mems.memory(memory_type());
            m.section(&mems);
            let mut globals = GlobalSection::new();
            globals.global(
                GlobalType {
                    val_type: ValType::I32,
                    mutable: true,
                    shared: false,
                },
                &ConstExpr::i32_const(START as i32),
            );
            m.section(&globals);
        }
        m.section(&self.exports);
        m.section(&self.code);
        m
    }
}

fn memory_type() -> MemoryType {
    MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    }
}

/// The allocator's signature.
pub fn realloc_sig() -> (Vec<ValType>, Vec<ValType>) {
    (vec![ValType::I32; 4], vec![ValType::I32])
}
