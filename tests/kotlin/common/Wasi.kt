// Shared by every program here (compiled into each): the command line, which
// Kotlin/Wasm's `main(args)` does not get from WASI (its args are empty), read
// through WASI's own imports; and a checksum the programs print.
@file:OptIn(kotlin.wasm.unsafe.UnsafeWasmMemoryApi::class, kotlin.wasm.ExperimentalWasmInterop::class)

import kotlin.wasm.WasmImport
import kotlin.wasm.unsafe.withScopedMemoryAllocator

@WasmImport("wasi_snapshot_preview1", "args_sizes_get")
private external fun wasiArgsSizesGet(argcPtr: Int, bufSizePtr: Int): Int

@WasmImport("wasi_snapshot_preview1", "args_get")
private external fun wasiArgsGet(argvPtr: Int, bufPtr: Int): Int

@WasmImport("wasi_snapshot_preview1", "proc_exit")
private external fun wasiProcExit(code: Int)

/** The program's arguments, argv[0] (the module's name) first. */
fun wasiArgs(): List<String> = withScopedMemoryAllocator { alloc ->
    val sizes = alloc.allocate(8)
    check(wasiArgsSizesGet(sizes.address.toInt(), (sizes + 4).address.toInt()) == 0) { "args_sizes_get" }
    val argc = sizes.loadInt()
    val bufSize = (sizes + 4).loadInt()
    val argv = alloc.allocate(4 * argc + 4)
    val buf = alloc.allocate(bufSize + 1)
    check(wasiArgsGet(argv.address.toInt(), buf.address.toInt()) == 0) { "args_get" }
    val base = buf.address.toInt()
    List(argc) { i ->
        val start = (argv + 4 * i).loadInt() - base
        var end = start
        while ((buf + end).loadByte() != 0.toByte()) end++
        ByteArray(end - start) { (buf + start + it).loadByte() }.decodeToString()
    }
}

/** The workload size: the first argument, or [default] without one. */
fun workloadSize(default: Int): Int = wasiArgs().getOrNull(1)?.toInt() ?: default

/** FNV-1a over 64 bits, fed with numbers and strings. */
class Checksum {
    var value: Long = -3750763034362895579L
        private set

    fun add(x: Long) {
        var v = x
        repeat(8) {
            value = (value xor (v and 0xff)) * 1099511628211L
            v = v ushr 8
        }
    }

    fun add(x: Int) = add(x.toLong())

    fun add(s: String) {
        for (c in s) add(c.code)
        add(s.length)
    }

    fun hex(): String = value.toULong().toString(16).padStart(16, '0')
}

/**
 * Runs a program's body; an exception that escapes it is printed (class and
 * message, on standard output, so the comparison sees it) and the program
 * exits with status 70 rather than trapping with no word.
 */
fun program(body: () -> Unit) {
    try {
        body()
    } catch (e: Throwable) {
        println("uncaught ${e::class.simpleName}: ${e.message}")
        wasiProcExit(70)
    }
}
