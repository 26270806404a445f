//! SIMD operators (`VisitSimdOperator`). Not translated yet: each returns
//! [`CompileError::Unsupported`]. The validator has SIMD off, so a module
//! that uses SIMD is refused before it gets here; this file is where the
//! translations go when SIMD is turned on, and listing every operator keeps
//! one from being forgotten.

use wasmparser::VisitSimdOperator;

use super::Translator;
use super::visit::unsupported_proposal;
use crate::CompileError;

macro_rules! unsupported_simd {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Result<(), CompileError> {
                $($(let _ = $arg;)*)?
                Err(unsupported_proposal(stringify!($proposal), stringify!($op)))
            }
        )*
    };
}

impl<'a> VisitSimdOperator<'a> for Translator<'_, '_> {
    wasmparser::for_each_visit_simd_operator!(unsupported_simd);
}
