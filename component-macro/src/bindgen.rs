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
//!   interface (`ns_pkg_iface()`); `<World>Pre` instantiates it from an
//!   `InstancePre` (imports checked once);
//! - resources: an imported interface's resource `r` is a Rust type `R`
//!   (an empty enum, or the type `with: { "ns:pkg/iface/r": path }` names)
//!   with a trait `HostR` (`new` for the constructor, methods, static
//!   functions, `drop`) that `Host` requires; its handles are
//!   `Resource<R>`, its functions registered under the canonical names
//!   (`[constructor]r`, `[method]r.m`, `[static]r.f`) and its type as
//!   `ResourceType::host::<R>()` with `HostR::drop` as destructor. An
//!   exported interface's resource's handles are `ResourceAny`, its
//!   functions called through `GuestR` (`guest.r().call_constructor(..)`).
//!
//! With `trappable_imports: true` every `Host` method returns
//! `nyash_engine::Result<R>`, and an `Err` traps the guest's call. With
//! `async: true` host methods return `impl Future<Output = R> + Send`
//! (registered with `func_wrap_async`, a resource's `drop` with
//! `resource_async`) and the exports' `call_<f>` are async
//! (`TypedFunc::call_async`).
//!
//! Not done: borrowed handles nested in other types (a `borrow<r>` is
//! bound as a function's own parameter only), async functions, getters and
//! setters, futures, streams, `error-context`, maps and fixed-length lists
//! — a world using one fails to expand with an error naming the type; two
//! versions of one package in one world (their modules would collide).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Error, Ident, LitBool, LitStr, Result, Token};
use wit_parser::{
    Function, FunctionKind, Handle, InterfaceId, Resolve, Type, TypeDefKind, TypeId, TypeOwner,
    WorldId, WorldItem, WorldKey,
};

/// What `bindgen!({ ... })` was given.
#[derive(Default)]
pub(crate) struct Config {
    world: Option<String>,
    path: Option<String>,
    inline: Option<String>,
    trappable_imports: bool,
    /// `with: { "ns:pkg/iface/res": path::Type }`: WIT resources bound to
    /// existing Rust types.
    with: HashMap<String, syn::Path>,
    /// `async: true`: async host traits, `func_wrap_async`, `call_async`.
    async_: bool,
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
            let key = body.call(<Ident as syn::ext::IdentExt>::parse_any)?;
            body.parse::<Token![:]>()?;
            match key.to_string().as_str() {
                "world" => cfg.world = Some(body.parse::<LitStr>()?.value()),
                "path" => cfg.path = Some(body.parse::<LitStr>()?.value()),
                "inline" => cfg.inline = Some(body.parse::<LitStr>()?.value()),
                "trappable_imports" => cfg.trappable_imports = body.parse::<LitBool>()?.value,
                "async" => cfg.async_ = body.parse::<LitBool>()?.value,
                "with" => {
                    let map;
                    syn::braced!(map in body);
                    while !map.is_empty() {
                        let k: LitStr = map.parse()?;
                        map.parse::<Token![:]>()?;
                        let v: syn::Path = map.parse()?;
                        cfg.with.insert(k.value(), v);
                        if map.is_empty() {
                            break;
                        }
                        map.parse::<Token![,]>()?;
                    }
                }
                other => {
                    return Err(Error::new(
                        key.span(),
                        format!(
                            "unknown option `{other}`: expected `world`, `path`, `inline`, `trappable_imports`, `with` or `async`"
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
    g.with = cfg.with;
    g.async_ = cfg.async_;
    let body = g.world()?;
    if let Some(k) = g.with.keys().find(|k| !g.with_used.borrow().contains(*k)) {
        return Err(err(format!(
            "`with` names `{k}`, which is not a resource of the world (keys are `ns:pkg/iface/resource`)"
        )));
    }
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
    /// The `with` option, and which of its keys were used.
    with: HashMap<String, syn::Path>,
    with_used: std::cell::RefCell<HashSet<String>>,
    /// Async host traits and calls (`async: true`).
    async_: bool,
}

impl<'a> Gen<'a> {
    fn new(resolve: &'a Resolve, world: WorldId, trappable: bool) -> Gen<'a> {
        Gen {
            resolve,
            world,
            trappable,
            home: HashMap::new(),
            root: Module::default(),
            with: HashMap::new(),
            with_used: Default::default(),
            async_: false,
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
        let send = if self.async_ { quote!(Send+) } else { quote!() };
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
                if self.has_host(*id) {
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
                .map(|f| {
                    resource_of_func(f)?;
                    self.host_method(f, 0)
                })
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
                    resource_of_func(f)?;
                    let fname = snake(&f.name);
                    let call = format_ident!("call_{}", fname.to_string().trim_end_matches('_'));
                    let (field, init, method) =
                        self.export_func(f, quote!(None), 0, &fname, &call, quote!(self))?;
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

                /// [`instantiate`](Self::instantiate) in an async call.
                pub async fn instantiate_async<T: Send + 'static>(
                    mut store: impl ::nyash_engine::AsContextMut<Data = T> + Send,
                    component: &#c::Component,
                    linker: &#c::Linker<T>,
                ) -> ::nyash_engine::Result<Self> {
                    let instance = linker.instantiate_async(&mut store, component).await?;
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
                pub fn add_to_linker<T: #send 'static, U: #(#host_bounds +)* #send 'static>(
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
        let pre = format_ident!("{}Pre", world_name);
        let pre_doc = format!(
            "The world `{wit_world}` pre-instantiated: a component's imports resolved and checked once (an `InstancePre`), instantiated any number of times."
        );
        let world_pre = quote! {
            #[doc = #pre_doc]
            pub struct #pre<T> {
                instance_pre: #c::InstancePre<T>,
            }

            impl<T> ::core::clone::Clone for #pre<T> {
                fn clone(&self) -> Self {
                    #pre { instance_pre: self.instance_pre.clone() }
                }
            }

            impl<T: 'static> #pre<T> {
                /// The world over `instance_pre` (from
                /// `Linker::instantiate_pre`).
                pub fn new(instance_pre: #c::InstancePre<T>) -> ::nyash_engine::Result<Self> {
                    Ok(#pre { instance_pre })
                }

                /// The pre-instantiated component.
                pub fn instance_pre(&self) -> &#c::InstancePre<T> {
                    &self.instance_pre
                }

                /// The engine.
                pub fn engine(&self) -> &::nyash_engine::Engine {
                    self.instance_pre.engine()
                }

                /// Instantiates the component in `store` and looks up
                /// (and type-checks) the world's exports.
                pub fn instantiate(
                    &self,
                    mut store: impl ::nyash_engine::AsContextMut<Data = T>,
                ) -> ::nyash_engine::Result<#world_name> {
                    let instance = self.instance_pre.instantiate(&mut store)?;
                    #world_name::new(&mut store, &instance)
                }

                /// [`instantiate`](Self::instantiate) in an async call.
                pub async fn instantiate_async(
                    &self,
                    mut store: impl ::nyash_engine::AsContextMut<Data = T> + Send,
                ) -> ::nyash_engine::Result<#world_name>
                where
                    T: Send,
                {
                    let instance = self.instance_pre.instantiate_async(&mut store).await?;
                    #world_name::new(&mut store, &instance)
                }
            }
        };
        self.root.items.extend(world_struct);
        self.root.items.extend(world_pre);
        Ok(std::mem::take(&mut self.root).into_tokens())
    }

    /// The resources interface `id` defines (not those it `use`s), with
    /// their WIT names.
    fn resources(&self, id: InterfaceId) -> Vec<(String, TypeId)> {
        self.resolve.interfaces[id]
            .types
            .iter()
            .filter(|(_, t)| matches!(self.resolve.types[**t].kind, TypeDefKind::Resource))
            .map(|(n, t)| (n.clone(), *t))
            .collect()
    }

    /// Whether an imported interface has a `Host` trait: it has functions
    /// or defines resources (whose destructors the host implements).
    pub(crate) fn has_host(&self, id: InterfaceId) -> bool {
        !self.resolve.interfaces[id].functions.is_empty() || !self.resources(id).is_empty()
    }

    /// The module items of the imported interface `id` at `depth`: its
    /// types (or a `pub use` of them from their home), `Host`, a
    /// `Host<Resource>` trait per resource it defines, and `add_to_linker`.
    fn import_interface(
        &mut self,
        id: InterfaceId,
        full: &str,
        depth: usize,
    ) -> Result<TokenStream2> {
        let iface = &self.resolve.interfaces[id];
        let mut out = self.interface_types(id, depth, false)?;
        let c = c();
        let resources = self.resources(id);
        let host = format_ident!("Host");
        let mut free = Vec::new();
        let mut wraps = Vec::new();
        let mut per_resource: BTreeMap<TypeId, Vec<TokenStream2>> = BTreeMap::new();
        for f in iface.functions.values() {
            match resource_of_func(f)? {
                None => {
                    free.push(self.host_method(f, depth)?);
                    wraps.push(self.func_wrap(f, &host, depth)?);
                }
                Some(r) => {
                    let tr = format_ident!("Host{}", camel(self.resource_name(r)?));
                    per_resource
                        .entry(r)
                        .or_default()
                        .push(self.host_method(f, depth)?);
                    wraps.push(self.func_wrap(f, &tr, depth)?);
                }
            }
        }
        let mut supers = Vec::new();
        for (name, r) in &resources {
            let rust = camel(name);
            let tr = format_ident!("Host{}", rust);
            let methods = per_resource.remove(r).unwrap_or_default();
            let doc = format!("The host's side of the resource `{name}` of `{full}`.");
            let drop_ret = if self.async_ {
                quote!(impl ::core::future::Future<Output = ::nyash_engine::Result<()>> + Send)
            } else {
                quote!(::nyash_engine::Result<()>)
            };
            out.extend(quote! {
                #[doc = #doc]
                pub trait #tr {
                    #(#methods)*
                    /// Drops the resource: the guest dropped its last
                    /// owned handle (an `Err` traps the guest).
                    fn drop(&mut self, rep: #c::Resource<#rust>) -> #drop_ret;
                }
            });
            supers.push(tr.clone());
            wraps.push(if self.async_ {
                quote! {
                    inst.resource_async(
                        #name,
                        #c::ResourceType::host::<#rust>(),
                        move |mut store: ::nyash_engine::StoreContextMut<'_, T>, rep: u32| {
                            ::std::boxed::Box::new(async move {
                                #tr::drop(get(store.data_mut()), #c::Resource::new_own(rep)).await
                            })
                        },
                    )?;
                }
            } else {
                quote! {
                    inst.resource(
                        #name,
                        #c::ResourceType::host::<#rust>(),
                        move |mut store: ::nyash_engine::StoreContextMut<'_, T>, rep: u32| {
                            #tr::drop(get(store.data_mut()), #c::Resource::new_own(rep))
                        },
                    )?;
                }
            });
        }
        if !per_resource.is_empty() {
            return Err(err(format!(
                "`{full}`: a function of a resource the interface does not define"
            )));
        }
        let has_host = self.has_host(id);
        let send = if self.async_ { quote!(Send+) } else { quote!() };
        let doc = format!("The host's side of the imported interface `{full}`.");
        let add_doc = if has_host {
            format!(
                "Defines the functions and resources of `{full}` in `linker`'s instance `{full}`, each calling [`Host`] on `get(store.data_mut())`."
            )
        } else {
            format!("Defines `linker`'s instance `{full}` (types only, so empty).")
        };
        let (trait_def, bound) = if has_host {
            let supers = if supers.is_empty() {
                quote!()
            } else {
                quote!(: #(#supers)+*)
            };
            (
                quote! {
                    #[doc = #doc]
                    pub trait Host #supers {
                        #(#free)*
                    }
                },
                quote!(Host+),
            )
        } else {
            (quote!(), quote!())
        };
        out.extend(quote! {
            #trait_def

            #[doc = #add_doc]
            pub fn add_to_linker<T: #send 'static, U: #bound #send 'static>(
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

    /// The WIT name of resource `r`.
    fn resource_name(&self, r: TypeId) -> Result<&'a str> {
        self.resolve.types[r]
            .name
            .as_deref()
            .ok_or_else(|| err("an anonymous resource"))
    }

    /// The module items of the exported interface `id` at `depth`: its
    /// types, `Guest`, and a `Guest<Resource>` per resource it defines.
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
        let mut per_resource: BTreeMap<TypeId, Vec<TokenStream2>> = BTreeMap::new();
        for f in iface.functions.values() {
            let fname = field_name(f);
            let r = resource_of_func(f)?;
            let (call, recv) = match r {
                None => (
                    format_ident!("call_{}", fname.to_string().trim_end_matches('_')),
                    quote!(self),
                ),
                Some(_) => (
                    format_ident!(
                        "call_{}",
                        snake(f.item_name()).to_string().trim_end_matches('_')
                    ),
                    quote!(self.funcs),
                ),
            };
            let (field, init, method) =
                self.export_func(f, quote!(Some(&parent)), depth, &fname, &call, recv)?;
            fields.push(quote!(#fname: #field));
            inits.push(quote!(let #fname = #init;));
            names.push(fname);
            match r {
                None => methods.push(method),
                Some(r) => per_resource.entry(r).or_default().push(method),
            }
        }
        for (name, r) in self.resources(id) {
            let rust = camel(&name);
            let st = format_ident!("Guest{}", rust);
            let accessor = snake(&name);
            let calls = per_resource.remove(&r).unwrap_or_default();
            let doc = format!(
                "The functions of the exported resource `{name}` of `{full}`; its handles are `ResourceAny`s (dropped with `ResourceAny::resource_drop`)."
            );
            let adoc = format!("The functions of the resource `{name}`.");
            out.extend(quote! {
                #[doc = #doc]
                pub struct #st<'a> {
                    funcs: &'a Guest,
                }

                impl<'a> #st<'a> {
                    #(#calls)*
                }
            });
            methods.push(quote! {
                #[doc = #adoc]
                pub fn #accessor(&self) -> #st<'_> {
                    #st { funcs: self }
                }
            });
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
    /// `call` on the `Guest` that `recv` is.
    fn export_func(
        &self,
        f: &Function,
        parent: TokenStream2,
        depth: usize,
        fname: &Ident,
        call: &Ident,
        recv: TokenStream2,
    ) -> Result<(TokenStream2, TokenStream2, TokenStream2)> {
        let c = c();
        let mut sig = Vec::new();
        let mut params = Vec::new();
        let mut args = Vec::new();
        let pnames: Vec<Ident> = f.params.iter().map(|p| snake(&p.name)).collect();
        for (p, n) in f.params.iter().zip(&pnames) {
            let (s, t, kind) = self.param_ty(&p.ty, depth)?;
            sig.push(s);
            params.push(t);
            args.push(match kind {
                ParamKind::Borrow => quote!(#c::Borrow(#n)),
                ParamKind::ListOfBorrows => {
                    quote!(#n.into_iter().map(#c::Borrow).collect::<::std::vec::Vec<_>>())
                }
                ParamKind::Plain => quote!(#n),
            });
        }
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
        let doc = format!("Calls the exported function `{name}`.");
        if self.async_ {
            let method = quote! {
                #[doc = #doc]
                pub async fn #call<T: Send + 'static>(
                    &self,
                    mut store: impl ::nyash_engine::AsContextMut<Data = T> + Send,
                    #(#pnames: #sig,)*
                ) -> ::nyash_engine::Result<#ret> {
                    let r = #recv.#fname.call_async(&mut store, (#(#args,)*)).await?;
                    Ok(#unpack)
                }
            };
            return Ok((field, init, method));
        }
        let method = quote! {
            #[doc = #doc]
            pub fn #call(
                &self,
                mut store: impl ::nyash_engine::AsContextMut<Data: 'static>,
                #(#pnames: #sig,)*
            ) -> ::nyash_engine::Result<#ret> {
                let r = #recv.#fname.call(&mut store, (#(#args,)*))?;
                Ok(#unpack)
            }
        };
        Ok((field, init, method))
    }

    /// The trait method of an imported function.
    fn host_method(&self, f: &Function, depth: usize) -> Result<TokenStream2> {
        let params = f
            .params
            .iter()
            .map(|p| {
                let n = snake(&p.name);
                let (t, _, _) = self.param_ty(&p.ty, depth)?;
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
        let name = method_name(f);
        let doc = format!("The imported function `{}`.", f.name);
        let ret = if self.async_ {
            quote!(impl ::core::future::Future<Output = #ret> + Send)
        } else {
            ret
        };
        Ok(quote! {
            #[doc = #doc]
            fn #name(&mut self, #(#params),*) -> #ret;
        })
    }

    /// The `func_wrap` call (on `inst`) defining the imported function `f`
    /// with the method of `tr` on `get(store.data_mut())`.
    fn func_wrap(&self, f: &Function, tr: &Ident, depth: usize) -> Result<TokenStream2> {
        let mut params = Vec::new();
        let mut args = Vec::new();
        let pnames: Vec<Ident> = f.params.iter().map(|p| snake(&p.name)).collect();
        for (p, n) in f.params.iter().zip(&pnames) {
            let (_, t, kind) = self.param_ty(&p.ty, depth)?;
            params.push(t);
            args.push(match kind {
                ParamKind::Borrow => quote!(#n.0),
                ParamKind::ListOfBorrows => {
                    quote!(#n.into_iter().map(|b| b.0).collect::<::std::vec::Vec<_>>())
                }
                ParamKind::Plain => quote!(#n),
            });
        }
        let method = method_name(f);
        let call = quote!(#tr::#method(host, #(#args),*));
        let call = if self.async_ {
            quote!(#call.await)
        } else {
            call
        };
        let call = if self.trappable { quote!(#call?) } else { call };
        let (results, wrap) = match &f.result {
            Some(t) => {
                let t = self.ty(t, depth)?;
                (quote!((#t,)), quote!((r,)))
            }
            None => (quote!(()), quote!(r)),
        };
        let name = &f.name;
        if self.async_ {
            return Ok(quote! {
                inst.func_wrap_async(
                    #name,
                    move |mut store: ::nyash_engine::StoreContextMut<'_, T>,
                          (#(#pnames,)*): (#(#params,)*)| {
                        ::std::boxed::Box::new(async move {
                            let host = get(store.data_mut());
                            #[allow(clippy::let_unit_value)]
                            let r = #call;
                            Ok(#wrap)
                        })
                    },
                )?;
            });
        }
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

    /// Whether values of `t` hold a resource handle (`own` or `borrow`),
    /// directly or inside other types: such types derive only `Debug`
    /// (a handle is neither `Clone` nor `PartialEq`, as in wasmtime).
    fn holds_handle(&self, t: &Type, depth: usize) -> bool {
        let Type::Id(id) = t else { return false };
        if depth > 100 {
            return false;
        }
        let opt = |t: &Option<Type>| t.as_ref().is_some_and(|t| self.holds_handle(t, depth + 1));
        match &self.resolve.types[*id].kind {
            TypeDefKind::Handle(_) => true,
            TypeDefKind::Type(t) | TypeDefKind::List(t) | TypeDefKind::Option(t) => {
                self.holds_handle(t, depth + 1)
            }
            TypeDefKind::FixedLengthList(t, _) => self.holds_handle(t, depth + 1),
            TypeDefKind::Result(r) => opt(&r.ok) || opt(&r.err),
            TypeDefKind::Tuple(t) => t.types.iter().any(|t| self.holds_handle(t, depth + 1)),
            TypeDefKind::Record(r) => r.fields.iter().any(|f| self.holds_handle(&f.ty, depth + 1)),
            TypeDefKind::Variant(v) => v.cases.iter().any(|c| opt(&c.ty)),
            _ => false,
        }
    }

    /// The definition of the named type `id` (WIT name `name`) in a
    /// module at `depth`.
    fn typedef(&self, name: &str, id: TypeId, depth: usize) -> Result<TokenStream2> {
        let c = c();
        let derives = if self.holds_handle(&Type::Id(id), 0) {
            quote!(#c::ComponentType, #c::Lift, #c::Lower, Debug)
        } else {
            quote!(#c::ComponentType, #c::Lift, #c::Lower, Clone, Debug, PartialEq)
        };
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
                    #[derive(#derives)]
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
                    #[derive(#derives)]
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
            TypeDefKind::Resource => match self.with_type(id, depth) {
                Some(path) => quote! {
                    #docs
                    pub type #rust = #path;
                },
                None => {
                    let doc = format!(
                        "The resource `{name}`: a type that only names it (`Resource<{rust}>` is a handle to one; the host keeps its state elsewhere, in a `ResourceTable` say)."
                    );
                    let doc = td.docs.contents.clone().unwrap_or(doc);
                    quote! {
                        #[doc = #doc]
                        pub enum #rust {}
                    }
                }
            },
            TypeDefKind::Type(Type::Id(x)) if self.resource_of(*x).is_some() => {
                let r = self.resource_of(*x).unwrap_or(*x);
                let path = self.named_path(r, depth)?;
                quote!(#docs pub type #rust = #path;)
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
                if let Some(r) = self.resource_of(*id) {
                    return self.own_ty(r, depth);
                }
                let td = &self.resolve.types[*id];
                match &td.name {
                    Some(_) => self.named_path(*id, depth)?,
                    None => self.anonymous(&td.kind, depth, "an anonymous type")?,
                }
            }
        })
    }

    /// The path of the Rust type of the named WIT type `id` from a module
    /// at `depth`.
    fn named_path(&self, id: TypeId, depth: usize) -> Result<TokenStream2> {
        let td = &self.resolve.types[id];
        let name = td.name.as_deref().unwrap_or("anonymous");
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
        Ok(quote!(#(#ups)* #(#segs::)* #n))
    }

    /// The resource `id` is or names (through `use` aliases).
    fn resource_of(&self, mut id: TypeId) -> Option<TypeId> {
        for _ in 0..100 {
            match &self.resolve.types[id].kind {
                TypeDefKind::Resource => return Some(id),
                TypeDefKind::Type(Type::Id(x)) => id = *x,
                _ => return None,
            }
        }
        None
    }

    /// Whether the guest implements resource `r` (its interface is
    /// exported, not imported): the host holds its handles as
    /// `ResourceAny`, not `Resource<R>`.
    fn is_guest(&self, r: TypeId) -> bool {
        match self.resolve.types[r].owner {
            TypeOwner::Interface(i) => self
                .home
                .get(&i)
                .is_some_and(|h| h.first().map(String::as_str) == Some("exports")),
            _ => false,
        }
    }

    /// The Rust type of an owned handle to resource `r` in a module at
    /// `depth`: `Resource<R>` for the host's, `ResourceAny` for the guest's.
    fn own_ty(&self, r: TypeId, depth: usize) -> Result<TokenStream2> {
        let c = c();
        if self.is_guest(r) {
            return Ok(quote!(#c::ResourceAny));
        }
        let path = self.named_path(r, depth)?;
        Ok(quote!(#c::Resource<#path>))
    }

    /// The resource of a parameter of type `borrow<R>`, if it is one.
    fn borrow_of(&self, t: &Type) -> Option<TypeId> {
        let Type::Id(id) = t else { return None };
        match &self.resolve.types[*id].kind {
            TypeDefKind::Handle(Handle::Borrow(r)) => self.resource_of(*r),
            TypeDefKind::Type(t) => self.borrow_of(t),
            _ => None,
        }
    }

    /// The resource of a parameter of type `list<borrow<R>>`, if it is one
    /// (`wasi:io/poll`'s `poll`).
    fn list_borrow_of(&self, t: &Type) -> Option<TypeId> {
        let Type::Id(id) = t else { return None };
        match &self.resolve.types[*id].kind {
            TypeDefKind::List(e) => self.borrow_of(e),
            TypeDefKind::Type(t) => self.list_borrow_of(t),
            _ => None,
        }
    }

    /// A parameter's Rust type in a signature (a trait method, a
    /// `call_<f>`) and in the typed function's parameter tuple, and how a
    /// value crosses between the two (`Borrow<..>` in the tuple for a
    /// borrow, `Vec<Borrow<..>>` for a list of them).
    fn param_ty(&self, t: &Type, depth: usize) -> Result<(TokenStream2, TokenStream2, ParamKind)> {
        let c = c();
        if let Some(r) = self.borrow_of(t) {
            let own = self.own_ty(r, depth)?;
            return Ok((own.clone(), quote!(#c::Borrow<#own>), ParamKind::Borrow));
        }
        if let Some(r) = self.list_borrow_of(t) {
            let own = self.own_ty(r, depth)?;
            return Ok((
                quote!(::std::vec::Vec<#own>),
                quote!(::std::vec::Vec<#c::Borrow<#own>>),
                ParamKind::ListOfBorrows,
            ));
        }
        let t = self.ty(t, depth)?;
        Ok((t.clone(), t, ParamKind::Plain))
    }

    /// The `with` type of resource `r` (`ns:pkg/iface/res`, with or
    /// without the package's version), as a path from a module at `depth`.
    fn with_type(&self, r: TypeId, depth: usize) -> Option<TokenStream2> {
        let td = &self.resolve.types[r];
        let TypeOwner::Interface(i) = td.owner else {
            return None;
        };
        let iface = &self.resolve.interfaces[i];
        let pkg = &self.resolve.packages[iface.package?].name;
        let (iname, rname) = (iface.name.as_deref()?, td.name.as_deref()?);
        let mut keys = vec![format!("{}:{}/{iname}/{rname}", pkg.namespace, pkg.name)];
        if let Some(v) = &pkg.version {
            keys.push(format!(
                "{}:{}/{iname}@{v}/{rname}",
                pkg.namespace, pkg.name
            ));
        }
        let key = keys.into_iter().find(|k| self.with.contains_key(k))?;
        let path = &self.with[&key];
        self.with_used.borrow_mut().insert(key);
        let absolute = path.leading_colon.is_some()
            || path
                .segments
                .first()
                .is_some_and(|s| s.ident == "crate" || s.ident == "std" || s.ident == "core");
        Some(if absolute {
            quote!(#path)
        } else {
            let ups = std::iter::repeat_n(quote!(super::), depth);
            quote!(#(#ups)* #path)
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
            TypeDefKind::Handle(Handle::Own(r)) => match self.resource_of(*r) {
                Some(r) => self.own_ty(r, depth)?,
                None => {
                    return Err(err(format!(
                        "`{what}`: a handle to a type that is not a resource"
                    )));
                }
            },
            TypeDefKind::Handle(Handle::Borrow(_)) => {
                return Err(unsupported(
                    what,
                    "borrowed handles other than as a function's own parameters or lists of them",
                ));
            }
            TypeDefKind::Resource => return Err(err(format!("`{what}`: an anonymous resource"))),
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

/// The resource a function belongs to (`None`: a freestanding one); an
/// error for kinds `bindgen!` does not bind yet.
fn resource_of_func(f: &Function) -> Result<Option<TypeId>> {
    match f.kind {
        FunctionKind::Freestanding => Ok(None),
        FunctionKind::Constructor(r) | FunctionKind::Method(r) | FunctionKind::Static(r) => {
            Ok(Some(r))
        }
        _ => Err(unsupported(
            &f.name,
            "async functions (of the async ABI), getters and setters",
        )),
    }
}

/// The Rust method of a function: `new` for a constructor, the item's name
/// for a method or static function (`get` of `[method]counter.get`).
fn method_name(f: &Function) -> Ident {
    match f.kind {
        FunctionKind::Constructor(_) => format_ident!("new"),
        _ => snake(f.item_name()),
    }
}

/// The field of a `Guest` holding an exported function:
/// `method_counter_get` for `[method]counter.get`.
fn field_name(f: &Function) -> Ident {
    let flat: String = f
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    snake(flat.trim_matches('-'))
}

/// How a parameter crosses between a signature's Rust type and the typed
/// function's parameter tuple ([`Gen::param_ty`]).
#[derive(Clone, Copy)]
enum ParamKind {
    Plain,
    /// `borrow<R>`: `Borrow<..>` in the tuple.
    Borrow,
    /// `list<borrow<R>>`: `Vec<Borrow<..>>` in the tuple.
    ListOfBorrows,
}
