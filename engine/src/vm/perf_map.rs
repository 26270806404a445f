//! The perf map: with `NYASH_PERFMAP=1`, every image loaded, function
//! compiled lazily and image tiered up to is described in
//! `/tmp/perf-PID.map`, so `perf report` names wasm functions.

use nyash_aot::CompiledFunction;

/// Whether `NYASH_PERFMAP=1`: loaded code is described in
/// `/tmp/perf-PID.map`, so `perf report` names wasm functions.
pub(crate) fn perf_map_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("NYASH_PERFMAP").is_some_and(|v| v == "1"))
}

/// Appends one line per function of `functions` (offsets from `base`) to
/// `/tmp/perf-PID.map` (the format perf reads for JIT code: `START SIZE
/// NAME`, hex): a loaded image, a function compiled lazily, an image a
/// lazy module tiered up to. Best effort: a profiling aid must not make
/// loading fail.
pub(crate) fn write_perf_map(
    env: &nyash_aot::module::ModuleEnv,
    base: usize,
    functions: &[CompiledFunction],
) {
    use std::io::Write;
    let mut out = String::new();
    let module = env.name.as_deref().unwrap_or("wasm");
    for f in functions {
        let start = base + f.offset as usize;
        if f.func_index == CompiledFunction::TRAMPOLINE {
            out.push_str(&format!("{start:x} {:x} {module}!trampoline\n", f.len));
        } else {
            let name = env.func_name(f.func_index).unwrap_or("");
            out.push_str(&format!(
                "{start:x} {:x} {module}!{name}[{}]\n",
                f.len, f.func_index
            ));
        }
    }
    let path = format!("/tmp/perf-{}.map", std::process::id());
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(out.as_bytes());
    }
}
