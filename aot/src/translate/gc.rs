//! GC operators: `i31` references, `ref.eq`, casts, allocation
//! (`struct.new*`, `array.new*`), field and element access, the bulk array
//! operators, and the stack-map declarations that let the collector find
//! and move every reference a frame holds.
//!
//! A reference of the `any` hierarchy is an `I32` as `nyash_gc::vm`
//! encodes it: 0 null, odd an `i31` `(x << 1) | 1`, else a heap offset. An
//! object is at `base + zext(ref)`, where `base` is the store's heap base
//! (`FuncEnv::gc_base`, a load that leaves loops); fields are at the
//! offsets `crate::gc_layout` gives. Every object access carries the
//! `NULL_REFERENCE` trap code: the lowest 64 KiB of the heap are never
//! mapped, so an access through null faults (an implicit null check); an
//! offset past that range gets an explicit check. An array element's
//! offset is computed in wrapping 32-bit arithmetic after the `idx < len`
//! check, so even a corrupt length stays inside the heap's reservation.
//!
//! Allocation bumps the nursery pointer inline and calls the `gc_alloc`
//! builtin only when the nursery is full (a cold block); stores that
//! initialise a new object need no write barrier. Any other store of a
//! traced reference marks its card (`card_table[(obj + off) >> 9] = 1`).
//!
//! Casts decide on the reference's bits (null, the `i31` tag), then on the
//! object's type word: its kind bits for `struct`/`array`, equality with
//! the target's type word for a concrete type, and for a non-final target
//! one load of the object type's supertype display at the target's depth
//! (no builtin). A function-type target is `call_indirect`'s type check on
//! the funcref (`FuncEnv::func_ref_has_type`).

use cranelift_codegen::ir::{
    self, InstBuilder, MemFlagsData,
    condcodes::IntCC,
    types::{I8, I32, I64},
};
use nyash_gc::vm::{
    ARRAY_LEN_OFFSET, CARD_SHIFT, HEADER_BYTES, I31_TAG, KIND_MASK, Kind, NULL_GUARD_BYTES,
    TYPE_ID_SHIFT, offsets as heap_offsets,
};
use wasmparser::{FuncValidator, ValidatorResources};

use super::Translator;
use super::env::Region;
use crate::CompileError;
use crate::abi::{self, POINTER_TYPE};
use crate::builtin::Builtin;
use crate::gc_layout::{self, StructLayout};
use crate::module::{CompositeType, FieldType, HeapType, RefType, StorageType, WasmType};
use crate::vmoffsets::{trap_codes, type_display};

/// Largest object allocated inline; bigger arrays take the builtin, which
/// puts them straight into the old space (`nyash_gc::GcConfig::pretenure_bytes`'s
/// default).
const MAX_INLINE_ALLOC: i64 = 32 << 10;

/// Engine type ids read from a heap header index the display table only
/// after this mask, so even a corrupt header keeps the load inside the
/// table's reservation (`engine::type_registry`: 256 MiB of 256-byte
/// records).
const TYPE_ID_MASK: i64 = (1 << 20) - 1;

/// Which non-null references of a hierarchy pass a cast to a heap type.
enum NonNull {
    /// All of them (the target is its hierarchy's top, or `eq`).
    All,
    /// None (the target is a bottom type: only null can pass).
    None,
    /// Those with the `i31` tag.
    I31,
    /// `i31`s and heap objects other than extern objects (`eq`).
    Eq,
    /// Heap objects of this kind (`struct`, `array`).
    Kind(Kind),
    /// Heap objects of module type `index` or a subtype of it.
    Concrete(u32, Kind),
}

/// How a field's value is stored.
#[derive(Clone, Copy)]
enum Slot {
    /// A packed `i8`/`i16` (the value is an `I32`).
    I8,
    I16,
    /// Stored as the value's own CLIF type.
    Plain(ir::Type),
    /// A pointer-sized store handle (externref, exnref) kept as a `u32`.
    Handle,
}

/// Where a field or element is and how to access it.
#[derive(Clone, Copy)]
struct Field {
    slot: Slot,
    size: u32,
    traced: bool,
}

/// Flags of an access to heap object memory: the implicit null check's
/// trap code, the objects' alias region.
fn object_flags(b: &mut cranelift_frontend::FunctionBuilder<'_>, size: u32) -> MemFlagsData {
    let flags = MemFlagsData::new()
        .with_trap_code(Some(trap_codes::NULL_REFERENCE))
        .with_alias_region(Some(Region::GcObjects.get(b.func)));
    if size <= 8 {
        flags.with_aligned()
    } else {
        flags
    }
}

impl Translator<'_, '_> {
    // --- stack maps ------------------------------------------------------

    /// Declares the values the last operator pushed (stack positions from
    /// `low_water` on) that hold heap references, by the validator's
    /// types of them, so that Cranelift spills them to stack-map slots
    /// across every call. The translator's operand stack and the
    /// validator's have the same height in reachable code; a mismatch is
    /// an internal error, never a silently missed root.
    pub(super) fn declare_pushed_refs(
        &mut self,
        validator: &FuncValidator<ValidatorResources>,
    ) -> Result<(), CompileError> {
        let len = self.stack.len();
        if self.low_water >= len {
            self.low_water = len;
            return Ok(());
        }
        if validator.operand_stack_height() as usize != len {
            crate::bug!(
                "operand stack of {len} values, the validator's of {}",
                validator.operand_stack_height()
            );
        }
        for i in self.low_water..len {
            let Some(Some(wasmparser::ValType::Ref(r))) = validator.get_operand_type(len - 1 - i)
            else {
                continue;
            };
            // The validator's types name a defined type by module index or
            // by its own id: resolved here to the top of its hierarchy, for
            // the one rule (`HeapType::is_traced_in`).
            let traced = match r.heap_type() {
                wasmparser::HeapType::Abstract { ty, .. } => {
                    HeapType::from_abstract(ty).is_some_and(|h| h.is_traced_in(h.top()))
                }
                wasmparser::HeapType::Concrete(idx) | wasmparser::HeapType::Exact(idx) => {
                    let sub = match idx {
                        wasmparser::UnpackedIndex::Module(m) => {
                            use wasmparser::WasmModuleResources;
                            validator.resources().sub_type_at(m)
                        }
                        wasmparser::UnpackedIndex::Id(id) => {
                            use wasmparser::WasmModuleResources;
                            Some(validator.resources().sub_type_at_id(id))
                        }
                        _ => None,
                    };
                    let top = match sub.map(|s| &s.composite_type.inner) {
                        Some(
                            wasmparser::CompositeInnerType::Struct(_)
                            | wasmparser::CompositeInnerType::Array(_),
                        ) => HeapType::Any,
                        _ => HeapType::Func,
                    };
                    // Any index: a defined type is neither `i31` nor `none`.
                    HeapType::Concrete(0).is_traced_in(top)
                }
            };
            if traced && self.builder.func.dfg.value_type(self.stack[i]) == I32 {
                self.builder.declare_value_needs_stack_map(self.stack[i]);
            }
        }
        self.low_water = len;
        Ok(())
    }

    // --- i31 and ref.eq --------------------------------------------------

    /// `ref.i31`: `(x << 1) | 1`, the top bit of `x` dropped.
    pub(super) fn ref_i31(&mut self) {
        let x = self.pop();
        let shifted = self.builder.ins().ishl_imm_u(x, 1);
        let r = self.builder.ins().bor_imm_u(shifted, i64::from(I31_TAG));
        self.push(r);
    }

    /// `i31.get_s` / `i31.get_u`: traps with `NULL_REFERENCE` on null.
    pub(super) fn i31_get(&mut self, signed: bool) {
        let r = self.pop();
        self.builder.ins().trapz(r, trap_codes::NULL_REFERENCE);
        let v = if signed {
            self.builder.ins().sshr_imm_u(r, 1)
        } else {
            self.builder.ins().ushr_imm_u(r, 1)
        };
        self.push(v);
    }

    /// `ref.eq`: the same reference bits (null, the same `i31`, or the
    /// same object).
    pub(super) fn ref_eq(&mut self) {
        let (a, b) = self.pop2();
        let c = self.builder.ins().icmp(IntCC::Equal, a, b);
        let c = self.builder.ins().uextend(I32, c);
        self.push(c);
    }

    // --- types and layouts -------------------------------------------------

    fn struct_fields(&self, type_index: u32) -> &[FieldType] {
        match &self.env.module.types[type_index as usize].composite {
            CompositeType::Struct(fields) => fields,
            _ => &[],
        }
    }

    fn array_elem(&self, type_index: u32) -> FieldType {
        match &self.env.module.types[type_index as usize].composite {
            CompositeType::Array(f) => *f,
            _ => FieldType {
                storage: StorageType::I8,
                mutable: false,
            },
        }
    }

    fn struct_layout(&self, type_index: u32) -> StructLayout {
        let module = self.env.module;
        gc_layout::struct_layout(self.struct_fields(type_index), |h| module.heap_top(h))
    }

    fn field(&self, storage: StorageType) -> Field {
        let module = self.env.module;
        let (size, traced) = gc_layout::storage(storage, &|h| module.heap_top(h));
        let slot = match storage {
            StorageType::I8 => Slot::I8,
            StorageType::I16 => Slot::I16,
            StorageType::Val(t) => {
                let ty = abi::clif_type(t, &module.types);
                if ty == POINTER_TYPE && size == 4 {
                    Slot::Handle
                } else {
                    Slot::Plain(ty)
                }
            }
        };
        Field { slot, size, traced }
    }

    // --- object access -----------------------------------------------------

    /// `base + zext(r)`: the native address of object `r`.
    fn object_addr(&mut self, r: ir::Value) -> ir::Value {
        let base = self.env.gc_base(&mut self.builder);
        let r = self.builder.ins().uextend(POINTER_TYPE, r);
        self.builder.ins().iadd(base, r)
    }

    /// Loads the field at `addr + offset`; `signed` for a packed field's
    /// `_s` form.
    fn load_field(&mut self, f: Field, addr: ir::Value, offset: i32, signed: bool) -> ir::Value {
        let flags = object_flags(&mut self.builder, f.size);
        let b = &mut self.builder;
        match f.slot {
            Slot::I8 if signed => b.ins().sload8(I32, flags, addr, offset),
            Slot::I8 => b.ins().uload8(I32, flags, addr, offset),
            Slot::I16 if signed => b.ins().sload16(I32, flags, addr, offset),
            Slot::I16 => b.ins().uload16(I32, flags, addr, offset),
            Slot::Handle => b.ins().uload32(flags, addr, offset),
            Slot::Plain(ty) => b.ins().load(ty, flags, addr, offset),
        }
    }

    /// Stores `v` into the field at `addr + offset` (no barrier).
    fn store_field(&mut self, f: Field, addr: ir::Value, offset: i32, v: ir::Value) {
        let flags = object_flags(&mut self.builder, f.size);
        let b = &mut self.builder;
        match f.slot {
            Slot::I8 => b.ins().istore8(flags, v, addr, offset),
            Slot::I16 => b.ins().istore16(flags, v, addr, offset),
            Slot::Handle => b.ins().istore32(flags, v, addr, offset),
            Slot::Plain(_) => b.ins().store(flags, v, addr, offset),
        };
    }

    /// The write barrier after storing a reference at heap offset
    /// `r + offset` (wrapping `u32`): marks its card.
    fn barrier(&mut self, r: ir::Value, offset: ir::Value) {
        let cards = self.env.gc_card_table(&mut self.builder);
        let b = &mut self.builder;
        let at = b.ins().iadd(r, offset);
        let card = b.ins().ushr_imm_u(at, i64::from(CARD_SHIFT));
        let card = b.ins().uextend(POINTER_TYPE, card);
        let addr = b.ins().iadd(cards, card);
        let one = b.ins().iconst(I8, 1);
        b.ins().store(MemFlagsData::trusted(), one, addr, 0);
    }

    /// Traps with `NULL_REFERENCE` if `r` is null, where the access at
    /// `offset` (of `size` bytes) would not fault by itself.
    fn null_check_far(&mut self, r: ir::Value, offset: u32, size: u32) {
        if offset + size > NULL_GUARD_BYTES {
            self.builder.ins().trapz(r, trap_codes::NULL_REFERENCE);
        }
    }

    /// `struct.get`, `struct.get_s` (`signed`), `struct.get_u`.
    pub(super) fn struct_get(&mut self, type_index: u32, field: u32, signed: bool) {
        let layout = self.struct_layout(type_index);
        let offset = layout.field_offsets[field as usize];
        let f = self.field(self.struct_fields(type_index)[field as usize].storage);
        let r = self.pop();
        self.null_check_far(r, offset, f.size);
        let addr = self.object_addr(r);
        let v = self.load_field(f, addr, offset as i32, signed);
        self.push(v);
    }

    /// `struct.set`, with the write barrier for a traced field.
    pub(super) fn struct_set(&mut self, type_index: u32, field: u32) {
        let layout = self.struct_layout(type_index);
        let offset = layout.field_offsets[field as usize];
        let f = self.field(self.struct_fields(type_index)[field as usize].storage);
        let (r, v) = self.pop2();
        self.null_check_far(r, offset, f.size);
        let addr = self.object_addr(r);
        self.store_field(f, addr, offset as i32, v);
        if f.traced {
            let off = self.builder.ins().iconst(I32, i64::from(offset));
            self.barrier(r, off);
        }
    }

    /// The length of non-null-checked array `r` (its load faults on null).
    fn array_len_of(&mut self, r: ir::Value) -> ir::Value {
        let addr = self.object_addr(r);
        let flags = object_flags(&mut self.builder, 4);
        self.builder
            .ins()
            .load(I32, flags, addr, ARRAY_LEN_OFFSET as i32)
    }

    /// The heap offset (wrapping `u32`) of element `index` of array `r`.
    fn elem_offset(&mut self, f: Field, index: ir::Value) -> ir::Value {
        let b = &mut self.builder;
        let scaled = b.ins().imul_imm_u(index, i64::from(f.size));
        b.ins().iadd_imm_u(scaled, i64::from(HEADER_BYTES))
    }

    /// Traps with `ARRAY_OUT_OF_BOUNDS` unless `index + count <= len` (all
    /// `I32`s, compared without overflow).
    fn array_range_check(&mut self, len: ir::Value, index: ir::Value, count: Option<ir::Value>) {
        let b = &mut self.builder;
        match count {
            None => {
                let oob = b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
                b.ins().trapnz(oob, trap_codes::ARRAY_OUT_OF_BOUNDS);
            }
            Some(count) => {
                let i = b.ins().uextend(I64, index);
                let n = b.ins().uextend(I64, count);
                let end = b.ins().iadd(i, n);
                let len = b.ins().uextend(I64, len);
                let oob = b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
                b.ins().trapnz(oob, trap_codes::ARRAY_OUT_OF_BOUNDS);
            }
        }
    }

    /// `array.get`, `array.get_s` (`signed`), `array.get_u`.
    pub(super) fn array_get(&mut self, type_index: u32, signed: bool) {
        let f = self.field(self.array_elem(type_index).storage);
        let (r, i) = self.pop2();
        let len = self.array_len_of(r);
        self.array_range_check(len, i, None);
        let off = self.elem_offset(f, i);
        let addr = self.elem_addr(r, off);
        let v = self.load_field(f, addr, 0, signed);
        self.push(v);
    }

    /// `base + zext(r + off)`: the native address of heap offset
    /// `r + off` (wrapping `u32`).
    fn elem_addr(&mut self, r: ir::Value, off: ir::Value) -> ir::Value {
        let at = self.builder.ins().iadd(r, off);
        self.object_addr(at)
    }

    /// `array.set`, with the write barrier for traced elements.
    pub(super) fn array_set(&mut self, type_index: u32) {
        let f = self.field(self.array_elem(type_index).storage);
        let (r, i, v) = self.pop3();
        let len = self.array_len_of(r);
        self.array_range_check(len, i, None);
        let off = self.elem_offset(f, i);
        let addr = self.elem_addr(r, off);
        self.store_field(f, addr, 0, v);
        if f.traced {
            self.barrier(r, off);
        }
    }

    /// `array.len`.
    pub(super) fn array_len(&mut self) {
        let r = self.pop();
        let len = self.array_len_of(r);
        self.push(len);
    }

    /// Stores `value` into `count` elements of array `r` from element
    /// `index` on (both `I32`s, the range already checked). Elements of up
    /// to 8 bytes: the `array_fill` builtin (8 bytes at a time; it marks
    /// the cards with `barrier`); `v128` elements: [`Self::fill_loop`].
    fn fill_elems(
        &mut self,
        f: Field,
        r: ir::Value,
        index: ir::Value,
        count: ir::Value,
        value: ir::Value,
        barrier: bool,
    ) {
        if f.size > 8 {
            return self.fill_loop(f, r, index, count, value, barrier);
        }
        // A few elements: a store loop (a call would cost more).
        let small = self.builder.create_block();
        let large = self.builder.create_block();
        let done = self.builder.create_block();
        let few = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, count, 16);
        self.builder.ins().brif(few, small, &[], large, &[]);
        self.builder.seal_block(small);
        self.builder.seal_block(large);
        self.builder.switch_to_block(small);
        self.fill_loop(f, r, index, count, value, barrier);
        self.builder.ins().jump(done, &[]);
        self.builder.switch_to_block(large);
        let b = &mut self.builder;
        let bits = match b.func.dfg.value_type(value) {
            ir::types::F32 => {
                let i = b.ins().bitcast(I32, MemFlagsData::new(), value);
                b.ins().uextend(I64, i)
            }
            ir::types::F64 => b.ins().bitcast(I64, MemFlagsData::new(), value),
            I64 => value,
            _ => b.ins().uextend(I64, value),
        };
        let off = self.elem_offset(f, index);
        let b = &mut self.builder;
        let size = b.ins().iconst(I32, i64::from(f.size));
        let refs = b.ins().iconst(I32, i64::from(barrier));
        let status = self.env.call_builtin_value(
            &mut self.builder,
            Builtin::ArrayFill,
            &[r, off, bits, size, count, refs],
        );
        self.builder
            .ins()
            .trapnz(status, trap_codes::ARRAY_OUT_OF_BOUNDS);
        self.builder.ins().jump(done, &[]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
    }

    /// Stores `value` into `count` elements of array `r` from element
    /// `index` on (both `I32`s, the range already checked): a loop with no
    /// call, so no reference moves while it runs. With `barrier`, marks the
    /// cards of the range afterwards.
    fn fill_loop(
        &mut self,
        f: Field,
        r: ir::Value,
        index: ir::Value,
        count: ir::Value,
        value: ir::Value,
        barrier: bool,
    ) {
        let start_off = self.elem_offset(f, index);
        let start = self.elem_addr(r, start_off);
        let b = &mut self.builder;
        let n = b.ins().uextend(POINTER_TYPE, count);
        let bytes = b.ins().imul_imm_u(n, i64::from(f.size));
        let end = b.ins().iadd(start, bytes);
        let header = b.create_block();
        b.append_block_param(header, POINTER_TYPE);
        let body = b.create_block();
        let exit = b.create_block();
        b.ins().jump(header, &[start.into()]);
        b.switch_to_block(header);
        let p = b.block_params(header)[0];
        let done = b.ins().icmp(IntCC::Equal, p, end);
        b.ins().brif(done, exit, &[], body, &[]);
        b.seal_block(body);
        b.switch_to_block(body);
        self.store_field(f, p, 0, value);
        let b = &mut self.builder;
        let next = b.ins().iadd_imm_u(p, i64::from(f.size));
        b.ins().jump(header, &[next.into()]);
        b.seal_block(header);
        b.seal_block(exit);
        b.switch_to_block(exit);
        if barrier {
            self.mark_cards(r, start_off, count, f.size);
        }
    }

    /// Marks the cards of elements `[start_off, start_off + count * size)`
    /// of array `r` (heap offsets; nothing if `count` is 0).
    fn mark_cards(&mut self, r: ir::Value, start_off: ir::Value, count: ir::Value, size: u32) {
        let cards = self.env.gc_card_table(&mut self.builder);
        let b = &mut self.builder;
        let first = b.ins().iadd(r, start_off);
        let bytes = b.ins().imul_imm_u(count, i64::from(size));
        let last = b.ins().iadd(first, bytes);
        let last = b.ins().iadd_imm_s(last, -1);
        let first = b.ins().ushr_imm_u(first, i64::from(CARD_SHIFT));
        let last = b.ins().ushr_imm_u(last, i64::from(CARD_SHIFT));
        let first = b.ins().uextend(POINTER_TYPE, first);
        let last = b.ins().uextend(POINTER_TYPE, last);
        let header = b.create_block();
        b.append_block_param(header, POINTER_TYPE);
        let body = b.create_block();
        let exit = b.create_block();
        b.ins().brif(count, header, &[first.into()], exit, &[]);
        b.switch_to_block(header);
        let c = b.block_params(header)[0];
        let past = b.ins().icmp(IntCC::UnsignedGreaterThan, c, last);
        b.ins().brif(past, exit, &[], body, &[]);
        b.seal_block(body);
        b.switch_to_block(body);
        let addr = b.ins().iadd(cards, c);
        let one = b.ins().iconst(I8, 1);
        b.ins().store(MemFlagsData::trusted(), one, addr, 0);
        let next = b.ins().iadd_imm_u(c, 1);
        b.ins().jump(header, &[next.into()]);
        b.seal_block(header);
        b.seal_block(exit);
        b.switch_to_block(exit);
    }

    /// `array.fill`: one range check, then a store loop.
    pub(super) fn array_fill(&mut self, type_index: u32) {
        let f = self.field(self.array_elem(type_index).storage);
        let n = self.pop();
        let v = self.pop();
        let (r, i) = self.pop2();
        let len = self.array_len_of(r);
        self.array_range_check(len, i, Some(n));
        self.fill_elems(f, r, i, n, v, f.traced);
    }

    /// `array.copy`: both ranges checked here, then one move of the bytes
    /// (the `array_copy` builtin: `memmove`, and a card range for
    /// references).
    pub(super) fn array_copy(&mut self, dst_type: u32, src_type: u32) {
        let f = self.field(self.array_elem(dst_type).storage);
        let _ = src_type;
        let n = self.pop();
        let (src, si) = self.pop2();
        let (dst, di) = self.pop2();
        let dlen = self.array_len_of(dst);
        let slen = self.array_len_of(src);
        self.array_range_check(dlen, di, Some(n));
        self.array_range_check(slen, si, Some(n));
        let copy = self.builder.create_block();
        let done = self.builder.create_block();
        self.builder.ins().brif(n, copy, &[], done, &[]);
        self.builder.seal_block(copy);
        self.builder.switch_to_block(copy);
        let doff = self.elem_offset(f, di);
        let soff = self.elem_offset(f, si);
        let b = &mut self.builder;
        let bytes = b.ins().imul_imm_u(n, i64::from(f.size));
        let refs = b.ins().iconst(I32, i64::from(f.traced));
        let status = self.env.call_builtin_value(
            &mut self.builder,
            Builtin::ArrayCopy,
            &[dst, doff, src, soff, bytes, refs],
        );
        self.builder
            .ins()
            .trapnz(status, trap_codes::ARRAY_OUT_OF_BOUNDS);
        self.builder.ins().jump(done, &[]);
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
    }

    /// `array.init_data` / `array.init_elem` (`elem`): a null check here,
    /// the rest in the builtin (1 = array range, 2 = segment range).
    pub(super) fn array_init(&mut self, type_index: u32, segment: u32, elem: bool) {
        let n = self.pop();
        let s = self.pop();
        let (r, d) = self.pop2();
        self.builder.ins().trapz(r, trap_codes::NULL_REFERENCE);
        let b = &mut self.builder;
        let ty = b.ins().iconst(I32, i64::from(type_index));
        let seg = b.ins().iconst(I32, i64::from(segment));
        let builtin = if elem {
            Builtin::ArrayInitElem
        } else {
            Builtin::ArrayInitData
        };
        let status =
            self.env
                .call_builtin_value(&mut self.builder, builtin, &[ty, seg, r, d, s, n]);
        let b = &mut self.builder;
        let array_oob = b.ins().icmp_imm_u(IntCC::Equal, status, 1);
        b.ins().trapnz(array_oob, trap_codes::ARRAY_OUT_OF_BOUNDS);
        let segment_trap = if elem {
            trap_codes::TABLE_OUT_OF_BOUNDS
        } else {
            trap_codes::HEAP_OUT_OF_BOUNDS
        };
        b.ins().trapnz(status, segment_trap);
    }

    // --- allocation --------------------------------------------------------

    /// Allocates an object of module type `type_index`: `size` bytes (an
    /// `I64`, a multiple of 8), header word 1 `w1` (an `I32`: the array
    /// length, or 0). Inline: bump the nursery pointer if the object fits
    /// (and is at most [`MAX_INLINE_ALLOC`] bytes, unless `small`);
    /// otherwise (a cold block) the `gc_alloc` builtin, which may collect
    /// and traps `ALLOCATION_FAILURE` when the heap is full. Writes the
    /// header; the body is uninitialised on the inline path. The result is
    /// declared for stack maps.
    fn alloc(
        &mut self,
        type_index: u32,
        kind: Kind,
        size: ir::Value,
        w1: ir::Value,
        small: bool,
    ) -> ir::Value {
        let data = self.env.gc_heap_data(&mut self.builder);
        let nursery = Region::GcNursery.get(self.builder.func);
        let nflags = MemFlagsData::trusted().with_alias_region(Some(nursery));
        let b = &mut self.builder;
        let top = b
            .ins()
            .load(I32, nflags, data, heap_offsets::NURSERY_TOP as i32);
        let limit = b
            .ins()
            .load(I32, nflags, data, heap_offsets::NURSERY_LIMIT as i32);
        let top64 = b.ins().uextend(I64, top);
        let new = b.ins().iadd(top64, size);
        let limit64 = b.ins().uextend(I64, limit);
        let mut fits = b.ins().icmp(IntCC::UnsignedLessThanOrEqual, new, limit64);
        if !small {
            let inline = b
                .ins()
                .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, size, MAX_INLINE_ALLOC);
            fits = b.ins().band(fits, inline);
        }
        let fast = b.create_block();
        let slow = b.create_block();
        let merge = b.create_block();
        b.append_block_param(merge, I32);
        b.set_cold_block(slow);
        b.ins().brif(fits, fast, &[], slow, &[]);
        b.seal_block(fast);
        b.seal_block(slow);
        b.switch_to_block(fast);
        let new32 = b.ins().ireduce(I32, new);
        b.ins()
            .store(nflags, new32, data, heap_offsets::NURSERY_TOP as i32);
        b.ins().jump(merge, &[top.into()]);
        b.switch_to_block(slow);
        let ty = b.ins().iconst(I32, i64::from(type_index));
        let r = self
            .env
            .call_builtin_value(&mut self.builder, Builtin::GcAlloc, &[ty, w1]);
        let b = &mut self.builder;
        b.ins().trapz(r, trap_codes::ALLOCATION_FAILURE);
        b.ins().jump(merge, &[r.into()]);
        b.seal_block(merge);
        b.switch_to_block(merge);
        let r = b.block_params(merge)[0];
        b.declare_value_needs_stack_map(r);
        let id = self.env.engine_type_id(&mut self.builder, type_index);
        let addr = self.object_addr(r);
        let b = &mut self.builder;
        let w0 = b.ins().ishl_imm_u(id, i64::from(TYPE_ID_SHIFT));
        let w0 = b.ins().bor_imm_u(w0, i64::from((kind as u32) << 1));
        let flags = MemFlagsData::trusted().with_alias_region(Some(Region::GcObjects.get(b.func)));
        b.ins().store(flags, w0, addr, 0);
        b.ins().store(flags, w1, addr, ARRAY_LEN_OFFSET as i32);
        r
    }

    /// `struct.new` (`default`: `struct.new_default`).
    pub(super) fn struct_new(&mut self, type_index: u32, default: bool) {
        let layout = self.struct_layout(type_index);
        let fields: Vec<FieldType> = self.struct_fields(type_index).to_vec();
        let values: Vec<ir::Value> = if default {
            Vec::new()
        } else {
            let n = self.stack.len() - fields.len();
            let v = self.stack[n..].to_vec();
            self.truncate_stack(n);
            v
        };
        let size = self.builder.ins().iconst(I64, i64::from(layout.size));
        let zero = self.builder.ins().iconst(I32, 0);
        let r = self.alloc(type_index, Kind::Struct, size, zero, true);
        let addr = self.object_addr(r);
        for (i, fty) in fields.iter().enumerate() {
            let f = self.field(fty.storage);
            let v = match values.get(i) {
                Some(v) => *v,
                None => self.zero_of(f),
            };
            self.store_field(f, addr, layout.field_offsets[i] as i32, v);
        }
        self.push(r);
    }

    /// The default (zero or null) value of a field.
    fn zero_of(&mut self, f: Field) -> ir::Value {
        let b = &mut self.builder;
        match f.slot {
            Slot::I8 | Slot::I16 => b.ins().iconst(I32, 0),
            Slot::Handle => b.ins().iconst(POINTER_TYPE, 0),
            Slot::Plain(ty) => super::zero_value(b, ty),
        }
    }

    /// The size (an `I64`) of an array of `len` (`I32`) elements of `f`.
    fn array_size(&mut self, f: Field, len: ir::Value) -> ir::Value {
        let b = &mut self.builder;
        let n = b.ins().uextend(I64, len);
        let bytes = b.ins().imul_imm_u(n, i64::from(f.size));
        let padded = b.ins().iadd_imm_u(bytes, i64::from(HEADER_BYTES) + 7);
        b.ins().band_imm_s(padded, !7)
    }

    /// `array.new` (`default`: `array.new_default`).
    pub(super) fn array_new(&mut self, type_index: u32, default: bool) {
        let f = self.field(self.array_elem(type_index).storage);
        let len = self.pop();
        let value = if default { self.zero_of(f) } else { self.pop() };
        let size = self.array_size(f, len);
        let r = self.alloc(type_index, Kind::Array, size, len, false);
        let zero = self.builder.ins().iconst(I32, 0);
        self.fill_elems(f, r, zero, len, value, false);
        self.push(r);
    }

    /// `array.new_fixed` of `n` operands.
    pub(super) fn array_new_fixed(&mut self, type_index: u32, n: u32) {
        let f = self.field(self.array_elem(type_index).storage);
        let base = self.stack.len() - n as usize;
        let values = self.stack[base..].to_vec();
        self.truncate_stack(base);
        let bytes =
            (u64::from(n) * u64::from(f.size) + u64::from(HEADER_BYTES)).next_multiple_of(8);
        let size = self.builder.ins().iconst(I64, bytes as i64);
        let len = self.builder.ins().iconst(I32, i64::from(n));
        let r = self.alloc(type_index, Kind::Array, size, len, false);
        let addr = self.object_addr(r);
        let mut off = HEADER_BYTES as i64;
        for v in values {
            if let Ok(o) = i32::try_from(off) {
                self.store_field(f, addr, o, v);
            } else {
                let p = self.builder.ins().iadd_imm_u(addr, off);
                self.store_field(f, p, 0, v);
            }
            off += i64::from(f.size);
        }
        self.push(r);
    }

    /// `array.new_data` / `array.new_elem` (`elem`): the builtin allocates
    /// and copies; its high word says why it failed.
    pub(super) fn array_new_segment(&mut self, type_index: u32, segment: u32, elem: bool) {
        let (offset, len) = self.pop2();
        let b = &mut self.builder;
        let ty = b.ins().iconst(I32, i64::from(type_index));
        let seg = b.ins().iconst(I32, i64::from(segment));
        let builtin = if elem {
            Builtin::ArrayNewElem
        } else {
            Builtin::ArrayNewData
        };
        let res = self
            .env
            .call_builtin_value(&mut self.builder, builtin, &[ty, seg, offset, len]);
        let segment_trap = if elem {
            trap_codes::TABLE_OUT_OF_BOUNDS
        } else {
            trap_codes::HEAP_OUT_OF_BOUNDS
        };
        let r = self.reference_or_trap(res, Some(segment_trap));
        self.push(r);
    }

    /// The reference in the low 32 bits of an allocating builtin's `u64`
    /// result, after trapping on a failure in its high word: 1 =
    /// `status_1` (a segment range), any other = `ALLOCATION_FAILURE`.
    fn reference_or_trap(&mut self, res: ir::Value, status_1: Option<ir::TrapCode>) -> ir::Value {
        let b = &mut self.builder;
        let status = b.ins().ushr_imm_u(res, 32);
        if let Some(code) = status_1 {
            let is_1 = b.ins().icmp_imm_u(IntCC::Equal, status, 1);
            b.ins().trapnz(is_1, code);
        }
        b.ins().trapnz(status, trap_codes::ALLOCATION_FAILURE);
        b.ins().ireduce(I32, res)
    }

    // --- extern conversion -------------------------------------------------

    /// `any.convert_extern`: null stays null; otherwise the builtin gives
    /// the `any` reference the externref wraps, or the store's extern
    /// object for a host externref.
    pub(super) fn any_convert_extern(&mut self) {
        self.env.uses_gc.set(true);
        let e = self.pop();
        let res = self
            .env
            .call_builtin_value(&mut self.builder, Builtin::AnyConvertExtern, &[e]);
        let r = self.reference_or_trap(res, None);
        self.push(r);
    }

    /// `extern.convert_any`: the externref an extern object stands for, or
    /// one wrapping the reference.
    pub(super) fn extern_convert_any(&mut self) {
        self.env.uses_gc.set(true);
        let r = self.pop();
        let e = self
            .env
            .call_builtin_value(&mut self.builder, Builtin::ExternConvertAny, &[r]);
        self.push(e);
    }

    // --- casts ---------------------------------------------------------------

    /// `ref.test`: 1 if the operand is of type `(ref null? hty)`.
    pub(super) fn ref_test(
        &mut self,
        hty: wasmparser::HeapType,
        nullable: bool,
    ) -> Result<(), CompileError> {
        let target = cast_target(hty, nullable)?;
        let r = self.pop();
        let c = self.cast_test(r, target)?;
        let c = self.builder.ins().uextend(I32, c);
        self.push(c);
        Ok(())
    }

    /// `ref.cast`: traps with `CAST_FAILURE` unless the operand is of type
    /// `(ref null? hty)`.
    pub(super) fn ref_cast(
        &mut self,
        hty: wasmparser::HeapType,
        nullable: bool,
    ) -> Result<(), CompileError> {
        let target = cast_target(hty, nullable)?;
        let r = *self.stack.last().expect("validation guarantees operands");
        let c = self.cast_test(r, target)?;
        self.builder.ins().trapz(c, trap_codes::CAST_FAILURE);
        Ok(())
    }

    /// `br_on_cast` (`on_success`) / `br_on_cast_fail`: branches with the
    /// reference (the label's last value) if the cast succeeds (fails),
    /// else keeps it.
    pub(super) fn br_on_cast(
        &mut self,
        relative_depth: u32,
        to: wasmparser::RefType,
        on_success: bool,
    ) -> Result<(), CompileError> {
        let target = cast_target(to.heap_type(), to.is_nullable())?;
        self.flush_fuel();
        let n = self.stack.len();
        let r = self.stack[n - 1];
        let c = self.cast_test(r, target)?;
        let (label, arity) = self.branch_info(relative_depth);
        let branch_args = super::control::args(&self.stack[n - arity..]);
        let next = self.builder.create_block();
        if on_success {
            self.builder.ins().brif(c, label, &branch_args, next, &[]);
        } else {
            self.builder.ins().brif(c, next, &[], label, &branch_args);
        }
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        Ok(())
    }

    /// Whether reference `r` is of type `target` (an `I8` 0 or 1).
    fn cast_test(&mut self, r: ir::Value, target: RefType) -> Result<ir::Value, CompileError> {
        let module = self.env.module;
        if let HeapType::Concrete(i) = target.heap
            && module
                .types
                .get(i as usize)
                .is_some_and(|t| t.as_func().is_some())
        {
            return Ok(self
                .env
                .func_ref_has_type(&mut self.builder, r, i, target.nullable));
        }
        let passing = match target.heap {
            HeapType::Concrete(i) => match module.types.get(i as usize).map(|t| &t.composite) {
                Some(CompositeType::Struct(_)) => NonNull::Concrete(i, Kind::Struct),
                Some(CompositeType::Array(_)) => NonNull::Concrete(i, Kind::Array),
                _ => {
                    crate::bug!("cast to type {i}, which is not a defined type");
                }
            },
            h => non_null_passing(h)?,
        };
        let b = &mut self.builder;
        Ok(match (passing, target.nullable) {
            (NonNull::All, true) => b.ins().iconst(I8, 1),
            (NonNull::All, false) => b.ins().icmp_imm_u(IntCC::NotEqual, r, 0),
            (NonNull::None, true) => b.ins().icmp_imm_u(IntCC::Equal, r, 0),
            (NonNull::None, false) => b.ins().iconst(I8, 0),
            (NonNull::I31, nullable) => {
                let tag = b.ins().band_imm_u(r, i64::from(I31_TAG));
                let is_i31 = b.ins().icmp_imm_u(IntCC::NotEqual, tag, 0);
                if nullable {
                    let is_null = b.ins().icmp_imm_u(IntCC::Equal, r, 0);
                    b.ins().bor(is_i31, is_null)
                } else {
                    is_i31
                }
            }
            (NonNull::Eq, nullable) => self.object_test(r, nullable, None, None),
            (NonNull::Kind(kind), nullable) => self.object_test(r, nullable, None, Some(kind)),
            (NonNull::Concrete(i, kind), nullable) => {
                self.object_test(r, nullable, Some(i), Some(kind))
            }
        })
    }

    /// Whether `r` is null (answer `nullable`) or a heap object of `kind`
    /// and, with `concrete`, of that module type or a subtype of it. With
    /// no `kind`: whether it is `eq` (an `i31`, or an object that is not an
    /// extern object).
    fn object_test(
        &mut self,
        r: ir::Value,
        nullable: bool,
        concrete: Option<u32>,
        kind: Option<Kind>,
    ) -> ir::Value {
        let i31_answer = i64::from(kind.is_none());
        let b = &mut self.builder;
        let done = b.create_block();
        b.append_block_param(done, I8);
        let not_null = b.create_block();
        let object = b.create_block();
        let null_answer = b.ins().iconst(I8, i64::from(nullable));
        b.ins().brif(r, not_null, &[], done, &[null_answer.into()]);
        b.seal_block(not_null);
        b.switch_to_block(not_null);
        let i31 = b.ins().iconst(I8, i31_answer);
        let tag = b.ins().band_imm_u(r, i64::from(I31_TAG));
        b.ins().brif(tag, done, &[i31.into()], object, &[]);
        b.seal_block(object);
        b.switch_to_block(object);
        let addr = self.object_addr(r);
        let flags = object_flags(&mut self.builder, 4);
        let w0 = self.builder.ins().load(I32, flags, addr, 0);
        let Some(kind) = kind else {
            let b = &mut self.builder;
            let k = b.ins().band_imm_u(w0, i64::from(KIND_MASK));
            let eq = b
                .ins()
                .icmp_imm_u(IntCC::NotEqual, k, i64::from((Kind::Extern as u32) << 1));
            b.ins().jump(done, &[eq.into()]);
            let b = &mut self.builder;
            b.seal_block(done);
            b.switch_to_block(done);
            return b.block_params(done)[0];
        };
        let kind_bits = i64::from((kind as u32) << 1);
        match concrete {
            None => {
                let b = &mut self.builder;
                let k = b.ins().band_imm_u(w0, i64::from(KIND_MASK));
                let same = b.ins().icmp_imm_u(IntCC::Equal, k, kind_bits);
                b.ins().jump(done, &[same.into()]);
            }
            Some(i) => {
                let id = self.env.engine_type_id(&mut self.builder, i);
                let b = &mut self.builder;
                let expected = b.ins().ishl_imm_u(id, i64::from(TYPE_ID_SHIFT));
                let expected = b.ins().bor_imm_u(expected, kind_bits);
                let same = b.ins().icmp(IntCC::Equal, w0, expected);
                if self.env.module.types[i as usize].is_final {
                    b.ins().jump(done, &[same.into()]);
                } else {
                    // A subtype: its display holds the target's id at the
                    // target's depth (kind bits checked too: an extern
                    // object's type id is 0).
                    let slow = b.create_block();
                    b.set_cold_block(slow);
                    let yes = b.ins().iconst(I8, 1);
                    b.ins().brif(same, done, &[yes.into()], slow, &[]);
                    b.seal_block(slow);
                    b.switch_to_block(slow);
                    let k = b.ins().band_imm_u(w0, i64::from(KIND_MASK));
                    let kind_ok = b.ins().icmp_imm_u(IntCC::Equal, k, kind_bits);
                    let actual = b.ins().ushr_imm_u(w0, i64::from(TYPE_ID_SHIFT));
                    let actual = b.ins().band_imm_u(actual, TYPE_ID_MASK);
                    let entry = self.env.display_entry(&mut self.builder, actual, i);
                    let b = &mut self.builder;
                    let found = b.ins().icmp(IntCC::Equal, entry, id);
                    let ok = b.ins().band(found, kind_ok);
                    b.ins().jump(done, &[ok.into()]);
                }
            }
        }
        let b = &mut self.builder;
        b.seal_block(done);
        b.switch_to_block(done);
        b.block_params(done)[0]
    }
}

fn cast_target(hty: wasmparser::HeapType, nullable: bool) -> Result<RefType, CompileError> {
    let r = wasmparser::RefType::new(nullable, hty)
        .ok_or_else(|| crate::bug_error!("validated heap type {hty:?} cannot be encoded"))?;
    match WasmType::from_wasmparser_pub(wasmparser::ValType::Ref(r))? {
        WasmType::Ref(r) => Ok(r),
        other => Err(crate::bug_error!(
            "cast target {other} is not a reference type"
        )),
    }
}

fn non_null_passing(h: HeapType) -> Result<NonNull, CompileError> {
    use HeapType::*;
    Ok(match h {
        Any | Func | Extern | Exn => NonNull::All,
        Eq => NonNull::Eq,
        None | NoFunc | NoExtern | NoExn => NonNull::None,
        I31 => NonNull::I31,
        Struct => NonNull::Kind(Kind::Struct),
        Array => NonNull::Kind(Kind::Array),
        Concrete(_) | Engine(_) => {
            crate::bug!("a cast to `{h}` is resolved by its module type index");
        }
    })
}

// The mask keeps a display record index inside the table's reservation.
const _: () = assert!(TYPE_ID_MASK as u64 * type_display::SIZE as u64 <= 256 << 20);
