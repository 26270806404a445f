//! Derive macros for nyash-engine's typed component values and `bindgen!`, re-exported
//! as `nyash_engine::component::{ComponentType, Lift, Lower, flags, bindgen}`:
//!
//! - `#[derive(ComponentType, Lift, Lower)] #[component(record)]` on a
//!   struct with named fields: a record, fields in declaration order;
//! - `#[component(variant)]` on an enum whose cases have no payload or one
//!   unnamed field: a variant;
//! - `#[component(enum)]` on an enum of unit cases: an enum;
//! - `flags! { Name { const A; const B; } }`: a flags type (a struct of
//!   bits with a constant per flag);
//! - `bindgen!({ ... })`: Rust types, host traits and typed export
//!   wrappers for a WIT world (`bindgen.rs`), built on the above.
//!
//! Names become kebab-case WIT names (`user_id` and `UserId` both
//! `user-id`) unless `#[component(name = "...")]` on the field, case or
//! flag says otherwise. The expansions implement the traits with the
//! helpers of `nyash_engine::component::__internal` (layout arithmetic,
//! discriminants, type checks), so the canonical ABI's rules live in the
//! engine only.

use heck::ToKebabCase;
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{
    Attribute, Data, DeriveInput, Error, Fields, GenericParam, Generics, Ident, LitStr, Result,
    Token, Type, Visibility, parse_macro_input, parse_quote,
};

/// `#[derive(ComponentType)]`: which interface type the Rust type is, its
/// layout and its type check (see the crate docs for the attributes).
#[proc_macro_derive(ComponentType, attributes(component))]
pub fn derive_component_type(input: TokenStream) -> TokenStream {
    expand(input, Trait::ComponentType)
}

/// `#[derive(Lift)]`: reads values of the type out of core values and
/// linear memory.
#[proc_macro_derive(Lift, attributes(component))]
pub fn derive_lift(input: TokenStream) -> TokenStream {
    expand(input, Trait::Lift)
}

/// `#[derive(Lower)]`: writes values of the type into core values and
/// linear memory.
#[proc_macro_derive(Lower, attributes(component))]
pub fn derive_lower(input: TokenStream) -> TokenStream {
    expand(input, Trait::Lower)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trait {
    ComponentType,
    Lift,
    Lower,
}

/// What `#[component(...)]` on the type says it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Record,
    Variant,
    Enum,
}

fn expand(input: TokenStream, t: Trait) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_input(&input, t) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The path of the engine's component module.
fn krate() -> TokenStream2 {
    quote!(::nyash_engine::component)
}

fn kind_of(attrs: &[Attribute], span: Span) -> Result<Kind> {
    let mut kind = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("component")) {
        attr.parse_nested_meta(|meta| {
            let k = if meta.path.is_ident("record") {
                Kind::Record
            } else if meta.path.is_ident("variant") {
                Kind::Variant
            } else if meta.path.is_ident("enum") {
                Kind::Enum
            } else {
                return Err(meta.error(
                    "expected `record`, `variant` or `enum` in `#[component(...)]` on a type",
                ));
            };
            if kind.replace(k).is_some() {
                return Err(meta.error("the kind of type is given twice"));
            }
            Ok(())
        })?;
    }
    kind.ok_or_else(|| {
        Error::new(
            span,
            "say which kind of type this is: `#[component(record)]`, `#[component(variant)]` or `#[component(enum)]`",
        )
    })
}

/// The WIT name of a field, case or flag: `#[component(name = "...")]`, or
/// the Rust name in kebab-case.
fn wit_name(attrs: &[Attribute], ident: &Ident) -> Result<String> {
    let mut name = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("component")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let s: LitStr = meta.value()?.parse()?;
                name = Some(s.value());
                Ok(())
            } else {
                Err(meta.error("expected `name = \"...\"`"))
            }
        })?;
    }
    Ok(name.unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_kebab_case()))
}

/// `generics` with `bound` on every type parameter.
fn add_bounds(generics: &Generics, bound: TokenStream2) -> Generics {
    let mut g = generics.clone();
    for p in &mut g.params {
        if let GenericParam::Type(tp) = p {
            tp.bounds.push(parse_quote!(#bound));
        }
    }
    g
}

fn expand_input(input: &DeriveInput, t: Trait) -> Result<TokenStream2> {
    let kind = kind_of(&input.attrs, input.ident.span())?;
    let c = krate();
    let bound = match t {
        Trait::ComponentType => quote!(#c::ComponentType),
        Trait::Lift => quote!(#c::Lift),
        Trait::Lower => quote!(#c::Lower),
    };
    let generics = add_bounds(&input.generics, bound);
    let (impl_g, ty_g, where_c) = generics.split_for_impl();
    let name = &input.ident;
    let body = match (kind, &input.data) {
        (Kind::Record, Data::Struct(s)) => record(name, &s.fields, t)?,
        (Kind::Variant, Data::Enum(e)) => {
            let cases = cases(e.variants.iter(), false)?;
            variant(name, &cases, t)
        }
        (Kind::Enum, Data::Enum(e)) => {
            let cases = cases(e.variants.iter(), true)?;
            enumeration(name, &cases, t)
        }
        (Kind::Record, _) => {
            return Err(Error::new(
                name.span(),
                "`#[component(record)]` is for a struct with named fields",
            ));
        }
        (_, _) => {
            return Err(Error::new(
                name.span(),
                "`#[component(variant)]` and `#[component(enum)]` are for enums",
            ));
        }
    };
    let tr = match t {
        Trait::ComponentType => quote!(#c::ComponentType),
        Trait::Lift => quote!(#c::Lift),
        Trait::Lower => quote!(#c::Lower),
    };
    Ok(quote! {
        #[automatically_derived]
        impl #impl_g #tr for #name #ty_g #where_c {
            #body
        }
    })
}

/// A record: fields in declaration order.
fn record(name: &Ident, fields: &Fields, t: Trait) -> Result<TokenStream2> {
    let Fields::Named(named) = fields else {
        return Err(Error::new(
            name.span(),
            "`#[component(record)]` is for a struct with named fields",
        ));
    };
    let c = krate();
    let i = quote!(#c::__internal);
    let idents: Vec<&Ident> = named
        .named
        .iter()
        .filter_map(|f| f.ident.as_ref())
        .collect();
    let tys: Vec<&Type> = named.named.iter().map(|f| &f.ty).collect();
    let names = named
        .named
        .iter()
        .zip(&idents)
        .map(|(f, id)| wit_name(&f.attrs, id))
        .collect::<Result<Vec<_>>>()?;
    // Lifted fields are bound to names of their own, which cannot shadow
    // the context or the source (a field may be called `cx` or `src`).
    let locals: Vec<Ident> = (0..idents.len())
        .map(|k| Ident::new(&format!("__field_{k}"), Span::call_site()))
        .collect();
    let rust = name.to_string();
    Ok(match t {
        Trait::ComponentType => quote! {
            const SIZE32: usize = {
                let mut at = 0usize;
                #(at = #i::align_to(at, <#tys as #c::ComponentType>::ALIGN32)
                    + <#tys as #c::ComponentType>::SIZE32;)*
                #i::align_to(at, <Self as #c::ComponentType>::ALIGN32)
            };
            const ALIGN32: u32 = {
                let mut a = 1u32;
                #(a = #i::max_u32(a, <#tys as #c::ComponentType>::ALIGN32);)*
                a
            };
            const FLAT_COUNT: usize = 0 #(+ <#tys as #c::ComponentType>::FLAT_COUNT)*;

            fn typecheck(
                ty: #i::InterfaceType,
                types: &#i::ComponentTypes,
            ) -> ::nyash_engine::Result<()> {
                #i::typecheck_record(ty, types, #rust, &[
                    #((#names, <#tys as #c::ComponentType>::typecheck as #i::Typecheck),)*
                ])
            }
        },
        Trait::Lower => quote! {
            #[allow(unused_assignments, unused_variables)]
            fn lower(
                &self,
                cx: &mut #c::LowerContext<'_>,
                dst: &mut [#i::ValRaw],
            ) -> ::nyash_engine::Result<()> {
                let mut at = 0usize;
                #(
                    let n = <#tys as #c::ComponentType>::FLAT_COUNT;
                    #c::Lower::lower(&self.#idents, cx, &mut dst[at..at + n])?;
                    at += n;
                )*
                Ok(())
            }

            #[allow(unused_assignments, unused_variables)]
            fn store(
                &self,
                cx: &mut #c::LowerContext<'_>,
                offset: usize,
            ) -> ::nyash_engine::Result<()> {
                let mut at = 0usize;
                #(
                    at = #i::align_to(at, <#tys as #c::ComponentType>::ALIGN32);
                    #c::Lower::store(&self.#idents, cx, offset + at)?;
                    at += <#tys as #c::ComponentType>::SIZE32;
                )*
                Ok(())
            }
        },
        Trait::Lift => quote! {
            #[allow(unused_assignments, unused_variables)]
            fn lift(
                cx: &mut #c::LiftContext<'_>,
                src: &[#i::ValRaw],
            ) -> ::nyash_engine::Result<Self> {
                let mut at = 0usize;
                #(
                    let n = <#tys as #c::ComponentType>::FLAT_COUNT;
                    let #locals = <#tys as #c::Lift>::lift(cx, &src[at..at + n])?;
                    at += n;
                )*
                Ok(Self { #(#idents: #locals,)* })
            }

            #[allow(unused_assignments, unused_variables)]
            fn load(
                cx: &mut #c::LiftContext<'_>,
                offset: usize,
            ) -> ::nyash_engine::Result<Self> {
                let mut at = 0usize;
                #(
                    at = #i::align_to(at, <#tys as #c::ComponentType>::ALIGN32);
                    let #locals = <#tys as #c::Lift>::load(cx, offset + at)?;
                    at += <#tys as #c::ComponentType>::SIZE32;
                )*
                Ok(Self { #(#idents: #locals,)* })
            }
        },
    })
}

/// One case of a variant or enum.
struct Case {
    ident: Ident,
    name: String,
    payload: Option<Type>,
}

fn cases<'a>(
    variants: impl Iterator<Item = &'a syn::Variant>,
    unit_only: bool,
) -> Result<Vec<Case>> {
    let mut out = Vec::new();
    for v in variants {
        if let Some((_, d)) = &v.discriminant {
            return Err(Error::new_spanned(
                d,
                "explicit discriminants are not used: cases are numbered in order",
            ));
        }
        let payload = match &v.fields {
            Fields::Unit => None,
            Fields::Unnamed(f) if f.unnamed.len() == 1 && !unit_only => {
                Some(f.unnamed[0].ty.clone())
            }
            _ if unit_only => {
                return Err(Error::new_spanned(
                    v,
                    "the cases of `#[component(enum)]` have no payload",
                ));
            }
            _ => {
                return Err(Error::new_spanned(
                    v,
                    "a case of `#[component(variant)]` has no payload or one unnamed field",
                ));
            }
        };
        out.push(Case {
            name: wit_name(&v.attrs, &v.ident)?,
            ident: v.ident.clone(),
            payload,
        });
    }
    if out.is_empty() {
        return Err(Error::new(
            Span::call_site(),
            "a variant or enum needs at least one case",
        ));
    }
    Ok(out)
}

/// A variant: a discriminant and the case's payload.
fn variant(name: &Ident, cases: &[Case], t: Trait) -> TokenStream2 {
    let c = krate();
    let i = quote!(#c::__internal);
    let n = cases.len();
    let rust = name.to_string();
    let payloads: Vec<&Type> = cases.iter().filter_map(|c| c.payload.as_ref()).collect();
    let unit: Type = parse_quote!(());
    let ty_of = |case: &Case| case.payload.clone().unwrap_or_else(|| unit.clone());
    match t {
        Trait::ComponentType => {
            let names = cases.iter().map(|c| &c.name);
            let checks = cases.iter().map(|case| match &case.payload {
                Some(ty) => quote!(Some(<#ty as #c::ComponentType>::typecheck as #i::Typecheck)),
                None => quote!(None),
            });
            quote! {
                const SIZE32: usize = #i::variant_size(
                    #n,
                    { let mut s = 0usize; #(s = #i::max(s, <#payloads as #c::ComponentType>::SIZE32);)* s },
                    { let mut a = 1u32; #(a = #i::max_u32(a, <#payloads as #c::ComponentType>::ALIGN32);)* a },
                );
                const ALIGN32: u32 = #i::variant_align(
                    #n,
                    { let mut a = 1u32; #(a = #i::max_u32(a, <#payloads as #c::ComponentType>::ALIGN32);)* a },
                );
                const FLAT_COUNT: usize = 1 + {
                    let mut f = 0usize;
                    #(f = #i::max(f, <#payloads as #c::ComponentType>::FLAT_COUNT);)*
                    f
                };

                fn typecheck(
                    ty: #i::InterfaceType,
                    types: &#i::ComponentTypes,
                ) -> ::nyash_engine::Result<()> {
                    #i::typecheck_variant(ty, types, #rust, &[#((#names, #checks),)*])
                }
            }
        }
        Trait::Lower => {
            let lower_arms = cases.iter().enumerate().map(|(k, case)| {
                let id = &case.ident;
                let k = k as u32;
                match &case.payload {
                    Some(_) => quote!(Self::#id(x) => #i::lower_case(cx, dst, #k, x),),
                    None => quote!(Self::#id => #i::lower_case(cx, dst, #k, &()),),
                }
            });
            let store_arms = cases.iter().enumerate().map(|(k, case)| {
                let id = &case.ident;
                let k = k as u32;
                match &case.payload {
                    Some(_) => quote!(Self::#id(x) => {
                        #i::store_discriminant(cx, offset, #n, #k)?;
                        #c::Lower::store(x, cx, at)
                    }),
                    None => quote!(Self::#id => #i::store_discriminant(cx, offset, #n, #k),),
                }
            });
            quote! {
                fn lower(
                    &self,
                    cx: &mut #c::LowerContext<'_>,
                    dst: &mut [#i::ValRaw],
                ) -> ::nyash_engine::Result<()> {
                    match self { #(#lower_arms)* }
                }

                #[allow(unused_variables)]
                fn store(
                    &self,
                    cx: &mut #c::LowerContext<'_>,
                    offset: usize,
                ) -> ::nyash_engine::Result<()> {
                    let at = offset
                        + #i::payload_offset(#n, <Self as #c::ComponentType>::ALIGN32);
                    match self { #(#store_arms)* }
                }
            }
        }
        Trait::Lift => {
            let arm = |k: usize, case: &Case, flat: bool| {
                let id = &case.ident;
                let pat = if k + 1 == n {
                    quote!(_)
                } else {
                    let k = k as u32;
                    quote!(#k)
                };
                let ty = ty_of(case);
                let value = match (&case.payload, flat) {
                    (None, _) => quote!(Self::#id),
                    (Some(_), true) => quote!(Self::#id(<#ty as #c::Lift>::lift(
                        cx,
                        &src[1..1 + <#ty as #c::ComponentType>::FLAT_COUNT],
                    )?)),
                    (Some(_), false) => quote!(Self::#id(<#ty as #c::Lift>::load(cx, at)?)),
                };
                quote!(#pat => #value,)
            };
            let lift_arms = cases.iter().enumerate().map(|(k, case)| arm(k, case, true));
            let load_arms = cases
                .iter()
                .enumerate()
                .map(|(k, case)| arm(k, case, false));
            quote! {
                fn lift(
                    cx: &mut #c::LiftContext<'_>,
                    src: &[#i::ValRaw],
                ) -> ::nyash_engine::Result<Self> {
                    Ok(match #i::lift_discriminant(src, #n)? { #(#lift_arms)* })
                }

                #[allow(unused_variables)]
                fn load(
                    cx: &mut #c::LiftContext<'_>,
                    offset: usize,
                ) -> ::nyash_engine::Result<Self> {
                    let at = offset
                        + #i::payload_offset(#n, <Self as #c::ComponentType>::ALIGN32);
                    Ok(match #i::load_discriminant(cx, offset, #n)? { #(#load_arms)* })
                }
            }
        }
    }
}

/// An enum: a discriminant only.
fn enumeration(name: &Ident, cases: &[Case], t: Trait) -> TokenStream2 {
    let c = krate();
    let i = quote!(#c::__internal);
    let n = cases.len();
    let rust = name.to_string();
    let idents: Vec<&Ident> = cases.iter().map(|c| &c.ident).collect();
    let ks: Vec<u32> = (0..n as u32).collect();
    match t {
        Trait::ComponentType => {
            let names = cases.iter().map(|c| &c.name);
            quote! {
                const SIZE32: usize = #i::discriminant_size(#n) as usize;
                const ALIGN32: u32 = #i::discriminant_size(#n);
                const FLAT_COUNT: usize = 1;

                fn typecheck(
                    ty: #i::InterfaceType,
                    types: &#i::ComponentTypes,
                ) -> ::nyash_engine::Result<()> {
                    #i::typecheck_enum(ty, types, #rust, &[#(#names,)*])
                }
            }
        }
        Trait::Lower => quote! {
            fn lower(
                &self,
                cx: &mut #c::LowerContext<'_>,
                dst: &mut [#i::ValRaw],
            ) -> ::nyash_engine::Result<()> {
                let k: u32 = match self { #(Self::#idents => #ks,)* };
                #i::lower_case(cx, dst, k, &())
            }

            fn store(
                &self,
                cx: &mut #c::LowerContext<'_>,
                offset: usize,
            ) -> ::nyash_engine::Result<()> {
                let k: u32 = match self { #(Self::#idents => #ks,)* };
                #i::store_discriminant(cx, offset, #n, k)
            }
        },
        Trait::Lift => {
            let (last, init) = idents.split_last().expect("at least one case");
            let init_ks = &ks[..n - 1];
            quote! {
                fn lift(
                    cx: &mut #c::LiftContext<'_>,
                    src: &[#i::ValRaw],
                ) -> ::nyash_engine::Result<Self> {
                    Ok(match #i::lift_discriminant(src, #n)? {
                        #(#init_ks => Self::#init,)*
                        _ => Self::#last,
                    })
                }

                fn load(
                    cx: &mut #c::LiftContext<'_>,
                    offset: usize,
                ) -> ::nyash_engine::Result<Self> {
                    Ok(match #i::load_discriminant(cx, offset, #n)? {
                        #(#init_ks => Self::#init,)*
                        _ => Self::#last,
                    })
                }
            }
        }
    }
}

// ---------------------------------------------------------------------
// flags!

/// One flags type of a `flags!` invocation.
struct FlagsDef {
    attrs: Vec<Attribute>,
    vis: Visibility,
    name: Ident,
    flags: Vec<(Vec<Attribute>, Ident)>,
}

struct FlagsInput(Vec<FlagsDef>);

impl Parse for FlagsInput {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut defs = Vec::new();
        while !input.is_empty() {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            let name: Ident = input.parse()?;
            let body;
            syn::braced!(body in input);
            let mut flags = Vec::new();
            while !body.is_empty() {
                let fattrs = body.call(Attribute::parse_outer)?;
                body.parse::<Token![const]>()?;
                let id: Ident = body.parse()?;
                body.parse::<Token![;]>()?;
                flags.push((fattrs, id));
            }
            defs.push(FlagsDef {
                attrs,
                vis,
                name,
                flags,
            });
        }
        Ok(FlagsInput(defs))
    }
}

/// `flags! { Name { const A; #[component(name = "b-flag")] const B; } }`:
/// a flags type `Name` (a struct of bits, `Copy`, `Eq`, `Hash`, with
/// `|`, `&`, `^`, `-` and `!` and `empty`, `all`, `contains`) with a
/// constant per flag, and `ComponentType`, `Lift` and `Lower` for it. A
/// visibility (`pub Name { ... }`) and attributes (doc comments) may come
/// before the name; several types may be given at once. At most 32 flags.
#[proc_macro]
pub fn flags(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as FlagsInput);
    match input.0.iter().map(expand_flags).collect::<Result<Vec<_>>>() {
        Ok(ts) => quote!(#(#ts)*).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_flags(def: &FlagsDef) -> Result<TokenStream2> {
    let c = krate();
    let i = quote!(#c::__internal);
    let FlagsDef {
        attrs,
        vis,
        name,
        flags,
    } = def;
    let n = flags.len();
    if n == 0 || n > 32 {
        return Err(Error::new(name.span(), "a flags type has 1 to 32 flags"));
    }
    let names = flags
        .iter()
        .map(|(a, id)| wit_name(a, id))
        .collect::<Result<Vec<_>>>()?;
    let consts = flags.iter().enumerate().map(|(k, (a, id))| {
        let docs = a.iter().filter(|a| a.path().is_ident("doc"));
        let bit = 1u32 << k;
        let wit = &names[k];
        let doc = format!("The flag `{wit}`.");
        quote! {
            #(#docs)*
            #[doc = #doc]
            pub const #id: Self = Self { bits: #bit };
        }
    });
    let all: u32 = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
    let ids: Vec<&Ident> = flags.iter().map(|(_, id)| id).collect();
    let id_strs: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let rust = name.to_string();
    Ok(quote! {
        #(#attrs)*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        #vis struct #name {
            bits: u32,
        }

        impl #name {
            #(#consts)*

            /// No flag set.
            pub const fn empty() -> Self {
                Self { bits: 0 }
            }

            /// Every flag set.
            pub const fn all() -> Self {
                Self { bits: #all }
            }

            /// Whether every flag of `other` is set in `self`.
            pub const fn contains(&self, other: Self) -> bool {
                self.bits & other.bits == other.bits
            }

            /// Whether no flag is set.
            pub const fn is_empty(&self) -> bool {
                self.bits == 0
            }
        }

        impl ::std::ops::BitOr for #name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self { bits: self.bits | rhs.bits }
            }
        }

        impl ::std::ops::BitOrAssign for #name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.bits |= rhs.bits;
            }
        }

        impl ::std::ops::BitAnd for #name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self { bits: self.bits & rhs.bits }
            }
        }

        impl ::std::ops::BitAndAssign for #name {
            fn bitand_assign(&mut self, rhs: Self) {
                self.bits &= rhs.bits;
            }
        }

        impl ::std::ops::BitXor for #name {
            type Output = Self;
            fn bitxor(self, rhs: Self) -> Self {
                Self { bits: self.bits ^ rhs.bits }
            }
        }

        impl ::std::ops::Sub for #name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                Self { bits: self.bits & !rhs.bits }
            }
        }

        impl ::std::ops::Not for #name {
            type Output = Self;
            fn not(self) -> Self {
                Self { bits: !self.bits & #all }
            }
        }

        impl ::std::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut first = true;
                f.write_str(#rust)?;
                f.write_str("(")?;
                #(
                    if self.contains(Self::#ids) {
                        if !first {
                            f.write_str(" | ")?;
                        }
                        first = false;
                        f.write_str(#id_strs)?;
                    }
                )*
                let _ = first;
                f.write_str(")")
            }
        }

        #[automatically_derived]
        impl #c::ComponentType for #name {
            const SIZE32: usize = #i::flags_size(#n);
            const ALIGN32: u32 = #i::flags_size(#n) as u32;
            const FLAT_COUNT: usize = 1;

            fn typecheck(
                ty: #i::InterfaceType,
                types: &#i::ComponentTypes,
            ) -> ::nyash_engine::Result<()> {
                #i::typecheck_flags(ty, types, #rust, &[#(#names,)*])
            }
        }

        #[automatically_derived]
        impl #c::Lower for #name {
            fn lower(
                &self,
                _cx: &mut #c::LowerContext<'_>,
                dst: &mut [#i::ValRaw],
            ) -> ::nyash_engine::Result<()> {
                #i::lower_flags(dst, self.bits);
                Ok(())
            }

            fn store(
                &self,
                cx: &mut #c::LowerContext<'_>,
                offset: usize,
            ) -> ::nyash_engine::Result<()> {
                #i::store_flags(cx, offset, #n, self.bits)
            }
        }

        #[automatically_derived]
        impl #c::Lift for #name {
            fn lift(
                _cx: &mut #c::LiftContext<'_>,
                src: &[#i::ValRaw],
            ) -> ::nyash_engine::Result<Self> {
                Ok(Self { bits: #i::lift_flags(src, #n) })
            }

            fn load(
                cx: &mut #c::LiftContext<'_>,
                offset: usize,
            ) -> ::nyash_engine::Result<Self> {
                Ok(Self { bits: #i::load_flags(cx, offset, #n)? })
            }
        }
    })
}

mod bindgen;

/// `bindgen!({ world: "w", path: "wit" })` or `bindgen!({ inline: "package
/// a:b; world w { ... }" })` (re-exported as
/// `nyash_engine::component::bindgen`): Rust bindings for a WIT world.
///
/// Options: `world` (which world, when the packages have several), `path`
/// (a WIT file or directory, relative to the crate's `Cargo.toml`; `wit`
/// when neither `path` nor `inline` is given), `inline` (WIT source),
/// `trappable_imports: true` (host methods return `nyash_engine::Result`,
/// and an `Err` traps the guest's call), `with: { "ns:pkg/iface/res":
/// path::Type }` (a WIT resource bound to an existing Rust type; the path
/// is relative to the module the macro is in unless it starts with
/// `crate` or `::`), `async: true` (host trait methods return `impl
/// Future<Output = R> + Send`, implemented with `async fn`, and are
/// defined with `func_wrap_async`; the exports' `call_<f>` are async, for
/// an engine with async support).
///
/// The expansion, for a world `w` importing `ns:pkg/host@1.0.0` and
/// exporting `ns:pkg/api@1.0.0` and a function `run`:
///
/// - `mod ns::pkg::host` with the interface's types (records, variants,
///   enums derived, flags by `flags!`, aliases), `trait Host` (a method
///   per function: `fn log(&mut self, msg: String)`) and
///   `add_to_linker(linker, get: fn(&mut T) -> &mut U)` (`U: Host`), which
///   defines the functions in the linker instance `ns:pkg/host@1.0.0`;
/// - `mod exports::ns::pkg::api` with its types and `struct Guest`
///   (`call_greet(&self, store, name: String) -> Result<String>`);
/// - `struct W`: `instantiate(store, component, linker)`, `new(store,
///   instance)`, `add_to_linker` (every import; the world's own imported
///   functions are the trait `WImports`), `ns_pkg_api() -> &Guest`,
///   `call_run(store, ...)`, `instantiate_async`; `struct WPre<T>`
///   (`new(instance_pre)`, `instantiate`, `instantiate_async`).
///
/// A resource `r` of an imported interface is a type `R` with a trait
/// `HostR` (`new`, methods taking `self_: Resource<R>`, static functions,
/// `drop`) required by `Host`; handles to it are `Resource<R>`. A resource
/// of an exported interface is called through `Guest::r()`
/// (`call_constructor`, `call_<method>`), its handles `ResourceAny`.
///
/// A parameter `list<borrow<r>>` (as `wasi:io/poll`'s `poll` takes) is a
/// `Vec<Resource<R>>` of borrows. A record or variant holding a handle
/// derives only `Debug` (handles are neither `Clone` nor `PartialEq`).
/// The whole WASI 0.2 host world (`nyash-wasi`'s `wit/p2`) binds.
///
/// Borrows nested in other types (but lists of them as parameters), async
/// functions, getters and setters, futures, streams, error contexts, maps
/// and fixed-length lists are not supported yet: a world using one is an
/// error naming it.
#[proc_macro]
pub fn bindgen(input: TokenStream) -> TokenStream {
    let cfg = parse_macro_input!(input as bindgen::Config);
    match bindgen::expand(cfg) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
