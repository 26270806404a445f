//! Exception handling as the host sees it: tags ([`Tag`], [`TagType`]),
//! exception references ([`ExnRef`]) and the error of an exception no wasm
//! frame caught ([`Exception`]). How a throw finds its handler is
//! `vm/libcalls.rs`'s (the unwinder); how `try_table` becomes `try_call`s is
//! `aot/src/translate/exceptions.rs`'s.

use std::fmt;

use crate::error::{Error, Result};
use crate::store::{AsContext, AsContextMut};
use crate::types::ValType;
use crate::values::Val;
use crate::vm::store_opaque::{ExnData, StoreOpaque, TagData};
use crate::vm::vmcontext::ValRaw;

/// The type of an exception tag: the types of the payload values an
/// exception of the tag carries (a tag is a function type without results).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagType {
    params: Vec<ValType>,
}

impl TagType {
    /// A tag type whose exceptions carry values of `params`.
    pub fn new(params: impl IntoIterator<Item = ValType>) -> TagType {
        TagType {
            params: params.into_iter().collect(),
        }
    }

    /// The payload's value types.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// The type of `module`'s tag `tag_index`, defined types named by
    /// engine id (as the store's tags have them).
    pub(crate) fn of(module: &crate::Module, tag_index: u32) -> TagType {
        TagType::new(
            module
                .env()
                .tag_type(tag_index)
                .params
                .iter()
                .map(|&t| module.engine_type(t)),
        )
    }
}

impl fmt::Display for TagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(tag (param")?;
        for p in &self.params {
            write!(f, " {p}")?;
        }
        write!(f, "))")
    }
}

/// An exception tag: a handle into the store that made it. Two tags are the
/// same tag only if they are the same handle: a tag defined by a module is
/// new in each instance, an imported one is the exporter's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

/// A new tag of type `ty` (engine type id `type_id`) in `store`.
pub(crate) fn new_tag(store: &mut StoreOpaque, ty: TagType, type_id: u32) -> Tag {
    store.push_tag(TagData { ty, type_id })
}

impl Tag {
    /// A new tag of type `ty` (distinct from every other tag). Fails only
    /// if the engine cannot register one more type.
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> crate::Result<Tag> {
        let store = &mut store.as_context_mut().0.opaque;
        let type_id = store
            .engine()
            .type_id(&crate::FuncType::new(ty.params.iter().copied(), []))?;
        Ok(new_tag(store, ty.clone(), type_id))
    }

    /// The tag's type. Panics if `store` is not the tag's store.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        let store = &store.as_context().0.opaque;
        store.tag(self).ty.clone()
    }
}

/// A reference to an exception object (wasm's `exnref`), as wasm code
/// creates them with `throw` and passes them with `catch_ref`; a handle into
/// its store. Exception objects live as long as the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExnRef {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl ExnRef {
    pub(crate) fn to_raw(self) -> usize {
        self.index as usize + 1
    }

    /// The handle of exnref `raw`; the host holding it, the exception object
    /// is never reused.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: usize) -> Option<ExnRef> {
        let index = raw.checked_sub(1)?;
        if let Some(exn) = store.exn_of_raw(raw) {
            store.exn_mut(&exn).escaped = true;
        }
        Some(ExnRef {
            store: store.id(),
            index: index as u32,
        })
    }

    /// The exception's tag.
    pub fn tag(&self, store: impl AsContext) -> Tag {
        let store = &store.as_context().0.opaque;
        Tag {
            store: store.id(),
            index: store.exn(self).tag,
        }
    }

    /// The exception's payload, one value per parameter of its tag's type.
    pub fn payload(&self, mut store: impl AsContextMut) -> Vec<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        payload_of(store, self)
    }
}

fn payload_of(store: &mut StoreOpaque, exn: &ExnRef) -> Vec<Val> {
    let data = store.exn(exn);
    let tag = Tag {
        store: exn.store,
        index: data.tag,
    };
    let values = data.values.clone();
    let params = store.tag(&tag).ty.params.clone();
    params
        .iter()
        .zip(values.iter())
        // SAFETY: the payload was written with the tag's parameter types.
        .map(|(t, v)| unsafe { Val::from_raw(store, *v, *t) })
        .collect()
}

/// A wasm exception: an error of its own kind
/// ([`ErrorKind::Exception`](crate::ErrorKind::Exception)), not a trap.
///
/// A call returns it when wasm threw an exception that no wasm frame
/// caught. A host function returns it (as `Err(exception.into())`) to throw
/// into the wasm code that called it: a `try_table` there catches it like
/// one thrown by wasm. Traps are never exceptions: `catch_all` does not
/// catch them.
#[derive(Clone, Debug, PartialEq)]
pub struct Exception {
    exn: ExnRef,
    tag: Tag,
    /// The tag's type, for messages.
    ty: TagType,
    payload: Vec<Val>,
}

impl Exception {
    /// A new exception of `tag` carrying `payload` (values of the tag's
    /// parameter types; otherwise an error).
    pub fn new(mut store: impl AsContextMut, tag: Tag, payload: &[Val]) -> Result<Exception> {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = store.tag(&tag).ty.clone();
        if payload.len() != ty.params.len()
            || payload.iter().zip(&ty.params).any(|(v, t)| v.ty() != *t)
        {
            let got: Vec<String> = payload.iter().map(|v| v.ty().to_string()).collect();
            return Err(Error::msg(format!(
                "exception payload ({}) does not match the tag's type {ty}",
                got.join(" ")
            )));
        }
        let values: Box<[ValRaw]> = payload.iter().map(|v| v.to_raw(store)).collect();
        let exn = store.push_exn(ExnData {
            tag: tag.index,
            values,
            escaped: true,
        });
        Ok(Exception {
            exn,
            tag,
            ty,
            payload: payload.to_vec(),
        })
    }

    /// The exception of an exception reference.
    pub fn from_exnref(mut store: impl AsContextMut, exn: ExnRef) -> Exception {
        let store = &mut store.as_context_mut().0.opaque;
        from_exn(store, &exn)
    }

    /// The exception's tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The payload values, one per parameter of the tag's type.
    pub fn payload(&self) -> &[Val] {
        &self.payload
    }

    /// The exception object, as wasm code would see it (`exnref`).
    pub fn exnref(&self) -> ExnRef {
        self.exn
    }
}

/// The [`Exception`] of exception object `exn`.
#[track_caller]
pub(crate) fn from_exn(store: &mut StoreOpaque, exn: &ExnRef) -> Exception {
    store.exn_mut(exn).escaped = true;
    let payload = payload_of(store, exn);
    let tag = Tag {
        store: exn.store,
        index: store.exn(exn).tag,
    };
    Exception {
        ty: store.tag(&tag).ty.clone(),
        exn: *exn,
        tag,
        payload,
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "uncaught wasm exception: tag #{} {}, payload [",
            self.tag.index, self.ty
        )?;
        for (i, v) in self.payload.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            match v {
                Val::I32(x) => write!(f, "i32 {x}")?,
                Val::I64(x) => write!(f, "i64 {x}")?,
                Val::F32(x) => write!(f, "f32 {}", f32::from_bits(*x))?,
                Val::F64(x) => write!(f, "f64 {}", f64::from_bits(*x))?,
                Val::V128(x) => write!(f, "v128 {x:#034x}")?,
                Val::FuncRef(r) => {
                    write!(f, "funcref {}", if r.is_some() { "<func>" } else { "null" })?
                }
                Val::ExternRef(r) => write!(
                    f,
                    "externref {}",
                    if r.is_some() { "<extern>" } else { "null" }
                )?,
                Val::ExnRef(r) => {
                    write!(f, "exnref {}", if r.is_some() { "<exn>" } else { "null" })?
                }
                Val::AnyRef(Some(r)) => write!(f, "anyref {r}")?,
                Val::AnyRef(None) => write!(f, "anyref null")?,
            }
        }
        write!(f, "]")
    }
}

impl std::error::Error for Exception {}

impl From<Exception> for Error {
    fn from(e: Exception) -> Error {
        Error::new(crate::error::ErrorKind::Exception(e))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, Instance, Module, Store, Val};

    /// An exception caught by a plain `catch` without its exnref ever
    /// escaping is dead: the next throw reuses its slot. One that escaped
    /// (`catch_ref`) is kept and stays intact.
    #[test]
    fn dead_exceptions_are_reused_escaped_ones_kept() {
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module
                (tag $e (param i32))
                (global $kept (mut exnref) (ref.null exn))
                (func $t (param i32) (throw $e (local.get 0)))
                (func (export "loop") (param i32) (result i32)
                    (local $sum i32)
                    (block $done
                        (loop $l
                            (br_if $done (i32.eqz (local.get 0)))
                            (local.set $sum (i32.add (local.get $sum)
                                (block $h (result i32)
                                    (try_table (catch $e $h) (call $t (local.get 0)))
                                    (i32.const 0))))
                            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                            (br $l)))
                    (local.get $sum))
                (func (export "keep") (param i32)
                    (block $h (result i32 exnref)
                        (try_table (catch_ref $e $h) (call $t (local.get 0)))
                        (unreachable))
                    (global.set $kept)
                    (drop))
                (func (export "rethrow_kept") (result i32)
                    (block $h (result i32)
                        (try_table (catch $e $h) (throw_ref (global.get $kept)))
                        (unreachable))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let inst = Instance::new(&mut store, &module, &[]).unwrap();
        let call = |store: &mut Store<()>, name: &str, args: &[Val]| {
            let f = inst.get_func(&mut *store, name).unwrap();
            let mut out = vec![Val::I32(0); f.ty(&*store).results.len()];
            f.call(&mut *store, args, &mut out).unwrap();
            out
        };
        assert_eq!(
            call(&mut store, "loop", &[Val::I32(1000)]),
            [Val::I32(500500)]
        );
        assert_eq!(store.inner.opaque.exn_count(), 1);
        call(&mut store, "keep", &[Val::I32(7)]);
        // Caught by a plain `catch` after escaping: still kept.
        assert_eq!(call(&mut store, "rethrow_kept", &[]), [Val::I32(7)]);
        assert_eq!(call(&mut store, "loop", &[Val::I32(100)]), [Val::I32(5050)]);
        assert_eq!(call(&mut store, "rethrow_kept", &[]), [Val::I32(7)]);
        assert!(
            store.inner.opaque.exn_count() <= 3,
            "{}",
            store.inner.opaque.exn_count()
        );
    }
}
