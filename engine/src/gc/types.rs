//! Struct and array types made by the host, and their field types.

use super::*;

/// The most fields a struct type may have (WebAssembly's validation limit).
const MAX_STRUCT_FIELDS: usize = 10_000;

// ---------------------------------------------------------------------------
// Types

/// Whether a struct field or an array's elements may be written after the
/// object is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Set when the object is made, never written again.
    Const,
    /// Writable (`(mut ...)` in the text format).
    Var,
}

/// What a struct field or an array element stores: a packed integer
/// (`i8`, `i16`) or a value of a [`ValType`]. Concrete reference types are
/// engine ids ([`HeapType::Engine`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// An 8-bit integer, read and written as an `i32`.
    I8,
    /// A 16-bit integer, read and written as an `i32`.
    I16,
    /// A value of this type.
    ValType(ValType),
}

impl StorageType {
    /// The type values of this storage have on the host and on wasm's
    /// stack: `i32` for the packed ones.
    pub fn unpack(&self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::ValType(t) => *t,
        }
    }

    /// Whether this is `i8` or `i16`.
    pub fn is_packed(&self) -> bool {
        matches!(self, StorageType::I8 | StorageType::I16)
    }

    pub(super) fn to_aot(self) -> AotStorageType {
        match self {
            StorageType::I8 => AotStorageType::I8,
            StorageType::I16 => AotStorageType::I16,
            StorageType::ValType(t) => AotStorageType::Val(t.to_aot()),
        }
    }

    pub(super) fn from_aot(s: AotStorageType) -> StorageType {
        match s {
            AotStorageType::I8 => StorageType::I8,
            AotStorageType::I16 => StorageType::I16,
            AotStorageType::Val(t) => StorageType::ValType(ValType::from_aot(t)),
        }
    }
}

impl std::fmt::Display for StorageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageType::I8 => f.write_str("i8"),
            StorageType::I16 => f.write_str("i16"),
            StorageType::ValType(t) => t.fmt(f),
        }
    }
}

/// A struct field or an array's element type: its storage and mutability.
/// `Display` writes it as the text format does, `(mut i8)` or `i32`.
///
/// ```
/// use nyash_engine::{FieldType, Mutability, StorageType, ValType};
///
/// let f = FieldType::new(Mutability::Var, StorageType::I8);
/// assert_eq!(f.to_string(), "(mut i8)");
/// assert_eq!(f.element_type().unpack(), ValType::I32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldType {
    pub(super) mutability: Mutability,
    pub(super) element_type: StorageType,
}

impl FieldType {
    /// A field of `element_type`, with `mutability`.
    pub const fn new(mutability: Mutability, element_type: StorageType) -> FieldType {
        FieldType {
            mutability,
            element_type,
        }
    }

    /// Whether the field may be written after the object is made.
    pub const fn mutability(&self) -> Mutability {
        self.mutability
    }

    /// What the field stores.
    pub const fn element_type(&self) -> StorageType {
        self.element_type
    }

    pub(super) fn to_aot(self) -> AotFieldType {
        AotFieldType {
            storage: self.element_type.to_aot(),
            mutable: self.mutability == Mutability::Var,
        }
    }

    pub(super) fn from_aot(f: AotFieldType) -> FieldType {
        FieldType {
            mutability: if f.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
            element_type: StorageType::from_aot(f.storage),
        }
    }
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.mutability {
            Mutability::Var => write!(f, "(mut {})", self.element_type),
            Mutability::Const => write!(f, "{}", self.element_type),
        }
    }
}

/// Refuses field types naming engine ids the engine has no type for.
fn check_field_type(engine: &Engine, f: &FieldType) -> Result<()> {
    if let StorageType::ValType(ValType::Ref(r)) = f.element_type
        && let HeapType::Engine(id) = r.heap
        && engine.types().get(id).is_none()
    {
        return Err(Error::msg(format!(
            "field type {f} names engine type #{id}, which the engine does not have"
        )));
    }
    Ok(())
}

/// A struct type of an engine: its engine type id and its fields.
///
/// [`StructType::new`] defines one from the host (a final type with no
/// supertype, in a rec group of its own: the same type, with the same id,
/// as a module's `(type (struct ...))` outside `rec` with the same
/// fields); [`StructType::from_type_id`] looks up any struct type the
/// engine has, a module's included. Two `StructType`s are equal when their
/// engine and id are.
///
/// ```
/// use nyash_engine::{Engine, FieldType, Mutability, StorageType, StructType, ValType};
///
/// let engine = Engine::default();
/// let point = StructType::new(&engine, [
///     FieldType::new(Mutability::Var, StorageType::ValType(ValType::I32)),
///     FieldType::new(Mutability::Const, StorageType::I8),
/// ])?;
/// assert_eq!(point.fields().len(), 2);
/// assert_eq!(point.field(1).unwrap().element_type(), StorageType::I8);
/// assert_eq!(StructType::from_type_id(&engine, point.type_id()), Some(point));
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct StructType {
    pub(super) engine: Engine,
    pub(super) id: u32,
    pub(super) fields: Arc<[FieldType]>,
}

impl StructType {
    /// Defines a struct type with `fields` in `engine` (or finds the equal
    /// one it has). Fails for more than 10 000 fields, for a field type
    /// that names a type the engine does not have, or if the engine has no
    /// room for more types.
    pub fn new(engine: &Engine, fields: impl IntoIterator<Item = FieldType>) -> Result<StructType> {
        let fields: Arc<[FieldType]> = fields.into_iter().collect();
        if fields.len() > MAX_STRUCT_FIELDS {
            return Err(Error::msg(format!(
                "a struct type has at most {MAX_STRUCT_FIELDS} fields, {} given",
                fields.len()
            )));
        }
        for f in fields.iter() {
            check_field_type(engine, f)?;
        }
        let id = engine
            .types()
            .register_final(CompositeType::Struct(
                fields.iter().map(|f| f.to_aot()).collect(),
            ))
            .map_err(Error::msg)?;
        Ok(StructType {
            engine: engine.clone(),
            id,
            fields,
        })
    }

    /// The struct type with engine id `id`, if `engine` has one.
    pub fn from_type_id(engine: &Engine, id: u32) -> Option<StructType> {
        let fields = match &engine.types().get(id)?.composite {
            CompositeType::Struct(fields) => {
                fields.iter().map(|f| FieldType::from_aot(*f)).collect()
            }
            _ => return None,
        };
        Some(StructType {
            engine: engine.clone(),
            id,
            fields,
        })
    }

    /// The engine-wide type id.
    pub fn type_id(&self) -> u32 {
        self.id
    }

    /// `HeapType::Engine(self.type_id())`: for `(ref $t)` value types.
    pub fn heap_type(&self) -> HeapType {
        HeapType::Engine(self.id)
    }

    /// The engine the type belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The fields, in declaration order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldType> + '_ {
        self.fields.iter().copied()
    }

    /// Field `index`, if there is one.
    pub fn field(&self, index: usize) -> Option<FieldType> {
        self.fields.get(index).copied()
    }
}

impl PartialEq for StructType {
    fn eq(&self, other: &StructType) -> bool {
        self.engine.same(&other.engine) && self.id == other.id
    }
}

impl Eq for StructType {}

impl std::fmt::Debug for StructType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StructType")
            .field("id", &self.id)
            .field("fields", &self.fields)
            .finish()
    }
}

/// An array type of an engine: its engine type id and its element type.
/// [`ArrayType::new`] defines one from the host (final, no supertype, as
/// a module's `(type (array ...))` outside `rec`);
/// [`ArrayType::from_type_id`] looks up any array type the engine has.
///
/// ```
/// use nyash_engine::{ArrayType, Engine, FieldType, Mutability, StorageType};
///
/// let engine = Engine::default();
/// let bytes = ArrayType::new(&engine, FieldType::new(Mutability::Var, StorageType::I8))?;
/// assert_eq!(bytes.field_type().element_type(), StorageType::I8);
/// # Ok::<(), nyash_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct ArrayType {
    pub(super) engine: Engine,
    pub(super) id: u32,
    pub(super) field: FieldType,
}

impl ArrayType {
    /// Defines an array type with elements of `field` in `engine` (or
    /// finds the equal one it has). Fails for an element type that names a
    /// type the engine does not have, or if the engine has no room for
    /// more types.
    pub fn new(engine: &Engine, field: FieldType) -> Result<ArrayType> {
        check_field_type(engine, &field)?;
        let id = engine
            .types()
            .register_final(CompositeType::Array(field.to_aot()))
            .map_err(Error::msg)?;
        Ok(ArrayType {
            engine: engine.clone(),
            id,
            field,
        })
    }

    /// The array type with engine id `id`, if `engine` has one.
    pub fn from_type_id(engine: &Engine, id: u32) -> Option<ArrayType> {
        let field = match &engine.types().get(id)?.composite {
            CompositeType::Array(f) => FieldType::from_aot(*f),
            _ => return None,
        };
        Some(ArrayType {
            engine: engine.clone(),
            id,
            field,
        })
    }

    /// The engine-wide type id.
    pub fn type_id(&self) -> u32 {
        self.id
    }

    /// `HeapType::Engine(self.type_id())`: for `(ref $t)` value types.
    pub fn heap_type(&self) -> HeapType {
        HeapType::Engine(self.id)
    }

    /// The engine the type belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The element type.
    pub fn field_type(&self) -> FieldType {
        self.field
    }
}

impl PartialEq for ArrayType {
    fn eq(&self, other: &ArrayType) -> bool {
        self.engine.same(&other.engine) && self.id == other.id
    }
}

impl Eq for ArrayType {}

impl std::fmt::Debug for ArrayType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrayType")
            .field("id", &self.id)
            .field("field", &self.field)
            .finish()
    }
}
