//! `ExternRef`: a reference to a host value, opaque to wasm.

use super::*;

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
        store.push_externref(Box::new(value))
    }

    /// The host value behind this reference; `downcast_ref` it to its
    /// type. Panics if `store` is not the reference's store.
    pub fn data<'a, T: 'a>(
        &self,
        store: &'a impl AsContext<Data = T>,
    ) -> &'a (dyn std::any::Any + Send + Sync) {
        let store = &store.as_context().0.opaque;
        store.externref(self)
    }

    pub(crate) fn to_raw(self) -> usize {
        self.index as usize + 1
    }

    /// `extern.convert_any`: the externref for `any` reference `a` (the
    /// one an extern object stands for, else a new externref wrapping
    /// `a`, which [`AnyRef::convert_extern`] turns back into `a`).
    pub fn convert_any(mut store: impl AsContextMut, a: AnyRef) -> crate::Result<ExternRef> {
        let store = &mut store.as_context_mut().0.opaque;
        let r = AnyRef::resolve(store, Some(a))?;
        let raw = crate::vm::gc_heap::extern_from_any(store, r);
        ExternRef::from_raw(store, raw).ok_or_else(|| crate::Error::msg("the store has no GC heap"))
    }

    /// The `any` reference this externref wraps, if it came from
    /// [`ExternRef::convert_any`] or `extern.convert_any` of a struct,
    /// array or `i31`.
    pub fn wrapped_any(&self, mut store: impl AsContextMut) -> Option<AnyRef> {
        let store = &mut store.as_context_mut().0.opaque;
        let r = crate::vm::gc_heap::wrapped_any(store, store.externref_index(self))?;
        AnyRef::from_raw(store, r)
    }

    pub(crate) fn from_raw(store: &StoreOpaque, raw: usize) -> Option<ExternRef> {
        (raw != 0).then(|| ExternRef {
            store: store.id(),
            index: (raw - 1) as u32,
        })
    }
}
