//! Exception handling: `try_table`, `throw`, `throw_ref`.
//!
//! A `try_table` is a block whose catch clauses become handler blocks. While
//! one is open, every call of the function (wasm, import, indirect, and the
//! throw builtins) is a Cranelift `try_call` whose exception table lists the
//! clauses in effect, innermost first ([`FuncEnv::catch`](super::env)).
//! The runtime's unwinder (`engine/src/libcalls.rs`) finds the handler from
//! the call site's return address and resumes there with two payload words:
//! the exnref and a pointer to the exception's payload values (`ValRaw`s).
//! A handler block loads the tag's parameters from that array and branches
//! to the clause's label.

use cranelift_codegen::ir::{self, BlockArg, InstBuilder, MemFlagsData, StackSlotData, types};
use wasmparser::{BlockType, Catch, TryTable};

use super::Translator;
use super::control::{ControlFrame, FrameKind};
use crate::CompileError;
use crate::abi::{self, POINTER_TYPE};
use crate::builtin::Builtin;
use crate::image::HandlerTable;
use crate::vmoffsets::{VAL_RAW_SIZE, trap_codes};

/// One catch clause of an open `try_table`.
#[derive(Debug)]
pub(crate) struct Clause {
    /// Module tag index; `None` for `catch_all`/`catch_all_ref`.
    tag: Option<u32>,
    /// Whether the clause also passes the exnref (`catch_ref`, `catch_all_ref`).
    with_ref: bool,
    /// Label, relative to the context around the `try_table`.
    label: u32,
    /// Handler block: (exnref, payload pointer).
    block: ir::Block,
}

/// The catch clauses of one open `try_table`.
#[derive(Debug)]
pub(crate) struct HandlerScope {
    clauses: Vec<Clause>,
    /// `FuncEnv::try_calls` when the `try_table` began: if it grew, a call
    /// inside may land in the handler blocks.
    try_calls_at_start: u32,
}

impl Translator<'_, '_> {
    pub(super) fn try_table(&mut self, table: TryTable) -> Result<(), CompileError> {
        let blockty: BlockType = table.ty;
        let (params, results) = self.block_type(blockty)?;
        let dest = self.new_block(&results);
        let mut clauses = Vec::with_capacity(table.catches.len());
        for c in table.catches {
            let (tag, with_ref, label) = match c {
                Catch::One { tag, label } => (Some(tag), false, label),
                Catch::OneRef { tag, label } => (Some(tag), true, label),
                Catch::All { label } => (None, false, label),
                Catch::AllRef { label } => (None, true, label),
            };
            let block = self.builder.create_block();
            self.builder.append_block_param(block, POINTER_TYPE);
            self.builder.append_block_param(block, POINTER_TYPE);
            clauses.push(Clause {
                tag,
                with_ref,
                label,
                block,
            });
        }
        self.handlers.push(HandlerScope {
            clauses,
            try_calls_at_start: self.env.try_calls,
        });
        self.update_catch();
        self.control.push(ControlFrame {
            kind: FrameKind::TryTable,
            dest,
            num_params: params.len(),
            num_results: results.len(),
            base: self.stack.len() - params.len(),
            dest_reached: false,
        });
        Ok(())
    }

    /// The clauses calls must list now: innermost first, none after the
    /// first catch-all (it catches everything the outer ones would).
    fn update_catch(&mut self) {
        self.env.catch.clear();
        for scope in self.handlers.iter().rev() {
            for c in &scope.clauses {
                let clause = HandlerTable::encode_clause(c.tag, c.with_ref);
                self.env.catch.push((clause, c.block));
                if c.tag.is_none() {
                    return;
                }
            }
        }
    }

    /// At a `try_table`'s `end`, after its frame was popped (so clause
    /// labels index the control stack as they did around it): fills the
    /// handler blocks, if any call inside could reach them.
    pub(super) fn end_try_table(&mut self) {
        let scope = self.handlers.pop().expect("a scope per try_table");
        self.update_catch();
        if self.env.try_calls == scope.try_calls_at_start {
            return;
        }
        for c in scope.clauses {
            self.builder.switch_to_block(c.block);
            self.builder.seal_block(c.block);
            let p = self.builder.block_params(c.block).to_vec();
            let (exn, values) = (p[0], p[1]);
            self.reload_fuel();
            let mut args = Vec::new();
            if let Some(tag) = c.tag {
                let ty = self.env.module.tag_type(tag);
                for (i, t) in ty.params.iter().enumerate() {
                    let v = self.builder.ins().load(
                        abi::clif_type(*t, &self.env.module.types),
                        MemFlagsData::trusted(),
                        values,
                        (i as u32 * VAL_RAW_SIZE) as i32,
                    );
                    args.push(v);
                }
            }
            if c.with_ref {
                args.push(exn);
            }
            let (target, arity) = self.branch_info(c.label);
            debug_assert_eq!(arity, args.len(), "validation matches label and clause");
            let args: Vec<BlockArg> = args.into_iter().map(BlockArg::Value).collect();
            self.builder.ins().jump(target, &args);
        }
    }

    pub(super) fn throw(&mut self, tag: u32) -> Result<(), CompileError> {
        let n = self.env.module.tag_type(tag).params.len();
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            ir::StackSlotKind::ExplicitSlot,
            n.max(1) as u32 * VAL_RAW_SIZE,
            4,
        ));
        let values = self.builder.ins().stack_addr(POINTER_TYPE, slot, 0);
        let base = self.stack.len() - n;
        for (i, v) in self.stack[base..].iter().copied().enumerate() {
            self.builder.ins().store(
                MemFlagsData::trusted(),
                v,
                values,
                (i as u32 * VAL_RAW_SIZE) as i32,
            );
        }
        self.truncate_stack(base);
        self.save_fuel();
        let tag = self.builder.ins().iconst(types::I32, tag as i64);
        self.env
            .call_builtin(&mut self.builder, Builtin::Throw, &[tag, values]);
        self.builder.ins().trap(trap_codes::UNCAUGHT_EXCEPTION);
        self.reachable = false;
        Ok(())
    }

    pub(super) fn throw_ref(&mut self) -> Result<(), CompileError> {
        let exn = self.pop();
        self.builder.ins().trapz(exn, trap_codes::NULL_REFERENCE);
        self.save_fuel();
        self.env
            .call_builtin(&mut self.builder, Builtin::ThrowRef, &[exn]);
        self.builder.ins().trap(trap_codes::UNCAUGHT_EXCEPTION);
        self.reachable = false;
        Ok(())
    }
}
