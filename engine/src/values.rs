//! Values crossing the host boundary.

use crate::func::Func;
use crate::runtime::vm::ValRaw;
use crate::store::{AsContext, AsContextMut, StoreOpaque, check_store};
use crate::types::{HeapType, ValType};

/// A reference to a host value, opaque to wasm (`externref`). The value
/// lives as long as its store; the handle is `Copy`.
///
/// ```
/// use nyash_engine::{Engine, ExternRef, Store};
///
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let r = ExternRef::new(&mut store, String::from("state"));
/// let s = r.data(&store).downcast_ref::<String>().unwrap();
/// assert_eq!(s, "state");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl ExternRef {
    /// Wraps `value` as an `externref` owned by the store.
    pub fn new<T: std::any::Any + Send + Sync>(
        mut store: impl AsContextMut,
        value: T,
    ) -> ExternRef {
        let store = &mut store.as_context_mut().0.opaque;
        store.externrefs.push(Box::new(value));
        ExternRef {
            store: store.id,
            index: store.externrefs.len() as u32 - 1,
        }
    }

    /// The host value behind this reference; `downcast_ref` it to its
    /// type. Panics if `store` is not the reference's store.
    pub fn data<'a, T: 'a>(
        &self,
        store: &'a impl AsContext<Data = T>,
    ) -> &'a (dyn std::any::Any + Send + Sync) {
        let store = &store.as_context().0.opaque;
        check_store(store, self.store);
        &*store.externrefs[self.index as usize]
    }

    pub(crate) fn to_raw(self) -> usize {
        self.index as usize + 1
    }

    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> Option<ExternRef> {
        (raw != 0).then(|| ExternRef {
            store: store.id,
            index: (raw - 1) as u32,
        })
    }
}

/// A WebAssembly value, for dynamically typed calls ([`Func::call`]),
/// globals and tables. Floats are kept as bits so NaN payloads survive;
/// `From<f32>` and `From<f64>` convert, and [`Val::f32`] / [`Val::f64`]
/// convert back.
///
/// ```
/// use nyash_engine::{Val, ValType};
///
/// let v = Val::from(1.5f32);
/// assert_eq!(v.ty(), ValType::F32);
/// assert_eq!(v.f32(), Some(1.5));
/// assert_eq!(v.i32(), None);
/// assert_eq!(Val::default_for(ValType::I64), Val::I64(0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// An `i32` (also the type of unsigned 32-bit values).
    I32(i32),
    /// An `i64` (also the type of unsigned 64-bit values).
    I64(i64),
    /// Bits of an `f32`.
    F32(u32),
    /// Bits of an `f64`.
    F64(u64),
    /// A `v128`: lane 0 in the least significant bits (the bytes of the
    /// `u128` in little-endian order are the vector's bytes in memory order).
    V128(u128),
    /// A `funcref`: a function, or null.
    FuncRef(Option<Func>),
    /// An `externref`: a host value, or null.
    ExternRef(Option<ExternRef>),
    /// An exception reference (`exnref`), `None` for null.
    ExnRef(Option<crate::exceptions::ExnRef>),
}

impl Val {
    /// The value's type; for a reference the top of its hierarchy,
    /// `funcref` or `externref` (a function's own type is
    /// [`Func::ty`]; [`Val::matches_ty`] checks a value against a typed
    /// reference type such as `(ref $t)`).
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::ExnRef(_) => ValType::ExnRef,
        }
    }

    /// The default (zero or null) value of a type. For a non-nullable
    /// reference type, which has no default, null of its hierarchy: a
    /// placeholder (for result slots to be overwritten), not a value of the
    /// type.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => match r.heap.top() {
                HeapType::Extern => Val::ExternRef(None),
                HeapType::Exn => Val::ExnRef(None),
                _ => Val::FuncRef(None),
            },
        }
    }

    /// Whether the value is of type `ty` (WebAssembly 3.0 subtyping: a
    /// function matches `(ref $t)` if its type is `$t` or a declared
    /// subtype; null matches only nullable types). `ty`'s concrete types
    /// are engine ids ([`HeapType::Engine`]), as in the types of a store's
    /// functions, globals and tables. Panics if a function is of another
    /// store.
    pub fn matches_ty(&self, store: impl AsContext, ty: ValType) -> bool {
        self.check_ty(&store.as_context().0.opaque, ty).is_ok()
    }

    /// [`Val::matches_ty`], saying why not.
    pub(crate) fn check_ty(&self, store: &StoreOpaque, ty: ValType) -> Result<(), String> {
        let ValType::Ref(r) = ty else {
            return if self.ty() == ty {
                Ok(())
            } else {
                Err(format!("expected a value of type {ty}, got {}", self.ty()))
            };
        };
        let (top, non_null) = match self {
            Val::FuncRef(f) => (HeapType::Func, f.map(|f| (f.store, f.index))),
            Val::ExternRef(e) => (HeapType::Extern, e.map(|e| (e.store, e.index))),
            Val::ExnRef(e) => (HeapType::Exn, e.map(|e| (e.store, e.index))),
            _ => return Err(format!("expected a value of type {ty}, got {}", self.ty())),
        };
        if r.heap.top() != top {
            return Err(format!("expected a value of type {ty}, got {}", self.ty()));
        }
        let Some((owner, index)) = non_null else {
            return if r.nullable {
                Ok(())
            } else {
                Err(format!("null is not a value of the non-nullable type {ty}"))
            };
        };
        check_store(store, owner);
        let actual = match self {
            Val::FuncRef(_) => HeapType::Engine(store.funcs[index as usize].type_id),
            Val::ExnRef(_) => HeapType::Exn,
            _ => HeapType::Extern,
        };
        if store.engine.types().heap_matches(actual, r.heap) {
            Ok(())
        } else {
            let actual = match actual {
                HeapType::Engine(id) => format!("a function of type {}", store.engine.type_of(id)),
                HeapType::Exn => "an exnref".to_string(),
                _ => "an externref".to_string(),
            };
            Err(format!("expected a value of type {ty}, got {actual}"))
        }
    }

    /// The value, if it is an `i32`.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// The value, if it is an `i64`.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }
    /// The value, if it is an `f32`.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }
    /// The value, if it is an `f64`.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The value, if it is a `v128`.
    pub fn v128(&self) -> Option<u128> {
        if let Val::V128(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    pub(crate) fn to_raw(self, store: &StoreOpaque) -> ValRaw {
        match self {
            Val::I32(v) => ValRaw {
                i64: v as u32 as i64,
            },
            Val::I64(v) => ValRaw { i64: v },
            Val::F32(v) => ValRaw { i64: v as i64 },
            Val::F64(v) => ValRaw { f64: v },
            Val::V128(v) => ValRaw {
                v128: v.to_le_bytes(),
            },
            Val::FuncRef(f) => ValRaw {
                r#ref: f.map_or(0, |f| {
                    check_store(store, f.store);
                    store.funcs[f.index as usize].func_ref as usize
                }),
            },
            Val::ExternRef(e) => ValRaw {
                r#ref: e.map_or(0, |e| {
                    check_store(store, e.store);
                    e.to_raw()
                }),
            },
            Val::ExnRef(e) => ValRaw {
                r#ref: e.map_or(0, |e| {
                    check_store(store, e.store);
                    e.to_raw()
                }),
            },
        }
    }

    /// # Safety
    /// `raw` must hold a value of type `ty` produced by this store.
    pub(crate) unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: ValType) -> Val {
        // SAFETY: the caller guarantees the raw value has type `ty`.
        unsafe {
            match ty {
                ValType::I32 => Val::I32(raw.i32),
                ValType::I64 => Val::I64(raw.i64),
                ValType::F32 => Val::F32(raw.f32),
                ValType::F64 => Val::F64(raw.f64),
                ValType::V128 => Val::V128(u128::from_le_bytes(raw.v128)),
                ValType::Ref(r) => match r.heap.top() {
                    HeapType::Extern => Val::ExternRef(ExternRef::from_raw(store, raw.r#ref)),
                    HeapType::Exn => {
                        Val::ExnRef(crate::exceptions::ExnRef::from_raw(store, raw.r#ref))
                    }
                    _ => Val::FuncRef(Func::from_raw(store, raw.r#ref)),
                },
            }
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}
impl From<u128> for Val {
    fn from(v: u128) -> Val {
        Val::V128(v)
    }
}
