//! Object layout of GC struct and array types: the one place that decides
//! where a field is, how big an object is, and which of its slots the
//! collector traces. Code generation (field access, allocation) and the
//! engine (registering [`nyash_gc::TypeLayout`]s by type id) both take it
//! from here, on top of the heap contract in [`nyash_gc::vm`].
//!
//! A struct is the 8-byte header ([`nyash_gc::vm::HEADER_BYTES`]) followed by
//! its fields **in declaration order**, each at its natural alignment: `i8`
//! and `i16` packed (1 and 2 bytes), `i32`/`f32` 4, `i64`/`f64` 8, `v128` 16
//! bytes 8-aligned (accessed with unaligned loads), a reference of the `any`
//! hierarchy 4 bytes (a `u32` heap reference), a `funcref` 8 (a pointer),
//! an `externref`/`exnref` 4 (its store handle; see [`storage`]). Fields are never reordered, so a subtype, whose
//! fields begin with its supertype's (validation: width and depth subtyping
//! keep each field's storage size), lays them out at the same offsets: code
//! compiled against the supertype reads a subtype object correctly.
//!
//! An array is the header, whose word 1 is the length
//! ([`nyash_gc::vm::ARRAY_LEN_OFFSET`]), followed by its elements.

use nyash_gc::TypeLayout;
use nyash_gc::vm::{HEADER_BYTES, OBJECT_ALIGN};

use crate::module::{CompositeType, FieldType, HeapType, StorageType, WasmType};

/// Where the fields of a struct type are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructLayout {
    /// Offset from the object start of each field, in declaration order.
    pub field_offsets: Vec<u32>,
    /// Object size in bytes, header included, a multiple of
    /// [`OBJECT_ALIGN`].
    pub size: u32,
    /// Offsets of the fields the collector traces (GC references).
    pub ref_offsets: Vec<u32>,
}

/// What an array type's elements are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayLayout {
    /// Offset of element 0 from the object start.
    pub elems_offset: u32,
    /// Bytes per element.
    pub elem_size: u32,
    /// Whether the collector traces the elements (GC references).
    pub elem_is_ref: bool,
}

/// How a field of this storage type is stored: its size in bytes (and
/// alignment, except `v128`'s 8), and whether the collector traces it.
///
/// - `i8`/`i16` are packed; `i32`/`f32` take 4 bytes, `i64`/`f64` 8,
///   `v128` 16.
/// - A reference of the `any` hierarchy is a 4-byte heap reference, traced
///   unless its type is `i31` or `none`, which never point at an object
///   ([`HeapType::is_traced_in`], the one rule).
/// - A `funcref` (the `func` hierarchy) is the 8-byte `*const VMFuncRef`,
///   not traced: functions are store-owned, not heap objects (see
///   RATIONALE.md, "Why are funcref fields raw pointers?").
/// - An `externref` or `exnref` is its 4-byte store handle, not traced:
///   extern and exception objects live as long as their store until they
///   become heap objects (GC-NOTES §4 point 15).
///
/// `hierarchy` gives the top of a concrete type's hierarchy (`Func` for a
/// function type, `Any` for a struct or array type); abstract types answer
/// for themselves. Validation keeps a subtype's field in its supertype's
/// field's hierarchy, so both get the same storage.
pub fn storage(storage: StorageType, hierarchy: &impl Fn(HeapType) -> HeapType) -> (u32, bool) {
    match storage {
        StorageType::I8 => (1, false),
        StorageType::I16 => (2, false),
        StorageType::Val(WasmType::I32 | WasmType::F32) => (4, false),
        StorageType::Val(WasmType::I64 | WasmType::F64) => (8, false),
        StorageType::Val(WasmType::V128) => (16, false),
        StorageType::Val(WasmType::Ref(r)) => match ref_top(r.heap, hierarchy) {
            HeapType::Func => (8, false),
            top => (4, r.heap.is_traced_in(top)),
        },
    }
}

/// The top of `h`'s hierarchy ([`HeapType::top_with`]).
pub fn ref_top(h: HeapType, hierarchy: &impl Fn(HeapType) -> HeapType) -> HeapType {
    h.top_with(hierarchy)
}

/// The layout of a struct type with `fields`. `hierarchy` maps a concrete
/// heap type to the top of its hierarchy (`func` for a function type, `any`
/// for a struct or array type: [`crate::module::ModuleEnv::heap_top`]).
/// Traced are the fields of the `any` hierarchy (see [`storage`]).
pub fn struct_layout(
    fields: &[FieldType],
    hierarchy: impl Fn(HeapType) -> HeapType,
) -> StructLayout {
    // Validation bounds a struct by 10 000 fields of at most 16 bytes: the
    // sums below stay far inside a u32.
    let mut end = HEADER_BYTES;
    let mut field_offsets = Vec::with_capacity(fields.len());
    let mut ref_offsets = Vec::new();
    for f in fields {
        let (size, traced) = storage(f.storage, &hierarchy);
        let offset = end.next_multiple_of(size.min(8));
        field_offsets.push(offset);
        if traced {
            ref_offsets.push(offset);
        }
        end = offset + size;
    }
    StructLayout {
        field_offsets,
        size: end.next_multiple_of(OBJECT_ALIGN),
        ref_offsets,
    }
}

/// The layout of an array type with elements of type `elem` (`hierarchy`
/// as for [`struct_layout`]).
pub fn array_layout(elem: FieldType, hierarchy: impl Fn(HeapType) -> HeapType) -> ArrayLayout {
    let (elem_size, elem_is_ref) = storage(elem.storage, &hierarchy);
    ArrayLayout {
        elems_offset: HEADER_BYTES,
        elem_size,
        elem_is_ref,
    }
}

/// What the collector needs to know about objects of a struct or array
/// type (`None` for a function type); `hierarchy` as for [`struct_layout`].
pub fn trace_layout(
    composite: &CompositeType,
    hierarchy: impl Fn(HeapType) -> HeapType,
) -> Option<TypeLayout> {
    match composite {
        CompositeType::Func(_) => None,
        CompositeType::Struct(fields) => Some(struct_layout(fields, hierarchy).trace_layout()),
        CompositeType::Array(elem) => Some(array_layout(*elem, hierarchy).trace_layout()),
    }
}

impl StructLayout {
    /// What the collector needs to know about objects of this type.
    pub fn trace_layout(&self) -> TypeLayout {
        TypeLayout::Struct {
            size: self.size,
            ref_offsets: self.ref_offsets.clone(),
        }
    }
}

impl ArrayLayout {
    /// What the collector needs to know about objects of this type.
    pub fn trace_layout(&self) -> TypeLayout {
        TypeLayout::Array {
            elem_size: self.elem_size,
            elem_is_ref: self.elem_is_ref,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::RefType;

    fn field(storage: StorageType) -> FieldType {
        FieldType {
            storage,
            mutable: true,
        }
    }
    fn val(t: WasmType) -> FieldType {
        field(StorageType::Val(t))
    }
    fn anyref() -> FieldType {
        val(WasmType::Ref(RefType::nullable(HeapType::Any)))
    }
    /// Concrete type 0 is a function type, every other a struct type.
    fn hierarchy(h: HeapType) -> HeapType {
        match h {
            HeapType::Concrete(0) => HeapType::Func,
            _ => HeapType::Any,
        }
    }

    #[test]
    fn natural_alignment_and_packed_fields() {
        let l = struct_layout(
            &[
                field(StorageType::I8),
                field(StorageType::I16),
                field(StorageType::I8),
                val(WasmType::I64),
                field(StorageType::I8),
                val(WasmType::V128),
                val(WasmType::F32),
            ],
            hierarchy,
        );
        assert_eq!(l.field_offsets, [8, 10, 12, 16, 24, 32, 48]);
        assert_eq!(l.size, 56);
        assert!(l.ref_offsets.is_empty());
        // Two reference fields: a 16-byte node.
        let node = struct_layout(&[anyref(), anyref()], hierarchy);
        assert_eq!(node.field_offsets, [8, 12]);
        assert_eq!((node.size, &node.ref_offsets[..]), (16, &[8, 12][..]));
        // The empty struct is its header.
        assert_eq!(struct_layout(&[], hierarchy).size, 8);
        // Every field is aligned and inside the object.
        for (f, &o) in [field(StorageType::I16), val(WasmType::F64)].iter().zip(
            &struct_layout(&[field(StorageType::I16), val(WasmType::F64)], hierarchy).field_offsets,
        ) {
            assert_eq!(o % storage(f.storage, &hierarchy).0.min(8), 0);
        }
    }

    #[test]
    fn which_references_are_traced() {
        let r = |heap| val(WasmType::Ref(RefType::nullable(heap)));
        let l = struct_layout(
            &[
                r(HeapType::Func),        // funcref: a pointer
                r(HeapType::Concrete(0)), // a function type
                r(HeapType::Concrete(1)), // a struct type
                r(HeapType::Extern),      // a store handle
                r(HeapType::I31),         // never an object
                r(HeapType::NoFunc),
                val(WasmType::I32),
                r(HeapType::Eq),
                r(HeapType::None), // never an object
            ],
            hierarchy,
        );
        assert_eq!(l.field_offsets, [8, 16, 24, 28, 32, 40, 48, 52, 56]);
        assert_eq!(l.ref_offsets, [24, 52]);
        assert_eq!(l.size, 64);
        assert_eq!(
            l.trace_layout(),
            TypeLayout::Struct {
                size: 64,
                ref_offsets: vec![24, 52]
            }
        );
    }

    #[test]
    fn a_subtype_shares_its_supertypes_prefix() {
        let sup = [
            field(StorageType::I8),
            anyref(),
            val(WasmType::I64),
            field(StorageType::I16),
        ];
        let mut sub = sup.to_vec();
        // Depth subtyping: an immutable field's type may be a subtype
        // (anyref -> eqref), same storage size.
        sub[1] = FieldType {
            storage: StorageType::Val(WasmType::Ref(RefType::non_null(HeapType::Eq))),
            mutable: false,
        };
        sub.extend([field(StorageType::I8), val(WasmType::V128), anyref()]);
        let a = struct_layout(&sup, hierarchy);
        let b = struct_layout(&sub, hierarchy);
        assert_eq!(b.field_offsets[..sup.len()], a.field_offsets[..]);
        assert!(b.ref_offsets.starts_with(&a.ref_offsets));
        assert!(b.size >= a.size);
    }

    #[test]
    fn array_elements() {
        let a = |f| array_layout(f, hierarchy);
        assert_eq!(a(field(StorageType::I8)).elem_size, 1);
        assert_eq!(a(field(StorageType::I16)).elem_size, 2);
        assert_eq!(a(val(WasmType::F64)).elem_size, 8);
        assert_eq!(a(val(WasmType::V128)).elem_size, 16);
        let refs = a(anyref());
        assert_eq!(
            (refs.elems_offset, refs.elem_size, refs.elem_is_ref),
            (8, 4, true)
        );
        assert!(!a(val(WasmType::FuncRef)).elem_is_ref);
        assert_eq!(
            refs.trace_layout(),
            TypeLayout::Array {
                elem_size: 4,
                elem_is_ref: true
            }
        );
    }
}
