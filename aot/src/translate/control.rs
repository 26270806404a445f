//! Structured control flow: blocks, loops, ifs, branches, returns, and the
//! skipping of unreachable code.

use cranelift_codegen::ir::{self, BlockArg, BlockCall, InstBuilder, JumpTableData};
use wasmparser::{BlockType, BrTable, Operator};

use super::Translator;
use crate::CompileError;
use crate::abi;
use crate::module::WasmType;
use crate::vmoffsets::trap_codes;

#[derive(Debug)]
pub(crate) enum FrameKind {
    Block,
    Loop {
        header: ir::Block,
    },
    If {
        /// Where the false branch goes; `None` once `else` was seen.
        else_block: Option<ir::Block>,
        /// The block parameters, for the else branch.
        params: Vec<ir::Value>,
        /// Whether the `if` itself was reachable (so `else` is).
        head_reachable: bool,
    },
    /// The function body: its end returns.
    Function,
    /// A `try_table`: a block whose catch clauses are open until its end
    /// (see `exceptions.rs`).
    TryTable,
}

#[derive(Debug)]
pub(crate) struct ControlFrame {
    pub(crate) kind: FrameKind,
    /// The block after the construct, taking its results as parameters.
    pub(crate) dest: ir::Block,
    pub(crate) num_params: usize,
    pub(crate) num_results: usize,
    /// Height of the value stack below the construct's parameters.
    pub(crate) base: usize,
    /// Whether anything branches to (or falls through to) `dest`.
    pub(crate) dest_reached: bool,
}

impl ControlFrame {
    pub(crate) fn function(ret: ir::Block, num_results: usize) -> Self {
        ControlFrame {
            kind: FrameKind::Function,
            dest: ret,
            num_params: 0,
            num_results,
            base: 0,
            dest_reached: false,
        }
    }

    /// Arity of a branch to this frame.
    fn branch_arity(&self) -> usize {
        match self.kind {
            FrameKind::Loop { .. } => self.num_params,
            _ => self.num_results,
        }
    }

    fn branch_target(&self) -> ir::Block {
        match self.kind {
            FrameKind::Loop { header } => header,
            _ => self.dest,
        }
    }
}

pub(super) fn args(values: &[ir::Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl Translator<'_, '_> {
    /// A block type's parameters and results (a type index is the
    /// module's: validation checked it names a function type).
    pub(super) fn block_type(
        &self,
        ty: BlockType,
    ) -> Result<(Vec<WasmType>, Vec<WasmType>), CompileError> {
        let wasm = WasmType::from_wasmparser_pub;
        Ok(match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![wasm(t)?]),
            BlockType::FuncType(i) => {
                let f = self.env.module.func_type_at(i);
                (f.params.clone(), f.results.clone())
            }
        })
    }

    pub(super) fn new_block(&mut self, types: &[WasmType]) -> ir::Block {
        let b = self.builder.create_block();
        for t in types {
            self.builder
                .append_block_param(b, abi::clif_type(*t, &self.env.module.types));
        }
        b
    }

    /// Marks the frame `depth` levels up as branched to; returns target and arity.
    pub(super) fn branch_info(&mut self, depth: u32) -> (ir::Block, usize) {
        let i = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[i];
        if !matches!(frame.kind, FrameKind::Loop { .. }) {
            frame.dest_reached = true;
        }
        (frame.branch_target(), frame.branch_arity())
    }

    pub(super) fn unreachable(&mut self) {
        self.builder.ins().trap(trap_codes::UNREACHABLE);
        self.reachable = false;
    }

    pub(super) fn select(&mut self) {
        let (a, b, c) = self.pop3();
        let v = self.builder.ins().select(c, a, b);
        self.push(v);
    }

    pub(super) fn block(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        let (params, results) = self.block_type(blockty)?;
        let dest = self.new_block(&results);
        self.control.push(ControlFrame {
            kind: FrameKind::Block,
            dest,
            num_params: params.len(),
            num_results: results.len(),
            base: self.stack.len() - params.len(),
            dest_reached: false,
        });
        Ok(())
    }

    pub(super) fn loop_(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        self.flush_fuel();
        let (params, results) = self.block_type(blockty)?;
        let header = self.new_block(&params);
        let dest = self.new_block(&results);
        let base = self.stack.len() - params.len();
        self.builder.ins().jump(header, &args(&self.stack[base..]));
        self.truncate_stack(base);
        self.builder.switch_to_block(header);
        let hp = self.builder.block_params(header).to_vec();
        self.stack.extend(hp);
        self.interrupt_checks();
        self.control.push(ControlFrame {
            kind: FrameKind::Loop { header },
            dest,
            num_params: params.len(),
            num_results: results.len(),
            base,
            dest_reached: false,
        });
        Ok(())
    }

    pub(super) fn if_(&mut self, blockty: BlockType) -> Result<(), CompileError> {
        self.flush_fuel();
        let cond = self.pop();
        let (params, results) = self.block_type(blockty)?;
        let dest = self.new_block(&results);
        let then_block = self.builder.create_block();
        let else_block = self.builder.create_block();
        self.builder
            .ins()
            .brif(cond, then_block, &[], else_block, &[]);
        self.builder.seal_block(then_block);
        self.builder.seal_block(else_block);
        self.builder.switch_to_block(then_block);
        let base = self.stack.len() - params.len();
        self.control.push(ControlFrame {
            kind: FrameKind::If {
                else_block: Some(else_block),
                params: self.stack[base..].to_vec(),
                head_reachable: true,
            },
            dest,
            num_params: params.len(),
            num_results: results.len(),
            base,
            dest_reached: false,
        });
        Ok(())
    }

    /// `else` in reachable code.
    pub(super) fn else_(&mut self) {
        self.flush_fuel();
        self.translate_else();
    }

    /// `end` in reachable code.
    pub(super) fn end(&mut self) {
        self.flush_fuel();
        self.translate_end();
    }

    pub(super) fn br(&mut self, relative_depth: u32) {
        self.flush_fuel();
        let (target, arity) = self.branch_info(relative_depth);
        let n = self.stack.len();
        self.builder
            .ins()
            .jump(target, &args(&self.stack[n - arity..]));
        self.reachable = false;
    }

    pub(super) fn br_if(&mut self, relative_depth: u32) {
        self.flush_fuel();
        let cond = self.pop();
        let (target, arity) = self.branch_info(relative_depth);
        let n = self.stack.len();
        let next = self.builder.create_block();
        self.builder
            .ins()
            .brif(cond, target, &args(&self.stack[n - arity..]), next, &[]);
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
    }

    /// `br_on_null`: branches (without the reference) if it is null, else
    /// keeps it on the stack.
    pub(super) fn br_on_null(&mut self, relative_depth: u32) {
        self.flush_fuel();
        let r = self.pop();
        let (target, arity) = self.branch_info(relative_depth);
        let n = self.stack.len();
        let next = self.builder.create_block();
        self.builder
            .ins()
            .brif(r, next, &[], target, &args(&self.stack[n - arity..]));
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        self.push(r);
    }

    /// `br_on_non_null`: branches with the reference (the label's last
    /// value) if it is not null, else drops it.
    pub(super) fn br_on_non_null(&mut self, relative_depth: u32) {
        self.flush_fuel();
        let (target, arity) = self.branch_info(relative_depth);
        let n = self.stack.len();
        let r = self.stack[n - 1];
        let next = self.builder.create_block();
        self.builder
            .ins()
            .brif(r, target, &args(&self.stack[n - arity..]), next, &[]);
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        self.pop();
    }

    pub(super) fn br_table(&mut self, targets: &BrTable<'_>) -> Result<(), CompileError> {
        self.flush_fuel();
        let index = self.pop();
        let mut depths = Vec::with_capacity(targets.len() as usize);
        for t in targets.targets() {
            depths.push(t.map_err(CompileError::from_wasmparser)?);
        }
        let default = targets.default();
        let (_, arity) = self.branch_info(default);
        let n = self.stack.len();
        let vals = args(&self.stack[n - arity..]);
        let call = |this: &mut Self, depth: u32| {
            let (target, _) = this.branch_info(depth);
            BlockCall::new(
                target,
                vals.iter().copied(),
                &mut this.builder.func.dfg.value_lists,
            )
        };
        let default_call = call(self, default);
        let table: Vec<BlockCall> = depths.iter().map(|d| call(self, *d)).collect();
        let jt = self
            .builder
            .create_jump_table(JumpTableData::new(default_call, &table));
        self.builder.ins().br_table(index, jt);
        self.reachable = false;
        Ok(())
    }

    pub(super) fn return_(&mut self) {
        self.flush_fuel();
        let (target, arity) = self.branch_info(self.control.len() as u32 - 1);
        let n = self.stack.len();
        self.builder
            .ins()
            .jump(target, &args(&self.stack[n - arity..]));
        self.reachable = false;
    }

    fn translate_else(&mut self) {
        let frame = self.control.last_mut().expect("validated");
        let FrameKind::If {
            else_block,
            params,
            head_reachable,
        } = &mut frame.kind
        else {
            unreachable!("validation pairs else with if")
        };
        let else_block = else_block.take().expect("one else per if");
        let params = std::mem::take(params);
        let head_reachable = *head_reachable;
        let (dest, base, num_results) = (frame.dest, frame.base, frame.num_results);
        if self.reachable {
            frame.dest_reached = true;
            let n = self.stack.len();
            self.builder
                .ins()
                .jump(dest, &args(&self.stack[n - num_results..]));
        }
        self.truncate_stack(base);
        self.stack.extend(params);
        self.builder.switch_to_block(else_block);
        self.reachable = head_reachable;
    }

    fn translate_end(&mut self) {
        let frame = self.control.pop().expect("validated");
        if self.reachable {
            let n = self.stack.len();
            self.builder
                .ins()
                .jump(frame.dest, &args(&self.stack[n - frame.num_results..]));
        }
        let mut reached = frame.dest_reached || self.reachable;
        let is_function = matches!(frame.kind, FrameKind::Function);
        match frame.kind {
            FrameKind::Loop { header } => self.builder.seal_block(header),
            FrameKind::TryTable => self.end_try_table(),
            FrameKind::If {
                else_block: Some(else_block),
                params,
                head_reachable,
            } => {
                // No `else`: the false branch passes the parameters through.
                self.builder.switch_to_block(else_block);
                if head_reachable {
                    self.builder.ins().jump(frame.dest, &args(&params));
                    reached = true;
                } else {
                    self.builder.ins().trap(trap_codes::UNREACHABLE);
                }
            }
            _ => {}
        }
        self.builder.seal_block(frame.dest);
        self.truncate_stack(frame.base);
        if is_function {
            self.builder.switch_to_block(frame.dest);
            // The results are the block's parameters as declared. Read them
            // before `save_fuel`: its use of the fuel variable in this sealed
            // block with several predecessors appends a parameter for it.
            let results = self.builder.block_params(frame.dest).to_vec();
            self.save_fuel();
            self.builder.ins().return_(&results);
            self.reachable = false;
            return;
        }
        if reached {
            self.builder.switch_to_block(frame.dest);
            let results = self.builder.block_params(frame.dest).to_vec();
            self.stack.extend(results);
        }
        self.reachable = reached;
    }

    /// In unreachable code only block structure matters: track nesting so the
    /// matching `else`/`end` brings the code back.
    pub(super) fn translate_unreachable_op(
        &mut self,
        op: &Operator<'_>,
    ) -> Result<(), CompileError> {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => self.translate_else(),
            Operator::End if self.unreachable_depth == 0 => self.translate_end(),
            Operator::End => self.unreachable_depth -= 1,
            _ => {}
        }
        Ok(())
    }
}
