//! Resources: the store's resource types, the handle table of each
//! component instance, and the host's view of a handle ([`ResourceAny`]).
//!
//! The rules are the canonical ABI's (`CanonicalABI.md`, "Handle types"
//! and `canon resource.*`): a handle table per component instance, slot 0
//! never used; an `own` handle is unique and moves out of a table when it
//! is lifted; a `borrow` handle lent to a callee must be dropped before the
//! call returns, and the owned handle it was lent from cannot be dropped or
//! moved while it is lent. Every violation is a trap with its own message.

use std::any::TypeId;

use crate::{ComponentTrap, Error, Result};

/// A resource type as the host names it: one defined by the host (a Rust
/// type `T`, [`ResourceType::host`]) or one a component instance defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceType(pub(crate) ResourceTypeKind);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ResourceTypeKind {
    /// The host's resource type for the Rust type with this id.
    Host(TypeId),
    /// The `index`th resource type of store `store`.
    Guest { store: u64, index: u32 },
    /// A resource type as a component's own types name it (static resource
    /// index `index` of the component whose id is `component`), for a
    /// [`Type`](super::Type) taken from a component rather than from a
    /// function of an instance, or where an instance cannot tell which of
    /// its store's resource types the index means: opaque, equal only to
    /// itself.
    Static { component: u64, index: u32 },
}

impl ResourceType {
    /// The resource type the host defines with the Rust type `T` (as in
    /// `Linker::resource`); equal for equal `T`.
    pub fn host<T: 'static>() -> ResourceType {
        ResourceType(ResourceTypeKind::Host(TypeId::of::<T>()))
    }
}

/// A handle to a resource held by the host: a resource type, the
/// representation the resource's implementation gave it, and whether the
/// host owns it (`own`) or borrows it for the duration of a call
/// (`borrow`).
///
/// It is a plain value: passing an owned `ResourceAny` to a component moves
/// the ownership there, and passing the same one twice gives the component
/// two handles to one resource (the embedder's bug, which the engine does
/// not track).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceAny {
    pub(crate) store: u64,
    /// Index into the store's resource types.
    pub(crate) rt: u32,
    pub(crate) rep: u32,
    pub(crate) own: bool,
}

impl ResourceAny {
    /// A handle with representation `rep` (unit tests of the ABI).
    #[cfg(test)]
    pub(crate) fn test(rep: u64) -> ResourceAny {
        ResourceAny {
            store: 0,
            rt: 0,
            rep: rep as u32,
            own: true,
        }
    }

    /// Whether the host owns the resource (else it borrows it).
    pub fn owned(&self) -> bool {
        self.own
    }

    /// The resource's representation (the `i32` its implementation uses).
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// The resource's type.
    pub fn ty(&self) -> ResourceType {
        ResourceType(ResourceTypeKind::Guest {
            store: self.store,
            index: self.rt,
        })
    }
}

/// A trap made by the canonical ABI's checks, with the message the
/// Component Model's reference tests expect.
pub(crate) fn trap(kind: ComponentTrap, message: impl Into<String>) -> Error {
    crate::error::component_trap(kind, message.into())
}

/// The trap for a handle that is not a resource handle used as one.
pub(crate) fn not_a_resource(h: u32) -> Error {
    trap(
        ComponentTrap::WrongHandleType,
        format!(
            "handle index {h} used with the wrong type: index {h} is not a resource (it is a waitable set, stream, future, subtask or error context)"
        ),
    )
}

/// One entry of a handle table.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slot {
    Free,
    Own {
        rt: u32,
        rep: u32,
        /// How many borrows of it are lent out to calls in progress.
        lends: u32,
    },
    Borrow {
        rt: u32,
        rep: u32,
        /// The call scope it was lent to (an index into the store's scope stack).
        scope: usize,
        /// How many times it is lent on to calls in progress.
        lends: u32,
    },
    /// An async ABI object (a waitable set, a stream or future end, a
    /// subtask, an error context): its index in the store's
    /// [`ConcurrentState`](super::concurrent::ConcurrentState).
    Async(u32),
}

/// The handle table of one component instance.
#[derive(Default, Debug)]
pub(crate) struct HandleTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

/// The most handles one table may hold: the spec's limit is 2^28.
const MAX_HANDLES: usize = 1 << 28;

impl HandleTable {
    pub(crate) fn add(&mut self, slot: Slot) -> Result<u32> {
        if self.slots.is_empty() {
            // Index 0 is never a handle.
            self.slots.push(Slot::Free);
        }
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = slot;
            return Ok(i);
        }
        if self.slots.len() >= MAX_HANDLES {
            return Err(trap(
                ComponentTrap::TooManyHandles,
                "too many resource handles in one component instance",
            ));
        }
        self.slots.push(slot);
        Ok(self.slots.len() as u32 - 1)
    }

    pub(crate) fn get(&self, i: u32) -> Result<Slot> {
        match self.slots.get(i as usize) {
            Some(s) if i != 0 && !matches!(s, Slot::Free) => Ok(*s),
            _ => Err(trap(
                ComponentTrap::UnknownHandle,
                format!("unknown handle index {i}"),
            )),
        }
    }

    pub(crate) fn get_mut(&mut self, i: u32) -> Result<&mut Slot> {
        match self.slots.get_mut(i as usize) {
            Some(s) if i != 0 && !matches!(s, Slot::Free) => Ok(s),
            _ => Err(trap(
                ComponentTrap::UnknownHandle,
                format!("unknown handle index {i}"),
            )),
        }
    }

    pub(crate) fn remove(&mut self, i: u32) -> Result<Slot> {
        let s = self.get(i)?;
        self.slots[i as usize] = Slot::Free;
        self.free.push(i);
        Ok(s)
    }
}
