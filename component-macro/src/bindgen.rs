//! `bindgen!`: Rust bindings for a WIT world, in the shape of wasmtime's
//! `wasmtime::component::bindgen!`.
//!
//! The WIT is read with `wit-parser` (from `path`, relative to the crate's
//! `Cargo.toml`, or from an `inline` string) and one world is selected.
//! The expansion has, for that world:
//!
//! - a module per interface, mirroring the WIT packages: an imported
//!   `ns:pkg/iface` is `ns::pkg::iface`, an exported one
//!   `exports::ns::pkg::iface`; an interface defined inline in the world
//!   (`import x: interface { ... }`) is `x` (`exports::x`);
//! - in it, a Rust type per named WIT type: records and variants as
//!   structs and enums with `#[derive(ComponentType, Lift, Lower)]`, enums
//!   the same with `#[component(enum)]`, flags with `flags!`, and type
//!   aliases (also for named tuples, options, results and lists); an
//!   anonymous `tuple<..>`, `option<T>`, `result<T, E>` or `list<T>` is the
//!   Rust tuple, `Option`, `Result` (`()` for a missing side) and `Vec`;
//! - per imported interface, a trait `Host` with a method per function and
//!   `add_to_linker(linker, get)`, which defines each function with
//!   `func_wrap` in the linker instance named by the interface's full name
//!   (`ns:pkg/iface@1.2.3`), calling `Host` on `get(store.data_mut())`;
//!   functions imported by the world itself get a trait `<World>Imports`;
//! - per exported interface, a struct `Guest` holding each function as a
//!   `TypedFunc` (types checked once, at instantiation) with
//!   `call_<f>(store, args...)`; the struct `<World>` holds those and the
//!   world's own exported functions, with `instantiate`, `new` (from an
//!   instance), `add_to_linker` (every import) and an accessor per exported
//!   interface (`ns_pkg_iface()`).
//!
//! With `trappable_imports: true` every `Host` method returns
//! `nyash_engine::Result<R>`, and an `Err` traps the guest's call.
//!
//! Not done: resources (`resource`, `own<T>`, `borrow<T>`), futures,
//! streams, `error-context`, maps and fixed-length lists — a world using
//! one fails to expand with an error naming the type; two versions of one
//! package in one world (their modules would collide).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Error, Ident, LitBool, LitStr, Result, Token};
use wit_parser::{
    Function, FunctionKind, InterfaceId, Resolve, Type, TypeDefKind, TypeId, TypeOwner, WorldId,
    WorldItem, WorldKey,
};

/// What `bindgen!({ ... })` was given.
#[derive(Default)]
pub(crate) struct Config {
    world: Option<String>,
    path: Option<String>,
    inline: Option<String>,
    trappable_imports: bool,
}

impl Parse for Config {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut cfg = Config::default();
        if input.is_empty() {
            return Ok(cfg);
        }
        let body;
        syn::braced!(body in input);
        while !body.is_empty() {
            let key: Ident = body.parse()?;
            body.parse::<Token![:]>()?;
            match key.to_string().as_str() {
                "world" => cfg.world = Some(body.parse::<LitStr>()?.value()),
                "path" => cfg.path = Some(body.parse::<LitStr>()?.value()),
                "inline" => cfg.inline = Some(body.parse::<LitStr>()?.value()),
                "trappable_imports" => cfg.trappable_imports = body.parse::<LitBool>()?.value,
                other => {
                    return Err(Error::new(
                        key.span(),
                        format!(
                            "unknown option `{other}`: expected `world`, `path`, `inline` or `trappable_imports`"
                        ),
                    ));
                }
            }
            if body.is_empty() {
                break;
            }
            body.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("expected nothing after `{ ... }`"));
        }
        Ok(cfg)
    }
}

fn err(msg: impl std::fmt::Display) -> Error {
    Error::new(Span::call_site(), msg.to_string())
}

/// The engine's component module.
fn c() -> TokenStream2 {
    quote!(::nyash_engine::component)
}

/// The expansion of `bindgen!` for `cfg`.
pub(crate) fn expand(cfg: Config) -> Result<TokenStream2> {
    let mut resolve = Resolve::default();
    let mut pkgs = Vec::new();
    let mut tracked = Vec::new();
    let path = match (&cfg.path, &cfg.inline) {
        (None, None) => Some("wit".to_string()),
        (p, _) => p.clone(),
    };
    if let Some(p) = path {
        let root = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
            err("`bindgen!` with `path` needs CARGO_MANIFEST_DIR (build with cargo)")
        })?;
        let full = PathBuf::from(root).join(&p);
        let (pkg, sources) = resolve
            .push_path(&full)
            .map_err(|e| err(format!("reading WIT from `{}`: {e:#}", full.display())))?;
        tracked.extend(sources.paths().map(|p| p.display().to_string()));
        pkgs.push(pkg);
    }
    if let Some(src) = &cfg.inline {
        let pkg = resolve
            .push_str("inline.wit", src)
            .map_err(|e| err(format!("parsing the inline WIT: {e:#}")))?;
        pkgs.push(pkg);
    }
    let world = resolve
        .select_world(&pkgs, cfg.world.as_deref())
        .map_err(|e| err(format!("selecting the world: {e:#}")))?;
    let mut g = Gen::new(&resolve, world, cfg.trappable_imports);
    let body = g.world()?;
    let tracked = tracked.iter().map(|p| {
        quote!(
            const _: &str = include_str!(#p);
        )
    });
    Ok(quote! {
        #(#tracked)*
        #body
    })
}

/// A module of the expansion: its items and its child modules.
#[derive(Default)]
struct Module {
    items: TokenStream2,
    children: BTreeMap<String, Module>,
}

impl Module {
    fn at(&mut self, path: &[String]) -> &mut Module {
        let mut m = self;
        for seg in path {
            m = m.children.entry(seg.clone()).or_default();
        }
        m
    }

    fn into_tokens(self) -> TokenStream2 {
        let items = self.items;
        let children = self.children.into_iter().map(|(name, m)| {
            let name = ident(&name);
            let body = m.into_tokens();
            quote! {
                #[allow(clippy::all, unused_imports, dead_code, non_camel_case_types)]
                pub mod #name { #body }
            }
        });
        quote!(#items #(#children)*)
    }
}

/// Rust's reserved words, which WIT names may be (`type`, `match`, ...).
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// An identifier for `s`, with `_` appended to a reserved word.
fn ident(s: &str) -> Ident {
    if KEYWORDS.contains(&s) {
        format_ident!("{s}_")
    } else {
        format_ident!("{s}")
    }
}

fn snake(s: &str) -> Ident {
    ident(&s.to_snake_case())
}

fn camel(s: &str) -> Ident {
    ident(&s.to_upper_camel_case())
}

struct Gen<'a> {
    resolve: &'a Resolve,
    world: WorldId,
    trappable: bool,
    /// The module of each interface whose types are defined there: its
    /// import's if the world imports it, else its export's.
    home: HashMap<InterfaceId, Vec<String>>,
    root: Module,
}

impl<'a> Gen<'a> {
    fn new(resolve: &'a Resolve, world: WorldId, trappable: bool) -> Gen<'a> {
        Gen {
            resolve,
            world,
            trappable,
            home: HashMap::new(),
            root: Module::default(),
        }
    }

    /// The module path of the interface `key`/`id`, imported or exported.
    fn iface_path(&self, key: &WorldKey, id: InterfaceId, export: bool) -> Vec<String> {
        let mut path = Vec::new();
        if export {
            path.push("exports".to_string());
        }
        match key {
            WorldKey::Name(name) => path.push(name.to_snake_case()),
            WorldKey::Interface(_) => {
                let iface = &self.resolve.interfaces[id];
                if let Some(pkg) = iface.package {
                    let name = &self.resolve.packages[pkg].name;
                    path.push(name.namespace.to_snake_case());
                    path.push(name.name.to_snake_case());
                }
                path.push(iface.name.clone().unwrap_or_default().to_snake_case());
            }
        }
        path
    }

    fn world(&mut self) -> Result<TokenStream2> {
        let resolve = self.resolve;
        let w = &resolve.worlds[self.world];
        // Homes first: imports, then exports not imported.
        for export in [false, true] {
            let items = if export { &w.exports } else { &w.imports };
            for (key, item) in items {
                if let WorldItem::Interface { id, .. } = item {
                    let path = self.iface_path(key, *id, export);
                    self.home.entry(*id).or_insert(path);
                }
            }
        }
        let world_name = camel(&w.name);
        let imports_trait = format_ident!("{}Imports", world_name);
        let c = c();

        // Types of the world itself, and its imported free functions.
        let mut root_types = TokenStream2::new();
        let mut root_funcs = Vec::new();
        for (key, item) in &w.imports {
            match item {
                WorldItem::Type { id, .. } => {
                    let name = self.resolve.name_world_key(key);
                    root_types.extend(self.typedef(&name, *id, 0)?);
                }
                WorldItem::Function(f) => root_funcs.push(f),
                WorldItem::Interface { .. } => {}
            }
        }
        for (key, item) in &w.exports {
            if let WorldItem::Type { id, .. } = item {
                let name = self.resolve.name_world_key(key);
                root_types.extend(self.typedef(&name, *id, 0)?);
            }
        }
        self.root.items.extend(root_types);

        // Imported interfaces.
        let mut host_bounds = Vec::new();
        let mut adds = Vec::new();
        let mut seen = HashSet::new();
        for (key, item) in &w.imports {
            let WorldItem::Interface { id, .. } = item else {
                continue;
            };
            let path = self.iface_path(key, *id, false);
            let full = self.resolve.name_world_key(key);
            let module = self.import_interface(*id, &full, path.len())?;
            self.root.at(&path).items.extend(module);
            let segs = path.iter().map(|s| ident(s));
            if seen.insert(*id) {
                // An interface of types only has no `Host`, but its
                // instance is still defined (empty): the component imports it.
                if !self.resolve.interfaces[*id].functions.is_empty() {
                    let segs = segs.clone();
                    host_bounds.push(quote!(#(#segs::)*Host));
                }
                adds.push(quote!(#(#segs::)*add_to_linker(linker, get)?;));
            }
        }

        // The world's own imported functions.
        let mut root_import_items = TokenStream2::new();
        if !root_funcs.is_empty() {
            let methods = root_funcs
                .iter()
                .map(|f| self.host_method(f, 0))
                .collect::<Result<Vec<_>>>()?;
            let wraps = root_funcs
                .iter()
                .map(|f| self.func_wrap(f, &imports_trait, 0))
                .collect::<Result<Vec<_>>>()?;
            root_import_items.extend(quote! {
                /// The functions the world imports itself (not in an
                /// interface).
                pub trait #imports_trait {
                    #(#methods)*
                }
            });
            host_bounds.push(quote!(#imports_trait));
            adds.push(quote! {
                {
                    let mut inst = linker.root();
                    #(#wraps)*
                }
            });
        }
        self.root.items.extend(root_import_items);

        // Exports.
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        let mut names = Vec::new();
        let mut methods = Vec::new();
        for (key, item) in &w.exports {
            match item {
                WorldItem::Function(f) => {
                    let (field, init, method) = self.export_func(f, quote!(None), 0)?;
                    let fname = snake(&f.name);
                    fields.push(quote!(#fname: #field));
                    inits.push(quote!(let #fname = #init;));
                    names.push(fname);
                    methods.push(method);
                }
                WorldItem::Interface { id, .. } => {
                    let path = self.iface_path(key, *id, true);
                    let full = self.resolve.name_world_key(key);
                    let module = self.export_interface(*id, &full, path.len())?;
                    self.root.at(&path).items.extend(module);
                    let segs: Vec<Ident> = path.iter().map(|s| ident(s)).collect();
                    let accessor = ident(&path[1..].join("_"));
                    let field = format_ident!("interface_{}", accessor);
                    fields.push(quote!(#field: #(#segs::)*Guest));
                    inits.push(quote!(let #field = #(#segs::)*Guest::new(&mut store, instance)?;));
                    names.push(field.clone());
                    let doc = format!("The exported interface `{full}`.");
                    methods.push(quote! {
                        #[doc = #doc]
                        pub fn #accessor(&self) -> &#(#segs::)*Guest {
                            &self.#field
                        }
                    });
                }
                WorldItem::Type { .. } => {}
            }
        }

        let wit_world = &w.name;
        let doc = format!(
            "The world `{wit_world}`: an instance of a component of it, with its exports typed."
        );
        let add_doc = format!(
            "Defines every import of the world `{wit_world}` in `linker`, each calling the host on `get(store.data_mut())`."
        );
        let world_struct = quote! {
            #[doc = #doc]
            pub struct #world_name {
                instance: #c::Instance,
                #(#fields,)*
            }

            impl #world_name {
                /// Instantiates `component` with `linker` and looks up
                /// (and type-checks) the world's exports.
                pub fn instantiate<T: 'static>(
                    mut store: impl ::nyash_engine::AsContextMut<Data = T>,
                    component: &#c::Component,
                    linker: &#c::Linker<T>,
                ) -> ::nyash_engine::Result<Self> {
                    let instance = linker.instantiate(&mut store, component)?;
                    Self::new(&mut store, &instance)
                }

                /// The world's exports in `instance`, looked up and
                /// type-checked; fails naming the first that is missing or
                /// has another type.
                pub fn new(
                    mut store: impl ::nyash_engine::AsContextMut,
                    instance: &#c::Instance,
                ) -> ::nyash_engine::Result<Self> {
                    #(#inits)*
                    Ok(Self { instance: *instance, #(#names,)* })
                }

                /// The component instance.
                pub fn instance(&self) -> &#c::Instance {
                    &self.instance
                }

                #[doc = #add_doc]
                pub fn add_to_linker<T: 'static, U: #(#host_bounds +)* 'static>(
                    linker: &mut #c::Linker<T>,
                    get: fn(&mut T) -> &mut U,
                ) -> ::nyash_engine::Result<()> {
                    let _ = (&linker, get);
                    #(#adds)*
                    Ok(())
                }

                #(#methods)*
            }
        };
        self.root.items.extend(world_struct);
        Ok(std::mem::take(&mut self.root).into_tokens())
    }

    /// The module items of the imported interface `id` at `depth`: its
    /// types (or a `pub use` of them from their home), `Host` and
    /// `add_to_linker`.
    fn import_interface(
        &mut self,
        id: InterfaceId,
        full: &str,
        depth: usize,
    ) -> Result<TokenStream2> {
        let iface = &self.resolve.interfaces[id];
        let mut out = self.interface_types(id, depth, false)?;
        let methods = iface
            .functions
            .values()
            .map(|f| self.host_method(f, depth))
            .collect::<Result<Vec<_>>>()?;
        let host = format_ident!("Host");
        let wraps = iface
            .functions
            .values()
            .map(|f| self.func_wrap(f, &host, depth))
            .collect::<Result<Vec<_>>>()?;
        let c = c();
        let doc = format!("The host's side of the imported interface `{full}`.");
        let add_doc = if iface.functions.is_empty() {
            format!("Defines `linker`'s instance `{full}` (types only, so empty).")
        } else {
            format!(
                "Defines the functions of `{full}` in `linker`'s instance `{full}`, each calling [`Host`] on `get(store.data_mut())`."
            )
        };
        let (trait_def, bound) = if iface.functions.is_empty() {
            (quote!(), quote!())
        } else {
            (
                quote! {
                    #[doc = #doc]
                    pub trait Host {
                        #(#methods)*
                    }
                },
                quote!(Host+),
            )
        };
        out.extend(quote! {
            #trait_def

            #[doc = #add_doc]
            pub fn add_to_linker<T: 'static, U: #bound 'static>(
                linker: &mut #c::Linker<T>,
                get: fn(&mut T) -> &mut U,
            ) -> ::nyash_engine::Result<()> {
                let mut inst = linker.instance(#full)?;
                let _ = (&mut inst, get);
                #(#wraps)*
                Ok(())
            }
        });
        Ok(out)
    }

    /// The module items of the exported interface `id` at `depth`: its
    /// types and `Guest`.
    fn export_interface(
        &mut self,
        id: InterfaceId,
        full: &str,
        depth: usize,
    ) -> Result<TokenStream2> {
        let iface = &self.resolve.interfaces[id];
        let mut out = self.interface_types(id, depth, true)?;
        let c = c();
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        let mut names = Vec::new();
        let mut methods = Vec::new();
        for f in iface.functions.values() {
            let (field, init, method) = self.export_func(f, quote!(Some(&parent)), depth)?;
            let fname = snake(&f.name);
            fields.push(quote!(#fname: #field));
            inits.push(quote!(let #fname = #init;));
            names.push(fname);
            methods.push(method);
        }
        let doc = format!("The exported interface `{full}` of an instance: its functions, typed.");
        out.extend(quote! {
            #[doc = #doc]
            pub struct Guest {
                #(#fields,)*
            }

            impl Guest {
                /// The interface's functions in `instance`, looked up and
                /// type-checked.
                pub fn new(
                    mut store: impl ::nyash_engine::AsContextMut,
                    instance: &#c::Instance,
                ) -> ::nyash_engine::Result<Guest> {
                    let parent = instance
                        .get_export_index(&mut store, None, #full)
                        .ok_or_else(|| ::nyash_engine::Error::msg(
                            ::std::format!("the component exports no instance `{}`", #full),
                        ))?;
                    let _ = &parent;
                    #(#inits)*
                    Ok(Guest { #(#names,)* })
                }

                #(#methods)*
            }
        });
        Ok(out)
    }

    /// An exported function: the field's type, the expression that looks it
    /// up (in `parent`, an `Option<&ComponentExportIndex>`), and the method
    /// `call_<name>`.
    fn export_func(
        &self,
        f: &Function,
        parent: TokenStream2,
        depth: usize,
    ) -> Result<(TokenStream2, TokenStream2, TokenStream2)> {
        check_kind(f)?;
        let c = c();
        let params = f
            .params
            .iter()
            .map(|p| self.ty(&p.ty, depth))
            .collect::<Result<Vec<_>>>()?;
        let pnames: Vec<Ident> = f.params.iter().map(|p| snake(&p.name)).collect();
        let (results, ret, unpack) = match &f.result {
            Some(t) => {
                let t = self.ty(t, depth)?;
                (quote!((#t,)), t, quote!(r.0))
            }
            None => (quote!(()), quote!(()), quote!(r)),
        };
        let field = quote!(#c::TypedFunc<(#(#params,)*), #results>);
        let name = &f.name;
        let init = quote! {{
            let index = instance
                .get_export_index(&mut store, #parent, #name)
                .ok_or_else(|| ::nyash_engine::Error::msg(
                    ::std::format!("the component exports no function `{}`", #name),
                ))?;
            instance.get_typed_func::<(#(#params,)*), #results>(&mut store, &index)?
        }};
        let fname = snake(&f.name);
        let call = format_ident!("call_{}", fname.to_string().trim_end_matches('_'));
        let doc = format!("Calls the exported function `{name}`.");
        let method = quote! {
            #[doc = #doc]
            pub fn #call(
                &self,
                mut store: impl ::nyash_engine::AsContextMut<Data: 'static>,
                #(#pnames: #params,)*
            ) -> ::nyash_engine::Result<#ret> {
                let r = self.#fname.call(&mut store, (#(#pnames,)*))?;
                Ok(#unpack)
            }
        };
        Ok((field, init, method))
    }

    /// The trait method of an imported function.
    fn host_method(&self, f: &Function, depth: usize) -> Result<TokenStream2> {
        check_kind(f)?;
        let params = f
            .params
            .iter()
            .map(|p| {
                let n = snake(&p.name);
                let t = self.ty(&p.ty, depth)?;
                Ok(quote!(#n: #t))
            })
            .collect::<Result<Vec<_>>>()?;
        let ret = match &f.result {
            Some(t) => self.ty(t, depth)?,
            None => quote!(()),
        };
        let ret = if self.trappable {
            quote!(::nyash_engine::Result<#ret>)
        } else {
            ret
        };
        let name = snake(&f.name);
        let doc = format!("The imported function `{}`.", f.name);
        Ok(quote! {
            #[doc = #doc]
            fn #name(&mut self, #(#params),*) -> #ret;
        })
    }

    /// The `func_wrap` call (on `inst`) defining the imported function `f`
    /// with the method of `tr` on `get(store.data_mut())`.
    fn func_wrap(&self, f: &Function, tr: &Ident, depth: usize) -> Result<TokenStream2> {
        let params = f
            .params
            .iter()
            .map(|p| self.ty(&p.ty, depth))
            .collect::<Result<Vec<_>>>()?;
        let pnames: Vec<Ident> = f.params.iter().map(|p| snake(&p.name)).collect();
        let method = snake(&f.name);
        let call = quote!(#tr::#method(host, #(#pnames),*));
        let call = if self.trappable { quote!(#call?) } else { call };
        let (results, wrap) = match &f.result {
            Some(t) => {
                let t = self.ty(t, depth)?;
                (quote!((#t,)), quote!((r,)))
            }
            None => (quote!(()), quote!(r)),
        };
        let name = &f.name;
        Ok(quote! {
            inst.func_wrap(
                #name,
                move |mut store: ::nyash_engine::StoreContextMut<'_, T>,
                      (#(#pnames,)*): (#(#params,)*)|
                      -> ::nyash_engine::Result<#results> {
                    let host = get(store.data_mut());
                    #[allow(clippy::let_unit_value)]
                    let r = #call;
                    Ok(#wrap)
                },
            )?;
        })
    }

    /// The types of interface `id` for its module at `depth`: defined
    /// there if it is their home, else `pub use`d from the home.
    /// (The import's and the export's module of one interface differ in
    /// their first segment, `exports`.)
    fn interface_types(&self, id: InterfaceId, depth: usize, export: bool) -> Result<TokenStream2> {
        let iface = &self.resolve.interfaces[id];
        let home = &self.home[&id];
        let home_is_export = home.first().map(String::as_str) == Some("exports");
        let mut out = TokenStream2::new();
        for (name, tid) in &iface.types {
            if home_is_export == export {
                out.extend(self.typedef(name, *tid, depth)?);
            } else {
                let ups = std::iter::repeat_n(quote!(super::), depth);
                let segs = home.iter().map(|s| ident(s));
                let n = camel(name);
                out.extend(quote!(pub use #(#ups)* #(#segs::)* #n;));
            }
        }
        Ok(out)
    }

    /// The definition of the named type `id` (WIT name `name`) in a
    /// module at `depth`.
    fn typedef(&self, name: &str, id: TypeId, depth: usize) -> Result<TokenStream2> {
        let c = c();
        let td = &self.resolve.types[id];
        let rust = camel(name);
        let docs = td.docs.contents.as_deref().map(|d| quote!(#[doc = #d]));
        Ok(match &td.kind {
            TypeDefKind::Record(r) => {
                let fields = r
                    .fields
                    .iter()
                    .map(|f| {
                        let n = snake(&f.name);
                        let wit = &f.name;
                        let t = self.ty(&f.ty, depth)?;
                        Ok(quote!(#[component(name = #wit)] pub #n: #t))
                    })
                    .collect::<Result<Vec<_>>>()?;
                quote! {
                    #docs
                    #[derive(#c::ComponentType, #c::Lift, #c::Lower, Clone, Debug, PartialEq)]
                    #[component(record)]
                    pub struct #rust { #(#fields,)* }
                }
            }
            TypeDefKind::Variant(v) => {
                let cases = v
                    .cases
                    .iter()
                    .map(|case| {
                        let n = camel(&case.name);
                        let wit = &case.name;
                        Ok(match &case.ty {
                            Some(t) => {
                                let t = self.ty(t, depth)?;
                                quote!(#[component(name = #wit)] #n(#t))
                            }
                            None => quote!(#[component(name = #wit)] #n),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                quote! {
                    #docs
                    #[derive(#c::ComponentType, #c::Lift, #c::Lower, Clone, Debug, PartialEq)]
                    #[component(variant)]
                    pub enum #rust { #(#cases,)* }
                }
            }
            TypeDefKind::Enum(e) => {
                let cases = e.cases.iter().map(|case| {
                    let n = camel(&case.name);
                    let wit = &case.name;
                    quote!(#[component(name = #wit)] #n)
                });
                quote! {
                    #docs
                    #[derive(#c::ComponentType, #c::Lift, #c::Lower, Clone, Copy, Debug, PartialEq, Eq, Hash)]
                    #[component(enum)]
                    pub enum #rust { #(#cases,)* }
                }
            }
            TypeDefKind::Flags(f) => {
                let flags = f.flags.iter().map(|flag| {
                    let n = ident(&flag.name.to_shouty_snake_case());
                    let wit = &flag.name;
                    quote!(#[component(name = #wit)] const #n;)
                });
                quote! {
                    #c::flags! {
                        #docs
                        pub #rust { #(#flags)* }
                    }
                }
            }
            TypeDefKind::Resource | TypeDefKind::Handle(_) => {
                return Err(unsupported(name, "resources"));
            }
            _ => {
                let t = self.anonymous(&td.kind, depth, name)?;
                quote!(#docs pub type #rust = #t;)
            }
        })
    }

    /// The Rust type of a use of `t` in a module at `depth`.
    fn ty(&self, t: &Type, depth: usize) -> Result<TokenStream2> {
        Ok(match t {
            Type::Bool => quote!(bool),
            Type::U8 => quote!(u8),
            Type::U16 => quote!(u16),
            Type::U32 => quote!(u32),
            Type::U64 => quote!(u64),
            Type::S8 => quote!(i8),
            Type::S16 => quote!(i16),
            Type::S32 => quote!(i32),
            Type::S64 => quote!(i64),
            Type::F32 => quote!(f32),
            Type::F64 => quote!(f64),
            Type::Char => quote!(char),
            Type::String => quote!(::std::string::String),
            Type::ErrorContext => return Err(unsupported("error-context", "error contexts")),
            Type::Id(id) => {
                let td = &self.resolve.types[*id];
                match &td.name {
                    Some(name) => {
                        let home: Vec<String> = match td.owner {
                            TypeOwner::Interface(i) => self.home.get(&i).cloned().ok_or_else(|| {
                                err(format!(
                                    "the type `{name}` belongs to an interface the world neither imports nor exports"
                                ))
                            })?,
                            TypeOwner::World(_) | TypeOwner::None => Vec::new(),
                        };
                        let ups = std::iter::repeat_n(quote!(super::), depth);
                        let segs = home.iter().map(|s| ident(s));
                        let n = camel(name);
                        quote!(#(#ups)* #(#segs::)* #n)
                    }
                    None => self.anonymous(&td.kind, depth, "an anonymous type")?,
                }
            }
        })
    }

    /// The Rust type of an anonymous type (or the right side of an alias).
    fn anonymous(&self, kind: &TypeDefKind, depth: usize, what: &str) -> Result<TokenStream2> {
        let opt = |t: &Option<Type>| -> Result<TokenStream2> {
            match t {
                Some(t) => self.ty(t, depth),
                None => Ok(quote!(())),
            }
        };
        Ok(match kind {
            TypeDefKind::Type(t) => self.ty(t, depth)?,
            TypeDefKind::Option(t) => {
                let t = self.ty(t, depth)?;
                quote!(::std::option::Option<#t>)
            }
            TypeDefKind::Result(r) => {
                let ok = opt(&r.ok)?;
                let e = opt(&r.err)?;
                quote!(::std::result::Result<#ok, #e>)
            }
            TypeDefKind::List(t) => {
                let t = self.ty(t, depth)?;
                quote!(::std::vec::Vec<#t>)
            }
            TypeDefKind::Tuple(t) => {
                let ts = t
                    .types
                    .iter()
                    .map(|t| self.ty(t, depth))
                    .collect::<Result<Vec<_>>>()?;
                quote!((#(#ts,)*))
            }
            TypeDefKind::Resource | TypeDefKind::Handle(_) => {
                return Err(unsupported(what, "resources"));
            }
            TypeDefKind::Map(..) => return Err(unsupported(what, "maps")),
            TypeDefKind::FixedLengthList(..) => {
                return Err(unsupported(what, "fixed-length lists"));
            }
            TypeDefKind::Future(_) => return Err(unsupported(what, "futures")),
            TypeDefKind::Stream(_) => return Err(unsupported(what, "streams")),
            TypeDefKind::Record(_)
            | TypeDefKind::Variant(_)
            | TypeDefKind::Enum(_)
            | TypeDefKind::Flags(_)
            | TypeDefKind::Unknown => {
                return Err(err(format!(
                    "`{what}`: a type of this kind must have a name"
                )));
            }
        })
    }
}

fn unsupported(what: &str, kind: &str) -> Error {
    err(format!(
        "`bindgen!` does not support {kind} yet (`{what}`); the world cannot be bound"
    ))
}

fn check_kind(f: &Function) -> Result<()> {
    match f.kind {
        FunctionKind::Freestanding => Ok(()),
        _ => Err(unsupported(&f.name, "resources and async functions")),
    }
}
