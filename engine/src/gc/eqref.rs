//! `EqRef`: a reference of type `(ref eq)`.

use super::*;

/// A reference of type `(ref eq)`: an `i31`, a struct or an array (not an
/// extern object). A typed view of an [`AnyRef`]; typed functions take and
/// return it as `eqref`.
///
/// ```
/// use nyash_engine::{EqRef, I31};
///
/// let e = EqRef::from_i31(I31::new_i32(-3));
/// assert_eq!(e.as_i31(), Some(I31::new_i32(-3)));
/// assert_eq!(e.to_anyref().as_i31(), Some(I31::new_i32(-3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EqRef {
    pub(super) any: AnyRef,
}

view!(EqRef);

impl EqRef {
    /// The `i31ref` of `value`.
    pub const fn from_i31(value: I31) -> EqRef {
        EqRef {
            any: AnyRef::from_i31(value),
        }
    }

    /// The `i31` value, if this is an `i31ref`.
    pub const fn as_i31(&self) -> Option<I31> {
        self.any.as_i31()
    }

    /// This reference as a [`StructRef`], if it is a struct.
    pub fn as_struct(&self, store: impl AsContext) -> Result<Option<StructRef>> {
        self.any.as_struct(store)
    }

    /// This reference as an [`ArrayRef`], if it is an array.
    pub fn as_array(&self, store: impl AsContext) -> Result<Option<ArrayRef>> {
        self.any.as_array(store)
    }

    /// Whether `self` and `other` are the same reference (`ref.eq`).
    pub fn ref_eq(&self, store: impl AsContext, other: &EqRef) -> Result<bool> {
        self.any.ref_eq(store, &other.any)
    }
}
