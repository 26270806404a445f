//! The tables of a code image: where each function is, and what the
//! runtime looks up by code offset (trap sites, the exception handlers of
//! `try_call` sites, stack maps). Made by the compiler's layout
//! (`compile.rs`), kept in artifacts, read by the engine's trap handler,
//! unwinder and collector.

/// A trap site in the code image: executing the instruction at `offset`
/// traps (or may fault) with Cranelift trap code `code`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TrapSite {
    pub offset: u32,
    pub code: u8,
}

/// Where a compiled function sits in the code image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CompiledFunction {
    /// Function index (defined functions only), or `u32::MAX` for a trampoline.
    pub func_index: u32,
    pub offset: u32,
    pub len: u32,
}

impl CompiledFunction {
    pub const TRAMPOLINE: u32 = u32::MAX;
}

/// The tables of one code image, which travel together: from the
/// compiler's layout into an [`Artifact`](crate::Artifact) and an artifact
/// file, and from either into the engine's registry of code, where the
/// trap handler, the unwinder and the collector's stack walk read them.
/// Offsets are from the image's start.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageTables {
    /// Every function and trampoline in the image, sorted by offset.
    #[serde(with = "crate::packed")]
    pub functions: Vec<CompiledFunction>,
    /// Every trap site.
    pub traps: TrapTable,
    /// The exception handlers of every `try_call` site.
    pub handlers: HandlerTable,
    /// The stack maps of every call site with heap references live across it.
    pub stack_maps: StackMapTable,
}

impl ImageTables {
    /// The trap code at `offset` in the image, if it is a trap site.
    pub fn trap_at(&self, offset: u32) -> Option<u8> {
        self.traps.lookup(offset)
    }

    /// The function (or trampoline) whose code contains `offset`.
    pub fn function_at(&self, offset: u32) -> Option<&CompiledFunction> {
        let i = self.functions.partition_point(|f| f.offset <= offset);
        let f = self.functions.get(i.checked_sub(1)?)?;
        (offset < f.offset + f.len).then_some(f)
    }

    /// Which table disagrees with itself, if one does (a damaged artifact's
    /// may): its name, for the error.
    pub fn check(&self) -> Result<(), &'static str> {
        if !self.traps.is_consistent() {
            return Err("trap table");
        }
        if !self.handlers.is_consistent() {
            return Err("exception handler table");
        }
        if !self.stack_maps.is_consistent() {
            return Err("stack map table");
        }
        Ok(())
    }
}

/// One `try_call` site of a function, before layout.
#[derive(Clone, Debug)]
pub(crate) struct TryCallSite {
    /// Return address (offset in the function).
    pub(crate) ret_addr: u32,
    /// FP minus SP at the call: the handler runs with SP = FP - this.
    pub(crate) frame_offset: u32,
    /// Offset from that SP of the stack slot holding the VMContext (the
    /// exception table's dynamic context), through which tags resolve.
    pub(crate) vmctx_sp_offset: u32,
    /// (clause, see [`HandlerTable::encode_clause`]; handler offset in the
    /// function).
    pub(crate) handlers: Vec<(u32, u32)>,
}

/// The exception handlers of a code image: for each `try_call` site (by
/// return address, sorted) its frame offset, where its frame keeps the
/// VMContext, and its clauses in order (module tag index or catch-all, and
/// whether it passes the exnref; handler address). The runtime's unwinder looks return addresses up here
/// (see `engine/src/libcalls.rs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandlerTable {
    #[serde(with = "crate::packed")]
    ret_addrs: Vec<u32>,
    #[serde(with = "crate::packed")]
    frame_offsets: Vec<u32>,
    #[serde(with = "crate::packed")]
    vmctx_offsets: Vec<u32>,
    /// Per site, the end of its clauses in `tags`/`targets`.
    #[serde(with = "crate::packed")]
    ends: Vec<u32>,
    #[serde(with = "crate::packed")]
    tags: Vec<u32>,
    #[serde(with = "crate::packed")]
    targets: Vec<u32>,
}

/// What the unwinder needs of one `try_call` site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSiteHandlers<'a> {
    pub frame_offset: u32,
    pub vmctx_sp_offset: u32,
    /// The clauses (see [`HandlerTable::encode_clause`]), in order.
    pub tags: &'a [u32],
    /// Handler image offsets, parallel to `tags`.
    pub targets: &'a [u32],
}

impl HandlerTable {
    /// A catch clause as the exception tag Cranelift records for it (and
    /// [`CallSiteHandlers::tags`] holds): the module tag index (`None`: a
    /// catch-all) and whether the clause passes the exnref (`catch_ref`,
    /// `catch_all_ref`), which the runtime needs to know whether the
    /// exception object can still be reached after the handler ran.
    pub fn encode_clause(tag: Option<u32>, with_ref: bool) -> u32 {
        let base = match tag {
            // Validation limits tags to far fewer than 2^31.
            Some(t) => t << 1,
            // Not `u32::MAX - 1`: `catch_all_ref` would then be `u32::MAX`,
            // Cranelift's reserved entity value (`ExceptionTag::from_u32`
            // asserts against it in debug builds).
            None => u32::MAX - 3,
        };
        base | u32::from(with_ref)
    }

    /// The clause [`encode_clause`](Self::encode_clause) encoded.
    pub fn decode_clause(v: u32) -> (Option<u32>, bool) {
        let with_ref = v & 1 == 1;
        if v >= u32::MAX - 3 {
            (None, with_ref)
        } else {
            (Some(v >> 1), with_ref)
        }
    }

    pub(crate) fn new(mut sites: Vec<TryCallSite>) -> Self {
        sites.sort_unstable_by_key(|s| s.ret_addr);
        let mut t = HandlerTable::default();
        for s in sites {
            t.ret_addrs.push(s.ret_addr);
            t.frame_offsets.push(s.frame_offset);
            t.vmctx_offsets.push(s.vmctx_sp_offset);
            for (tag, target) in s.handlers {
                t.tags.push(tag);
                t.targets.push(target);
            }
            t.ends.push(t.tags.len() as u32);
        }
        t
    }

    /// The handlers of the `try_call` whose return address is image offset
    /// `ret_addr`, if it is one.
    pub fn lookup(&self, ret_addr: u32) -> Option<CallSiteHandlers<'_>> {
        let i = self.ret_addrs.binary_search(&ret_addr).ok()?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? } as usize;
        let end = *self.ends.get(i)? as usize;
        Some(CallSiteHandlers {
            frame_offset: *self.frame_offsets.get(i)?,
            vmctx_sp_offset: *self.vmctx_offsets.get(i)?,
            tags: self.tags.get(start..end)?,
            targets: self.targets.get(start..end)?,
        })
    }

    /// Whether the arrays agree in length (a damaged artifact may not).
    pub fn is_consistent(&self) -> bool {
        let n = self.ret_addrs.len();
        self.frame_offsets.len() == n
            && self.vmctx_offsets.len() == n
            && self.ends.len() == n
            && self.tags.len() == self.targets.len()
            && self.ends.windows(2).all(|w| w[0] <= w[1])
            && self
                .ends
                .last()
                .is_none_or(|&e| e as usize == self.tags.len())
    }
}

/// One safepoint of a function before layout: the return address of a
/// call (offset in the function), the frame's FP-to-SP distance at the call,
/// and the SP offsets of the stack slots holding heap references.
#[derive(Clone, Debug)]
pub(crate) struct StackMapSite {
    pub(crate) ret_addr: u32,
    pub(crate) span: u32,
    pub(crate) slots: Vec<u32>,
}

/// The stack maps of a code image, for the collector's stack walk: for each
/// call site that has heap references live across it (by return address,
/// sorted), the distance from the frame pointer down to the stack pointer at
/// the call (`span`), and the offsets from that stack pointer of the 4-byte
/// slots holding the references. A frame with frame pointer `fp` whose call
/// returns to `ret` keeps its references at `fp - span + offset`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StackMapTable {
    #[serde(with = "crate::packed")]
    ret_addrs: Vec<u32>,
    #[serde(with = "crate::packed")]
    spans: Vec<u32>,
    /// Per site, the end of its slots in `slots`.
    #[serde(with = "crate::packed")]
    ends: Vec<u32>,
    #[serde(with = "crate::packed")]
    slots: Vec<u32>,
}

impl StackMapTable {
    pub(crate) fn new(mut sites: Vec<StackMapSite>) -> Self {
        sites.sort_unstable_by_key(|s| s.ret_addr);
        let mut t = StackMapTable::default();
        for s in sites {
            t.ret_addrs.push(s.ret_addr);
            t.spans.push(s.span);
            t.slots.extend(s.slots);
            t.ends.push(t.slots.len() as u32);
        }
        t
    }

    /// The stack map of the call whose return address is image offset
    /// `ret_addr`: its span and slot offsets. `None`: no reference is live
    /// across that call (or it is no call).
    pub fn lookup(&self, ret_addr: u32) -> Option<(u32, &[u32])> {
        let i = self.ret_addrs.binary_search(&ret_addr).ok()?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? } as usize;
        let end = *self.ends.get(i)? as usize;
        Some((*self.spans.get(i)?, self.slots.get(start..end)?))
    }

    /// Number of call sites with a stack map.
    pub fn len(&self) -> usize {
        self.ret_addrs.len()
    }

    /// Whether no call site has a stack map.
    pub fn is_empty(&self) -> bool {
        self.ret_addrs.is_empty()
    }

    /// Whether the arrays agree (a damaged artifact may not).
    pub fn is_consistent(&self) -> bool {
        let n = self.ret_addrs.len();
        self.spans.len() == n
            && self.ends.len() == n
            && self.ends.windows(2).all(|w| w[0] <= w[1])
            && self
                .ends
                .last()
                .is_none_or(|&e| e as usize == self.slots.len())
    }
}

/// Every trap site of a code image, sorted by offset, as two arrays (offsets
/// and codes): the trap handler binary-searches the offsets, and an artifact
/// load decodes them as one packed array and one byte string.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrapTable {
    #[serde(with = "crate::packed")]
    offsets: Vec<u32>,
    #[serde(with = "serde_bytes")]
    codes: Vec<u8>,
}

impl TrapTable {
    /// Builds a table from sites in any order.
    pub fn new(mut sites: Vec<TrapSite>) -> Self {
        sites.sort_unstable();
        sites.dedup_by_key(|t| t.offset);
        TrapTable {
            offsets: sites.iter().map(|t| t.offset).collect(),
            codes: sites.iter().map(|t| t.code).collect(),
        }
    }

    /// The trap code at `offset`, if it is a trap site.
    pub fn lookup(&self, offset: u32) -> Option<u8> {
        let i = self.offsets.binary_search(&offset).ok()?;
        self.codes.get(i).copied()
    }

    /// Every trap site, in increasing order of offset.
    pub(crate) fn sites(&self) -> impl Iterator<Item = TrapSite> + '_ {
        self.offsets
            .iter()
            .zip(&self.codes)
            .map(|(&offset, &code)| TrapSite { offset, code })
    }

    /// Every trap site's offset, in increasing order.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// Whether the two arrays agree in length (a damaged artifact may not).
    pub fn is_consistent(&self) -> bool {
        self.offsets.len() == self.codes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_table_clauses_and_lookup() {
        for (tag, with_ref) in [
            (Some(0), false),
            (Some(7), true),
            (None, false),
            (None, true),
        ] {
            let v = HandlerTable::encode_clause(tag, with_ref);
            assert_eq!(HandlerTable::decode_clause(v), (tag, with_ref));
            // Every clause is a valid Cranelift entity (not the reserved
            // `u32::MAX`).
            assert!(v < u32::MAX, "{tag:?} {with_ref}: {v:#x}");
        }
        let site = |ret_addr, handlers: Vec<(u32, u32)>| TryCallSite {
            ret_addr,
            frame_offset: 32,
            vmctx_sp_offset: 8,
            handlers,
        };
        // Out of order, as functions are laid out.
        let t = HandlerTable::new(vec![
            site(200, vec![(HandlerTable::encode_clause(None, true), 240)]),
            site(100, vec![(1, 150), (4, 160)]),
        ]);
        assert!(t.is_consistent());
        let s = t.lookup(100).unwrap();
        assert_eq!((s.tags, s.targets), (&[1, 4][..], &[150, 160][..]));
        assert_eq!(t.lookup(200).unwrap().targets, [240]);
        assert_eq!(t.lookup(150), None);
        let bytes = postcard::to_allocvec(&t).unwrap();
        let back: HandlerTable = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, t);
    }
}
