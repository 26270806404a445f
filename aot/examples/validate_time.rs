//! How long lazy compilation's up-front work takes for a module: parsing
//! with module-level validation, then validating every body (serially),
//! against a baseline compile. `cargo run --release -p nyash-aot --example
//! validate_time -- MODULE.wasm`
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: validate_time MODULE.wasm");
    let wasm = std::fs::read(&path).expect("readable module");
    let features = nyash_aot::module::supported_features();
    let t = std::time::Instant::now();
    let (_env, bodies) =
        nyash_aot::module::parse_with_features(&wasm, features, wasmparser::WasmFeatures::empty())
            .expect("valid module");
    let parse = t.elapsed();
    let n = bodies.len();
    let t = std::time::Instant::now();
    let mut allocs = wasmparser::FuncValidatorAllocations::default();
    for b in bodies {
        let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(
            &wasm[b.range.clone()],
            b.range.start as u64,
        ));
        let mut v = b.validator.into_validator(allocs);
        v.validate(&body).expect("valid body");
        allocs = v.into_allocations();
    }
    let validate = t.elapsed();
    println!(
        "{path}: parse + module validation {:.3} s, {n} bodies validated serially {:.3} s",
        parse.as_secs_f64(),
        validate.as_secs_f64()
    );
}
