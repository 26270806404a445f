//! Values crossing the host boundary.

use crate::func::Func;
use crate::gc::{AnyRef, ExternRef};
use crate::store::AsContext;
use crate::types::{HeapType, RefType, ValType};
use crate::vm::store_opaque::StoreOpaque;
use crate::vm::vmcontext::ValRaw;

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
    /// A reference of the `any` hierarchy (`anyref`, `eqref`, `i31ref`,
    /// `nullref`, struct and array references), `None` for null.
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The value's type; for a reference the top of its hierarchy,
    /// `funcref`, `externref`, `exnref` or `anyref` (a function's own type is
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
            Val::AnyRef(_) => ValType::AnyRef,
        }
    }

    /// The default (zero or null) value of a type. For a non-nullable
    /// reference type, which has no default, null of its hierarchy: a
    /// placeholder (for result slots to be overwritten), not a value of the
    /// type. A concrete type's hierarchy depends on its definition, which
    /// only the engine knows: for an engine id this answers funcref's null,
    /// also a placeholder if the type is a struct or array type (whose
    /// null is `Val::AnyRef(None)`).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => match r.heap.abstract_top() {
                HeapType::Extern => Val::ExternRef(None),
                HeapType::Exn => Val::ExnRef(None),
                HeapType::Any => Val::AnyRef(None),
                _ => Val::FuncRef(None),
            },
        }
    }

    /// [`Val::default_for`] with concrete types resolved by the store's
    /// engine: a struct or array type's null is `Val::AnyRef(None)`.
    pub(crate) fn default_in(store: &StoreOpaque, ty: ValType) -> Val {
        match ty {
            ValType::Ref(r) => Val::default_for(ValType::Ref(RefType {
                nullable: r.nullable,
                heap: r.heap.top_in(store),
            })),
            other => Val::default_for(other),
        }
    }

    /// Whether the value is of type `ty` (WebAssembly 3.0 subtyping: a
    /// function matches `(ref $t)` if its type is `$t` or a declared
    /// subtype; a null reference, of whatever kind, matches every nullable
    /// reference type and no other). `ty`'s concrete types
    /// are engine ids ([`HeapType::Engine`]), as in the types of a store's
    /// functions, globals and tables. Panics if a function is of another
    /// store.
    pub fn matches_ty(&self, store: impl AsContext, ty: ValType) -> bool {
        self.check_ty(&store.as_context().0.opaque, ty).is_ok()
    }

    /// [`Val::matches_ty`], saying why not.
    /// Whether this is a null reference (of any kind).
    fn is_null_ref(&self) -> bool {
        matches!(
            self,
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None)
        )
    }

    pub(crate) fn check_ty(&self, store: &StoreOpaque, ty: ValType) -> Result<(), String> {
        let ValType::Ref(r) = ty else {
            return if self.ty() == ty {
                Ok(())
            } else {
                Err(format!("expected a value of type {ty}, got {}", self.ty()))
            };
        };
        // A null carries no type: any null reference fits any nullable
        // reference type (every null is 0 in raw form). So
        // `Val::default_for`, which cannot tell which hierarchy an engine
        // type id is in, still gives a usable null.
        if r.nullable && self.is_null_ref() {
            return Ok(());
        }
        let expected_top = r.heap.top_in(store);
        if let Val::AnyRef(a) = self {
            if expected_top != HeapType::Any {
                return Err(format!("expected a value of type {ty}, got {}", self.ty()));
            }
            let Some(a) = a else {
                return if r.nullable {
                    Ok(())
                } else {
                    Err(format!("null is not a value of the non-nullable type {ty}"))
                };
            };
            let actual = match a.object_type(store) {
                Ok(Some((nyash_gc::vm::Kind::Extern, _))) => HeapType::Any,
                Ok(Some((_, id))) => HeapType::Engine(id),
                Ok(None) => HeapType::I31,
                Err(e) => return Err(e.to_string()),
            };
            return if store
                .engine()
                .types()
                .heap_matches(actual.to_aot(), r.heap.to_aot())
            {
                Ok(())
            } else {
                Err(format!("expected a value of type {ty}, got an {actual}ref"))
            };
        }
        let (top, non_null) = match self {
            Val::FuncRef(f) => (HeapType::Func, f.is_some()),
            Val::ExternRef(e) => (HeapType::Extern, e.is_some()),
            Val::ExnRef(e) => (HeapType::Exn, e.is_some()),
            _ => return Err(format!("expected a value of type {ty}, got {}", self.ty())),
        };
        if expected_top != top {
            return Err(format!("expected a value of type {ty}, got {}", self.ty()));
        }
        if !non_null {
            return if r.nullable {
                Ok(())
            } else {
                Err(format!("null is not a value of the non-nullable type {ty}"))
            };
        }
        // The accessors check that the reference is this store's.
        let actual = match self {
            Val::FuncRef(Some(f)) => HeapType::Engine(store.func(f).type_id),
            Val::ExnRef(Some(e)) => {
                store.exnref_raw(e);
                HeapType::Exn
            }
            Val::ExternRef(Some(e)) => {
                store.externref_raw(e);
                HeapType::Extern
            }
            _ => HeapType::Extern,
        };
        if store
            .engine()
            .types()
            .heap_matches(actual.to_aot(), r.heap.to_aot())
        {
            Ok(())
        } else {
            let actual = match actual {
                HeapType::Engine(id) => {
                    format!("a function of type {}", store.engine().type_of(id))
                }
                HeapType::Exn => "an exnref".to_string(),
                _ => "an externref".to_string(),
            };
            Err(format!("expected a value of type {ty}, got {actual}"))
        }
    }

    /// The reference, if this is an `any`-hierarchy reference (`Some(None)`
    /// for its null).
    pub fn any_ref(&self) -> Option<Option<AnyRef>> {
        if let Val::AnyRef(r) = self {
            Some(*r)
        } else {
            None
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
                r#ref: f.map_or(0, |f| store.func(&f).func_ref as usize),
            },
            Val::ExternRef(e) => ValRaw {
                r#ref: e.map_or(0, |e| store.externref_raw(&e)),
            },
            Val::ExnRef(e) => ValRaw {
                r#ref: e.map_or(0, |e| store.exnref_raw(&e)),
            },
            // Zero-extended: generated code reads the low 32 bits as an
            // `I32`, and a table slot holds the whole word.
            Val::AnyRef(a) => ValRaw {
                r#ref: AnyRef::to_raw(store, a) as usize,
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
                ValType::Ref(r) => match r.heap.top_in(store) {
                    HeapType::Any => Val::AnyRef(AnyRef::from_raw(store, raw.i32 as u32)),
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
