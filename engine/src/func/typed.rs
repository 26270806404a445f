//! Statically typed functions: `TypedFunc<Params, Results>` for calling wasm,
//! and `Func::wrap` / `Linker::func_wrap` for host functions written as
//! ordinary Rust closures. Values move as raw slots, with no `Val` in between.

#![allow(private_interfaces)]

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::func::{Caller, Func};
use crate::gc::ExternRef;
use crate::instance::Instance;
use crate::linker::Linker;
use crate::store::AsContextMut;
use crate::types::{FuncType, ValType};
use crate::vm::invoke::HostFn;
use crate::vm::store_opaque::StoreOpaque;
use crate::vm::vmcontext::ValRaw;

/// A Rust type that is a WebAssembly value type: `i32` and `u32` (`i32`),
/// `i64` and `u64` (`i64`), `f32`, `f64`, `u128` (`v128`, lane 0 in the
/// least significant bits), `Option<Func>` (`funcref`),
/// `Option<ExternRef>` (`externref`), `Option<ExnRef>` (`exnref`),
/// `Option<AnyRef>` (`anyref`), [`I31`](crate::I31) (`(ref i31)`), and
/// the GC references `Option<StructRef>` (`structref`), `StructRef`
/// (`(ref struct)`), `Option<ArrayRef>` (`arrayref`), `ArrayRef`
/// (`(ref array)`), `Option<EqRef>` (`eqref`) and `EqRef` (`(ref eq)`).
/// Unsigned integers are the same bits as their signed wasm type.
///
/// A parameter of a narrower type of the `any` hierarchy (a concrete
/// `(ref $t)`) may be typed with a wider view (`StructRef`, `EqRef`, ...):
/// each such argument is then checked against the parameter's type when
/// the function is called (an error, before the call, if it does not fit).
/// Results of a concrete struct or array type read as `StructRef`/`ArrayRef`.
///
/// Implemented for those types only; its methods are the engine's own
/// plumbing.
pub trait WasmTy: Sized + Send + 'static {
    #[doc(hidden)]
    fn valtype() -> ValType;
    #[doc(hidden)]
    fn to_raw(self, store: &StoreOpaque) -> ValRaw;
    /// # Safety
    /// `raw` holds a value of `Self::valtype()` from this store.
    #[doc(hidden)]
    unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self;
}

macro_rules! wasm_ty_num {
    ($($t:ty => $vt:ident, $field:ident as $ft:ty;)*) => {$(
        impl WasmTy for $t {
            fn valtype() -> ValType { ValType::$vt }
            fn to_raw(self, _: &StoreOpaque) -> ValRaw {
                let mut raw = ValRaw::ZERO;
                raw.$field = self as $ft;
                raw
            }
            unsafe fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
                // SAFETY: the caller guarantees the slot holds this type.
                unsafe { raw.$field as $t }
            }
        }
    )*};
}

wasm_ty_num! {
    i32 => I32, i32 as i32;
    u32 => I32, i32 as i32;
    i64 => I64, i64 as i64;
    u64 => I64, i64 as i64;
}

impl WasmTy for f32 {
    fn valtype() -> ValType {
        ValType::F32
    }
    fn to_raw(self, _: &StoreOpaque) -> ValRaw {
        let mut raw = ValRaw::ZERO;
        raw.f32 = self.to_bits();
        raw
    }
    unsafe fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: the caller guarantees the slot holds an f32.
        f32::from_bits(unsafe { raw.f32 })
    }
}

impl WasmTy for f64 {
    fn valtype() -> ValType {
        ValType::F64
    }
    fn to_raw(self, _: &StoreOpaque) -> ValRaw {
        ValRaw {
            f64: self.to_bits(),
        }
    }
    unsafe fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: the caller guarantees the slot holds an f64.
        f64::from_bits(unsafe { raw.f64 })
    }
}

impl WasmTy for u128 {
    fn valtype() -> ValType {
        ValType::V128
    }
    fn to_raw(self, _: &StoreOpaque) -> ValRaw {
        ValRaw {
            v128: self.to_le_bytes(),
        }
    }
    unsafe fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: every bit pattern is a valid [u8; 16].
        u128::from_le_bytes(unsafe { raw.v128 })
    }
}

impl WasmTy for Option<Func> {
    fn valtype() -> ValType {
        ValType::FuncRef
    }
    fn to_raw(self, store: &StoreOpaque) -> ValRaw {
        crate::values::Val::FuncRef(self).to_raw(store)
    }
    unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: the caller guarantees the slot holds a funcref.
        Func::from_raw(store, unsafe { raw.r#ref })
    }
}

impl WasmTy for Option<ExternRef> {
    fn valtype() -> ValType {
        ValType::ExternRef
    }
    fn to_raw(self, store: &StoreOpaque) -> ValRaw {
        crate::values::Val::ExternRef(self).to_raw(store)
    }
    unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: the caller guarantees the slot holds an externref.
        ExternRef::from_raw(store, unsafe { raw.r#ref })
    }
}

impl WasmTy for Option<crate::ExnRef> {
    fn valtype() -> ValType {
        ValType::ExnRef
    }
    fn to_raw(self, store: &StoreOpaque) -> ValRaw {
        crate::values::Val::ExnRef(self).to_raw(store)
    }
    unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: the caller guarantees the slot holds an exnref.
        crate::ExnRef::from_raw(store, unsafe { raw.r#ref })
    }
}

impl WasmTy for Option<crate::AnyRef> {
    fn valtype() -> ValType {
        ValType::AnyRef
    }
    fn to_raw(self, store: &StoreOpaque) -> ValRaw {
        crate::values::Val::AnyRef(self).to_raw(store)
    }
    unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: the caller guarantees the slot holds an `any` reference,
        // a `u32` in the low bits.
        crate::AnyRef::from_raw(store, unsafe { raw.i32 } as u32)
    }
}

/// `(ref i31)`: a non-null `i31ref`.
impl WasmTy for crate::I31 {
    fn valtype() -> ValType {
        ValType::Ref(crate::RefType::non_null(crate::HeapType::I31))
    }
    fn to_raw(self, store: &StoreOpaque) -> ValRaw {
        crate::values::Val::AnyRef(Some(crate::AnyRef::from_i31(self))).to_raw(store)
    }
    unsafe fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self {
        // SAFETY: the caller guarantees the slot holds a `(ref i31)`: a
        // tagged `u32` in the low bits.
        crate::I31::new_u32((unsafe { raw.i32 } as u32) >> 1)
    }
}

macro_rules! wasm_ty_gc {
    ($($t:ident => $heap:ident, $name:literal;)*) => {$(
        #[doc = concat!("`", $name, "`: a nullable reference (`(ref null ", stringify!($heap), ")`).")]
        impl WasmTy for Option<crate::$t> {
            fn valtype() -> ValType {
                ValType::Ref(crate::RefType::nullable(crate::HeapType::$heap))
            }
            fn to_raw(self, store: &StoreOpaque) -> ValRaw {
                crate::values::Val::AnyRef(self.map(crate::$t::to_anyref)).to_raw(store)
            }
            unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
                // SAFETY: the caller guarantees the slot holds a reference
                // of this type, a `u32` in the low bits.
                crate::AnyRef::from_raw(store, unsafe { raw.i32 } as u32)
                    .map(crate::$t::from_any_unchecked)
            }
        }

        #[doc = concat!("`(ref ", stringify!($heap), ")`: a non-null reference. One whose root ended \
            goes to wasm as null (which traps where wasm uses it).")]
        impl WasmTy for crate::$t {
            fn valtype() -> ValType {
                ValType::Ref(crate::RefType::non_null(crate::HeapType::$heap))
            }
            fn to_raw(self, store: &StoreOpaque) -> ValRaw {
                crate::values::Val::AnyRef(Some(self.to_anyref())).to_raw(store)
            }
            unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
                let id = store.id();
                // SAFETY: as above; a non-null type's slot is never null,
                // but a null would give a handle that never resolves.
                crate::AnyRef::from_raw(store, unsafe { raw.i32 } as u32).map_or_else(
                    || crate::$t::from_any_unchecked(crate::AnyRef::dangling(id)),
                    crate::$t::from_any_unchecked,
                )
            }
        }
    )*};
}

wasm_ty_gc! {
    StructRef => Struct, "structref";
    ArrayRef => Array, "arrayref";
    EqRef => Eq, "eqref";
}

/// A list of wasm values: `()`, a single [`WasmTy`], or a tuple of up to ten
/// of them. The parameter and result types of a [`TypedFunc`].
pub trait WasmList: Sized + Send + 'static {
    /// How many values (`Self::valtypes().len()`), without allocating.
    #[doc(hidden)]
    const LEN: usize;
    #[doc(hidden)]
    fn valtypes() -> Vec<ValType>;
    #[doc(hidden)]
    fn store_raw(self, store: &StoreOpaque, out: &mut [ValRaw]);
    /// # Safety
    /// `values` holds values of `Self::valtypes()` from this store.
    #[doc(hidden)]
    unsafe fn load_raw(store: &mut StoreOpaque, values: &[ValRaw]) -> Self;
}

impl<T: WasmTy> WasmList for T {
    const LEN: usize = 1;
    fn valtypes() -> Vec<ValType> {
        vec![T::valtype()]
    }
    fn store_raw(self, store: &StoreOpaque, out: &mut [ValRaw]) {
        out[0] = self.to_raw(store);
    }
    unsafe fn load_raw(store: &mut StoreOpaque, values: &[ValRaw]) -> Self {
        // SAFETY: forwarded from the caller.
        unsafe { T::from_raw(store, values[0]) }
    }
}

macro_rules! wasm_list_tuple {
    ($($t:ident $i:tt),*) => {
        impl<$($t: WasmTy),*> WasmList for ($($t,)*) {
            const LEN: usize = 0 $(+ { let _ = $i; 1 })*;
            fn valtypes() -> Vec<ValType> {
                vec![$($t::valtype()),*]
            }
            #[allow(unused_variables)]
            fn store_raw(self, store: &StoreOpaque, out: &mut [ValRaw]) {
                $(out[$i] = self.$i.to_raw(store);)*
            }
            #[allow(unused_variables, unused_unsafe, clippy::unused_unit)]
            unsafe fn load_raw(store: &mut StoreOpaque, values: &[ValRaw]) -> Self {
                // SAFETY: forwarded from the caller.
                unsafe { ($($t::from_raw(store, values[$i]),)*) }
            }
        }
    };
}

wasm_list_tuple!();
wasm_list_tuple!(A 0);
wasm_list_tuple!(A 0, B 1);
wasm_list_tuple!(A 0, B 1, C 2);
wasm_list_tuple!(A 0, B 1, C 2, D 3);
wasm_list_tuple!(A 0, B 1, C 2, D 3, E 4);
wasm_list_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
wasm_list_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
wasm_list_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
wasm_list_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
wasm_list_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);

/// What a host closure may return: its results (a [`WasmList`]), or a
/// [`Result`](crate::Result) of them, whose `Err` fails the call that reached
/// the host function.
pub trait HostResult: Send + 'static {
    #[doc(hidden)]
    type Results: WasmList;
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Results>;
}

impl<R: WasmList> HostResult for R {
    type Results = R;
    fn into_result(self) -> Result<R> {
        Ok(self)
    }
}

impl<R: WasmList> HostResult for Result<R> {
    type Results = R;
    fn into_result(self) -> Result<R> {
        self
    }
}

/// A Rust closure that can be a host function ([`Func::wrap`],
/// [`Linker::func_wrap`]): `Fn(A1, A2, ...) -> R` or
/// `Fn(Caller<'_, T>, A1, A2, ...) -> R`, with up to ten [`WasmTy`]
/// arguments and a [`HostResult`] `R`. `Params` is a marker that tells the
/// two forms apart; it is always inferred.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_host_fn(self) -> (FuncType, HostFn<T>);
}

macro_rules! into_func {
    ($($a:ident $i:tt),*) => {
        // Closures that take the caller first.
        impl<T: 'static, F, R, $($a: WasmTy),*> IntoFunc<T, (Caller<'static, T>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            R: HostResult,
        {
            #[allow(unused_variables, non_snake_case)]
            fn into_host_fn(self) -> (FuncType, HostFn<T>) {
                let ty = FuncType {
                    params: vec![$($a::valtype()),*],
                    results: R::Results::valtypes(),
                };
                let call = HostFn::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
                    // SAFETY: the trampoline wrote values of the declared parameter types.
                    $(let $a = unsafe { $a::from_raw(&mut caller.store.opaque, values[$i]) };)*
                    let store: *const StoreOpaque = &caller.store.opaque;
                    let r = self(caller, $($a),*).into_result()?;
                    // SAFETY: the caller's store outlives this call; the
                    // closure's borrow of it has ended.
                    r.store_raw(unsafe { &*store }, values);
                    Ok(())
                });
                (ty, call)
            }
        }

        // Closures that take just the arguments.
        impl<T: 'static, F, R, $($a: WasmTy),*> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: HostResult,
        {
            #[allow(unused_variables, non_snake_case)]
            fn into_host_fn(self) -> (FuncType, HostFn<T>) {
                let ty = FuncType {
                    params: vec![$($a::valtype()),*],
                    results: R::Results::valtypes(),
                };
                let call = HostFn::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
                    // SAFETY: the trampoline wrote values of the declared parameter types.
                    $(let $a = unsafe { $a::from_raw(&mut caller.store.opaque, values[$i]) };)*
                    let r = self($($a),*).into_result()?;
                    r.store_raw(&caller.store.opaque, values);
                    Ok(())
                });
                (ty, call)
            }
        }
    };
}

into_func!();
into_func!(A1 0);
into_func!(A1 0, A2 1);
into_func!(A1 0, A2 1, A3 2);
into_func!(A1 0, A2 1, A3 2, A4 3);
into_func!(A1 0, A2 1, A3 2, A4 3, A5 4);
into_func!(A1 0, A2 1, A3 2, A4 3, A5 4, A6 5);
into_func!(A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6);
into_func!(A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7);
into_func!(A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8);
into_func!(A1 0, A2 1, A3 2, A4 3, A5 4, A6 5, A7 6, A8 7, A9 8, A10 9);

impl Func {
    /// A host function from a Rust closure; its wasm type follows from the
    /// closure's parameter and result types (see [`IntoFunc`]).
    ///
    /// ```
    /// use nyash_engine::{Caller, Engine, Func, Store};
    ///
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, 10i64);
    /// let add = Func::wrap(&mut store, |caller: Caller<'_, i64>, x: i64| x + *caller.data());
    /// assert_eq!(add.typed::<i64, i64>(&store)?.call(&mut store, 5)?, 15);
    /// # Ok::<(), nyash_engine::Error>(())
    /// ```
    pub fn wrap<T: 'static, P, R>(
        mut store: impl AsContextMut<Data = T>,
        f: impl IntoFunc<T, P, R>,
    ) -> Func {
        let (ty, call) = f.into_host_fn();
        Func::new_raw(store.as_context_mut().0, ty, call)
            .expect("a trampoline for a host function type always compiles")
    }

    /// This function with static types `P` (parameters) and `R` (results);
    /// fails if they are not its type. The check is made here, once, so
    /// [`TypedFunc::call`] does not repeat it. With typed references,
    /// `P` must be subtypes of the parameter types (an `Option<Func>`,
    /// a `funcref`, cannot be passed as a `(ref $t)`), except that a GC
    /// reference view may stand for a narrower parameter type of its
    /// hierarchy (a `StructRef` for a `(ref $t)`; its argument is checked
    /// at each call); and the result types must be subtypes of `R` (a
    /// `(ref $t)` result reads as an `Option<Func>`).
    pub fn typed<P: WasmList, R: WasmList>(
        &self,
        store: impl crate::AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let store = store.as_context();
        // Compared in the type registry's (the compiler's) words.
        let ty = self.ty(&store).to_aot();
        let want = FuncType {
            params: P::valtypes(),
            results: R::valtypes(),
        }
        .to_aot();
        let types = store.0.opaque.engine().types();
        // A GC reference view (`StructRef`, `EqRef`, ...) may stand for a
        // parameter of a narrower type of its hierarchy (`(ref $t)`): each
        // such argument is then checked when the function is called.
        let mut checked = 0u64;
        let params_fit = want.params.len() == ty.params.len()
            && want
                .params
                .iter()
                .zip(&ty.params)
                .enumerate()
                .all(|(i, (r, w))| {
                    if types.matches(*r, *w) {
                        return true;
                    }
                    let (nyash_aot::WasmType::Ref(rr), nyash_aot::WasmType::Ref(wr)) = (r, w)
                    else {
                        return false;
                    };
                    let narrower = i < 64
                        && types.top(rr.heap) == nyash_aot::HeapType::Any
                        && types.heap_matches(wr.heap, rr.heap)
                        && (wr.nullable || !rr.nullable);
                    if narrower {
                        checked |= 1 << i;
                    }
                    narrower
                });
        let fits = params_fit
            && ty.results.len() == want.results.len()
            && ty
                .results
                .iter()
                .zip(&want.results)
                .all(|(w, r)| types.matches(*w, *r));
        drop(types);
        if !fits {
            return Err(Error::msg(format!(
                "type mismatch: the function is {ty}, requested {want}"
            )));
        }
        Ok(TypedFunc {
            func: *self,
            checked,
            _marker: PhantomData,
        })
    }
}

/// A function with static parameter types `Params` and result types
/// `Results` (each a [`WasmList`]), checked once when it is made
/// ([`Func::typed`], [`Instance::get_typed_func`]). Calls move values
/// without any [`Val`](crate::Val) in between. `Copy`, like [`Func`].
pub struct TypedFunc<Params, Results> {
    func: Func,
    /// Parameters (bit `i` for parameter `i`) of a narrower GC type than
    /// their Rust type says (a `StructRef` for a `(ref $t)`): their values
    /// are checked against the parameter's type at each call.
    checked: u64,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmList, R: WasmList> TypedFunc<P, R> {
    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Calls the function. A trap or a failing host function is returned as
    /// the error. Panics if `store` is not the function's store.
    #[inline]
    pub fn call<T: 'static>(&self, mut store: impl AsContextMut<Data = T>, params: P) -> Result<R> {
        let store = store.as_context_mut().0;
        // Room for the larger of the two lists (`n` is a constant): only
        // those slots are initialised, not the whole array.
        let n = P::LEN.max(R::LEN).max(1);
        let mut buf = std::mem::MaybeUninit::<[ValRaw; 16]>::uninit();
        let mut heap;
        let values: &mut [ValRaw] = if n <= 16 {
            let first = buf.as_mut_ptr().cast::<ValRaw>();
            // SAFETY: `n <= 16` slots of the array, each initialised before
            // the slice over them is made.
            unsafe {
                for i in 0..n {
                    first.add(i).write(ValRaw::ZERO);
                }
                std::slice::from_raw_parts_mut(first, n)
            }
        } else {
            heap = vec![ValRaw::ZERO; n];
            &mut heap
        };
        params.store_raw(&store.opaque, values);
        self.check_args(&store.opaque, values)?;
        self.func.call_raw(store, values)?;
        // SAFETY: the function's type was checked when this TypedFunc was made.
        Ok(unsafe { R::load_raw(&mut store.opaque, values) })
    }
}

impl<P, R> TypedFunc<P, R> {
    /// Checks the arguments of narrower GC parameter types (see
    /// [`TypedFunc::checked`](Self)) against the function's type.
    #[inline]
    pub(crate) fn check_args(&self, store: &StoreOpaque, values: &[ValRaw]) -> Result<()> {
        if self.checked == 0 {
            return Ok(());
        }
        self.check_args_slow(store, values)
    }

    #[inline(never)]
    fn check_args_slow(&self, store: &StoreOpaque, values: &[ValRaw]) -> Result<()> {
        let ty = store.engine().type_of(store.func(&self.func).type_id);
        for (i, t) in ty.params.iter().enumerate() {
            if self.checked & (1 << i) == 0 {
                continue;
            }
            let ValType::Ref(r) = *t else { continue };
            // SAFETY: an `any` reference argument is a `u32` in the low bits.
            let raw = unsafe { values[i].i32 } as u32;
            if !crate::vm::gc_heap::raw_matches(store, raw, r.to_aot()) {
                return Err(Error::msg(format!(
                    "argument {i}: not a value of the parameter type {t}"
                )));
            }
        }
        Ok(())
    }
}

impl Instance {
    /// An exported function with static types: fails if there is no
    /// exported function `name` or its type is not `P -> R`.
    pub fn get_typed_func<P: WasmList, R: WasmList>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let f = self
            .get_func(&mut store, name)
            .ok_or_else(|| Error::msg(format!("no exported function `{name}`")))?;
        f.typed(&store)
    }
}

impl<T: 'static> Linker<T> {
    /// Defines an async host function `module::name`: the closure gets the
    /// caller and the arguments as a tuple (`(i32,)` for one) and returns a
    /// boxed future of the results. Wasm that calls it must run in an async
    /// call ([`TypedFunc::call_async`], [`Func::call_async`],
    /// [`Linker::instantiate_async`]); while the future is pending the call
    /// suspends. Reached from a synchronous call, it fails.
    ///
    /// Fails if `module::name` is already defined (unless
    /// [`Linker::allow_shadowing`]). See the [crate docs](crate#async) for
    /// an example.
    pub fn func_wrap_async<P: WasmList, R: WasmList>(
        &mut self,
        module: &str,
        name: &str,
        f: impl for<'a> Fn(
            Caller<'a, T>,
            P,
        ) -> Box<dyn std::future::Future<Output = Result<R>> + Send + 'a>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self> {
        let ty = FuncType {
            params: P::valtypes(),
            results: R::valtypes(),
        };
        let call = HostFn::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
            let store: *mut StoreOpaque = &mut caller.store.opaque;
            // SAFETY: the trampoline wrote values of the declared parameter types.
            let params = unsafe { P::load_raw(&mut *store, values) };
            let mut future = std::pin::Pin::from(f(caller, params));
            let results = crate::vm::async_driver::block_on_fiber(future.as_mut());
            drop(future);
            let results = results?;
            // SAFETY: the future, and with it its borrow of the store, is gone.
            results.store_raw(unsafe { &*store }, values);
            Ok(())
        });
        self.func_raw(module, name, ty, call)
    }

    /// Defines a host function `module::name` from a Rust closure; its wasm
    /// type follows from the closure's types (see [`IntoFunc`]). Fails if
    /// `module::name` is already defined (unless [`Linker::allow_shadowing`]).
    pub fn func_wrap<P, R>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, P, R>,
    ) -> Result<&mut Self> {
        let (ty, call) = f.into_host_fn();
        self.func_raw(module, name, ty, call)
    }
}

impl<P: WasmList, R: WasmList> TypedFunc<P, R> {
    /// Calls the function in an async call (see [`Func::call_async`]); the
    /// typed counterpart of [`TypedFunc::call`].
    pub async fn call_async<T: Send + 'static>(
        &self,
        mut store: impl AsContextMut<Data = T> + Send,
        params: P,
    ) -> Result<R> {
        let store = store.as_context_mut().0;
        let n = P::LEN.max(R::LEN).max(1);
        let mut values = vec![ValRaw::ZERO; n];
        params.store_raw(&store.opaque, &mut values);
        self.check_args(&store.opaque, &values)?;
        self.func().call_raw_async(store, &mut values).await?;
        // SAFETY: the function's type was checked when this TypedFunc was made.
        Ok(unsafe { R::load_raw(&mut store.opaque, &values) })
    }
}
