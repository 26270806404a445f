//! `bindgen!`: WIT worlds bound to Rust, run against components built from
//! the same WIT.
//!
//! Each component is a core module encoded with the world by
//! `wit-component`. The core module only forwards: each function of the
//! exported interface calls the function of the same name in the imported
//! one (passing a return area when the result goes through memory), and
//! the world's own exported function calls its own imported one. So a call
//! through a generated `call_<f>` lowers the host's Rust values into the
//! guest, the guest lowers them again into the generated `Host` method,
//! whose result comes back the same way: every type crosses the generated
//! code in both directions, and the host sees what the guest was given.
//! The core module is written from wit-parser's flat signatures, so it
//! matches the WIT whatever the types are.

use nyash_engine::component::{Component, Linker};
use nyash_engine::{Engine, Store};
use wit_parser::abi::{AbiVariant, WasmType};
use wit_parser::{Resolve, WorldItem};

/// The component of `world` in the WIT package `wit` whose core module
/// forwards the functions of each exported interface (second of a pair in
/// `pairs`, its full name) to the imported one (first, a prefix of its full
/// name), and each root export `x` to the root import `x`.
fn forwarding_component(wit: &str, world: &str, pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let pkg = resolve.push_str("test.wit", wit).expect("WIT parses");
    let world = resolve.select_world(&[pkg], Some(world)).expect("world");
    let w = &resolve.worlds[world];
    let core = |t: &WasmType| match t {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => "i32",
        WasmType::I64 | WasmType::PointerOrI64 => "i64",
        WasmType::F32 => "f32",
        WasmType::F64 => "f64",
    };
    let mut imports = String::new();
    let mut funcs = String::new();
    let mut n = 0;
    let mut forward = |module: &str, export: &str, f: &wit_parser::Function| {
        let is = resolve.wasm_signature(AbiVariant::GuestImport, f);
        let es = resolve.wasm_signature(AbiVariant::GuestExport, f);
        let params: Vec<&str> = is.params.iter().map(core).collect();
        let iparams = params.join(" ");
        let iresults: Vec<&str> = is.results.iter().map(core).collect();
        imports.push_str(&format!(
            "(import \"{module}\" \"{}\" (func $i{n} (param {iparams}) (result {})))\n",
            f.name,
            iresults.join(" ")
        ));
        let eparams: Vec<&str> = es.params.iter().map(core).collect();
        let eresults: Vec<&str> = es.results.iter().map(core).collect();
        let mut body = String::new();
        for k in 0..eparams.len() {
            body.push_str(&format!("local.get {k}\n"));
        }
        // A return area of 64 bytes per function, below the heap.
        let area = 1024 + 64 * n;
        if is.retptr {
            body.push_str(&format!("i32.const {area}\ncall $i{n}\ni32.const {area}\n"));
        } else {
            body.push_str(&format!("call $i{n}\n"));
        }
        funcs.push_str(&format!(
            "(func (export \"{export}\") (param {}) (result {})\n{body})\n",
            eparams.join(" "),
            eresults.join(" ")
        ));
        n += 1;
    };
    for (key, item) in &w.imports {
        match item {
            WorldItem::Interface { id, .. } => {
                let full = resolve.name_world_key(key);
                let Some((_, exported)) = pairs.iter().find(|(i, _)| full.starts_with(i)) else {
                    continue;
                };
                for f in resolve.interfaces[*id].functions.values() {
                    forward(&full, &format!("{exported}#{}", f.name), f);
                }
            }
            WorldItem::Function(f) => forward("$root", &f.name, f),
            _ => {}
        }
    }
    let wat = format!(
        r#"(module
            {imports}
            (memory (export "memory") 1)
            (global $heap (mut i32) (i32.const 4096))
            (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
              (local $p i32)
              ;; bump allocation, aligned; a fresh block every time
              (local.set $p (i32.and
                (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                (i32.sub (i32.const 0) (local.get 2))))
              (global.set $heap (i32.add (local.get $p) (local.get 3)))
              (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
                (then (drop (memory.grow (i32.const 16)))))
              (local.get $p))
            {funcs})"#
    );
    let mut module = wat::parse_str(&wat).expect("the forwarding module assembles");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("the component encodes")
}

/// The world both the component and `bindgen!` are made from.
const WIT: &str = include_str!("wit/bindgen-demo.wit");

mod demo {
    nyash_engine::component::bindgen!({ path: "tests/wit/bindgen-demo.wit", world: "demo" });
}

use demo::exports::test::bg::guest::Guest;
use demo::test::bg::host;
use demo::test::bg::types::{Color, Pair, Perms, Point, Shape};

/// The host: what it was called with, for the test to check.
#[derive(Default)]
struct Host {
    log: Vec<String>,
    ticks: u32,
}

impl host::Host for Host {
    fn add(&mut self, a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
    fn neg(&mut self, a: i64, f: f32, c: char, b: bool) -> (i64, f32, char, bool) {
        (-a, -f, char::from_u32(c as u32 + 1).unwrap_or(c), !b)
    }
    fn greet(&mut self, name: String) -> String {
        format!("hello, {name}!")
    }
    fn sum(&mut self, xs: Vec<u32>) -> u64 {
        xs.iter().map(|&x| u64::from(x)).sum()
    }
    fn names(&mut self, xs: Vec<String>) -> Vec<String> {
        xs.into_iter().rev().map(|s| s.to_uppercase()).collect()
    }
    fn move_point(&mut self, p: Point, dx: i32) -> Point {
        Point {
            x: p.x + dx,
            label: format!("{}'", p.label),
            ..p
        }
    }
    fn area(&mut self, s: Shape) -> f64 {
        match s {
            Shape::Circle(r) => 3.0 * r * r,
            Shape::Square(a) => f64::from(a * a),
            Shape::Nothing => -1.0,
        }
    }
    fn next_color(&mut self, c: Color) -> Color {
        match c {
            Color::Red => Color::Green,
            Color::Green => Color::Blue,
            Color::Blue => Color::Red,
        }
    }
    fn toggle(&mut self, p: Perms) -> Perms {
        p ^ Perms::EXEC
    }
    fn find(&mut self, key: Option<String>) -> Result<Pair, String> {
        match key {
            Some(k) => Ok((k.len() as u32, k)),
            None => Err("no key".to_string()),
        }
    }
    fn maybe(&mut self, x: Option<u8>) -> Option<u16> {
        x.map(|x| u16::from(x) * 300)
    }
    fn check(&mut self, r: Result<(), String>) -> Result<u32, ()> {
        r.map(|()| 7).map_err(|_| ())
    }
    fn log(&mut self, msg: String) {
        self.log.push(msg);
    }
}

impl demo::DemoImports for Host {
    fn tick(&mut self, n: u32) -> u32 {
        self.ticks += n;
        self.ticks
    }
    fn stamp_it(&mut self, s: demo::Stamp) -> demo::Stamp {
        demo::Stamp {
            n: s.n + 1,
            at: format!("{}@host", s.at),
        }
    }
}

impl demo::inline_in::Host for Host {
    fn double(&mut self, x: u32) -> u32 {
        x * 2
    }
    fn type_(&mut self, k: demo::inline_in::Kind) -> demo::inline_in::Kind {
        k
    }
}

fn demo_instance() -> (Store<Host>, demo::Demo) {
    let bytes = forwarding_component(
        WIT,
        "demo",
        &[
            ("test:bg/host", "test:bg/guest@0.2.3"),
            ("inline-in", "inline-out"),
        ],
    );
    let engine = Engine::default();
    let component = Component::new(&engine, &bytes).expect("the component compiles");
    let mut linker = Linker::<Host>::new(&engine);
    demo::Demo::add_to_linker(&mut linker, |h| h).expect("add_to_linker");
    let mut store = Store::new(&engine, Host::default());
    let world = demo::Demo::instantiate(&mut store, &component, &linker).expect("instantiate");
    (store, world)
}

#[test]
fn every_kind_of_value_both_ways() -> nyash_engine::Result<()> {
    let (mut store, demo) = demo_instance();
    let g: &Guest = demo.test_bg_guest();
    assert_eq!(g.call_add(&mut store, 40, 2)?, 42);
    assert_eq!(g.call_add(&mut store, u32::MAX, 2)?, 1);
    assert_eq!(
        g.call_neg(&mut store, i64::MIN + 1, 1.5, 'a', true)?,
        (i64::MAX, -1.5, 'b', false)
    );
    assert_eq!(
        g.call_greet(&mut store, "wörld".to_string())?,
        "hello, wörld!"
    );
    let xs: Vec<u32> = (0..10_000).collect();
    assert_eq!(g.call_sum(&mut store, xs)?, 49_995_000);
    assert_eq!(g.call_sum(&mut store, Vec::new())?, 0);
    assert_eq!(
        g.call_names(&mut store, vec!["a".into(), "bc".into(), String::new()])?,
        vec![String::new(), "BC".to_string(), "A".to_string()]
    );
    let p = Point {
        x: 1,
        y: -2,
        label: "p".into(),
    };
    assert_eq!(
        g.call_move_point(&mut store, p, 10)?,
        Point {
            x: 11,
            y: -2,
            label: "p'".into()
        }
    );
    assert_eq!(g.call_area(&mut store, Shape::Circle(2.0))?, 12.0);
    assert_eq!(g.call_area(&mut store, Shape::Square(5))?, 25.0);
    assert_eq!(g.call_area(&mut store, Shape::Nothing)?, -1.0);
    assert_eq!(g.call_next_color(&mut store, Color::Red)?, Color::Green);
    assert_eq!(g.call_next_color(&mut store, Color::Blue)?, Color::Red);
    assert_eq!(
        g.call_toggle(&mut store, Perms::READ | Perms::EXEC)?,
        Perms::READ
    );
    assert_eq!(
        g.call_toggle(&mut store, Perms::WRITE)?,
        Perms::WRITE | Perms::EXEC
    );
    assert_eq!(
        g.call_find(&mut store, Some("four".into()))?,
        Ok((4, "four".to_string()))
    );
    assert_eq!(g.call_find(&mut store, None)?, Err("no key".to_string()));
    assert_eq!(g.call_maybe(&mut store, Some(200))?, Some(60_000));
    assert_eq!(g.call_maybe(&mut store, None)?, None);
    assert_eq!(g.call_check(&mut store, Ok(()))?, Ok(7));
    assert_eq!(g.call_check(&mut store, Err("x".into()))?, Err(()));
    g.call_log(&mut store, "one".into())?;
    g.call_log(&mut store, "two".into())?;
    assert_eq!(store.data().log, ["one", "two"]);
    // The world's own import and export.
    assert_eq!(demo.call_tick(&mut store, 3)?, 3);
    assert_eq!(demo.call_tick(&mut store, 4)?, 7);
    // A world's own type (`stamp`) in its own functions.
    let s = demo::Stamp {
        n: 1,
        at: "guest".into(),
    };
    assert_eq!(
        demo.call_stamp_it(&mut store, s)?,
        demo::Stamp {
            n: 2,
            at: "guest@host".into()
        }
    );
    // Interfaces declared inline in the world (`import inline-in:
    // interface { ... }`), a Rust keyword (`type`) as a function name, and
    // an exported interface's type defined by it (`kind`).
    let inline = demo.inline_out();
    assert_eq!(inline.call_double(&mut store, 21)?, 42);
    use demo::exports::inline_out::Kind;
    assert_eq!(inline.call_type(&mut store, Kind::B)?, Kind::B);
    Ok(())
}

/// A host defining the interfaces at another version (`@0.2.6`, from its
/// own `bindgen!`) satisfies a component importing `@0.2.3`, as the
/// linker's semver matching allows; and a world whose exports differ from
/// the component's fails to instantiate naming the function.
mod newer {
    nyash_engine::component::bindgen!({
        inline: r#"
package test:bg@0.2.6;

interface host {
  add: func(a: u32, b: u32) -> u32;
}

world adder {
  import host;
}
"#,
        trappable_imports: true,
    });
}

#[test]
fn semver_compatible_host_and_trappable_imports() -> nyash_engine::Result<()> {
    const OLD: &str = r#"
package test:bg@0.2.3;

interface host {
  add: func(a: u32, b: u32) -> u32;
}

interface guest {
  add: func(a: u32, b: u32) -> u32;
}

world w {
  import host;
  export guest;
}
"#;
    mod old {
        nyash_engine::component::bindgen!({
            inline: r#"
package test:bg@0.2.3;

interface guest {
  add: func(a: u32, b: u32) -> u32;
}

world w {
  export guest;
}
"#,
        });
    }
    struct Adder;
    impl newer::test::bg::host::Host for Adder {
        fn add(&mut self, a: u32, b: u32) -> nyash_engine::Result<u32> {
            a.checked_add(b)
                .ok_or_else(|| nyash_engine::Error::msg("the sum overflows"))
        }
    }
    let bytes = forwarding_component(OLD, "w", &[("test:bg/host", "test:bg/guest@0.2.3")]);
    let engine = Engine::default();
    let component = Component::new(&engine, &bytes)?;
    let mut linker = Linker::<Adder>::new(&engine);
    newer::Adder::add_to_linker(&mut linker, |a| a)?;
    let mut store = Store::new(&engine, Adder);
    let w = old::W::instantiate(&mut store, &component, &linker)?;
    assert_eq!(w.test_bg_guest().call_add(&mut store, 2, 3)?, 5);
    // An `Err` from a trappable host method traps the guest's call.
    let e = w
        .test_bg_guest()
        .call_add(&mut store, u32::MAX, 1)
        .expect_err("the host's error traps");
    assert!(format!("{e:?}").contains("the sum overflows"), "{e:?}");

    // The component's exports checked against another world's: `add`
    // returning u64 is not the component's function.
    mod wrong {
        nyash_engine::component::bindgen!({
            inline: r#"
package test:bg@0.2.3;
interface guest { add: func(a: u32, b: u32) -> u64; }
world w { export guest; }
"#,
        });
    }
    let mut store = Store::new(&engine, Adder);
    let instance = linker.instantiate(&mut store, &component)?;
    let e = match wrong::W::new(&mut store, &instance) {
        Ok(_) => panic!("a world with other types binds"),
        Err(e) => e,
    };
    assert!(format!("{e:?}").contains("add"), "{e:?}");
    Ok(())
}
