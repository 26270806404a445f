//! Component values in their dynamic form: [`Val`], what a host function
//! defined with `func_new` receives and returns and what a dynamic call of
//! a component export takes and gives back. The canonical ABI
//! (`component::abi`) lifts core values into these and lowers these into
//! core values; `Abi::typecheck` checks one against an interface type.

pub use super::resources::ResourceAny;

/// A value of a Component Model interface type, dynamically typed.
///
/// Each variant is the value of one kind of type: the primitives, `string`,
/// `list<T>` and `list<T, N>` ([`Val::List`]), records with their field
/// names in the type's order, tuples, variants and enums by case name,
/// options, results, flags as the names of the flags that are set (in the
/// type's order when lifted), resource handles and maps as their pairs in
/// order (a map is a list of pairs in the canonical ABI; duplicates are
/// kept as they come).
///
/// ```
/// use nyash_engine::component::Val;
///
/// let v = Val::Record(vec![
///     ("name".into(), Val::String("nyash".into())),
///     ("tags".into(), Val::List(vec![Val::U8(1), Val::U8(2)])),
///     ("next".into(), Val::Option(Some(Box::new(Val::Char('🍰'))))),
/// ]);
/// assert_eq!(v.kind(), "record");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// A `bool`.
    Bool(bool),
    /// An `s8`.
    S8(i8),
    /// A `u8`.
    U8(u8),
    /// An `s16`.
    S16(i16),
    /// A `u16`.
    U16(u16),
    /// An `s32`.
    S32(i32),
    /// A `u32`.
    U32(u32),
    /// An `s64`.
    S64(i64),
    /// A `u64`.
    U64(u64),
    /// An `f32`.
    Float32(f32),
    /// An `f64`.
    Float64(f64),
    /// A `char` (a Unicode scalar value).
    Char(char),
    /// A `string`.
    String(String),
    /// A `list<T>` or a fixed-length `list<T, N>`.
    List(Vec<Val>),
    /// Field names and values, in the record type's order.
    Record(Vec<(String, Val)>),
    /// A `tuple`'s values, in order.
    Tuple(Vec<Val>),
    /// A case name and its payload (`None` for a case without one).
    Variant(String, Option<Box<Val>>),
    /// A case name.
    Enum(String),
    /// An `option`.
    Option(Option<Box<Val>>),
    /// `Ok` or `Err`, each with a payload if the result type has one.
    Result(Result<Option<Box<Val>>, Option<Box<Val>>>),
    /// The names of the flags that are set.
    Flags(Vec<String>),
    /// An `own` or `borrow` handle.
    Resource(ResourceAny),
    /// A `map<K, V>`'s entries, in order.
    Map(Vec<(Val, Val)>),
}

impl Val {
    /// The kind of type this value belongs to, as the text format names it
    /// (`"u32"`, `"string"`, `"record"`, `"resource"` ...), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Bool(_) => "bool",
            Val::S8(_) => "s8",
            Val::U8(_) => "u8",
            Val::S16(_) => "s16",
            Val::U16(_) => "u16",
            Val::S32(_) => "s32",
            Val::U32(_) => "u32",
            Val::S64(_) => "s64",
            Val::U64(_) => "u64",
            Val::Float32(_) => "f32",
            Val::Float64(_) => "f64",
            Val::Char(_) => "char",
            Val::String(_) => "string",
            Val::List(_) => "list",
            Val::Record(_) => "record",
            Val::Tuple(_) => "tuple",
            Val::Variant(..) => "variant",
            Val::Enum(_) => "enum",
            Val::Option(_) => "option",
            Val::Result(_) => "result",
            Val::Flags(_) => "flags",
            Val::Resource(_) => "resource",
            Val::Map(_) => "map",
        }
    }
}
