//! Inlining of small functions into their direct callers, with the
//! information backtraces need to show the inlined frames.
//!
//! Cranelift supplies the mechanics (`Context::inline`); this module decides
//! what to inline and records where inlined code ended up:
//!
//! - **What.** A defined function whose body is small (at most
//!   [`MAX_BODY_BYTES`] of wasm and [`MAX_CALLEE_INSTS`] CLIF instructions) is
//!   translated first, in its own parallel pass, and its unoptimised CLIF is
//!   kept. Every direct call to such a function is inlined, one level deep
//!   (calls inside an inlined body stay calls, so recursion unrolls once and
//!   code grows by a bounded amount), into callers of at most
//!   [`MAX_CALLER_INSTS`] instructions, at most [`MAX_INLINED_CALLS`] times and
//!   [`MAX_GROWTH_INSTS`] instructions per caller.
//! - **Where.** The translator gives every instruction of a function source
//!   location 0. The inliner copies a callee's instructions without source
//!   locations, so after each inlined call the instructions still without one
//!   are that call's, and get the callee's index + 1. Cranelift carries
//!   source locations to machine code; [`inline_ranges`] turns them into code
//!   ranges per inlined callee, which the runtime consults to put the inlined
//!   function's frame in a backtrace before its caller's.
//!
//! The semantics of a call are unchanged by inlining it: the callee's body
//! runs with the caller's VMContext (a direct call passes the caller's own),
//! fuel is saved before and reloaded after the inlined body exactly as around
//! a call, and the callee's entry checks (fuel, epoch) run where its entry
//! would have. Only the callee's stack-limit check goes: the caller's frame
//! now holds the callee's, and the caller checks its own frame.

use std::borrow::Cow;

use cranelift_codegen::Context;
use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName, SourceLoc};

use crate::CompileError;
use crate::module::ModuleEnv;

/// Bodies larger than this (in bytes of wasm, locals included) are never
/// translated ahead as inlining candidates.
pub const MAX_BODY_BYTES: usize = 96;
/// A candidate is inlined only if its translated CLIF is at most this long.
pub const MAX_CALLEE_INSTS: usize = 48;
/// Functions larger than this receive no inlined calls (their compile time
/// grows faster than linearly; they gain least from it).
pub const MAX_CALLER_INSTS: usize = 4000;
pub const MAX_INLINED_CALLS: usize = 12;
pub const MAX_GROWTH_INSTS: usize = 400;

/// Translated bodies of the module's inlining candidates, by function index.
pub struct InlineBodies<'a> {
    env: &'a ModuleEnv,
    /// By defined function index; `None` for functions that are not
    /// candidates.
    bodies: &'a [Option<ir::Function>],
    /// Whether there is any candidate at all (known once, not per caller).
    any: bool,
}

impl<'a> InlineBodies<'a> {
    pub fn new(env: &'a ModuleEnv, bodies: &'a [Option<ir::Function>]) -> Self {
        let any = bodies.iter().any(Option::is_some);
        InlineBodies { env, bodies, any }
    }

    fn body(&self, func_index: u32) -> Option<&'a ir::Function> {
        let defined = func_index.checked_sub(self.env.num_imported_funcs)?;
        self.bodies.get(defined as usize)?.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        !self.any
    }
}

/// Whether a translated function may be inlined into its callers. Never one
/// with a tail call: Cranelift would turn it into a call from the caller's
/// frame, and the backtrace would then show the tail-calling function, which
/// without inlining has left the stack. Nor one with a `try_table` (its
/// `try_call`s and handler blocks stay in a frame of their own; call sites
/// inside a `try_table` are `try_call`s and never inlined either).
pub fn is_candidate(func: &ir::Function) -> bool {
    func.dfg.num_insts() <= MAX_CALLEE_INSTS
        && !func.layout.blocks().any(|block| {
            func.layout.block_insts(block).any(|inst| {
                matches!(
                    func.dfg.insts[inst].opcode(),
                    ir::Opcode::ReturnCall
                        | ir::Opcode::ReturnCallIndirect
                        | ir::Opcode::TryCall
                        | ir::Opcode::TryCallIndirect
                )
            })
        })
}

/// The function index a direct call's `FuncRef` names.
fn callee_index(caller: &ir::Function, callee: ir::FuncRef) -> Option<u32> {
    match caller.dfg.ext_funcs[callee].name {
        ExternalName::User(r) => Some(caller.params.user_named_funcs()[r].index),
        _ => None,
    }
}

/// Inlines the first call that qualifies, and nothing else.
struct FirstCall<'a, 'b> {
    bodies: &'b InlineBodies<'a>,
    inlined: Option<u32>,
    budget_insts: usize,
}

impl Inline for FirstCall<'_, '_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        call_inst: ir::Inst,
        opcode: ir::Opcode,
        callee: ir::FuncRef,
        _args: &[ir::Value],
    ) -> InlineCommand<'_> {
        // One level only: a call that came from an inlined body (tagged with
        // its function) stays a call. A tail call (`return_call`) stays a
        // tail call, so tail recursion keeps running in constant stack.
        if self.inlined.is_some()
            || opcode != ir::Opcode::Call
            || caller.srcloc(call_inst) != SourceLoc::new(0)
        {
            return InlineCommand::KeepCall;
        }
        let Some(index) = callee_index(caller, callee) else {
            return InlineCommand::KeepCall;
        };
        match self.bodies.body(index) {
            Some(body) if body.dfg.num_insts() <= self.budget_insts => {
                self.inlined = Some(index);
                InlineCommand::Inline {
                    callee: Cow::Borrowed(body),
                    visit_callee: false,
                }
            }
            _ => InlineCommand::KeepCall,
        }
    }
}

/// Inlines qualifying direct calls in `ctx.func` (see the module docs) and
/// tags the inlined instructions with their callee. Returns how many calls
/// were inlined.
pub fn inline_calls(
    ctx: &mut Context,
    bodies: &InlineBodies<'_>,
    func_index: u32,
) -> Result<usize, CompileError> {
    let start = ctx.func.dfg.num_insts();
    if bodies.is_empty() || start > MAX_CALLER_INSTS || !has_candidate_call(&ctx.func, bodies) {
        return Ok(0);
    }
    let mut count = 0;
    while count < MAX_INLINED_CALLS {
        let grown = ctx.func.dfg.num_insts() - start;
        let mut one = FirstCall {
            bodies,
            inlined: None,
            budget_insts: MAX_GROWTH_INSTS.saturating_sub(grown),
        };
        ctx.inline(&mut one).map_err(|e| CompileError::Codegen {
            func_index,
            message: format!("inlining: {e:?}"),
        })?;
        let Some(callee) = one.inlined else {
            break;
        };
        tag_untagged(&mut ctx.func, SourceLoc::new(callee + 1));
        count += 1;
    }
    Ok(count)
}

fn has_candidate_call(func: &ir::Function, bodies: &InlineBodies<'_>) -> bool {
    func.dfg
        .ext_funcs
        .keys()
        .any(|f| callee_index(func, f).is_some_and(|i| bodies.body(i).is_some()))
}

fn tag_untagged(func: &mut ir::Function, loc: SourceLoc) {
    let insts: Vec<ir::Inst> = func
        .layout
        .blocks()
        .flat_map(|b| func.layout.block_insts(b))
        .filter(|&i| func.srcloc(i).is_default())
        .collect();
    for inst in insts {
        func.set_srcloc(inst, loc);
    }
}

/// Code of one function that came from an inlined callee: `[start, end)`
/// (offsets in the code image) holds instructions of function `func_index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InlineRange {
    pub start: u32,
    pub end: u32,
    pub func_index: u32,
}

/// The ranges of a compiled function's code (offsets relative to the
/// function) that came from inlined callees, merged where adjacent.
pub fn inline_ranges(srclocs: impl Iterator<Item = (u32, u32, SourceLoc)>) -> Vec<InlineRange> {
    let mut out: Vec<InlineRange> = Vec::new();
    for (start, end, loc) in srclocs {
        if loc.is_default() || loc.bits() == 0 || start >= end {
            continue;
        }
        let func_index = loc.bits() - 1;
        match out.last_mut() {
            Some(last) if last.end == start && last.func_index == func_index => last.end = end,
            _ => out.push(InlineRange {
                start,
                end,
                func_index,
            }),
        }
    }
    out
}

/// Sorted, non-overlapping inline ranges of a whole code image.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InlineTable {
    #[serde(with = "crate::packed")]
    ranges: Vec<InlineRange>,
}

impl InlineTable {
    pub fn new(mut ranges: Vec<InlineRange>) -> Self {
        ranges.sort_unstable_by_key(|r| r.start);
        InlineTable { ranges }
    }

    /// The inlined function whose code is at `offset`, if any.
    pub fn lookup(&self, offset: u32) -> Option<u32> {
        let i = self.ranges.partition_point(|r| r.start <= offset);
        let r = self.ranges.get(i.checked_sub(1)?)?;
        (offset < r.end).then_some(r.func_index)
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_skip_own_code_and_merge_adjacent() {
        let own = SourceLoc::new(0);
        let f3 = SourceLoc::new(4);
        let f7 = SourceLoc::new(8);
        let r = inline_ranges(
            [
                (0, 4, own),
                (4, 8, f3),
                (8, 12, f3),
                (12, 14, SourceLoc::default()),
                (14, 20, f7),
                (20, 24, own),
                (24, 30, f3),
            ]
            .into_iter(),
        );
        assert_eq!(
            r,
            [
                InlineRange {
                    start: 4,
                    end: 12,
                    func_index: 3
                },
                InlineRange {
                    start: 14,
                    end: 20,
                    func_index: 7
                },
                InlineRange {
                    start: 24,
                    end: 30,
                    func_index: 3
                },
            ]
        );
        let t = InlineTable::new(r);
        assert_eq!(t.lookup(3), None);
        assert_eq!(t.lookup(4), Some(3));
        assert_eq!(t.lookup(11), Some(3));
        assert_eq!(t.lookup(12), None);
        assert_eq!(t.lookup(19), Some(7));
        assert_eq!(t.lookup(20), None);
        assert_eq!(t.lookup(29), Some(3));
        assert_eq!(t.lookup(30), None);
    }
}
