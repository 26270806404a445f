//! Resource handles as typed Rust values: [`Resource<T>`], a handle to a
//! host resource whose state is a Rust `T` (usually kept in a
//! [`ResourceTable`](super::ResourceTable)), and [`ResourceAny`] in typed
//! positions, with [`ComponentType`], [`Lift`] and [`Lower`].
//!
//! A typed value does not carry its interface type at run time, so the
//! handle's kind is in the Rust type: `Resource<T>` and `ResourceAny` stand
//! for `own<R>`, [`Borrow<Resource<T>>`](Borrow) and `Borrow<ResourceAny>`
//! for `borrow<R>` (checked once, like every other type, when a typed
//! function is made or linked). `bindgen!` hides the wrapper: its host
//! traits take `Resource<T>` for both, as wasmtime's do, and say which one
//! it is with [`Resource::owned`].
//!
//! Lowering an owned handle moves it into the callee's handle table;
//! lifting one takes it out of the caller's (the handle is gone from the
//! guest). A borrow lifted in a host function is valid for the call only:
//! the guest's handle is lent for the call's duration, and a borrow
//! lowered into a guest must be dropped by it before the call returns
//! (else the call traps), the canonical ABI's scope rules.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;

use nyash_aot::component::types::{ComponentTypes, DefinedType, InterfaceType, ResourceIndex};

use super::resources::{ResourceAny, ResourceType, ResourceTypeKind};
use super::typed::{ComponentType, Lift, LiftContext, Lower, LowerContext};
use crate::vm::vmcontext::ValRaw;
use crate::{AsContextMut, Error, Result};

/// A handle to a host resource whose state is of Rust type `T`: its
/// representation (`rep`, an index the host chose, such as a
/// [`ResourceTable`](super::ResourceTable) slot) and whether it is owned
/// or borrowed. The component's resource type is the host's
/// [`ResourceType::host::<T>()`](ResourceType::host), defined in a linker
/// with [`LinkerInstance::resource`](super::LinkerInstance::resource).
///
/// In a typed function's types it is `own<T>` (a borrow is
/// [`Borrow<Resource<T>>`](Borrow)); lifting a handle of another resource
/// type traps.
pub struct Resource<T> {
    rep: u32,
    own: bool,
    _marker: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Resource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("rep", &self.rep)
            .field("own", &self.own)
            .finish()
    }
}

impl<T: 'static> Resource<T> {
    /// An owned handle with representation `rep`.
    pub fn new_own(rep: u32) -> Resource<T> {
        Resource {
            rep,
            own: true,
            _marker: PhantomData,
        }
    }

    /// A borrowed handle with representation `rep`.
    pub fn new_borrow(rep: u32) -> Resource<T> {
        Resource {
            rep,
            own: false,
            _marker: PhantomData,
        }
    }

    /// The representation.
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// Whether the handle is owned (else borrowed).
    pub fn owned(&self) -> bool {
        self.own
    }

    /// The typed handle of `resource`, if its type is the host's `T`
    /// ([`ResourceType::host::<T>()`](ResourceType::host)); an error
    /// naming both types otherwise. Panics if `resource` belongs to
    /// another store.
    pub fn try_from_resource_any(
        resource: ResourceAny,
        mut store: impl AsContextMut,
    ) -> Result<Resource<T>> {
        let store = &mut store.as_context_mut().0.opaque;
        assert_eq!(
            resource.store,
            store.id(),
            "resource used with a store it does not belong to"
        );
        let cs = store.components();
        match cs.host_resource_types.get(&TypeId::of::<T>()) {
            Some(rt) if *rt == resource.rt => Ok(Resource {
                rep: resource.rep,
                own: resource.own,
                _marker: PhantomData,
            }),
            _ => Err(Error::msg(format!(
                "the resource is not a `{}` of the host",
                std::any::type_name::<T>()
            ))),
        }
    }
}

impl ResourceAny {
    /// The handle `resource` as a [`ResourceAny`] of `store` (its type the
    /// host's `T`, made in the store if no component used it yet).
    pub fn try_from_resource<T: 'static>(
        resource: Resource<T>,
        mut store: impl AsContextMut,
    ) -> Result<ResourceAny> {
        let store = &mut store.as_context_mut().0.opaque;
        let id = store.id();
        let rt = store
            .components()
            .host_resource_type(TypeId::of::<T>(), None);
        Ok(ResourceAny {
            store: id,
            rt,
            rep: resource.rep,
            own: resource.own,
        })
    }

    /// Drops the resource the host owns through this handle: its
    /// destructor runs (the guest's, through a call into the component
    /// instance that defined it, or the host's). A borrowed handle is
    /// only forgotten. Fails as the destructor fails (a trap); panics if
    /// the handle belongs to another store.
    pub fn resource_drop(self, mut store: impl AsContextMut<Data: 'static>) -> Result<()> {
        let store = store.as_context_mut().0;
        assert_eq!(
            self.store,
            store.opaque.id(),
            "resource used with a store it does not belong to"
        );
        if !self.own {
            return Ok(());
        }
        super::call::drop_resource(store, self.rt, self.rep, None)
    }

    /// This handle as a borrow of the same resource (to pass where a
    /// function takes `borrow<R>`, through [`Borrow`]).
    pub fn as_borrow(&self) -> ResourceAny {
        ResourceAny {
            own: false,
            ..*self
        }
    }
}

/// A borrowed handle in a typed function's types: `borrow<R>` where `R` is
/// [`Resource<T>`] (a host resource) or [`ResourceAny`] (any resource).
/// Lifting lends the caller's handle for the call; lowering lends the
/// handle to the callee, which must drop it before the call returns.
#[derive(Debug)]
pub struct Borrow<R>(pub R);

// ---------------------------------------------------------------------
// Type checking: which resource type a component's index means

thread_local! {
    /// While a typed function is checked: the resource type each of the
    /// component's resource indices means, where the caller knows
    /// (`with_resources`).
    static RESOURCES: RefCell<Option<HashMap<ResourceIndex, ResourceType>>> =
        const { RefCell::new(None) };
}

/// Runs the type check `f` with `map` telling which resource type each of
/// the component's resource indices means (a `Resource<T>` is then checked
/// to be the host's `T`).
pub(crate) fn with_resources<R>(
    map: HashMap<ResourceIndex, ResourceType>,
    f: impl FnOnce() -> R,
) -> R {
    let old = RESOURCES.with(|r| r.replace(Some(map)));
    let out = f();
    RESOURCES.with(|r| *r.borrow_mut() = old);
    out
}

/// The resource of a handle type `ty`: `Some(true)` own, `Some(false)`
/// borrow, with the index.
fn handle_of(ty: InterfaceType, types: &ComponentTypes) -> Option<(bool, ResourceIndex)> {
    let mut ty = ty;
    for _ in 0..100 {
        let InterfaceType::Defined(i) = ty else {
            return None;
        };
        match types.defined(i) {
            DefinedType::Own(r) => return Some((true, *r)),
            DefinedType::Borrow(r) => return Some((false, *r)),
            DefinedType::Primitive(p) => ty = *p,
            _ => return None,
        }
    }
    None
}

/// Checks that `ty` is a handle of the kind `own` (else borrow) and, for a
/// host resource `host` (`None`: any resource), of the host's type if the
/// check knows what the index means.
fn typecheck_handle(
    ty: InterfaceType,
    types: &ComponentTypes,
    own: bool,
    host: Option<(TypeId, &str)>,
) -> Result<()> {
    let kind = if own { "own" } else { "borrow" };
    let Some((is_own, r)) = handle_of(ty, types) else {
        return Err(Error::msg(format!(
            "type mismatch: expected a resource handle, found `{kind}<..>`"
        )));
    };
    if is_own != own {
        let have = if is_own { "own" } else { "borrow" };
        return Err(Error::msg(format!(
            "type mismatch: expected `{have}<..>`, found `{kind}<..>` (a borrow is `Borrow<..>` in typed functions)"
        )));
    }
    if let Some((id, name)) = host {
        let known = RESOURCES.with(|m| m.borrow().as_ref().and_then(|m| m.get(&r).copied()));
        if let Some(rt) = known
            && rt.0 != ResourceTypeKind::Host(id)
        {
            let what = match rt.0 {
                ResourceTypeKind::Host(_) => "another host resource type",
                _ => "a resource type of a component",
            };
            return Err(Error::msg(format!(
                "type mismatch: expected {what}, found the host's `{name}`"
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------
// The traits

/// A typed handle: [`Resource<T>`] or [`ResourceAny`] (the engine's
/// plumbing for [`Borrow`]).
pub(crate) trait HandleValue: Sized {
    /// Checks that `ty` is a handle of this kind (`own`, else borrow) to a
    /// resource this Rust type can stand for.
    fn typecheck_kind(ty: InterfaceType, types: &ComponentTypes, own: bool) -> Result<()>;
    /// Moves or lends the handle into the instance's table; its index.
    fn lower_handle(&self, cx: &mut LowerContext<'_>, borrow: bool) -> Result<u32>;
    /// Takes or borrows the instance's handle `handle`.
    fn lift_handle(cx: &mut LiftContext<'_>, handle: u32, borrow: bool) -> Result<Self>;
}

impl<T: 'static> HandleValue for Resource<T> {
    fn typecheck_kind(ty: InterfaceType, types: &ComponentTypes, own: bool) -> Result<()> {
        typecheck_handle(
            ty,
            types,
            own,
            Some((TypeId::of::<T>(), std::any::type_name::<T>())),
        )
    }

    fn lower_handle(&self, cx: &mut LowerContext<'_>, borrow: bool) -> Result<u32> {
        if !borrow && !self.own {
            return Err(Error::msg(
                "a borrowed resource cannot be passed where an owned one is expected",
            ));
        }
        let (store, rt) = cx.host().host_resource_type(TypeId::of::<T>())?;
        let r = ResourceAny {
            store,
            rt,
            rep: self.rep,
            own: self.own,
        };
        cx.host().lower_handle(&r, borrow)
    }

    fn lift_handle(cx: &mut LiftContext<'_>, handle: u32, borrow: bool) -> Result<Self> {
        let (_, rt) = cx.host().host_resource_type(TypeId::of::<T>())?;
        let r = cx.host().lift_handle(Some(rt), handle, borrow)?;
        Ok(Resource {
            rep: r.rep,
            own: !borrow,
            _marker: PhantomData,
        })
    }
}

impl HandleValue for ResourceAny {
    fn typecheck_kind(ty: InterfaceType, types: &ComponentTypes, own: bool) -> Result<()> {
        typecheck_handle(ty, types, own, None)
    }

    fn lower_handle(&self, cx: &mut LowerContext<'_>, borrow: bool) -> Result<u32> {
        if !borrow && !self.own {
            return Err(Error::msg(
                "a borrowed resource cannot be passed where an owned one is expected",
            ));
        }
        cx.host().lower_handle(self, borrow)
    }

    fn lift_handle(cx: &mut LiftContext<'_>, handle: u32, borrow: bool) -> Result<Self> {
        cx.host().lift_handle(None, handle, borrow)
    }
}

fn get_handle(v: &ValRaw) -> u32 {
    // SAFETY: every field of the union is plain data; any bits are an i32.
    unsafe { v.i32 as u32 }
}

macro_rules! handle_impls {
    ($own:ty, $borrow:tt, [$($g:tt)*], $t:ty) => {
        impl<$($g)*> ComponentType for $t {
            const SIZE32: usize = 4;
            const ALIGN32: u32 = 4;
            const FLAT_COUNT: usize = 1;

            fn typecheck(ty: InterfaceType, types: &ComponentTypes) -> Result<()> {
                <$own as HandleValue>::typecheck_kind(ty, types, !$borrow)
            }
        }

        impl<$($g)*> Lower for $t {
            fn lower(&self, cx: &mut LowerContext<'_>, dst: &mut [ValRaw]) -> Result<()> {
                let h = handle_impls!(@val $borrow, self).lower_handle(cx, $borrow)?;
                dst[0].i64 = i64::from(h);
                Ok(())
            }

            fn store(&self, cx: &mut LowerContext<'_>, offset: usize) -> Result<()> {
                let h = handle_impls!(@val $borrow, self).lower_handle(cx, $borrow)?;
                cx.write_bytes(offset, &h.to_le_bytes())
            }
        }

        impl<$($g)*> Lift for $t {
            fn lift(cx: &mut LiftContext<'_>, src: &[ValRaw]) -> Result<Self> {
                let r = <$own as HandleValue>::lift_handle(cx, get_handle(&src[0]), $borrow)?;
                Ok(handle_impls!(@wrap $borrow, r))
            }

            fn load(cx: &mut LiftContext<'_>, offset: usize) -> Result<Self> {
                let h = u32::from_le_bytes(cx.read_bytes::<4>(offset)?);
                let r = <$own as HandleValue>::lift_handle(cx, h, $borrow)?;
                Ok(handle_impls!(@wrap $borrow, r))
            }
        }
    };
    (@val false, $s:expr) => { $s };
    (@val true, $s:expr) => { &$s.0 };
    (@wrap false, $r:expr) => { $r };
    (@wrap true, $r:expr) => { Borrow($r) };
}

handle_impls!(Resource<T>, false, [T: 'static], Resource<T>);
handle_impls!(Resource<T>, true, [T: 'static], Borrow<Resource<T>>);
handle_impls!(ResourceAny, false, [], ResourceAny);
handle_impls!(ResourceAny, true, [], Borrow<ResourceAny>);
