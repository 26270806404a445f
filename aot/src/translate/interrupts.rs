//! Fuel and epoch checks, when the compiler's tunables ask for them.
//!
//! Fuel lives in a local variable while the function runs: each straight-line
//! run of operators adds its cost when control leaves it, the variable is
//! written back to the store context around calls and returns, and function
//! entries and loop headers check it. The epoch check compares the engine's
//! epoch counter with the store's deadline at the same places.

use cranelift_codegen::ir::{InstBuilder, condcodes::IntCC, types};
use wasmparser::Operator;

use super::Translator;
use crate::vmoffsets::{Builtin, trap_codes};

impl Translator<'_, '_> {
    /// Counts an operator's fuel.
    pub(super) fn charge(&mut self, op: &Operator<'_>) {
        if self.fuel_var.is_none() {
            return;
        }
        if !matches!(
            op,
            Operator::Nop
                | Operator::Drop
                | Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::End
                | Operator::Else
        ) {
            self.fuel_pending += 1;
        }
    }

    /// Adds the pending cost to the fuel variable.
    pub(super) fn flush_fuel(&mut self) {
        if let Some(var) = self.fuel_var
            && self.fuel_pending > 0
        {
            let v = self.builder.use_var(var);
            let v = self.builder.ins().iadd_imm_s(v, self.fuel_pending);
            self.builder.def_var(var, v);
            self.fuel_pending = 0;
        }
    }

    /// Writes the fuel variable back to the store context (before a call or return).
    pub(super) fn save_fuel(&mut self) {
        self.flush_fuel();
        if let Some(var) = self.fuel_var {
            let v = self.builder.use_var(var);
            self.env.store_fuel(&mut self.builder, v);
        }
    }

    /// Reads the fuel variable from the store context (after a call).
    pub(super) fn reload_fuel(&mut self) {
        if let Some(var) = self.fuel_var {
            let v = self.env.load_fuel(&mut self.builder);
            self.builder.def_var(var, v);
        }
    }

    /// Declares the fuel variable at function entry.
    pub(super) fn init_fuel(&mut self) {
        if self.tunables.consume_fuel {
            let var = self.builder.declare_var(types::I64);
            self.fuel_var = Some(var);
            self.reload_fuel();
        }
    }

    /// The checks at a function entry or loop header.
    pub(super) fn interrupt_checks(&mut self) {
        if self.fuel_var.is_some() {
            self.flush_fuel();
            let var = self.fuel_var.expect("checked");
            let v = self.builder.use_var(var);
            let out = self
                .builder
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThan, v, 0);
            let slow = self.builder.create_block();
            let next = self.builder.create_block();
            self.builder.set_cold_block(slow);
            self.builder.ins().brif(out, slow, &[], next, &[]);
            self.builder.seal_block(slow);
            self.builder.switch_to_block(slow);
            self.save_fuel();
            let failed = self.call_builtin(Builtin::OutOfFuel, &[]).expect("returns");
            self.builder.ins().trapnz(failed, trap_codes::OUT_OF_FUEL);
            self.reload_fuel();
            self.builder.ins().jump(next, &[]);
            self.builder.seal_block(next);
            self.builder.switch_to_block(next);
        }
        if self.tunables.epoch_interruption {
            let (epoch, deadline) = self.env.epoch_and_deadline(&mut self.builder);
            let due = self
                .builder
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
            let slow = self.builder.create_block();
            let next = self.builder.create_block();
            self.builder.set_cold_block(slow);
            self.builder.ins().brif(due, slow, &[], next, &[]);
            self.builder.seal_block(slow);
            self.builder.switch_to_block(slow);
            self.save_fuel();
            let failed = self
                .call_builtin(Builtin::EpochDeadline, &[])
                .expect("returns");
            self.builder.ins().trapnz(failed, trap_codes::INTERRUPT);
            self.reload_fuel();
            self.builder.ins().jump(next, &[]);
            self.builder.seal_block(next);
            self.builder.switch_to_block(next);
        }
    }
}
