//! [`ResourceTable`]: where a host keeps the state of the resources it
//! gives components, indexed by the representation of their
//! [`Resource<T>`] handles (wasmtime's `ResourceTable` shape; WASI 0.2's
//! streams, files and sockets live in one).

use std::any::Any;
use std::collections::BTreeSet;

use super::typed_resource::Resource;

/// Why a [`ResourceTable`] operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceTableError {
    /// The table holds its limit of entries ([`ResourceTable::set_limit`]).
    Full,
    /// No entry has the handle's representation.
    NotPresent,
    /// The entry is of another Rust type than the handle's.
    WrongType,
    /// The entry cannot be deleted while it has children
    /// ([`ResourceTable::push_child`]).
    HasChildren,
}

impl std::fmt::Display for ResourceTableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResourceTableError::Full => "resource table has no free entries (its limit is reached)",
            ResourceTableError::NotPresent => "resource not present in the table",
            ResourceTableError::WrongType => "resource in the table is of another type",
            ResourceTableError::HasChildren => "resource has children in the table",
        })
    }
}

impl std::error::Error for ResourceTableError {}

impl From<ResourceTableError> for crate::Error {
    fn from(e: ResourceTableError) -> crate::Error {
        crate::Error::msg(e.to_string())
    }
}

/// One occupied entry.
struct Entry {
    value: Box<dyn Any + Send>,
    parent: Option<u32>,
    children: BTreeSet<u32>,
}

/// A table of host resources' state of any Rust types, each entry at the
/// index a [`Resource<T>`] handle carries as its representation. An entry
/// may be the child of another ([`push_child`](Self::push_child), a stream
/// of a file, say): a parent with children cannot be deleted.
///
/// The table is bounded: a guest that keeps asking for resources gets
/// [`ResourceTableError::Full`] once [`limit`](Self::limit) entries are
/// live (1,048,576 unless [`set_limit`](Self::set_limit) says otherwise),
/// not an unbounded host allocation.
///
/// ```
/// use nyash_engine::component::{Resource, ResourceTable, ResourceTableError};
///
/// let mut table = ResourceTable::new();
/// let file = table.push(String::from("a.txt"))?;
/// let stream = table.push_child(0u64, &file)?;
/// *table.get_mut(&stream)? += 5;
/// let same_file = Resource::<String>::new_own(file.rep());
/// assert_eq!(table.delete(same_file), Err(ResourceTableError::HasChildren));
/// assert_eq!(table.delete(stream)?, 5);
/// assert_eq!(table.delete(file)?, "a.txt");
/// # Ok::<(), ResourceTableError>(())
/// ```
pub struct ResourceTable {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    len: usize,
    limit: usize,
}

/// The default bound on live entries.
const DEFAULT_LIMIT: usize = 1 << 20;

impl Default for ResourceTable {
    fn default() -> Self {
        ResourceTable::new()
    }
}

impl std::fmt::Debug for ResourceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceTable")
            .field("len", &self.len)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl ResourceTable {
    /// An empty table.
    pub fn new() -> ResourceTable {
        ResourceTable {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            limit: DEFAULT_LIMIT,
        }
    }

    /// An empty table with room for `capacity` entries before it grows.
    pub fn with_capacity(capacity: usize) -> ResourceTable {
        let mut t = ResourceTable::new();
        t.entries.reserve(capacity.min(DEFAULT_LIMIT));
        t
    }

    /// The most entries the table holds at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Sets the most entries the table holds at once (at most 2^32 - 1, as
    /// a representation is a `u32`); a push past it fails with
    /// [`ResourceTableError::Full`].
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(u32::MAX as usize);
    }

    /// How many entries are live.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn alloc(&mut self, entry: Entry) -> Result<u32, ResourceTableError> {
        if self.len >= self.limit {
            return Err(ResourceTableError::Full);
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = Some(entry);
                i
            }
            None => {
                let i = u32::try_from(self.entries.len()).map_err(|_| ResourceTableError::Full)?;
                self.entries.push(Some(entry));
                i
            }
        };
        self.len += 1;
        Ok(i)
    }

    fn entry(&self, rep: u32) -> Result<&Entry, ResourceTableError> {
        self.entries
            .get(rep as usize)
            .and_then(|e| e.as_ref())
            .ok_or(ResourceTableError::NotPresent)
    }

    fn entry_mut(&mut self, rep: u32) -> Result<&mut Entry, ResourceTableError> {
        self.entries
            .get_mut(rep as usize)
            .and_then(|e| e.as_mut())
            .ok_or(ResourceTableError::NotPresent)
    }

    /// Adds `value`; an owned handle to it.
    pub fn push<T: Send + 'static>(&mut self, value: T) -> Result<Resource<T>, ResourceTableError> {
        let rep = self.alloc(Entry {
            value: Box::new(value),
            parent: None,
            children: BTreeSet::new(),
        })?;
        Ok(Resource::new_own(rep))
    }

    /// Adds `value` as a child of `parent`'s entry (which then cannot be
    /// deleted before it); an owned handle to it.
    pub fn push_child<T: Send + 'static, U: 'static>(
        &mut self,
        value: T,
        parent: &Resource<U>,
    ) -> Result<Resource<T>, ResourceTableError> {
        let p = parent.rep();
        self.entry(p)?;
        let rep = self.alloc(Entry {
            value: Box::new(value),
            parent: Some(p),
            children: BTreeSet::new(),
        })?;
        self.entry_mut(p)?.children.insert(rep);
        Ok(Resource::new_own(rep))
    }

    /// The entry of `key`.
    pub fn get<T: 'static>(&self, key: &Resource<T>) -> Result<&T, ResourceTableError> {
        self.entry(key.rep())?
            .value
            .downcast_ref()
            .ok_or(ResourceTableError::WrongType)
    }

    /// The entry of `key`, mutably.
    pub fn get_mut<T: 'static>(&mut self, key: &Resource<T>) -> Result<&mut T, ResourceTableError> {
        self.entry_mut(key.rep())?
            .value
            .downcast_mut()
            .ok_or(ResourceTableError::WrongType)
    }

    /// Removes the entry of `resource` and returns it; fails (and keeps
    /// it) if it has children or is of another type.
    pub fn delete<T: 'static>(&mut self, resource: Resource<T>) -> Result<T, ResourceTableError> {
        let rep = resource.rep();
        let e = self.entry(rep)?;
        if !e.value.is::<T>() {
            return Err(ResourceTableError::WrongType);
        }
        if !e.children.is_empty() {
            return Err(ResourceTableError::HasChildren);
        }
        let e = self.entries[rep as usize]
            .take()
            .ok_or(ResourceTableError::NotPresent)?;
        self.free.push(rep);
        self.len -= 1;
        if let Some(p) = e.parent
            && let Ok(parent) = self.entry_mut(p)
        {
            parent.children.remove(&rep);
        }
        e.value
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| ResourceTableError::WrongType)
    }

    /// The entry at representation `rep`, whatever its type (for code that
    /// knows the type another way, e.g. a pollable that remembers its
    /// parent's).
    pub fn get_any_mut(&mut self, rep: u32) -> Result<&mut (dyn Any + Send), ResourceTableError> {
        Ok(&mut *self.entry_mut(rep)?.value)
    }

    /// The entries at the representations `reps`, all at once, in the
    /// order given (`wasi:io/poll` waits on several parents together).
    /// Each representation may appear once: a repeated one fails with
    /// [`ResourceTableError::NotPresent`], as a missing one does.
    pub fn get_many_any_mut(
        &mut self,
        reps: &[u32],
    ) -> Result<Vec<&mut (dyn Any + Send)>, ResourceTableError> {
        let mut order: Vec<(u32, usize)> = reps.iter().copied().zip(0..).collect();
        order.sort_unstable();
        let mut out: Vec<Option<&mut (dyn Any + Send)>> = Vec::new();
        out.resize_with(reps.len(), || None);
        let mut rest: &mut [Option<Entry>] = &mut self.entries;
        let mut base = 0usize;
        for (rep, at) in order {
            let i = (rep as usize)
                .checked_sub(base)
                .ok_or(ResourceTableError::NotPresent)?;
            if i >= rest.len() {
                return Err(ResourceTableError::NotPresent);
            }
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(i + 1);
            let entry = head[i].as_mut().ok_or(ResourceTableError::NotPresent)?;
            out[at] = Some(&mut *entry.value);
            rest = tail;
            base = rep as usize + 1;
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// The entries that are children of `parent`'s, in the order they were
    /// added (by index).
    pub fn iter_children<T: 'static>(
        &self,
        parent: &Resource<T>,
    ) -> Result<impl Iterator<Item = &(dyn Any + Send)>, ResourceTableError> {
        let e = self.entry(parent.rep())?;
        Ok(e.children.iter().filter_map(move |c| {
            self.entries
                .get(*c as usize)
                .and_then(|e| e.as_ref())
                .map(|e| &*e.value)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_delete_and_reuse() {
        let mut t = ResourceTable::new();
        let a = t.push(1u32).unwrap();
        let b = t.push("x").unwrap();
        assert_ne!(a.rep(), b.rep());
        *t.get_mut(&a).unwrap() += 1;
        assert_eq!(*t.get(&a).unwrap(), 2);
        let wrong: Resource<u64> = Resource::new_own(a.rep());
        assert_eq!(t.get(&wrong).err(), Some(ResourceTableError::WrongType));
        assert_eq!(t.delete(wrong).err(), Some(ResourceTableError::WrongType));
        let rep = a.rep();
        assert_eq!(t.delete(a).unwrap(), 2);
        let gone: Resource<u32> = Resource::new_own(rep);
        assert_eq!(t.get(&gone).err(), Some(ResourceTableError::NotPresent));
        let c = t.push(7u8).unwrap();
        assert_eq!(c.rep(), rep, "a freed index is reused");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn children_block_deleting_the_parent() {
        let mut t = ResourceTable::new();
        let p = t.push(String::from("dir")).unwrap();
        let c1 = t.push_child(1i32, &p).unwrap();
        let c2 = t.push_child(2i32, &p).unwrap();
        let kids: Vec<i32> = t
            .iter_children(&p)
            .unwrap()
            .map(|v| *v.downcast_ref::<i32>().unwrap())
            .collect();
        assert_eq!(kids, [1, 2]);
        let p2: Resource<String> = Resource::new_own(p.rep());
        assert_eq!(t.delete(p2).err(), Some(ResourceTableError::HasChildren));
        t.delete(c1).unwrap();
        t.delete(c2).unwrap();
        assert_eq!(t.iter_children(&p).unwrap().count(), 0);
        assert_eq!(t.delete(p).unwrap(), "dir");
        assert!(t.is_empty());
    }

    #[test]
    fn the_limit_bounds_the_table() {
        let mut t = ResourceTable::new();
        t.set_limit(3);
        for i in 0..3u32 {
            t.push(i).unwrap();
        }
        assert_eq!(t.push(9u32).err(), Some(ResourceTableError::Full));
        t.delete(Resource::<u32>::new_own(1)).unwrap();
        assert!(t.push(9u32).is_ok());
    }

    #[test]
    fn many_entries_at_once_in_the_order_asked() {
        let mut t = ResourceTable::new();
        let a = t.push(1u32).unwrap();
        let b = t.push(2u32).unwrap();
        let c = t.push(3u32).unwrap();
        let mut got = t.get_many_any_mut(&[c.rep(), a.rep()]).unwrap();
        *got[0].downcast_mut::<u32>().unwrap() += 10;
        *got[1].downcast_mut::<u32>().unwrap() += 20;
        assert_eq!((*t.get(&a).unwrap(), *t.get(&c).unwrap()), (21, 13));
        let mut err = |r: &[u32]| t.get_many_any_mut(r).err();
        assert_eq!(
            err(&[a.rep(), a.rep()]),
            Some(ResourceTableError::NotPresent)
        );
        assert_eq!(err(&[b.rep(), 99]), Some(ResourceTableError::NotPresent));
        let rep = b.rep();
        t.delete(b).unwrap();
        assert_eq!(
            t.get_many_any_mut(&[rep]).err(),
            Some(ResourceTableError::NotPresent)
        );
        assert!(t.get_any_mut(a.rep()).unwrap().is::<u32>());
    }
}
