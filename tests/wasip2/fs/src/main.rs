//! std::fs end to end: directories, files (write, read, append, seek,
//! truncate, large), metadata, renames, copies, listings, symlinks, hard
//! links, removal and the error kinds of the usual failures. Prints only
//! what is the same natively and under WASI (no inodes, times or OS error
//! numbers, what Rust's std for WASI reports differently from its native
//! std: permissions, some error kinds), everything beneath `work/` in the
//! current directory.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};

fn kind<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{:?}", e.kind()),
    }
}

fn listing(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let t = if t.is_symlink() {
                "link"
            } else if t.is_dir() {
                "dir"
            } else {
                "file"
            };
            format!("{}:{t}", e.file_name().to_string_lossy())
        })
        .collect();
    names.sort();
    names
}

fn main() {
    let _ = fs::remove_dir_all("work");
    fs::create_dir_all("work/a/b/c").unwrap();
    println!("create_dir_all: {}", fs::metadata("work/a/b/c").unwrap().is_dir());

    // Write, read, append.
    fs::write("work/a/hello.txt", "hello, world\n").unwrap();
    println!("read: {:?}", fs::read_to_string("work/a/hello.txt").unwrap());
    let mut f = OpenOptions::new().append(true).open("work/a/hello.txt").unwrap();
    f.write_all(b"appended\n").unwrap();
    drop(f);
    println!("after append: {:?}", fs::read_to_string("work/a/hello.txt").unwrap());

    // Seek and read, write in the middle, truncate, extend.
    let mut f = OpenOptions::new().read(true).write(true).open("work/a/hello.txt").unwrap();
    f.seek(SeekFrom::Start(7)).unwrap();
    let mut word = [0u8; 5];
    f.read_exact(&mut word).unwrap();
    println!("seek+read: {:?}", String::from_utf8_lossy(&word));
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"HELLO").unwrap();
    println!("position: {}", f.stream_position().unwrap());
    f.set_len(12).unwrap();
    drop(f);
    println!("after set_len: {:?}", fs::read_to_string("work/a/hello.txt").unwrap());
    let m = fs::metadata("work/a/hello.txt").unwrap();
    println!("metadata: len {} file {} dir {}", m.len(), m.is_file(), m.is_dir());

    // A large file, written and read back in one call each.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write("work/big.bin", &big).unwrap();
    let back = fs::read("work/big.bin").unwrap();
    println!(
        "big: {} bytes, same {}, sum {}",
        back.len(),
        back == big,
        back.iter().map(|&b| b as u64).sum::<u64>()
    );

    // Rename, copy, listing.
    fs::rename("work/a/hello.txt", "work/a/b/moved.txt").unwrap();
    println!("renamed: old {} new {}", fs::metadata("work/a/hello.txt").is_ok(), fs::metadata("work/a/b/moved.txt").is_ok());
    let n = fs::copy("work/a/b/moved.txt", "work/copy.txt").unwrap();
    println!("copied {n} bytes: {:?}", fs::read_to_string("work/copy.txt").unwrap());
    println!("listing work: {:?}", listing("work"));
    println!("listing work/a/b: {:?}", listing("work/a/b"));

    // Symlinks and hard links.
    #[allow(deprecated)]
    let made = fs::soft_link("b/moved.txt", "work/a/link");
    println!("symlink: {}", kind(made));
    println!("read_link: {:?}", fs::read_link("work/a/link").unwrap());
    println!(
        "symlink_metadata is_symlink: {}",
        fs::symlink_metadata("work/a/link").unwrap().file_type().is_symlink()
    );
    println!("through link: {:?}", fs::read_to_string("work/a/link").unwrap());
    fs::hard_link("work/copy.txt", "work/hard.txt").unwrap();
    fs::write("work/hard.txt", "changed through the hard link").unwrap();
    println!("hard link: {:?}", fs::read_to_string("work/copy.txt").unwrap());
    println!("listing work/a: {:?}", listing("work/a"));

    // The usual failures, by kind.
    println!("read missing: {}", kind(fs::read("work/missing")));
    println!("create existing dir: {}", kind(fs::create_dir("work/a")));
    // (Rust's std for WASI names ENOTEMPTY `Uncategorized`: only fails.)
    println!("remove non-empty dir fails: {}", fs::remove_dir("work/a").is_err());
    println!("still there: {}", fs::metadata("work/a").is_ok());
    println!("remove_file of a dir: {}", kind(fs::remove_file("work/a")));
    println!("read_dir of a file: {}", kind(fs::read_dir("work/copy.txt")));
    println!(
        "create_new existing: {}",
        kind(OpenOptions::new().write(true).create_new(true).open("work/copy.txt"))
    );
    let e = fs::read("work/missing").unwrap_err();
    println!("not found is NotFound: {}", e.kind() == ErrorKind::NotFound);

    // Removal.
    fs::remove_file("work/a/link").unwrap();
    fs::remove_file("work/hard.txt").unwrap();
    fs::remove_dir_all("work/a").unwrap();
    println!("after removals: {:?}", listing("work"));
    fs::remove_dir_all("work").unwrap();
    println!("gone: {}", fs::metadata("work").is_err());
}
