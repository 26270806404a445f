//! A small generator of typed-function-reference programs, in WAT.
//!
//! wasm-smith makes typed function references only together with GC (one
//! switch, `gc_enabled`), and nearly every such module also defines struct or
//! array types, which nyash-engine does not support. This generator makes
//! modules that use typed function references and nothing of GC: function
//! types (some declared as subtypes of others, some duplicates of earlier
//! ones, which are the same type after canonicalization, some pairs in rec
//! groups), tables and
//! globals of `(ref $t)`/`(ref null $t)` (a non-nullable table with an
//! initializer), `call_ref`, `return_call_ref`, `call_indirect` through a
//! `funcref` table (type checks with subtyping), `br_on_null`,
//! `br_on_non_null`, `ref.as_non_null`, `ref.is_null`, typed parameters and
//! results, plus tags thrown and caught across those calls (`throw`,
//! `try_table` with `catch`, `catch_all_ref` and `throw_ref`), non-nullable
//! locals, and `table.size`/`grow`/`fill`/`copy` on typed tables.
//!
//! Every program terminates: each function decrements a fuel global on
//! entry and returns a constant at once when it is zero, and bodies have
//! no loops, so a call makes at most [`FUEL`] calls in all (the global is
//! exported as `fuel`; the harness sets it back to [`FUEL`] before each
//! call in both engines).

/// Calls one call from the host may make.
pub const FUEL: i32 = 1000;

/// Deterministic random numbers (splitmix64).
type Rng = nyash_test_util::SplitMix64;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Vt {
    I32,
    I64,
    /// `(ref null? $t)`, `t` an index into [`Gen::types`].
    Ref {
        nullable: bool,
        ty: usize,
    },
}

#[derive(Clone, Debug)]
struct FType {
    params: Vec<Vt>,
    result: Option<Vt>,
    /// Declared supertype (same signature).
    sup: Option<usize>,
    is_final: bool,
}

struct Gen {
    rng: Rng,
    types: Vec<FType>,
    /// Type of each function.
    funcs: Vec<usize>,
    /// The last label made by [`Gen::fresh_label`].
    label: u32,
}

impl Gen {
    fn vt(&self, t: Vt) -> String {
        match t {
            Vt::I32 => "i32".into(),
            Vt::I64 => "i64".into(),
            Vt::Ref { nullable, ty } => {
                format!("(ref {}$t{ty})", if nullable { "null " } else { "" })
            }
        }
    }

    /// Whether type `a` is `b` or a declared subtype of it.
    fn is_sub(&self, mut a: usize, b: usize) -> bool {
        loop {
            if a == b {
                return true;
            }
            match self.types[a].sup {
                Some(s) => a = s,
                None => return false,
            }
        }
    }

    fn random_vt(&mut self, below: usize) -> Vt {
        match self.rng.below(if below == 0 { 2 } else { 5 }) {
            0 => Vt::I32,
            1 => Vt::I64,
            _ => Vt::Ref {
                nullable: self.rng.one_in(2),
                ty: self.rng.below(below),
            },
        }
    }

    fn make_types(&mut self) {
        let n = 2 + self.rng.below(5);
        for i in 0..n {
            let candidates: Vec<usize> = (0..i).filter(|&j| !self.types[j].is_final).collect();
            let t = if !candidates.is_empty() && self.rng.one_in(3) {
                // A subtype: the same signature, declared under a non-final type.
                let s = candidates[self.rng.below(candidates.len())];
                FType {
                    sup: Some(s),
                    is_final: self.rng.one_in(2),
                    ..self.types[s].clone()
                }
            } else if i > 0 && self.rng.one_in(5) {
                // A duplicate: the same definition, so the same type.
                self.types[self.rng.below(i)].clone()
            } else {
                let np = self.rng.below(4);
                let params = (0..np).map(|_| self.random_vt(i)).collect();
                let result = if self.rng.one_in(5) {
                    None
                } else {
                    Some(self.random_vt(i))
                };
                FType {
                    params,
                    result,
                    sup: None,
                    is_final: self.rng.one_in(3),
                }
            };
            self.types.push(t);
        }
    }

    fn fresh_label(&mut self) -> String {
        self.label += 1;
        format!("$l{}", self.label)
    }

    /// A reference to a function of type `ty` (or a subtype).
    fn func_of(&mut self, ty: usize) -> usize {
        let fits: Vec<usize> = (0..self.funcs.len())
            .filter(|&f| self.is_sub(self.funcs[f], ty))
            .collect();
        fits[self.rng.below(fits.len())]
    }

    fn args(&mut self, ty: usize, params: &[Vt], depth: u32) -> String {
        let ps = self.types[ty].params.clone();
        ps.iter()
            .map(|p| self.expr(*p, params, depth))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Types whose result is `want` (exactly).
    fn types_returning(&self, want: Option<Vt>) -> Vec<usize> {
        (0..self.types.len())
            .filter(|&k| self.types[k].result == want)
            .collect()
    }

    /// A call producing `want`, through a reference or a table.
    fn call(&mut self, want: Option<Vt>, params: &[Vt], depth: u32) -> Option<String> {
        let ks = self.types_returning(want);
        if ks.is_empty() {
            return None;
        }
        let k = ks[self.rng.below(ks.len())];
        let args = self.args(k, params, depth);
        let nullable = Vt::Ref {
            nullable: true,
            ty: k,
        };
        Some(match self.rng.below(7) {
            0 | 1 => {
                let r = self.expr(nullable, params, depth);
                format!("(call_ref $t{k} {args} {r})")
            }
            2 => {
                let r = self.expr(nullable, params, depth);
                format!("(call_ref $t{k} {args} (ref.as_non_null {r}))")
            }
            3 => {
                let idx = self.rng.below(self.funcs.len() + 2);
                format!("(call_indirect $ftab (type $t{k}) {args} (i32.const {idx}))")
            }
            4 => format!("(call $f{} {args})", self.func_of(k)),
            _ => {
                // br_on_null / br_on_non_null around the call; the fallback
                // value when the reference is null.
                let r = self.expr(nullable, params, depth);
                let fallback = match want {
                    Some(w) => self.expr(w, params, depth),
                    None => String::new(),
                };
                let result = match want {
                    Some(w) => format!("(result {})", self.vt(w)),
                    None => String::new(),
                };
                let out = self.fresh_label();
                let inner = self.fresh_label();
                if self.rng.one_in(2) {
                    format!(
                        "(block {out} {result} (block {inner} (br {out} (call_ref $t{k} {args} \
                         (br_on_null {inner} {r})))) {fallback})"
                    )
                } else {
                    format!(
                        "(block {out} {result} (call_ref $t{k} {args} (block {inner} (result \
                         (ref $t{k})) (br_on_non_null {inner} {r}) (br {out} {fallback}))))"
                    )
                }
            }
        })
    }

    /// An expression of type `t`; `params` are the enclosing function's.
    fn expr(&mut self, t: Vt, params: &[Vt], depth: u32) -> String {
        let locals: Vec<usize> = (0..params.len())
            .filter(|&i| match (params[i], t) {
                (
                    Vt::Ref {
                        nullable: pn,
                        ty: pt,
                    },
                    Vt::Ref {
                        nullable: tn,
                        ty: tt,
                    },
                ) => (tn || !pn) && self.is_sub(pt, tt),
                (a, b) => a == b,
            })
            .collect();
        if !locals.is_empty() && self.rng.one_in(3) {
            return format!("(local.get {})", locals[self.rng.below(locals.len())]);
        }
        let leaf = depth == 0 || self.rng.one_in(3);
        if !leaf
            && self.rng.one_in(3)
            && let Some(c) = self.call(Some(t), params, depth - 1)
        {
            return c;
        }
        match t {
            Vt::I32 => match if leaf { 0 } else { self.rng.below(6) } {
                0 => format!("(i32.const {})", self.rng.next_u64() as i32 % 1000),
                1 => {
                    let a = self.expr(Vt::I32, params, depth - 1);
                    let b = self.expr(Vt::I32, params, depth - 1);
                    let op = ["i32.add", "i32.sub", "i32.mul", "i32.xor"][self.rng.below(4)];
                    format!("({op} {a} {b})")
                }
                2 => {
                    let ty = self.rng.below(self.types.len());
                    let r = self.expr(Vt::Ref { nullable: true, ty }, params, depth - 1);
                    format!("(ref.is_null {r})")
                }
                3 => {
                    let a = self.expr(Vt::I64, params, depth - 1);
                    format!("(i32.wrap_i64 {a})")
                }
                4 if self.rng.one_in(2) => {
                    let ty = self.rng.below(self.types.len());
                    if self.rng.one_in(2) {
                        format!("(table.size $tab{ty})")
                    } else {
                        let r = self.expr(Vt::Ref { nullable: true, ty }, params, depth - 1);
                        format!(
                            "(table.grow $tab{ty} {r} (i32.const {}))",
                            self.rng.below(3)
                        )
                    }
                }
                _ => {
                    let c = self.expr(Vt::I32, params, depth - 1);
                    let a = self.expr(Vt::I32, params, depth - 1);
                    let b = self.expr(Vt::I32, params, depth - 1);
                    format!("(if (result i32) {c} (then {a}) (else {b}))")
                }
            },
            Vt::I64 => match if leaf {
                self.rng.below(2)
            } else {
                self.rng.below(4)
            } {
                0 => format!("(i64.const {})", self.rng.next_u64() as i64 % 100_000),
                1 => "(global.get $acc)".into(),
                2 => {
                    let a = self.expr(Vt::I64, params, depth - 1);
                    let b = self.expr(Vt::I64, params, depth - 1);
                    let op = ["i64.add", "i64.mul", "i64.xor"][self.rng.below(3)];
                    format!("({op} {a} {b})")
                }
                _ => {
                    let a = self.expr(Vt::I32, params, depth - 1);
                    format!("(i64.extend_i32_s {a})")
                }
            },
            Vt::Ref { nullable, ty } => {
                match if leaf {
                    self.rng.below(3)
                } else {
                    self.rng.below(7)
                } {
                    0 | 1 => format!("(ref.func $f{})", self.func_of(ty)),
                    2 if nullable => format!("(ref.null $t{ty})"),
                    2 => format!("(global.get $gn{ty})"),
                    3 if nullable => format!("(global.get $g{ty})"),
                    3 => {
                        let r = self.expr(Vt::Ref { nullable: true, ty }, params, depth - 1);
                        format!("(ref.as_non_null {r})")
                    }
                    4 => {
                        // Now and then out of bounds.
                        let idx = self.rng.below(6);
                        let get = format!("(table.get $tab{ty} (i32.const {idx}))");
                        if nullable {
                            get
                        } else {
                            format!("(ref.as_non_null {get})")
                        }
                    }
                    5 => format!("(table.get $tn{ty} (i32.const {}))", self.rng.below(3)),
                    _ => {
                        let c = self.expr(Vt::I32, params, depth - 1);
                        let a = self.expr(t, params, depth - 1);
                        let b = self.expr(t, params, depth - 1);
                        format!("(select (result {}) {a} {b} {c})", self.vt(t))
                    }
                }
            }
        }
    }

    /// A statement: side effects on globals and tables, throws, handlers.
    fn stmt(&mut self, params: &[Vt], depth: u32) -> String {
        match self.rng.below(9) {
            0 | 1 => {
                let e = self.expr(Vt::I64, params, depth);
                format!(
                    "(global.set $acc (i64.add (i64.mul (global.get $acc) (i64.const 31)) {e}))"
                )
            }
            2 => {
                let ty = self.rng.below(self.types.len());
                let r = self.expr(Vt::Ref { nullable: true, ty }, params, depth);
                format!("(global.set $g{ty} {r})")
            }
            3 => {
                let ty = self.rng.below(self.types.len());
                let idx = self.rng.below(6);
                let r = self.expr(Vt::Ref { nullable: true, ty }, params, depth);
                format!("(table.set $tab{ty} (i32.const {idx}) {r})")
            }
            4 if self.rng.one_in(3) => {
                // Bulk table operators on typed tables.
                let ty = self.rng.below(self.types.len());
                let (d, n) = (self.rng.below(6), self.rng.below(3));
                match self.rng.below(3) {
                    0 => {
                        let r = self.expr(Vt::Ref { nullable: true, ty }, params, depth);
                        format!("(table.fill $tab{ty} (i32.const {d}) {r} (i32.const {n}))")
                    }
                    1 => format!(
                        "(table.copy $tab{ty} $tn{ty} (i32.const {d}) (i32.const {}) \
                         (i32.const {n}))",
                        self.rng.below(3)
                    ),
                    _ => format!(
                        "(table.copy $tab{ty} $tab{ty} (i32.const {d}) (i32.const {}) \
                         (i32.const {n}))",
                        self.rng.below(6)
                    ),
                }
            }
            4 => {
                let c = self.expr(Vt::I32, params, depth);
                let (tag, e) = match self.rng.below(3) {
                    0 => ("$e0", self.expr(Vt::I32, params, depth)),
                    1 => ("$e1", self.expr(Vt::I64, params, depth)),
                    _ => (
                        "$e2",
                        self.expr(
                            Vt::Ref {
                                nullable: true,
                                ty: 0,
                            },
                            params,
                            depth,
                        ),
                    ),
                };
                format!("(if {c} (then (throw {tag} {e})))")
            }
            5 => {
                // An i32 computed under a handler for $e0 (its payload is the value).
                let h = self.fresh_label();
                let e = self.expr(Vt::I32, params, depth);
                let s = self.stmt(params, depth.saturating_sub(1));
                format!(
                    "(global.set $acc (i64.add (global.get $acc) (i64.extend_i32_s (block {h} \
                     (result i32) (try_table (result i32) (catch $e0 {h}) {s} {e})))))"
                )
            }
            6 => {
                // Caught by catch_all, counted.
                let h = self.fresh_label();
                let s = self.stmt(params, depth.saturating_sub(1));
                let s2 = self.stmt(params, depth.saturating_sub(1));
                format!(
                    "(block {h} (try_table (catch_all {h}) {s} {s2}) (global.set $acc \
                     (i64.add (global.get $acc) (i64.const 1000))))"
                )
            }
            7 => {
                // Caught with its exnref, the effect recorded, then rethrown.
                let done = self.fresh_label();
                let h = self.fresh_label();
                let s = self.stmt(params, depth.saturating_sub(1));
                format!(
                    "(block {done} (throw_ref (block {h} (result exnref) (try_table \
                     (catch_all_ref {h}) {s}) (br {done}))))"
                )
            }
            _ => match self.call(None, params, depth) {
                Some(c) => c,
                None => {
                    let e = self.expr(Vt::I32, params, depth);
                    format!("(drop {e})")
                }
            },
        }
    }

    /// A function of type `ty`: its local declarations and its body.
    fn func_body(&mut self, ty: usize) -> (String, String) {
        let t = self.types[ty].clone();
        // Out of fuel: return at once, a constant.
        let default = match t.result {
            None => String::new(),
            Some(Vt::I32) => "(i32.const -7)".into(),
            Some(Vt::I64) => "(i64.const -7)".into(),
            Some(Vt::Ref { nullable: true, ty }) => format!("(ref.null $t{ty})"),
            Some(Vt::Ref { ty, .. }) => format!("(ref.func $f{})", self.func_of(ty)),
        };
        let mut body = format!(
            "(if (i32.eqz (global.get $fuel)) (then (return {default}))) \
             (global.set $fuel (i32.sub (global.get $fuel) (i32.const 1)))"
        );
        // Now and then a non-nullable local, set first: after the
        // parameters among the values expressions may read.
        let mut vars = t.params.clone();
        let mut local = String::new();
        if self.rng.one_in(2) {
            let k = self.rng.below(self.types.len());
            let v = Vt::Ref {
                nullable: false,
                ty: k,
            };
            let init = self.expr(v, &vars, 2);
            local = format!("(local {}) ", self.vt(v));
            body.push_str(&format!(" (local.set {} {init})", vars.len()));
            vars.push(v);
        }
        for _ in 0..self.rng.below(6) {
            body.push(' ');
            let s = self.stmt(&vars, 2);
            body.push_str(&s);
        }
        body.push(' ');
        // The result: sometimes a tail call.
        let params = vars;
        let tail = self.rng.one_in(3);
        let ks = self.types_returning(t.result);
        if tail && !ks.is_empty() {
            let k = ks[self.rng.below(ks.len())];
            let args = self.args(k, &params, 2);
            if self.rng.one_in(3) {
                body.push_str(&format!("(return_call $f{} {args})", self.func_of(k)));
            } else {
                let r = self.expr(
                    Vt::Ref {
                        nullable: true,
                        ty: k,
                    },
                    &params,
                    2,
                );
                body.push_str(&format!("(return_call_ref $t{k} {args} {r})"));
            }
        } else if let Some(r) = t.result {
            let e = self.expr(r, &params, 3);
            body.push_str(&e);
        }
        (local, body)
    }

    fn module(&mut self) -> String {
        self.make_types();
        let nt = self.types.len();
        // One function of each type, then a few more.
        self.funcs = (0..nt).collect();
        for _ in 0..self.rng.below(6) {
            let t = self.rng.below(nt);
            self.funcs.push(t);
        }
        let mut m = String::from("(module\n");
        // Now and then two consecutive types share a rec group (a type
        // distinct from the same definitions outside it).
        let mut rec_ends = None;
        for (i, t) in self.types.clone().iter().enumerate() {
            if rec_ends.is_none() && i + 1 < nt && self.rng.one_in(4) {
                m.push_str("  (rec\n");
                rec_ends = Some(i + 1);
            }
            let params: String = t
                .params
                .iter()
                .map(|p| format!(" (param {})", self.vt(*p)))
                .collect();
            let result = t
                .result
                .map(|r| format!(" (result {})", self.vt(r)))
                .unwrap_or_default();
            let head = match (t.is_final, t.sup) {
                (true, None) => String::new(),
                (true, Some(s)) => format!("final $t{s} "),
                (false, None) => String::new(),
                (false, Some(s)) => format!("$t{s} "),
            };
            let sub_final = if t.is_final && t.sup.is_none() {
                "final "
            } else {
                ""
            };
            m.push_str(&format!(
                "  (type $t{i} (sub {sub_final}{head}(func{params}{result})))\n"
            ));
            if rec_ends == Some(i) {
                m.push_str("  )\n");
                rec_ends = None;
            }
        }
        m.push_str(&format!(
            "  (tag $e0 (export \"e0\") (param i32))\n  (tag $e1 (export \"e1\") (param i64))\n  \
             (tag $e2 (export \"e2\") (param (ref null $t0)))\n  (tag $e3 (export \"e3\"))\n  \
             (global $fuel (export \"fuel\") (mut i32) (i32.const {FUEL}))\n  \
             (global $acc (export \"acc\") (mut i64) (i64.const 0))\n"
        ));
        let nf = self.funcs.len();
        for k in 0..nt {
            let f = self.func_of(k);
            let g = self.func_of(k);
            m.push_str(&format!(
                "  (global $g{k} (export \"g{k}\") (mut (ref null $t{k})) (ref.func $f{f}))\n  \
                 (global $gn{k} (export \"gn{k}\") (ref $t{k}) (ref.func $f{g}))\n  \
                 (table $tab{k} (export \"tab{k}\") 5 (ref null $t{k}))\n  \
                 (table $tn{k} (export \"tn{k}\") 3 (ref $t{k}) (ref.func $f{f}))\n"
            ));
            let items: String = (0..self.rng.below(5))
                .map(|_| {
                    if self.rng.one_in(3) {
                        format!(" (ref.null $t{k})")
                    } else {
                        format!(" (ref.func $f{})", self.func_of(k))
                    }
                })
                .collect();
            let at = self.rng.below(3);
            m.push_str(&format!(
                "  (elem (table $tab{k}) (i32.const {at}) (ref null $t{k}){items})\n"
            ));
        }
        m.push_str(&format!("  (table $ftab {} funcref)\n", nf + 1));
        let all: String = (0..nf).map(|f| format!(" $f{f}")).collect();
        m.push_str(&format!("  (elem (table $ftab) (i32.const 0) func{all})\n"));
        for f in 0..nf {
            let ty = self.funcs[f];
            let (locals, body) = self.func_body(ty);
            m.push_str(&format!(
                "  (func $f{f} (export \"f{f}\") (type $t{ty}) {locals}\n    {body})\n"
            ));
        }
        m.push_str(")\n");
        m
    }
}

/// The WAT text of the program for `seed`.
pub fn generate(seed: u64) -> String {
    let mut g = Gen {
        rng: Rng::from_state(seed ^ 0x7f4a_7c15_d1b5_4a32),
        types: Vec::new(),
        funcs: Vec::new(),
        label: 0,
    };
    g.module()
}
