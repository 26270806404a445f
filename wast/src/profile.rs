//! Which proposals a script runs with.

use std::path::Path;

use nyash_engine::Config;

/// The features a script was written for. The 1.0 and 2.0 suites assert
/// that later proposals' modules are invalid (two memories, a memory index
/// byte that is not zero, typed references), and the memory64 and
/// function-references proposals' files predate multi-memory: they run as
/// the standard they test had it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Everything the engine supports (WebAssembly 3.0 and the proposals it
    /// has): the default, and what the project's own scripts use.
    Latest,
    /// WebAssembly 1.0 and 2.0 (the suite's `wasm-v1` and `wasm-v2`): no
    /// multi-memory, memory64, custom page sizes, exceptions or typed
    /// function references.
    Wasm2,
    /// Everything but multi-memory (the suite's `proposals/memory64` and
    /// `proposals/function-references`: a memory instruction's reserved
    /// byte must be zero).
    NoMultiMemory,
}

impl Profile {
    /// The profile for a file of the official suite's layout, from its path:
    /// a file in a directory `wasm-v1` or `wasm-v2` is [`Profile::Wasm2`],
    /// one in `proposals/memory64` or `proposals/function-references`
    /// [`Profile::NoMultiMemory`], anything else [`Profile::Latest`].
    pub fn for_path(path: &Path) -> Profile {
        let dirs: Vec<&str> = path
            .parent()
            .into_iter()
            .flat_map(Path::components)
            .filter_map(|c| c.as_os_str().to_str())
            .collect();
        match dirs.as_slice() {
            [.., "wasm-v1" | "wasm-v2"] => Profile::Wasm2,
            [.., "proposals", "memory64" | "function-references"] => Profile::NoMultiMemory,
            _ => Profile::Latest,
        }
    }

    /// The profile named `name` (`latest`, `wasm2`, `no-multi-memory`), as
    /// `nyash-engine wast --profile` takes it.
    pub fn from_name(name: &str) -> Option<Profile> {
        match name {
            "latest" => Some(Profile::Latest),
            "wasm2" => Some(Profile::Wasm2),
            "no-multi-memory" => Some(Profile::NoMultiMemory),
            _ => None,
        }
    }

    /// Turns off in `config` the proposals this profile is without.
    pub fn apply(self, config: &mut Config) {
        match self {
            Profile::Latest => {}
            Profile::Wasm2 => {
                config
                    .wasm_multi_memory(false)
                    .wasm_memory64(false)
                    .wasm_custom_page_sizes(false)
                    .wasm_exceptions(false)
                    .wasm_function_references(false);
            }
            Profile::NoMultiMemory => {
                config.wasm_multi_memory(false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_follow_the_suite_layout() {
        let p = |s: &str| Profile::for_path(Path::new(s));
        assert_eq!(p("data/wasm-v1/binary.wast"), Profile::Wasm2);
        assert_eq!(p("wasm-v2/simd_lane.wast"), Profile::Wasm2);
        assert_eq!(p("data/wasm-v3/binary.wast"), Profile::Latest);
        assert_eq!(
            p("x/proposals/memory64/memory64.wast"),
            Profile::NoMultiMemory
        );
        assert_eq!(p("proposals/gc/struct.wast"), Profile::Latest);
        assert_eq!(p("memory64/memory64.wast"), Profile::Latest);
        assert_eq!(p("tests/wast/exceptions.wast"), Profile::Latest);
        assert_eq!(p("wasm-v1"), Profile::Latest);
    }
}
