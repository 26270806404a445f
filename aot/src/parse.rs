//! The module parser: one pass of `wasmparser` over a module's bytes makes
//! its [`ModuleEnv`], validating the module-level sections; each function
//! body is validated later, in parallel, in the compile workers. Beside it
//! are the conversions from wasmparser's types to [`crate::types`]', and the
//! binary-format rules wasmparser does not enforce (`encoding.rs`).

use std::ops::Range;

use wasmparser::{
    BinaryReaderError, CompositeInnerType, ConstExpr as WpConstExpr, DataKind, ElementItems,
    ElementKind, ExternalKind, FuncToValidate, FunctionBody, KnownCustom, Name, Operator, Parser,
    Payload, TypeRef, ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

use crate::CompileError;
use crate::encoding;
use crate::module::{
    ConstExpr, ConstOp, DataMode, DataSegment, ElemMode, ElemSegment, EntityIndex, Export, Import,
    ModuleEnv,
};
use crate::types::{
    CompositeType, FieldType, FuncType, GlobalType, HeapType, Limits, MemoryType, RefType,
    StorageType, SubType, TableType, WasmType,
};

impl WasmType {
    pub(crate) fn from_wasmparser_pub(ty: wasmparser::ValType) -> Result<Self, CompileError> {
        Self::from_wasmparser(ty)
    }

    fn from_wasmparser(ty: wasmparser::ValType) -> Result<Self, CompileError> {
        use wasmparser::ValType;
        Ok(match ty {
            ValType::I32 => WasmType::I32,
            ValType::I64 => WasmType::I64,
            ValType::F32 => WasmType::F32,
            ValType::F64 => WasmType::F64,
            ValType::V128 => WasmType::V128,
            ValType::Ref(r) => WasmType::Ref(RefType::from_wasmparser(r)?),
        })
    }
}

impl RefType {
    fn from_wasmparser(r: wasmparser::RefType) -> Result<RefType, CompileError> {
        Ok(RefType {
            nullable: r.is_nullable(),
            heap: HeapType::from_wasmparser(r.heap_type())?,
        })
    }
}

impl HeapType {
    /// An abstract heap type of wasmparser's; `None` for stack switching's
    /// `cont` and `nocont`, which the engine does not support.
    pub(crate) fn from_abstract(ty: wasmparser::AbstractHeapType) -> Option<HeapType> {
        use wasmparser::AbstractHeapType as A;
        Some(match ty {
            A::Func => HeapType::Func,
            A::Extern => HeapType::Extern,
            A::NoFunc => HeapType::NoFunc,
            A::NoExtern => HeapType::NoExtern,
            A::Any => HeapType::Any,
            A::Eq => HeapType::Eq,
            A::I31 => HeapType::I31,
            A::Struct => HeapType::Struct,
            A::Array => HeapType::Array,
            A::None => HeapType::None,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            A::Cont | A::NoCont => return None,
        })
    }

    fn from_wasmparser(hty: wasmparser::HeapType) -> Result<HeapType, CompileError> {
        let needs = |what: &str, ty: &str| {
            Err(CompileError::Unsupported(format!(
                "heap type `{ty}` needs {what}, which is not supported yet"
            )))
        };
        Ok(match hty {
            wasmparser::HeapType::Abstract { shared: true, .. } => {
                return needs("shared-everything threads", "shared");
            }
            wasmparser::HeapType::Abstract { shared: false, ty } => match Self::from_abstract(ty) {
                Some(h) => h,
                None => return needs("stack switching", "cont"),
            },
            wasmparser::HeapType::Exact(_) => return needs("custom descriptors", "exact"),
            wasmparser::HeapType::Concrete(i) => match i.as_module_index() {
                Some(i) => HeapType::Concrete(i),
                None => {
                    crate::bug!("heap type {hty:?} is not a module type index");
                }
            },
        })
    }
}

impl FuncType {
    fn from_wasmparser(f: &wasmparser::FuncType) -> Result<FuncType, CompileError> {
        let list = |v: &[wasmparser::ValType]| {
            v.iter()
                .map(|t| WasmType::from_wasmparser(*t))
                .collect::<Result<_, _>>()
        };
        Ok(FuncType {
            params: list(f.params())?,
            results: list(f.results())?,
        })
    }
}

impl FieldType {
    fn from_wasmparser(f: &wasmparser::FieldType) -> Result<FieldType, CompileError> {
        Ok(FieldType {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => StorageType::I8,
                wasmparser::StorageType::I16 => StorageType::I16,
                wasmparser::StorageType::Val(v) => StorageType::Val(WasmType::from_wasmparser(v)?),
            },
            mutable: f.mutable,
        })
    }
}

impl SubType {
    fn from_wasmparser(sub: &wasmparser::SubType) -> Result<SubType, CompileError> {
        if sub.composite_type.shared {
            return Err(CompileError::Unsupported(
                "shared types need shared-everything threads, which is not supported yet".into(),
            ));
        }
        let composite = match &sub.composite_type.inner {
            CompositeInnerType::Func(f) => CompositeType::Func(FuncType::from_wasmparser(f)?),
            CompositeInnerType::Struct(st) => CompositeType::Struct(
                st.fields
                    .iter()
                    .map(FieldType::from_wasmparser)
                    .collect::<Result<_, _>>()?,
            ),
            CompositeInnerType::Array(at) => {
                CompositeType::Array(FieldType::from_wasmparser(&at.0)?)
            }
            CompositeInnerType::Cont(_) => {
                return Err(CompileError::Unsupported(
                    "a continuation type needs stack switching, which is not supported yet".into(),
                ));
            }
        };
        if sub.composite_type.descriptor_idx.is_some() || sub.composite_type.describes_idx.is_some()
        {
            return Err(CompileError::Unsupported(
                "custom descriptors are not supported yet".into(),
            ));
        }
        let supertype =
            match sub.supertype_idxs.first() {
                None => None,
                Some(i) => Some(i.as_module_index().ok_or_else(|| {
                    crate::bug_error!("supertype {i:?} is not a module type index")
                })?),
            };
        Ok(SubType {
            is_final: sub.is_final,
            supertype,
            composite,
        })
    }
}

impl ConstExpr {
    fn parse(expr: &WpConstExpr<'_>) -> Result<Self, CompileError> {
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let op = reader.read().map_err(CompileError::from_wasmparser)?;
            ops.push(match op {
                Operator::I32Const { value } => ConstOp::I32Const(value),
                Operator::I64Const { value } => ConstOp::I64Const(value),
                Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
                Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
                Operator::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
                Operator::RefNull { hty } => ConstOp::RefNull(HeapType::from_wasmparser(hty)?),
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::RefI31 => ConstOp::RefI31,
                Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                Operator::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                Operator::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                Operator::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(array_type_index, array_size),
                Operator::AnyConvertExtern => ConstOp::AnyConvertExtern,
                Operator::ExternConvertAny => ConstOp::ExternConvertAny,
                Operator::End => continue,
                other => {
                    crate::bug!("validated constant expression operator {other:?}");
                }
            });
        }
        Ok(ConstExpr(ops))
    }

    /// The function indices a constant expression can reference.
    fn referenced_funcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().filter_map(|op| match op {
            ConstOp::RefFunc(i) => Some(*i),
            _ => None,
        })
    }
}

/// A defined function's body still to be validated and compiled.
pub struct FunctionBodyInput {
    pub func_index: u32,
    /// Byte range of the body within the module bytes.
    pub range: Range<usize>,
    pub validator: FuncToValidate<ValidatorResources>,
}

/// Typed function references with the type system GC brought into
/// WebAssembly 3.0: wasmparser's `GC` feature validates rec groups, `sub`
/// types, subtyping between function types and the abstract heap types,
/// which GC's struct and array types build on.
pub fn function_references_features() -> WasmFeatures {
    WasmFeatures::FUNCTION_REFERENCES.union(WasmFeatures::GC)
}

/// The WebAssembly features the engine accepts: WebAssembly 2.0 with SIMD
/// (a compiler for a CPU without the vector instructions SIMD needs turns
/// it off: see `Compiler::features`), and the 3.0 proposals listed one per
/// line.
pub fn supported_features() -> WasmFeatures {
    WasmFeatures::WASM2
        .union(function_references_features())
        .union(WasmFeatures::MULTI_MEMORY)
        .union(WasmFeatures::MEMORY64)
        .union(WasmFeatures::CUSTOM_PAGE_SIZES)
        .union(WasmFeatures::EXTENDED_CONST)
        .union(WasmFeatures::WIDE_ARITHMETIC)
        .union(WasmFeatures::TAIL_CALL)
        .union(WasmFeatures::RELAXED_SIMD)
        .union(WasmFeatures::EXCEPTIONS)
}

/// Parses and validates the module-level structure of `wasm` with the
/// [`supported_features`], less the proposals in `disabled`. Function
/// bodies are returned unvalidated, for the compile workers.
pub fn parse(
    wasm: &[u8],
    disabled: WasmFeatures,
) -> Result<(ModuleEnv, Vec<FunctionBodyInput>), CompileError> {
    parse_with_features(wasm, supported_features(), disabled)
}

/// [`parse`], accepting the proposals in `features` only, less those in
/// `disabled` (which make a module invalid rather than unsupported).
pub fn parse_with_features(
    wasm: &[u8],
    features: WasmFeatures,
    disabled: WasmFeatures,
) -> Result<(ModuleEnv, Vec<FunctionBodyInput>), CompileError> {
    let mut validator = Validator::new_with_features(features.difference(disabled));
    let from_wasmparser = |e| CompileError::from_wasmparser_with(e, disabled);
    let mut env = ModuleEnv::default();
    let mut bodies = Vec::new();
    let mut escaping: Vec<u32> = Vec::new();

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(from_wasmparser)?;
        let valid = validator.payload(&payload).map_err(from_wasmparser)?;
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group.map_err(from_wasmparser)?;
                    env.rec_groups.push(env.types.len() as u32);
                    for sub in group.into_types() {
                        env.types.push(SubType::from_wasmparser(&sub)?);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(from_wasmparser)?;
                    let index = match import.ty {
                        TypeRef::Func(ty) => {
                            env.funcs.push(ty);
                            env.num_imported_funcs += 1;
                            EntityIndex::Function(env.funcs.len() as u32 - 1)
                        }
                        TypeRef::Table(t) => {
                            env.tables.push(table_type(t)?);
                            env.num_imported_tables += 1;
                            EntityIndex::Table(env.tables.len() as u32 - 1)
                        }
                        TypeRef::Memory(m) => {
                            env.memories.push(memory_type(m));
                            env.num_imported_memories += 1;
                            EntityIndex::Memory(env.memories.len() as u32 - 1)
                        }
                        TypeRef::Global(g) => {
                            env.globals.push(global_type(g)?);
                            env.num_imported_globals += 1;
                            EntityIndex::Global(env.globals.len() as u32 - 1)
                        }
                        TypeRef::Tag(t) => {
                            env.tags.push(t.func_type_idx);
                            env.num_imported_tags += 1;
                            EntityIndex::Tag(env.tags.len() as u32 - 1)
                        }
                        other => {
                            crate::bug!("validated import of kind {other:?}");
                        }
                    };
                    env.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        index,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    env.funcs.push(ty.map_err(from_wasmparser)?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table.map_err(from_wasmparser)?;
                    env.tables.push(table_type(table.ty)?);
                    env.table_inits.push(match table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => {
                            let init = ConstExpr::parse(&e)?;
                            escaping.extend(init.referenced_funcs());
                            Some(init)
                        }
                    });
                }
            }
            Payload::MemorySection(reader) => {
                let range = reader.range();
                let raw = &wasm[range.start as usize..range.end as usize];
                let mut at = encoding::leb_len(raw);
                for m in reader {
                    let m = m.map_err(from_wasmparser)?;
                    at +=
                        encoding::check_limits(&raw[at.min(raw.len())..], range.start + at as u64)?;
                    env.memories.push(memory_type(m));
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g.map_err(from_wasmparser)?;
                    env.globals.push(global_type(g.ty)?);
                    let init = ConstExpr::parse(&g.init_expr)?;
                    escaping.extend(init.referenced_funcs());
                    env.global_inits.push(init);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e.map_err(from_wasmparser)?;
                    let index = match e.kind {
                        ExternalKind::Func => {
                            escaping.push(e.index);
                            EntityIndex::Function(e.index)
                        }
                        ExternalKind::Table => EntityIndex::Table(e.index),
                        ExternalKind::Memory => EntityIndex::Memory(e.index),
                        ExternalKind::Global => EntityIndex::Global(e.index),
                        ExternalKind::Tag => EntityIndex::Tag(e.index),
                        other => {
                            crate::bug!("validated export of kind {other:?}");
                        }
                    };
                    env.exports.push(Export {
                        name: e.name.to_string(),
                        index,
                    });
                }
            }
            Payload::TagSection(reader) => {
                for t in reader {
                    env.tags.push(t.map_err(from_wasmparser)?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => env.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem.map_err(from_wasmparser)?;
                    let mode = match elem.kind {
                        ElementKind::Passive => ElemMode::Passive,
                        ElementKind::Declared => ElemMode::Declared,
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemMode::Active {
                            table: table_index.unwrap_or(0),
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    let (element, items) = match elem.items {
                        ElementItems::Functions(funcs) => {
                            let mut items = Vec::new();
                            for f in funcs {
                                let f = f.map_err(from_wasmparser)?;
                                escaping.push(f);
                                items.push(ConstExpr(vec![ConstOp::RefFunc(f)]));
                            }
                            (WasmType::Ref(RefType::non_null(HeapType::Func)), items)
                        }
                        ElementItems::Expressions(ty, exprs) => {
                            let element = WasmType::Ref(RefType::from_wasmparser(ty)?);
                            let mut items = Vec::new();
                            for e in exprs {
                                let e = ConstExpr::parse(&e.map_err(from_wasmparser)?)?;
                                escaping.extend(e.referenced_funcs());
                                items.push(e);
                            }
                            (element, items)
                        }
                    };
                    env.elems.push(ElemSegment {
                        mode,
                        element,
                        items,
                    });
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.map_err(from_wasmparser)?;
                    let start = env.data_bytes.len();
                    env.data_bytes.extend_from_slice(data.data);
                    let mode = match data.kind {
                        DataKind::Passive => DataMode::Passive,
                        DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataMode::Active {
                            memory: memory_index,
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    env.datas.push(DataSegment {
                        mode,
                        range: start..env.data_bytes.len(),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let ValidPayload::Func(func, _) = valid else {
                    crate::bug!("the validator gave no function for a code section entry")
                };
                bodies.push(body_input(&body, func));
            }
            Payload::CustomSection(reader) => {
                if let KnownCustom::Name(names) = reader.as_known() {
                    // A malformed name section is ignored, as the spec asks.
                    let _ = read_names(names, &mut env);
                }
            }
            _ => {}
        }
    }

    let mut slots = vec![None; env.funcs.len()];
    let mut next = 0u32;
    for f in escaping {
        if let Some(slot) = slots.get_mut(f as usize)
            && slot.is_none()
            && f >= env.num_imported_funcs
        {
            *slot = Some(next);
            next += 1;
        }
    }
    env.func_ref_slots = slots;
    env.num_func_ref_slots = next;
    Ok((env, bodies))
}

fn body_input(
    body: &FunctionBody<'_>,
    func: FuncToValidate<ValidatorResources>,
) -> FunctionBodyInput {
    FunctionBodyInput {
        func_index: func.index,
        range: {
            let r = body.range();
            r.start as usize..r.end as usize
        },
        validator: func,
    }
}

fn read_names(
    names: wasmparser::NameSectionReader<'_>,
    env: &mut ModuleEnv,
) -> Result<(), BinaryReaderError> {
    let mut funcs = Vec::new();
    for name in names {
        match name? {
            Name::Module { name, .. } => env.name = Some(name.to_string()),
            Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    funcs.push((naming.index, naming.name));
                }
            }
            _ => {}
        }
    }
    env.func_names = funcs.into_iter().collect();
    Ok(())
}

fn table_type(t: wasmparser::TableType) -> Result<TableType, CompileError> {
    Ok(TableType {
        element: WasmType::Ref(RefType::from_wasmparser(t.element_type)?),
        limits: Limits {
            min: t.initial,
            max: t.maximum,
        },
        table64: t.table64,
    })
}

fn memory_type(m: wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        limits: Limits {
            min: m.initial,
            max: m.maximum,
        },
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2: m.page_size_log2,
    }
}

fn global_type(g: wasmparser::GlobalType) -> Result<GlobalType, CompileError> {
    Ok(GlobalType {
        content: WasmType::from_wasmparser(g.content_type)?,
        mutable: g.mutable,
    })
}
