//! STUB (replaced by the abi branch).
#![allow(dead_code, unused_variables)]
use super::resources::ResourceAny;
use super::val::Val;
use nyash_aot::component::translate::StringEncoding;
use nyash_aot::component::types::{ComponentTypes, FuncType, InterfaceType, ResourceIndex};
pub(crate) trait AbiHost {
    fn memory(&mut self) -> crate::Result<&mut [u8]>;
    fn realloc(
        &mut self,
        old_ptr: u32,
        old_size: u32,
        align: u32,
        new_size: u32,
    ) -> crate::Result<u32>;
    fn lower_own(&mut self, ty: ResourceIndex, r: &ResourceAny) -> crate::Result<u32>;
    fn lower_borrow(&mut self, ty: ResourceIndex, r: &ResourceAny) -> crate::Result<u32>;
    fn lift_own(&mut self, ty: ResourceIndex, handle: u32) -> crate::Result<ResourceAny>;
    fn lift_borrow(&mut self, ty: ResourceIndex, handle: u32) -> crate::Result<ResourceAny>;
}
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Flat {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CoreTy {
    I32,
    I64,
    F32,
    F64,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    Lift,
    Lower,
}
pub(crate) struct Abi<'a> {
    pub types: &'a ComponentTypes,
    pub encoding: StringEncoding,
}
impl Abi<'_> {
    pub fn flat_params(&self, ft: &FuncType, cx: Context) -> Vec<CoreTy> {
        todo!()
    }
    pub fn flat_results(&self, ft: &FuncType, cx: Context) -> Vec<CoreTy> {
        todo!()
    }
    pub fn lower_args(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        args: &[Val],
    ) -> crate::Result<Vec<Flat>> {
        todo!()
    }
    pub fn lift_results(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        core: &[Flat],
    ) -> crate::Result<Vec<Val>> {
        todo!()
    }
    pub fn lift_args(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        core: &[Flat],
    ) -> crate::Result<(Vec<Val>, Option<u32>)> {
        todo!()
    }
    pub fn lower_results(
        &self,
        h: &mut dyn AbiHost,
        ft: &FuncType,
        results: &[Val],
        retptr: Option<u32>,
    ) -> crate::Result<Vec<Flat>> {
        todo!()
    }
    pub fn typecheck(&self, ty: InterfaceType, v: &Val) -> crate::Result<()> {
        todo!()
    }
}
