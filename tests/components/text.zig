//! A small Zig library built for wasm32-freestanding (no std I/O, no WASI)
//! and made a component of text.wit by wit-component (the `componentize`
//! example of nyash-engine). The exports follow the canonical ABI's core
//! signatures by hand: strings and lists in as (pointer, length), results
//! that do not fit one core value returned as a pointer to them.

const std = @import("std");

var heap_top: usize = 0;
extern var __heap_base: u8;

/// The canonical ABI's allocator: a bump allocator that grows memory.
fn cabiRealloc(old: ?[*]u8, old_size: usize, alignment: usize, new_size: usize) callconv(.c) [*]u8 {
    if (heap_top == 0) heap_top = @intFromPtr(&__heap_base);
    const p = (heap_top + alignment - 1) & ~(alignment - 1);
    const end = p + new_size;
    const have = @wasmMemorySize(0) * 65536;
    if (end > have) {
        const pages = (end - have + 65535) / 65536;
        if (@wasmMemoryGrow(0, pages) < 0) @trap();
    }
    heap_top = end;
    const d: [*]u8 = @ptrFromInt(p);
    if (old) |o| {
        const n = @min(old_size, new_size);
        for (0..n) |i| d[i] = o[i];
    }
    return d;
}

fn alloc(comptime T: type, n: usize) [*]T {
    return @ptrCast(@alignCast(cabiRealloc(null, 0, @alignOf(T), n * @sizeOf(T))));
}

/// Where a (pointer, length) result is returned.
var ret: [2]u32 align(8) = .{ 0, 0 };

fn retSlice(ptr: usize, len: usize) callconv(.c) *[2]u32 {
    ret = .{ @intCast(ptr), @intCast(len) };
    return &ret;
}

/// ASCII letters upper-cased; everything else (UTF-8 included) as it is.
fn upper(s: [*]const u8, n: usize) callconv(.c) *[2]u32 {
    const out = alloc(u8, n);
    for (0..n) |i| out[i] = std.ascii.toUpper(s[i]);
    return retSlice(@intFromPtr(out), n);
}

/// The length in bytes of each run of non-spaces.
fn wordLengths(s: [*]const u8, n: usize) callconv(.c) *[2]u32 {
    const out = alloc(u32, n / 2 + 1);
    var count: usize = 0;
    var i: usize = 0;
    while (i < n) {
        while (i < n and s[i] == ' ') i += 1;
        const start = i;
        while (i < n and s[i] != ' ') i += 1;
        if (i > start) {
            out[count] = @intCast(i - start);
            count += 1;
        }
    }
    return retSlice(@intFromPtr(out), count);
}

/// option<s64>: a discriminant byte, the payload at offset 8.
var ret_opt: extern struct { some: u8, value: i64 } = .{ .some = 0, .value = 0 };

/// A decimal integer (an optional sign, then digits, nothing else), or
/// none if it is not one or does not fit an s64.
fn parseInt(s: [*]const u8, n: usize) callconv(.c) *@TypeOf(ret_opt) {
    if (std.fmt.parseInt(i64, s[0..n], 10)) |v| {
        ret_opt = .{ .some = 1, .value = v };
    } else |_| {
        ret_opt = .{ .some = 0, .value = 0 };
    }
    // std.fmt.parseInt accepts '_' separators and a '+' sign; the
    // contract here is digits only, with an optional '-'.
    for (s[0..n], 0..) |c, i| {
        if (!(std.ascii.isDigit(c) or (i == 0 and c == '-'))) ret_opt.some = 0;
    }
    return &ret_opt;
}

/// The bytes that occur, ascending, each with its count.
fn histogram(b: [*]const u8, n: usize) callconv(.c) *[2]u32 {
    var counts: [256]u32 = @splat(0);
    for (0..n) |i| counts[b[i]] += 1;
    var distinct: usize = 0;
    for (counts) |c| distinct += @intFromBool(c > 0);
    // tuple<u8, u32>: the byte at 0, the count at 4, 8 bytes each.
    const out = alloc(u32, 2 * distinct);
    var k: usize = 0;
    for (counts, 0..) |c, byte| {
        if (c == 0) continue;
        out[2 * k] = @intCast(byte);
        out[2 * k + 1] = c;
        k += 1;
    }
    return retSlice(@intFromPtr(out), distinct);
}

/// ASCII letters rotated by `shift` within their case.
fn caesar(s: [*]const u8, n: usize, shift: i32) callconv(.c) *[2]u32 {
    const out = alloc(u8, n);
    const k: u8 = @intCast(@mod(shift, 26));
    for (0..n) |i| {
        const c = s[i];
        out[i] = if (std.ascii.isLower(c))
            'a' + (c - 'a' + k) % 26
        else if (std.ascii.isUpper(c))
            'A' + (c - 'A' + k) % 26
        else
            c;
    }
    return retSlice(@intFromPtr(out), n);
}

comptime {
    @export(&cabiRealloc, .{ .name = "cabi_realloc" });
    @export(&upper, .{ .name = "upper" });
    @export(&wordLengths, .{ .name = "word-lengths" });
    @export(&parseInt, .{ .name = "parse-int" });
    @export(&histogram, .{ .name = "histogram" });
    @export(&caesar, .{ .name = "caesar" });
}
