//! Tables of references. Elements are pointer-sized raw references (see
//! `nyash_aot::vmoffsets::table_def`).

use super::vmcontext::VMTableDefinition;
use nyash_aot::module::TableType;

/// The most elements any table may have, whatever its declared maximum.
pub const MAX_ELEMENTS: u64 = 10_000_000;

#[derive(Debug)]
pub struct Table {
    elements: Vec<usize>,
    def: Box<VMTableDefinition>,
    max: u64,
    pub ty: TableType,
}

impl Table {
    pub fn new(ty: TableType, init: usize) -> Result<Self, String> {
        let max = ty
            .limits
            .max
            .unwrap_or(u64::from(u32::MAX))
            .min(MAX_ELEMENTS);
        if ty.limits.min > max {
            return Err(format!(
                "table minimum of {} elements exceeds the limit of {max}",
                ty.limits.min
            ));
        }
        let mut elements = vec![init; ty.limits.min as usize];
        let def = Box::new(VMTableDefinition {
            base: elements.as_mut_ptr(),
            current_elements: elements.len() as u64,
        });
        Ok(Table {
            elements,
            def,
            max,
            ty,
        })
    }

    pub fn definition(&mut self) -> *mut VMTableDefinition {
        &mut *self.def
    }

    pub fn len(&self) -> u64 {
        self.elements.len() as u64
    }

    pub fn get(&self, i: u64) -> Option<usize> {
        self.elements.get(usize::try_from(i).ok()?).copied()
    }

    pub fn set(&mut self, i: u64, v: usize) -> bool {
        match usize::try_from(i)
            .ok()
            .and_then(|i| self.elements.get_mut(i))
        {
            Some(slot) => {
                *slot = v;
                true
            }
            None => false,
        }
    }

    pub fn elements(&self) -> &[usize] {
        &self.elements
    }

    pub fn elements_mut(&mut self) -> &mut [usize] {
        &mut self.elements
    }

    /// Grows by `delta` elements set to `init`; returns the old size.
    pub fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.len();
        let new = old.checked_add(delta)?;
        if new > self.max {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.def.base = self.elements.as_mut_ptr();
        self.def.current_elements = new;
        Some(old)
    }
}

// SAFETY: the definition points into `elements`, owned by this value.
unsafe impl Send for Table {}
// SAFETY: as for Send: shared access only reads `elements`.
unsafe impl Sync for Table {}
