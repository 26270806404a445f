//! What a store keeps for its component instances: not generic over the
//! store's data, so it lives in the store's opaque part
//! (`StoreOpaque::components`).

use std::any::{Any, TypeId};
use std::collections::HashMap;

use nyash_aot::component::inline::ComponentInstanceId;
use nyash_aot::component::translate::StringEncoding;
use nyash_aot::component::types::{FuncTypeIndex, ResourceIndex};

use super::component::Component;
use super::resources::{HandleTable, trap};
use crate::{ComponentTrap, Func as CoreFunc, Instance as CoreInstance, Memory, Result};

/// The component side of a store.
#[derive(Default)]
pub(crate) struct ComponentStore {
    /// Root component instances, by [`Instance`](super::Instance) index.
    pub(crate) instances: Vec<InstanceData>,
    /// Lifted functions, by [`Func`](super::Func) index.
    /// Boxed, never removed or replaced: a call borrows its function's
    /// record apart from the store (`call.rs`'s `lifted_of`) while the
    /// list may grow.
    #[allow(clippy::vec_box)] // the boxes' addresses are what must not move
    pub(crate) funcs: Vec<Box<LiftedFunc>>,
    /// Resource types, by the index a [`ResourceAny`](super::ResourceAny) names.
    pub(crate) resource_types: Vec<ResourceTypeData>,
    /// The store's resource type of each host resource type.
    pub(crate) host_resource_types: HashMap<TypeId, u32>,
    /// The calls in progress that can hold borrows, innermost last.
    pub(crate) scopes: Vec<Scope>,
    /// The async ABI's state: tasks in progress, waitable sets, streams,
    /// futures, error contexts, backpressure (`concurrent.rs`).
    pub(crate) concurrent: super::concurrent::ConcurrentState,
}

/// One instantiation of a root component.
pub(crate) struct InstanceData {
    pub(crate) component: Component,
    /// Core instances, by runtime instance index (`None` until created).
    pub(crate) core: Vec<Option<CoreInstance>>,
    /// The trampolines of lowered imports and adapters, by their indices.
    pub(crate) lowered: Vec<CoreFunc>,
    pub(crate) adapters: Vec<CoreFunc>,
    /// The store's resource type of each runtime resource index.
    pub(crate) resources: Vec<u32>,
    /// Per component instance (by [`ComponentInstanceId`]): its flags
    /// (in the global of the same index), its flags' global (imported by
    /// compiled adapters) and its handle table.
    pub(crate) flags: Vec<InstanceFlags>,
    pub(crate) flag_globals: Vec<crate::Global>,
    /// The trap intrinsic the compiled adapters import, made on first use.
    pub(crate) adapter_trap: Option<CoreFunc>,
    pub(crate) tables: Vec<HandleTable>,
    /// The store's resource type a static resource index means in a
    /// component instance, where the inliner could tell.
    pub(crate) resource_map: HashMap<(ComponentInstanceId, ResourceIndex), u32>,
    /// The root's exports.
    pub(crate) exports: Vec<(String, ExportItem)>,
}

/// An export of a root component instance.
#[derive(Clone, Debug)]
pub(crate) enum ExportItem {
    /// A lifted function (index into [`ComponentStore::funcs`]).
    Func(u32),
    /// A core module.
    Module(crate::Module),
    /// An instance of named exports.
    Instance(Vec<(String, ExportItem)>),
    /// A type.
    Type,
}

/// The bit of an instance's flags word that is set while it may call out
/// of the instance: cleared while its `realloc` or `post-return` runs.
/// Compiled adapters (`nyash_aot::component::fact`) test and write the same
/// bits in the same word.
pub(crate) const FLAG_MAY_LEAVE: i32 = nyash_aot::component::fact::FLAG_MAY_LEAVE;
/// The bit that is set while the instance may be entered: cleared while a
/// call into it is in progress (no reentry) and for good after a trap in it.
pub(crate) const FLAG_MAY_ENTER: i32 = nyash_aot::component::fact::FLAG_MAY_ENTER;

/// The canonical ABI's per-component-instance flags: one `i32` word, the
/// value of a store-owned mutable core global ([`InstanceData::flag_globals`])
/// so that compiled adapters read and write it as an imported global, and
/// reached here through a pointer to the global's definition (no store
/// lookup per access).
#[derive(Clone, Copy, Debug)]
pub(crate) struct InstanceFlags {
    /// The first four bytes of the global's `VMGlobalDefinition`.
    word: *mut i32,
}

// SAFETY: the pointer is to storage the store owns (a host global's boxed
// definition, never freed or moved while the store lives); it is only used
// through the store, which is `Send`/`Sync` on the same terms.
unsafe impl Send for InstanceFlags {}
// SAFETY: as above.
unsafe impl Sync for InstanceFlags {}

impl InstanceFlags {
    /// The flags living in the host global whose definition is `def`.
    ///
    /// # Safety
    ///
    /// `def` must be the definition of a mutable `i32` global the store owns,
    /// which outlives every use of the flags.
    pub(crate) unsafe fn at(def: *mut crate::vm::vmcontext::VMGlobalDefinition) -> Self {
        InstanceFlags {
            word: def.cast::<i32>(),
        }
    }

    fn get(self) -> i32 {
        // SAFETY: `word` points at the live, aligned storage of an `i32`
        // global (see `at`); wasm code writes it only while running on this
        // thread, in calls the store is borrowed for.
        unsafe { self.word.read() }
    }

    fn set(self, bit: i32, on: bool) {
        let v = self.get();
        let v = if on { v | bit } else { v & !bit };
        // SAFETY: as in `get`.
        unsafe { self.word.write(v) }
    }

    /// Whether the instance may call out (not in `realloc`/`post-return`).
    pub(crate) fn may_leave(self) -> bool {
        self.get() & FLAG_MAY_LEAVE != 0
    }

    pub(crate) fn set_may_leave(self, on: bool) {
        self.set(FLAG_MAY_LEAVE, on)
    }

    /// Whether the instance may be entered (no call in progress, no trap).
    pub(crate) fn may_enter(self) -> bool {
        self.get() & FLAG_MAY_ENTER != 0
    }

    pub(crate) fn set_may_enter(self, on: bool) {
        self.set(FLAG_MAY_ENTER, on)
    }
}

/// A function lifted by `canon lift`, resolved.
#[derive(Clone, Debug)]
pub(crate) struct LiftedFunc {
    /// The root instance it belongs to.
    pub(crate) data: u32,
    pub(crate) ty: FuncTypeIndex,
    pub(crate) core: CoreFunc,
    pub(crate) options: ResolvedOptions,
    /// The component instance that lifted it.
    pub(crate) instance: ComponentInstanceId,
    /// The flags of that instance and of each of its ancestors, innermost
    /// first: what a call from the host enters (`call.rs`'s `enter`),
    /// without a lookup per instance.
    pub(crate) host_chain: std::sync::Arc<[InstanceFlags]>,
}

/// Canonical options with their core items resolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResolvedOptions {
    pub(crate) encoding: StringEncoding,
    pub(crate) memory: Option<Memory>,
    pub(crate) realloc: Option<CoreFunc>,
    pub(crate) post_return: Option<CoreFunc>,
    /// `async` (🔀): lifted or lowered with the async ABI.
    pub(crate) async_: bool,
    /// The `callback` of an async lift.
    pub(crate) callback: Option<CoreFunc>,
}

/// A resource type of the store.
pub(crate) struct ResourceTypeData {
    /// The root instance and component instance that defined it (`None`
    /// for a host resource type).
    pub(crate) owner: Option<(u32, ComponentInstanceId)>,
    /// The guest destructor (a core function of the owner).
    pub(crate) dtor: Option<CoreFunc>,
    /// The host destructor (an `Arc<HostDtor<T>>` for the store's `T`).
    pub(crate) host_dtor: Option<Box<dyn Any + Send + Sync>>,
}

/// A call in progress that can receive borrows: how many borrow handles
/// were lent to it and not yet dropped, and which handles of the caller
/// it borrowed from.
#[derive(Default, Debug)]
pub(crate) struct Scope {
    pub(crate) borrows: u32,
    /// (root instance, component instance, handle index) of each handle
    /// lent for the call.
    pub(crate) lenders: Vec<(u32, ComponentInstanceId, u32)>,
}

impl ComponentStore {
    pub(crate) fn data(&mut self, data: u32) -> &mut InstanceData {
        &mut self.instances[data as usize]
    }

    pub(crate) fn flags(&self, data: u32, inst: ComponentInstanceId) -> InstanceFlags {
        self.instances[data as usize].flags[inst.0 as usize]
    }

    pub(crate) fn table(&mut self, data: u32, inst: ComponentInstanceId) -> &mut HandleTable {
        &mut self.instances[data as usize].tables[inst.0 as usize]
    }

    /// Traps unless the component instance may call out (it is not in its
    /// `realloc` or `post-return`).
    pub(crate) fn check_may_leave(&mut self, data: u32, inst: ComponentInstanceId) -> Result<()> {
        if self.flags(data, inst).may_leave() {
            Ok(())
        } else {
            Err(trap(
                ComponentTrap::CannotLeave,
                "cannot leave component instance",
            ))
        }
    }

    /// The store's resource type `ty` means in `inst`, if known.
    pub(crate) fn resource_type(
        &self,
        data: u32,
        inst: ComponentInstanceId,
        ty: ResourceIndex,
    ) -> Option<u32> {
        self.instances[data as usize]
            .resource_map
            .get(&(inst, ty))
            .copied()
    }

    /// The store's resource type for the host type `id`, made on first use.
    /// A destructor given for a type made without one (by a typed handle
    /// used before any instantiation defined it) is kept.
    pub(crate) fn host_resource_type(
        &mut self,
        id: TypeId,
        dtor: Option<Box<dyn Any + Send + Sync>>,
    ) -> u32 {
        if let Some(rt) = self.host_resource_types.get(&id) {
            let t = &mut self.resource_types[*rt as usize];
            if t.host_dtor.is_none() {
                t.host_dtor = dtor;
            }
            return *rt;
        }
        let rt = self.resource_types.len() as u32;
        self.resource_types.push(ResourceTypeData {
            owner: None,
            dtor: None,
            host_dtor: dtor,
        });
        self.host_resource_types.insert(id, rt);
        rt
    }

    /// The host's name of the store's resource type `rt`.
    pub(crate) fn resource_type_of(&self, rt: u32) -> super::resources::ResourceType {
        use super::resources::{ResourceType, ResourceTypeKind};
        match self.host_resource_types.iter().find(|(_, r)| **r == rt) {
            Some((id, _)) => ResourceType(ResourceTypeKind::Host(*id)),
            None => ResourceType(ResourceTypeKind::Guest {
                store: 0,
                index: rt,
            }),
        }
    }

    /// Opens a call scope; returns its index.
    pub(crate) fn push_scope(&mut self) -> usize {
        self.scopes.push(Scope::default());
        self.scopes.len() - 1
    }

    /// Closes the innermost scope: releases the handles it borrowed from,
    /// and traps if a borrow lent to it is still in a table.
    pub(crate) fn pop_scope(&mut self, check_borrows: bool) -> Result<()> {
        let Some(scope) = self.scopes.pop() else {
            return Ok(());
        };
        for (data, inst, h) in scope.lenders {
            if let Ok(
                super::resources::Slot::Own { lends, .. }
                | super::resources::Slot::Borrow { lends, .. },
            ) = self.table(data, inst).get_mut(h)
            {
                *lends = lends.saturating_sub(1);
            }
        }
        if check_borrows && scope.borrows > 0 {
            return Err(trap(
                ComponentTrap::BorrowsRemain,
                "borrow handles still remain at the end of the call",
            ));
        }
        Ok(())
    }
}
