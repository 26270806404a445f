//! The builtins: runtime functions that generated code calls through the
//! VMContext's builtins table.
//!
//! [`foreach_builtin_function!`](crate::foreach_builtin_function) is the one list of them. Everything that
//! depends on a builtin's position or signature is generated from it: the
//! [`Builtin`] index (its slot in the table), its Cranelift signature
//! ([`Builtin::signature`]), and, in the runtime, the `#[repr(C)]` table of
//! `extern "C"` function pointers with the functions that fill it. Adding a
//! builtin is one line here and one function in the runtime's `libcalls`;
//! reordering the list moves the translator's slots and the runtime's table
//! together.
//!
//! Every builtin takes the calling instance's VMContext first and uses the
//! target's default calling convention (`extern "C"` on the Rust side). Those
//! that can fail return a non-zero `u32` on failure, and the generated code
//! traps with the code the translator knows for that builtin.

use cranelift_codegen::ir::{self, AbiParam, types};
use cranelift_codegen::isa::CallConv;

use crate::abi::POINTER_TYPE;

/// Calls `$mac!` with the list of builtins, one per line:
/// `CamelName snake_name(param: type, ...) [-> type];` where a type is
/// `u32`, `u64` or `pointer`. The VMContext parameter is implicit (first).
#[macro_export]
macro_rules! foreach_builtin_function {
    ($mac:ident) => {
        $mac! {
            /// Old size in pages, or `u64::MAX` if the memory cannot grow.
            MemoryGrow memory_grow(memory: u32, delta_pages: u64) -> u64;
            /// Non-zero: out of bounds.
            MemoryFill memory_fill(memory: u32, dst: u64, byte: u32, len: u64) -> u32;
            /// Non-zero: out of bounds.
            MemoryCopy memory_copy(dst_memory: u32, dst: u64, src_memory: u32, src: u64, len: u64) -> u32;
            /// Non-zero: out of bounds.
            MemoryInit memory_init(memory: u32, data: u32, dst: u64, src: u32, len: u32) -> u32;
            DataDrop data_drop(data: u32);
            /// Old size in elements, or `u64::MAX` if the table cannot grow.
            TableGrow table_grow(table: u32, delta: u64, init: pointer) -> u64;
            /// Non-zero: out of bounds.
            TableFill table_fill(table: u32, dst: u64, value: pointer, len: u64) -> u32;
            /// Non-zero: out of bounds.
            TableCopy table_copy(dst_table: u32, src_table: u32, dst: u64, src: u64, len: u64) -> u32;
            /// Non-zero: out of bounds.
            TableInit table_init(table: u32, elem: u32, dst: u64, src: u32, len: u32) -> u32;
            ElemDrop elem_drop(elem: u32);
            /// The epoch deadline passed; non-zero = trap `INTERRUPT` (zero:
            /// the runtime yielded or moved the deadline; carry on).
            EpochDeadline epoch_deadline() -> u32;
            /// The fuel counter went positive; non-zero = trap `OUT_OF_FUEL`
            /// (zero: refuelled from the store's reserve; carry on).
            OutOfFuel out_of_fuel() -> u32;
            /// Throws a new exception of tag `tag` (module index) whose
            /// payload is the `ValRaw` array at `values`: resumes at the
            /// handler that catches it, or returns (non-zero) when no wasm
            /// frame of this activation does = trap `UNCAUGHT_EXCEPTION`.
            /// Called in Cranelift's `tail` convention (see [`Builtin::unwinds`]).
            Throw throw(tag: u32, values: pointer) -> u32;
            /// Rethrows the exception `exn` (a non-null exnref) like `throw`.
            ThrowRef throw_ref(exn: pointer) -> u32;
            /// The slow path of inline allocation: a zeroed object of
            /// module type `type_index` (a struct, or an array of `len`
            /// elements) with its header written; 0 = the heap is out of
            /// room (trap `ALLOCATION_FAILURE`). May collect.
            GcAlloc gc_alloc(type_index: u32, len: u32) -> u32;
            /// `array.new_data`: the low 32 bits are the new array; a
            /// non-zero high word is a failure: 1 = the data segment range
            /// is out of bounds, 2 = out of heap. May collect.
            ArrayNewData array_new_data(type_index: u32, data: u32, offset: u32, len: u32) -> u64;
            /// `array.new_elem`, as `array_new_data` (1 = the element
            /// segment range is out of bounds). May collect.
            ArrayNewElem array_new_elem(type_index: u32, elem: u32, offset: u32, len: u32) -> u64;
            /// `array.init_data` into non-null `array`: 1 = the array range
            /// is out of bounds, 2 = the data segment range.
            ArrayInitData array_init_data(type_index: u32, data: u32, array: u32, dst: u32, src: u32, len: u32) -> u32;
            /// `array.init_elem` into non-null `array`: 1 = the array range
            /// is out of bounds, 2 = the element segment range.
            ArrayInitElem array_init_elem(type_index: u32, elem: u32, array: u32, dst: u32, src: u32, len: u32) -> u32;
            /// `any.convert_extern` of raw externref `handle`: the low 32
            /// bits are the `any` reference; a non-zero high word: out of
            /// heap. May collect.
            AnyConvertExtern any_convert_extern(handle: pointer) -> u64;
            /// `extern.convert_any` of `any` reference `r`: the raw externref.
            ExternConvertAny extern_convert_any(r: u32) -> pointer;
            /// `array.fill` (and `array.new`'s initialisation) after the
            /// generated code checked the range: `count` elements of
            /// `elem_size` bytes (1, 2, 4 or 8) from offset `off` of array
            /// `array`, each the low bytes of `value`; with `refs`
            /// non-zero, marks their cards. Non-zero: the heap refused
            /// the access (a corrupt heap).
            ArrayFill array_fill(array: u32, off: u32, value: u64, elem_size: u32, count: u32, refs: u32) -> u32;
            /// `array.copy` after the generated code checked both ranges:
            /// moves `bytes` bytes from offset `src_off` of array `src` to
            /// offset `dst_off` of array `dst` (overlap allowed); with
            /// `refs` non-zero, marks the cards of the destination range.
            /// Non-zero: the heap refused the access (a corrupt heap).
            ArrayCopy array_copy(dst: u32, dst_off: u32, src: u32, src_off: u32, bytes: u32, refs: u32) -> u32;
        }
    };
}

/// The type of a builtin's parameter or result, as both sides see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinType {
    U32,
    U64,
    /// A pointer-sized value (the VMContext, a reference).
    Pointer,
}

impl BuiltinType {
    pub fn clif(self) -> ir::Type {
        match self {
            BuiltinType::U32 => types::I32,
            BuiltinType::U64 => types::I64,
            BuiltinType::Pointer => POINTER_TYPE,
        }
    }
}

#[doc(hidden)]
#[macro_export]
macro_rules! builtin_type {
    (u32) => {
        $crate::builtin::BuiltinType::U32
    };
    (u64) => {
        $crate::builtin::BuiltinType::U64
    };
    (pointer) => {
        $crate::builtin::BuiltinType::Pointer
    };
}

macro_rules! define_builtin_enum {
    ($( $(#[$doc:meta])* $camel:ident $name:ident ( $($param:ident : $pty:ident),* ) $(-> $ret:ident)? ;)*) => {
        /// A builtin: its discriminant is its slot in the VMContext's
        /// builtins table (see [`foreach_builtin_function!`](crate::foreach_builtin_function)).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $( $(#[$doc])* $camel, )*
        }

        impl Builtin {
            /// Every builtin, in table order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$camel),*];

            /// The builtin's name (the runtime's function of that name implements it).
            pub fn name(self) -> &'static str {
                match self {
                    $(Builtin::$camel => stringify!($name),)*
                }
            }

            /// The parameters after the VMContext.
            pub fn params(self) -> &'static [BuiltinType] {
                match self {
                    $(Builtin::$camel => &[$(builtin_type!($pty)),*],)*
                }
            }

            /// The result, if any.
            pub fn result(self) -> Option<BuiltinType> {
                match self {
                    $(Builtin::$camel => None $(.or(Some(builtin_type!($ret))))?,)*
                }
            }
        }
    };
}

foreach_builtin_function!(define_builtin_enum);

impl Builtin {
    pub const COUNT: usize = Self::ALL.len();

    /// Byte offset of this builtin's pointer within the builtins table.
    pub fn table_offset(self) -> u32 {
        self as u32 * POINTER_TYPE.bytes()
    }

    /// Whether this builtin may resume at an exception handler instead of
    /// returning. Such builtins are called in Cranelift's `tail` convention
    /// (as `try_call`s inside `try_table`): its exceptional edge clobbers
    /// every register, so resuming restores only SP and FP. Their runtime
    /// entry points are assembly stubs that take the `tail` arguments.
    pub fn unwinds(self) -> bool {
        matches!(self, Builtin::Throw | Builtin::ThrowRef)
    }

    /// Whether this builtin may run a garbage collection (it allocates).
    /// Its runtime entry point is a stub that records the calling wasm
    /// frame (return address and frame pointer) in the store context's
    /// exit record, where the collector's stack walk starts; like every
    /// call, a call to it is a safepoint with a stack map.
    pub fn may_gc(self) -> bool {
        matches!(
            self,
            Builtin::GcAlloc
                | Builtin::ArrayNewData
                | Builtin::ArrayNewElem
                | Builtin::AnyConvertExtern
        )
    }

    /// The Cranelift signature of calls to this builtin, in the target's
    /// default calling convention `call_conv`: the VMContext, then
    /// [`params`](Self::params), returning [`result`](Self::result).
    pub fn signature(self, call_conv: CallConv) -> ir::Signature {
        let call_conv = if self.unwinds() {
            CallConv::Tail
        } else {
            call_conv
        };
        let mut sig = ir::Signature::new(call_conv);
        sig.params.push(AbiParam::new(POINTER_TYPE));
        sig.params
            .extend(self.params().iter().map(|t| AbiParam::new(t.clif())));
        sig.returns
            .extend(self.result().map(|t| AbiParam::new(t.clif())));
        sig
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_list() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(*b as usize, i);
            assert_eq!(b.table_offset() as usize, i * 8);
        }
        assert_eq!(Builtin::MemoryGrow.name(), "memory_grow");
        assert_eq!(
            Builtin::TableGrow.params(),
            [BuiltinType::U32, BuiltinType::U64, BuiltinType::Pointer]
        );
        assert_eq!(Builtin::DataDrop.result(), None);
        let sig = Builtin::MemoryGrow.signature(CallConv::SystemV);
        assert_eq!(sig.params.len(), 3);
        assert_eq!(sig.returns, [AbiParam::new(types::I64)]);
    }
}
