//! One Rust program for `wasm32-wasip2`, run by `tests/wasip2/check.py` in
//! nyash-engine and wasmtime: its first argument picks what it does, and
//! each mode prints what the script can compute on its own.

use std::io::{Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("hello");
    match mode {
        "hello" => println!("hello from wasip2"),
        // The arguments after the mode, one a line.
        "args" => {
            for a in &args[2..] {
                println!("arg {a}");
            }
        }
        // The environment, sorted, one `K=V` a line.
        "env" => {
            let mut vars: Vec<(String, String)> = std::env::vars().collect();
            vars.sort();
            for (k, v) in vars {
                println!("{k}={v}");
            }
        }
        // Stdin to stdout as it is.
        "echo" => {
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input).expect("stdin");
            std::io::stdout().write_all(&input).expect("stdout");
        }
        // Stdin to stdout line by line, upper-cased and numbered, then the
        // counts of lines and bytes on stderr.
        "upper" => {
            let mut n = 0;
            let mut bytes = 0;
            for line in std::io::stdin().lines() {
                let line = line.expect("stdin");
                n += 1;
                bytes += line.len();
                println!("{n}: {}", line.to_uppercase());
            }
            eprintln!("{n} lines, {bytes} bytes");
        }
        "exit" => {
            let code: i32 = args[2].parse().expect("a status");
            print!("exiting with {code}");
            std::io::stdout().flush().expect("stdout");
            std::process::exit(code);
        }
        "panic" => panic!("this program panics on purpose"),
        // Sleeps MS milliseconds (std::thread::sleep: a monotonic-clock
        // pollable), then says whether at least that much time passed.
        "sleep" => {
            let ms: u64 = args[2].parse().expect("milliseconds");
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(ms));
            let took = start.elapsed();
            println!("slept at least {ms} ms: {}", took >= Duration::from_millis(ms));
        }
        // N random bytes, twice: their lengths, and whether the two draws
        // differ (for N >= 16 they do but with a chance of 2^-128).
        "random" => {
            let n: usize = args[2].parse().expect("a length");
            let mut a = vec![0u8; n];
            let mut b = vec![0u8; n];
            getrandom(&mut a);
            getrandom(&mut b);
            println!("{} {} differ: {}", a.len(), b.len(), a != b);
        }
        // The wall clock, in whole seconds since the epoch.
        "time" => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970");
            println!("{}", now.as_secs());
        }
        // 1 MiB to stdout: lines of 63 letters and a newline.
        "big" => {
            let line: Vec<u8> = (0..63u8).map(|i| b'a' + i % 26).chain([b'\n']).collect();
            let mut out = std::io::stdout().lock();
            for _ in 0..(1 << 20) / 64 {
                out.write_all(&line).expect("stdout");
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}

/// Random bytes from `wasi:random/random` (std's HashMap seed comes from
/// it too, but it has no public API for bytes).
fn getrandom(buf: &mut [u8]) {
    #[link(wasm_import_module = "wasi:random/random@0.2.0")]
    unsafe extern "C" {
        #[link_name = "get-random-bytes"]
        fn get_random_bytes(len: i64, ret: *mut u32);
    }
    let mut ret = [0u32; 2];
    // SAFETY: the import writes a list's (pointer, length) at `ret`, the
    // list allocated with the program's `cabi_realloc` (and left there:
    // the program is short-lived).
    unsafe {
        get_random_bytes(buf.len() as i64, ret.as_mut_ptr());
        let (ptr, len) = (ret[0] as *const u8, ret[1] as usize);
        assert_eq!(len, buf.len());
        buf.copy_from_slice(std::slice::from_raw_parts(ptr, len));
    }
}
