//! The host API of WebAssembly GC: struct and array types made by the host
//! are the module's types, objects made by the host are read by wasm and
//! the other way round, every misuse is an error (never a panic), roots
//! live as long as their scope or owner says, through collections that
//! move objects. Tests that depend on collections run with a small nursery
//! and in stress mode (a moving collection at every allocation) and check
//! that collections happened.

use nyash_engine::{
    AnyRef, ArrayRef, ArrayType, Caller, Engine, EqRef, ExternRef, FieldType, Func, FuncType,
    HeapType, I31, Instance, Linker, Module, Mutability, RefType, Result, RootScope, StorageType,
    Store, StructRef, StructType, Val, ValType,
};
use nyash_test_util::Variant;

/// A small nursery (not in stress mode, whatever the environment says),
/// and stress mode.
fn engines() -> Vec<(&'static str, Engine)> {
    nyash_test_util::engines(&[Variant::SmallNursery, Variant::GcStress])
}

fn instance<T: 'static>(store: &mut Store<T>, linker: &Linker<T>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    linker.instantiate(store, &module).unwrap()
}

fn field(m: Mutability, s: StorageType) -> FieldType {
    FieldType::new(m, s)
}
fn var(t: ValType) -> FieldType {
    field(Mutability::Var, StorageType::ValType(t))
}
fn konst(t: ValType) -> FieldType {
    field(Mutability::Const, StorageType::ValType(t))
}
fn nullable(h: HeapType) -> ValType {
    ValType::Ref(RefType::nullable(h))
}

/// The engine type of `func`'s parameter `i` (a concrete reference type).
fn param_type(store: &impl nyash_engine::AsContext, func: Func, i: usize) -> u32 {
    match func.ty(store).params[i] {
        ValType::Ref(RefType {
            heap: HeapType::Engine(id),
            ..
        }) => id,
        other => panic!("not a concrete reference type: {other}"),
    }
}

/// Calls `f` with `Val`s (checked one by one: how a function taking a
/// concrete `(ref $t)` is called, which a typed function cannot be given a
/// `StructRef` for) and returns its result.
fn call1(store: &mut Store<()>, f: Func, args: &[Val]) -> Val {
    let mut out = vec![Val::I32(0); f.ty(&*store).results.len()];
    f.call(store, args, &mut out).unwrap();
    out.first().copied().unwrap_or(Val::I32(0))
}

const POINTS: &str = r#"(module
    (type $pt (struct (field (mut i32)) (field (mut i8)) (field i16) (field (mut i64))
                      (field f32) (field f64) (field (mut v128))))
    (func (export "sum") (param $p (ref null $pt)) (result f64)
        (f64.add
          (f64.add
            (f64.convert_i32_s (i32.add (struct.get $pt 0 (local.get $p))
                (i32.add (struct.get_s $pt 1 (local.get $p)) (struct.get_u $pt 2 (local.get $p)))))
            (f64.convert_i64_s (struct.get $pt 3 (local.get $p))))
          (f64.add (f64.promote_f32 (struct.get $pt 4 (local.get $p)))
            (f64.add (struct.get $pt 5 (local.get $p))
              (f64.convert_i64_s (i64x2.extract_lane 1 (struct.get $pt 6 (local.get $p))))))))
    (func (export "get_s1") (param (ref $pt)) (result i32) (struct.get_s $pt 1 (local.get 0)))
    (func (export "set1") (param (ref $pt) i32) (struct.set $pt 1 (local.get 0) (local.get 1)))
    (func (export "make") (param $n i32) (result (ref $pt))
        (struct.new $pt (local.get $n) (i32.const -1) (i32.const 0xffff) (i64.const -5)
            (f32.const 1.5) (f64.const 2.25) (v128.const i64x2 11 22))))"#;

fn pt_type(engine: &Engine) -> StructType {
    StructType::new(
        engine,
        [
            var(ValType::I32),
            field(Mutability::Var, StorageType::I8),
            field(Mutability::Const, StorageType::I16),
            var(ValType::I64),
            konst(ValType::F32),
            konst(ValType::F64),
            var(ValType::V128),
        ],
    )
    .unwrap()
}

#[test]
fn host_structs_are_the_modules_structs() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    // The host allocates first: the store gets its heap from the host.
    let pt = pt_type(&engine);
    let v128 = 7u128 | (30u128 << 64);
    let s = StructRef::new(
        &mut store,
        &pt,
        &[
            Val::I32(1),
            Val::I32(-2),
            Val::I32(3),
            Val::I64(4),
            Val::from(5.5f32),
            Val::from(6.25f64),
            Val::V128(v128),
        ],
    )
    .unwrap();
    let inst = instance(&mut store, &Linker::new(&engine), POINTS);
    let sum = inst.get_func(&mut store, "sum").unwrap();
    assert_eq!(param_type(&store, sum, 0), pt.type_id(), "one type, one id");
    assert_eq!(s.ty(&store).unwrap(), pt);
    // Wasm reads what the host wrote (the i8 sign-extended by get_s).
    let got = call1(&mut store, sum, &[s.into()]).f64().unwrap();
    assert_eq!(got, 1.0 - 2.0 + 3.0 + 4.0 + 5.5 + 6.25 + 30.0);

    // The host reads what wasm wrote.
    let make = inst
        .get_typed_func::<i32, StructRef>(&mut store, "make")
        .unwrap();
    let w = make.call(&mut store, 9).unwrap();
    assert_eq!(w.ty(&store).unwrap(), pt);
    let fields = w.fields(&mut store).unwrap();
    assert_eq!(
        fields,
        [
            Val::I32(9),
            Val::I32(0xff), // packed fields read zero-extended
            Val::I32(0xffff),
            Val::I64(-5),
            Val::from(1.5f32),
            Val::from(2.25f64),
            Val::V128(11 | (22 << 64)),
        ]
    );

    // Writes on either side are seen by the other; a packed write keeps
    // the low bits.
    let get_s1 = inst.get_func(&mut store, "get_s1").unwrap();
    let set1 = inst.get_func(&mut store, "set1").unwrap();
    w.set_field(&mut store, 1, Val::I32(0x1280)).unwrap();
    assert_eq!(call1(&mut store, get_s1, &[w.into()]), Val::I32(-128));
    assert_eq!(w.field(&mut store, 1).unwrap(), Val::I32(0x80));
    call1(&mut store, set1, &[w.into(), Val::I32(0x17f)]);
    assert_eq!(w.field(&mut store, 1).unwrap(), Val::I32(0x7f));
    w.set_field(&mut store, 0, Val::I32(-3)).unwrap();
    w.set_field(&mut store, 6, Val::V128(1 << 64)).unwrap();
    let got = call1(&mut store, sum, &[w.into()]).f64().unwrap();
    assert_eq!(got, -3.0 + 127.0 + 65535.0 - 5.0 + 1.5 + 2.25 + 1.0);
}

#[test]
fn misuse_is_an_error() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let pt = pt_type(&engine);
    let other = StructType::new(&engine, [var(ValType::I32)]).unwrap();
    let holder = StructType::new(
        &engine,
        [
            var(nullable(pt.heap_type())),
            var(ValType::Ref(RefType::non_null(pt.heap_type()))),
        ],
    )
    .unwrap();
    let vals = [
        Val::I32(1),
        Val::I32(2),
        Val::I32(3),
        Val::I64(4),
        Val::F32(0),
        Val::F64(0),
        Val::V128(0),
    ];
    // Wrong number of values, wrong value types.
    assert!(StructRef::new(&mut store, &pt, &vals[..6]).is_err());
    let mut bad = vals;
    bad[3] = Val::I32(4);
    let err = StructRef::new(&mut store, &pt, &bad).unwrap_err();
    assert!(err.to_string().contains("i64"), "{err}");
    let s = StructRef::new(&mut store, &pt, &vals).unwrap();
    let o = StructRef::new(&mut store, &other, &[Val::I32(0)]).unwrap();

    // Field index, immutability, type.
    assert!(s.field(&mut store, 7).is_err());
    assert!(s.set_field(&mut store, 7, Val::I32(0)).is_err());
    let err = s.set_field(&mut store, 2, Val::I32(0)).unwrap_err();
    assert!(err.to_string().contains("immutable"), "{err}");
    assert!(s.set_field(&mut store, 0, Val::I64(0)).is_err());
    assert!(s.set_field(&mut store, 1, Val::F32(0)).is_err());
    assert!(s.set_field(&mut store, 0, Val::AnyRef(None)).is_err());
    // Reference fields: subtyping, null for a non-null field.
    assert!(StructRef::new(&mut store, &holder, &[s.into(), s.into()]).is_ok());
    assert!(StructRef::new(&mut store, &holder, &[o.into(), s.into()]).is_err());
    assert!(StructRef::new(&mut store, &holder, &[Val::AnyRef(None), Val::AnyRef(None)]).is_err());
    let i31 = Val::from(AnyRef::from_i31(I31::new_i32(1)));
    assert!(StructRef::new(&mut store, &holder, &[i31, s.into()]).is_err());
    let h = StructRef::new(&mut store, &holder, &[Val::AnyRef(None), s.into()]).unwrap();
    assert!(h.set_field(&mut store, 1, Val::AnyRef(None)).is_err());
    assert!(
        h.set_field(&mut store, 0, Val::ExternRef(None)).is_ok(),
        "any null fits"
    );
    assert!(h.set_field(&mut store, 0, Val::FuncRef(None)).is_ok());

    // Views: a struct is not an array, an i31 is neither.
    let any = s.to_anyref();
    assert_eq!(any.as_struct(&store).unwrap(), Some(s));
    assert_eq!(any.as_array(&store).unwrap(), None);
    assert!(any.as_eqref(&store).unwrap().is_some());
    let i = AnyRef::from_i31(I31::new_i32(3));
    assert_eq!(i.as_struct(&store).unwrap(), None);
    assert_eq!(
        i.as_eqref(&store).unwrap().and_then(|e| e.as_i31()),
        Some(I31::new_i32(3))
    );
    // An extern object is `any` but not `eq`.
    let e = ExternRef::new(&mut store, 5u8);
    let x = AnyRef::convert_extern(&mut store, e).unwrap();
    assert_eq!(x.as_eqref(&store).unwrap(), None);
    assert_eq!(x.as_struct(&store).unwrap(), None);

    // Types the engine cannot name.
    assert!(ArrayType::new(&engine, var(nullable(HeapType::Engine(u32::MAX - 1)))).is_err());
    assert!(StructType::from_type_id(&engine, u32::MAX).is_none());
    assert!(ArrayType::from_type_id(&engine, pt.type_id()).is_none());
    let too_many = vec![var(ValType::I32); 10_001];
    assert!(StructType::new(&engine, too_many).is_err());
}

#[test]
fn other_stores_and_engines_are_errors_not_panics() {
    let engine = Engine::default();
    let mut a = Store::new(&engine, ());
    let mut b = Store::new(&engine, ());
    let boxed = StructType::new(&engine, [var(ValType::AnyRef)]).unwrap();
    let funcs = StructType::new(&engine, [var(ValType::FuncRef), var(ValType::ExternRef)]).unwrap();
    let sa = StructRef::new(&mut a, &boxed, &[Val::AnyRef(None)]).unwrap();
    let _ = StructRef::new(&mut b, &boxed, &[Val::AnyRef(None)]).unwrap();
    let err = sa.field(&mut b, 0).unwrap_err();
    assert!(err.to_string().contains("another store"), "{err}");
    assert!(sa.set_field(&mut b, 0, Val::AnyRef(None)).is_err());
    assert!(sa.ty(&b).is_err());
    // A's object into B's, A's function and externref into B's object.
    assert!(StructRef::new(&mut b, &boxed, &[sa.into()]).is_err());
    let fa = Func::wrap(&mut a, || {});
    let ea = ExternRef::new(&mut a, ());
    assert!(
        StructRef::new(
            &mut b,
            &funcs,
            &[Val::FuncRef(Some(fa)), Val::ExternRef(None)]
        )
        .is_err()
    );
    assert!(
        StructRef::new(
            &mut b,
            &funcs,
            &[Val::FuncRef(None), Val::ExternRef(Some(ea))]
        )
        .is_err()
    );
    assert!(sa.to_anyref().to_owned_rooted(&mut b).is_err());
    // A type of another engine.
    let engine2 = Engine::default();
    let mut c = Store::new(&engine2, ());
    assert!(StructRef::new(&mut c, &boxed, &[Val::AnyRef(None)]).is_err());
    let at = ArrayType::new(&engine, var(ValType::I32)).unwrap();
    assert!(ArrayRef::new(&mut c, &at, &Val::I32(0), 1).is_err());
    // Both stores still work.
    assert_eq!(sa.field(&mut a, 0).unwrap(), Val::AnyRef(None));
}

#[test]
fn arrays_round_trip_with_wasm() {
    let wat = r#"(module
        (type $ints (array (mut i32)))
        (type $bytes (array (mut i8)))
        (type $refs (array (mut anyref)))
        (func (export "sum") (param $a (ref $ints)) (result i32)
            (local $i i32) (local $s i32)
            (block $done (loop $l
                (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
                (local.set $s (i32.add (local.get $s) (array.get $ints (local.get $a) (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l)))
            (local.get $s))
        (func (export "iota") (param $n i32) (result (ref $ints))
            (local $a (ref $ints)) (local $i i32)
            (local.set $a (array.new_default $ints (local.get $n)))
            (block $done (loop $l
                (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                (array.set $ints (local.get $a) (local.get $i) (local.get $i))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l)))
            (local.get $a))
        (func (export "byte_s") (param (ref $bytes) i32) (result i32)
            (array.get_s $bytes (local.get 0) (local.get 1)))
        (func (export "ref_at") (param (ref $refs) i32) (result anyref)
            (array.get $refs (local.get 0) (local.get 1))))"#;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let inst = instance(&mut store, &Linker::new(&engine), wat);
        let ints = ArrayType::new(&engine, var(ValType::I32)).unwrap();
        let bytes = ArrayType::new(&engine, field(Mutability::Var, StorageType::I8)).unwrap();
        let refs = ArrayType::new(&engine, var(ValType::AnyRef)).unwrap();
        let sum_f = inst.get_func(&mut store, "sum").unwrap();
        assert_eq!(param_type(&store, sum_f, 0), ints.type_id(), "{name}");
        let sum =
            |store: &mut Store<()>, a: ArrayRef| call1(store, sum_f, &[a.into()]).i32().unwrap();

        let a = ArrayRef::new(&mut store, &ints, &Val::I32(3), 10).unwrap();
        a.set(&mut store, 4, Val::I32(100)).unwrap();
        assert_eq!(a.len(&store).unwrap(), 10, "{name}");
        assert_eq!(sum(&mut store, a), 3 * 9 + 100, "{name}");
        let f = ArrayRef::new_fixed(&mut store, &ints, &[1, 2, 3, 4, 5].map(Val::I32)).unwrap();
        assert_eq!(sum(&mut store, f), 15, "{name}");
        assert_eq!(f.ty(&store).unwrap(), ints);
        let empty = ArrayRef::new_fixed(&mut store, &ints, &[]).unwrap();
        assert_eq!((empty.len(&store).unwrap(), sum(&mut store, empty)), (0, 0));
        assert!(empty.get(&mut store, 0).is_err());

        // Out of bounds, wrong type: errors.
        let err = a.get(&mut store, 10).unwrap_err();
        assert!(err.to_string().contains("out of bounds"), "{err}");
        assert!(a.set(&mut store, 10, Val::I32(0)).is_err());
        assert!(a.get(&mut store, u32::MAX).is_err());
        assert!(a.set(&mut store, 0, Val::I64(0)).is_err());
        assert!(ArrayRef::new(&mut store, &ints, &Val::F32(0), 3).is_err());
        assert!(ArrayRef::new_fixed(&mut store, &ints, &[Val::I32(0), Val::I64(0)]).is_err());
        // Too large for the heap's objects (2 GiB at most).
        let longs = ArrayType::new(&engine, var(ValType::I64)).unwrap();
        assert!(ArrayRef::new(&mut store, &longs, &Val::I64(1), u32::MAX).is_err());

        // An array wasm made.
        let iota = inst
            .get_typed_func::<i32, ArrayRef>(&mut store, "iota")
            .unwrap();
        let w = iota.call(&mut store, 6).unwrap();
        assert_eq!(
            w.elems(&mut store).unwrap(),
            [0, 1, 2, 3, 4, 5].map(Val::I32),
            "{name}"
        );

        // Packed elements.
        let b = ArrayRef::new(&mut store, &bytes, &Val::I32(-1), 3).unwrap();
        assert_eq!(b.get(&mut store, 2).unwrap(), Val::I32(255));
        b.set(&mut store, 1, Val::I32(0x180)).unwrap();
        let byte_s = inst.get_func(&mut store, "byte_s").unwrap();
        assert_eq!(
            call1(&mut store, byte_s, &[b.into(), Val::I32(1)]),
            Val::I32(-128)
        );
        assert_eq!(
            call1(&mut store, byte_s, &[b.into(), Val::I32(2)]),
            Val::I32(-1)
        );

        // A large array (allocated in the old space), filled.
        let big = ArrayRef::new(&mut store, &ints, &Val::I32(7), 100_000).unwrap();
        assert_eq!(sum(&mut store, big), 700_000, "{name}");
        assert_eq!(big.get(&mut store, 99_999).unwrap(), Val::I32(7));

        // Reference elements: every one the same object.
        let obj = ArrayRef::new_fixed(&mut store, &ints, &[Val::I32(42)]).unwrap();
        let r = ArrayRef::new(&mut store, &refs, &obj.into(), 37).unwrap();
        store.gc().unwrap();
        let ref_at = inst.get_func(&mut store, "ref_at").unwrap();
        let ref_at = |store: &mut Store<()>, i: i32| {
            call1(store, ref_at, &[r.into(), Val::I32(i)])
                .any_ref()
                .unwrap()
        };
        let e36 = ref_at(&mut store, 36).unwrap();
        assert!(e36.ref_eq(&store, &obj.to_anyref()).unwrap(), "{name}");
        let e0 = r.get(&mut store, 0).unwrap().any_ref().unwrap().unwrap();
        let e0 = e0.as_array(&store).unwrap().unwrap();
        assert_eq!(e0.get(&mut store, 0).unwrap(), Val::I32(42));
        r.set(&mut store, 3, Val::from(AnyRef::from_i31(I31::new_i32(-9))))
            .unwrap();
        let e3 = ref_at(&mut store, 3).unwrap();
        assert_eq!(e3.as_i31(), Some(I31::new_i32(-9)));

        // Immutable elements.
        let frozen = ArrayType::new(&engine, konst(ValType::I32)).unwrap();
        let c = ArrayRef::new_fixed(&mut store, &frozen, &[Val::I32(1)]).unwrap();
        let err = c.set(&mut store, 0, Val::I32(2)).unwrap_err();
        assert!(err.to_string().contains("immutable"), "{err}");
        assert_eq!(c.get(&mut store, 0).unwrap(), Val::I32(1));
    }
}

#[test]
fn funcref_and_externref_fields() {
    let wat = r#"(module
        (type $f (func (param i32) (result i32)))
        (type $cell (struct (field (mut (ref null $f))) (field (mut externref))))
        (func $double (type $f) (i32.mul (local.get 0) (i32.const 2)))
        (elem declare func $double)
        (func (export "call") (param (ref $cell) i32) (result i32)
            (call_ref $f (local.get 1) (struct.get $cell 0 (local.get 0))))
        (func (export "ext") (param (ref $cell)) (result externref)
            (struct.get $cell 1 (local.get 0)))
        (func (export "make") (param externref) (result (ref $cell))
            (struct.new $cell (ref.func $double) (local.get 0))))"#;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let inst = instance(&mut store, &Linker::new(&engine), wat);
        let call = inst.get_func(&mut store, "call").unwrap();
        let cell = StructType::from_type_id(&engine, param_type(&store, call, 0)).unwrap();
        let ft = FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        };
        assert_eq!(
            cell.field(0).unwrap().element_type(),
            StorageType::ValType(nullable(HeapType::Engine(
                engine.func_type_id(&ft).unwrap()
            )))
        );
        let add = Func::wrap(&mut store, |x: i32| x + 100);
        let e = ExternRef::new(&mut store, String::from("payload"));
        let s = StructRef::new(
            &mut store,
            &cell,
            &[Val::FuncRef(Some(add)), Val::ExternRef(Some(e))],
        )
        .unwrap();
        store.gc().unwrap();
        assert_eq!(
            call1(&mut store, call, &[s.into(), Val::I32(5)]),
            Val::I32(105),
            "{name}"
        );
        let ext = inst.get_func(&mut store, "ext").unwrap();
        assert_eq!(call1(&mut store, ext, &[s.into()]), Val::ExternRef(Some(e)));
        assert_eq!(s.field(&mut store, 0).unwrap(), Val::FuncRef(Some(add)));
        // A function of another type does not fit the typed field.
        let other = Func::wrap(&mut store, |x: i64| x);
        assert!(
            s.set_field(&mut store, 0, Val::FuncRef(Some(other)))
                .is_err()
        );

        // A cell wasm made: its function and externref, read by the host.
        let make = inst
            .get_typed_func::<Option<ExternRef>, StructRef>(&mut store, "make")
            .unwrap();
        let w = make.call(&mut store, Some(e)).unwrap();
        let Val::FuncRef(Some(double)) = w.field(&mut store, 0).unwrap() else {
            panic!("{name}: no function")
        };
        assert_eq!(
            double
                .typed::<i32, i32>(&store)
                .unwrap()
                .call(&mut store, 21)
                .unwrap(),
            42
        );
        let Val::ExternRef(Some(got)) = w.field(&mut store, 1).unwrap() else {
            panic!("{name}: no externref")
        };
        assert_eq!(
            got.data(&store).downcast_ref::<String>().unwrap(),
            "payload"
        );
        w.set_field(&mut store, 0, Val::FuncRef(None)).unwrap();
        assert!(call1_err(&mut store, call, &[w.into(), Val::I32(1)]));
    }
}

fn call1_err(store: &mut Store<()>, f: Func, args: &[Val]) -> bool {
    let mut out = [Val::I32(0)];
    f.call(store, args, &mut out).is_err()
}

/// Wasm that allocates a lot (collections move everything).
const CHURN: &str = r#"(module
    (type $node (struct (field (ref null $node)) (field i32)))
    (func (export "churn") (param $n i32)
        (local $l (ref null $node))
        (loop $l
            (local.set $l (struct.new $node (local.get $l) (local.get $n)))
            (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 100)))
                (then (local.set $l (ref.null $node))))
            (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;

#[test]
fn host_roots_survive_collections() {
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let inst = instance(&mut store, &Linker::new(&engine), CHURN);
        let churn = inst.get_typed_func::<i32, ()>(&mut store, "churn").unwrap();
        let ints = ArrayType::new(&engine, var(ValType::I32)).unwrap();
        let boxed = StructType::new(&engine, [var(ValType::AnyRef), konst(ValType::I64)]).unwrap();
        // A struct holding an array; only the struct is held by the host.
        let s = store
            .gc_scope(|scope| -> Result<_> {
                let a = ArrayRef::new_fixed(&mut *scope, &ints, &[10, 20, 30].map(Val::I32))?;
                let s = StructRef::new(&mut *scope, &boxed, &[a.into(), Val::I64(77)])?;
                // Out of the scope as an owned root, back as a store root.
                s.to_owned_rooted(&mut *scope)
            })
            .unwrap();
        let before = store.gc_collections();
        let n = if name == "stress" { 300 } else { 50_000 };
        churn.call(&mut store, n).unwrap();
        store.gc().unwrap();
        churn.call(&mut store, n).unwrap();
        assert!(
            store.gc_collections() > before + 1,
            "{name}: no collection ran"
        );
        let s = s.get();
        assert_eq!(s.field(&mut store, 1).unwrap(), Val::I64(77), "{name}");
        let a = s.field(&mut store, 0).unwrap().any_ref().unwrap().unwrap();
        let a = a.as_array(&store).unwrap().unwrap();
        assert_eq!(
            a.elems(&mut store).unwrap(),
            [10, 20, 30].map(Val::I32),
            "{name}"
        );

        // Many host allocations in a row, each possibly collecting: every
        // earlier one stays valid.
        let made: Vec<ArrayRef> = (0..200)
            .map(|i| ArrayRef::new(&mut store, &ints, &Val::I32(i), 50).unwrap())
            .collect();
        churn.call(&mut store, n).unwrap();
        for (i, a) in made.iter().enumerate() {
            assert_eq!(a.get(&mut store, 49).unwrap(), Val::I32(i as i32), "{name}");
        }
    }
}

#[test]
fn host_functions_allocate_during_wasm_calls() {
    let wat = r#"(module
        (type $b (struct (field i32)))
        (import "host" "make" (func $make (param i32) (result (ref struct))))
        (import "host" "peek" (func $peek (param (ref struct)) (result i32)))
        (func (export "run") (param $n i32) (result i32)
            (local $mine (ref null $b)) (local $sum i32)
            (local.set $mine (struct.new $b (i32.const 1000)))
            (loop $l
                (local.set $sum (i32.add (local.get $sum)
                    (struct.get $b 0 (ref.cast (ref $b) (call $make (local.get $n))))))
                (local.set $sum (i32.add (local.get $sum) (call $peek (ref.as_non_null (local.get $mine)))))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (i32.add (local.get $sum) (struct.get $b 0 (local.get $mine)))))"#;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let b = StructType::new(&engine, [konst(ValType::I32)]).unwrap();
        let ints = ArrayType::new(&engine, var(ValType::I32)).unwrap();
        let mut linker = Linker::new(&engine);
        let (b2, ints2) = (b.clone(), ints.clone());
        linker
            .func_wrap(
                "host",
                "make",
                move |mut caller: Caller<'_, ()>, n: i32| -> Result<StructRef> {
                    // Garbage first, so that collections happen in here too.
                    for _ in 0..4 {
                        ArrayRef::new(&mut caller, &ints2, &Val::I32(n), 500)?;
                    }
                    StructRef::new(&mut caller, &b2, &[Val::I32(n)])
                },
            )
            .unwrap();
        linker
            .func_wrap(
                "host",
                "peek",
                |mut caller: Caller<'_, ()>, s: StructRef| -> Result<i32> {
                    // A scope inside a host function, left with `?`-able code.
                    let mut scope = RootScope::new(&mut caller);
                    let v = s.field(&mut scope, 0)?;
                    v.i32()
                        .ok_or_else(|| nyash_engine::Error::msg("not an i32"))
                },
            )
            .unwrap();
        let inst = instance(&mut store, &linker, wat);
        let run = inst.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
        let n = if name == "stress" { 30 } else { 400 };
        let before = store.gc_collections();
        assert_eq!(
            run.call(&mut store, n).unwrap(),
            n * (n + 1) / 2 + 1000 * (n + 1),
            "{name}"
        );
        assert!(store.gc_collections() > before, "{name}: no collection ran");
    }
}

#[test]
fn no_heap_is_made_while_a_call_is_in_progress() {
    // This module cannot see GC objects: its store gets no heap.
    let wat = r#"(module
        (import "host" "alloc" (func $alloc (result i32)))
        (func (export "run") (result i32) (call $alloc)))"#;
    let engine = Engine::default();
    let ty = StructType::new(&engine, [konst(ValType::I32)]).unwrap();
    let mut linker = Linker::new(&engine);
    let ty2 = ty.clone();
    linker
        .func_wrap(
            "host",
            "alloc",
            move |mut caller: Caller<'_, ()>| -> Result<i32> {
                let s = StructRef::new(&mut caller, &ty2, &[Val::I32(3)])?;
                Ok(s.field(&mut caller, 0)?.i32().unwrap())
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = instance(&mut store, &linker, wat);
    let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
    let err = run.call(&mut store, ()).unwrap_err();
    assert!(err.to_string().contains("in progress"), "{err}");
    // At top level the host may make the heap; then the call works.
    let s = StructRef::new(&mut store, &ty, &[Val::I32(4)]).unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 3);
    assert_eq!(s.field(&mut store, 0).unwrap(), Val::I32(4));
    // And a GC module instantiated later shares it.
    let inst = instance(
        &mut store,
        &Linker::new(&engine),
        r#"(module (type $t (struct (field i32)))
            (func (export "get") (param (ref null $t)) (result i32) (struct.get $t 0 (local.get 0))))"#,
    );
    let get = inst.get_func(&mut store, "get").unwrap();
    assert_eq!(call1(&mut store, get, &[s.into()]), Val::I32(4));
}

#[test]
fn scoped_roots_end_with_their_scope() {
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let ty = StructType::new(&engine, [var(ValType::I32)]).unwrap();
        let outer = StructRef::new(&mut store, &ty, &[Val::I32(1)]).unwrap();
        // A handle leaked out of the scope no longer works.
        let leaked = store
            .gc_scope(|scope| StructRef::new(scope, &ty, &[Val::I32(2)]))
            .unwrap();
        let err = leaked.field(&mut store, 0).unwrap_err();
        assert!(err.to_string().contains("root ended"), "{name}: {err}");
        // Its slot is reused by the next root; the old handle still fails
        // (never the new object).
        let next = StructRef::new(&mut store, &ty, &[Val::I32(3)]).unwrap();
        assert!(leaked.field(&mut store, 0).is_err(), "{name}");
        assert_eq!(next.field(&mut store, 0).unwrap(), Val::I32(3));

        // A scope left with an error by `?` ends its roots too.
        let mut inside = None;
        let r = store.gc_scope(|scope| -> Result<()> {
            let s = StructRef::new(&mut *scope, &ty, &[Val::I32(4)])?;
            inside = Some(s);
            s.set_field(&mut *scope, 0, Val::I64(0))?; // fails
            Ok(())
        });
        assert!(r.is_err());
        assert!(inside.unwrap().field(&mut store, 0).is_err(), "{name}");

        // Nested scopes: the inner one's roots end first.
        let mut outer_scope = RootScope::new(&mut store);
        let a = StructRef::new(&mut outer_scope, &ty, &[Val::I32(5)]).unwrap();
        let b = {
            let mut inner = RootScope::new(&mut outer_scope);
            StructRef::new(&mut inner, &ty, &[Val::I32(6)]).unwrap()
        };
        assert!(b.field(&mut outer_scope, 0).is_err(), "{name}");
        assert_eq!(a.field(&mut outer_scope, 0).unwrap(), Val::I32(5));
        drop(outer_scope);
        assert!(a.field(&mut store, 0).is_err(), "{name}");
        // Roots made before the scopes are untouched, and move with
        // collections.
        store.gc().unwrap();
        assert_eq!(outer.field(&mut store, 0).unwrap(), Val::I32(1), "{name}");
    }
}

#[test]
fn owned_roots_outlive_scopes_and_free_their_object_when_dropped() {
    const LEN: u32 = 1 << 20;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let inst = instance(&mut store, &Linker::new(&engine), CHURN);
        let churn = inst.get_typed_func::<i32, ()>(&mut store, "churn").unwrap();
        let bytes = ArrayType::new(&engine, field(Mutability::Var, StorageType::I8)).unwrap();
        let owned = store
            .gc_scope(|scope| -> Result<_> {
                let a = ArrayRef::new(&mut *scope, &bytes, &Val::I32(7), LEN)?;
                a.to_owned_rooted(&mut *scope)
            })
            .unwrap();
        let a = owned.get();
        let before = store.gc_collections();
        churn
            .call(&mut store, if name == "stress" { 200 } else { 50_000 })
            .unwrap();
        store.gc().unwrap();
        assert!(store.gc_collections() > before, "{name}");
        assert!(
            store.gc_heap_bytes() >= u64::from(LEN),
            "{name}: the array is live"
        );
        assert_eq!(a.len(&store).unwrap(), LEN);
        a.set(&mut store, LEN - 1, Val::I32(9)).unwrap();
        assert_eq!(a.get(&mut store, LEN - 1).unwrap(), Val::I32(9), "{name}");

        // A clone keeps it alive; dropping the last one, on another thread
        // and without the store, lets it go.
        let clone = owned.clone();
        drop(owned);
        store.gc().unwrap();
        assert_eq!(a.get(&mut store, 0).unwrap(), Val::I32(7), "{name}");
        std::thread::spawn(move || drop(clone)).join().unwrap();
        let err = a.len(&store).unwrap_err();
        assert!(err.to_string().contains("root ended"), "{name}: {err}");
        store.gc().unwrap();
        assert!(
            store.gc_heap_bytes() < u64::from(LEN),
            "{name}: the array was freed ({} bytes in use)",
            store.gc_heap_bytes()
        );

        // Many owned roots made and dropped: their slots are reused, and
        // the live ones keep working.
        let ty = StructType::new(&engine, [konst(ValType::I32)]).unwrap();
        let mut keep = Vec::new();
        for i in 0..2000 {
            let s = store
                .gc_scope(|scope| {
                    StructRef::new(&mut *scope, &ty, &[Val::I32(i)])?.to_owned_rooted(scope)
                })
                .unwrap();
            if i % 100 == 0 {
                keep.push((i, s));
            }
        }
        churn.call(&mut store, 300).unwrap();
        store.gc().unwrap();
        for (i, s) in &keep {
            assert_eq!(
                s.get().field(&mut store, 0).unwrap(),
                Val::I32(*i),
                "{name}"
            );
        }
        // An i31 needs no slot and stays valid.
        let i = AnyRef::from_i31(I31::new_i32(8))
            .to_owned_rooted(&mut store)
            .unwrap();
        assert_eq!(i.get().as_i31(), Some(I31::new_i32(8)));
    }
}

#[test]
fn typed_functions_take_and_return_gc_references() {
    let wat = r#"(module
        (type $b (struct (field i32)))
        (type $ints (array (mut i32)))
        (import "host" "wrap" (func $wrap (param (ref struct)) (result (ref array))))
        (func (export "mk") (param i32) (result (ref $b)) (struct.new $b (local.get 0)))
        (func (export "is_b") (param structref) (result i32) (ref.test (ref $b) (local.get 0)))
        (func (export "first") (param (ref array)) (result i32)
            (array.get $ints (ref.cast (ref $ints) (local.get 0)) (i32.const 0)))
        (func (export "eq") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
        (func (export "concrete") (param (ref null $b)) (result i32) (i32.const 1))
        (func (export "through_host") (param i32) (result i32)
            (array.get $ints (ref.cast (ref $ints) (call $wrap (struct.new $b (local.get 0))))
                (i32.const 0))))"#;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let ints = ArrayType::new(&engine, var(ValType::I32)).unwrap();
        let mut linker = Linker::new(&engine);
        let ints2 = ints.clone();
        linker
            .func_wrap(
                "host",
                "wrap",
                move |mut caller: Caller<'_, ()>, s: StructRef| {
                    let v = s.field(&mut caller, 0)?;
                    ArrayRef::new_fixed(&mut caller, &ints2, &[v])
                },
            )
            .unwrap();
        let inst = instance(&mut store, &linker, wat);
        let mk = inst
            .get_typed_func::<i32, StructRef>(&mut store, "mk")
            .unwrap();
        let is_b = inst
            .get_typed_func::<Option<StructRef>, i32>(&mut store, "is_b")
            .unwrap();
        let first = inst
            .get_typed_func::<ArrayRef, i32>(&mut store, "first")
            .unwrap();
        let eq = inst
            .get_typed_func::<(Option<EqRef>, Option<EqRef>), i32>(&mut store, "eq")
            .unwrap();
        let through = inst
            .get_typed_func::<i32, i32>(&mut store, "through_host")
            .unwrap();
        let s = mk.call(&mut store, 12).unwrap();
        assert_eq!(s.field(&mut store, 0).unwrap(), Val::I32(12), "{name}");
        assert_eq!(is_b.call(&mut store, Some(s)).unwrap(), 1);
        assert_eq!(is_b.call(&mut store, None).unwrap(), 0);
        let other = StructType::new(&engine, [konst(ValType::I64)]).unwrap();
        let o = StructRef::new(&mut store, &other, &[Val::I64(1)]).unwrap();
        assert_eq!(is_b.call(&mut store, Some(o)).unwrap(), 0);
        let a = ArrayRef::new_fixed(&mut store, &ints, &[Val::I32(31)]).unwrap();
        assert_eq!(first.call(&mut store, a).unwrap(), 31);
        let (se, ae) = (s.to_eqref(), a.to_eqref());
        assert_eq!(eq.call(&mut store, (Some(se), Some(se))).unwrap(), 1);
        assert_eq!(eq.call(&mut store, (Some(se), Some(ae))).unwrap(), 0);
        let i = EqRef::from_i31(I31::new_i32(4));
        assert_eq!(eq.call(&mut store, (Some(i), Some(i))).unwrap(), 1);
        assert_eq!(eq.call(&mut store, (None, None)).unwrap(), 1);
        assert_eq!(through.call(&mut store, 55).unwrap(), 55, "{name}");

        // Static types are checked when the typed function is made: a
        // struct is not an array. A `structref` view may stand for a
        // `(ref null $b)` parameter; its argument is checked per call.
        assert!(
            inst.get_typed_func::<i32, ArrayRef>(&mut store, "mk")
                .is_err()
        );
        assert!(
            inst.get_typed_func::<StructRef, i32>(&mut store, "first")
                .is_err()
        );
        let concrete = inst
            .get_typed_func::<Option<StructRef>, i32>(&mut store, "concrete")
            .unwrap();
        let b = mk.call(&mut store, 3).unwrap();
        assert_eq!(concrete.call(&mut store, Some(b)).unwrap(), 1, "{name}");
        assert_eq!(concrete.call(&mut store, None).unwrap(), 1, "{name}");
        // A stale root goes to wasm as null (no panic): here a nullable
        // parameter sees it as null.
        let stale = store.gc_scope(|scope| mk.call(scope, 1)).unwrap();
        assert_eq!(is_b.call(&mut store, Some(stale)).unwrap(), 0, "{name}");
        // A non-null parameter: wasm traps where it uses it.
        let stale = store
            .gc_scope(|scope| ArrayRef::new_fixed(scope, &ints, &[Val::I32(1)]))
            .unwrap();
        assert!(first.call(&mut store, stale).is_err(), "{name}");
        assert_eq!(first.call(&mut store, a).unwrap(), 31);
    }
}

#[test]
fn struct_fields_hold_host_and_wasm_objects_across_collections() {
    // A host struct points at a wasm struct and the other way round.
    let wat = r#"(module
        (type $box (struct (field (mut anyref))))
        (func (export "new") (param anyref) (result (ref $box)) (struct.new $box (local.get 0)))
        (func (export "get") (param (ref $box)) (result anyref) (struct.get $box 0 (local.get 0)))
        (func (export "churn") (param $n i32)
            (loop $l
                (drop (struct.new $box (ref.i31 (local.get $n))))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let inst = instance(&mut store, &Linker::new(&engine), wat);
        let boxed = StructType::new(&engine, [var(ValType::AnyRef)]).unwrap();
        let new = inst
            .get_typed_func::<Option<AnyRef>, StructRef>(&mut store, "new")
            .unwrap();
        let get = inst.get_func(&mut store, "get").unwrap();
        let get =
            |store: &mut Store<()>, s: StructRef| call1(store, get, &[s.into()]).any_ref().unwrap();
        let churn = inst.get_typed_func::<i32, ()>(&mut store, "churn").unwrap();
        let leaf = AnyRef::from_i31(I31::new_i32(99));
        let wasm_box = new.call(&mut store, Some(leaf)).unwrap();
        let host_box = StructRef::new(&mut store, &boxed, &[wasm_box.into()]).unwrap();
        let outer = new.call(&mut store, Some(host_box.to_anyref())).unwrap();
        churn
            .call(&mut store, if name == "stress" { 100 } else { 30_000 })
            .unwrap();
        store.gc().unwrap();
        // outer -> host_box -> wasm_box -> i31 99
        let hb = get(&mut store, outer).unwrap();
        assert!(hb.ref_eq(&store, &host_box.to_anyref()).unwrap(), "{name}");
        let wb = hb
            .as_struct(&store)
            .unwrap()
            .unwrap()
            .field(&mut store, 0)
            .unwrap();
        let wb = wb
            .any_ref()
            .unwrap()
            .unwrap()
            .as_struct(&store)
            .unwrap()
            .unwrap();
        assert_eq!(get(&mut store, wb), Some(leaf), "{name}");
        // The host rewires it: outer's box now holds an i31.
        host_box
            .set_field(&mut store, 0, Val::from(AnyRef::from_i31(I31::new_i32(-1))))
            .unwrap();
        churn.call(&mut store, 100).unwrap();
        let v = get(&mut store, host_box).unwrap();
        assert_eq!(v.as_i31(), Some(I31::new_i32(-1)), "{name}");
    }
}
