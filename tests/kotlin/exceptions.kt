// Exceptions: custom exception classes thrown through many frames, caught by
// type at different depths, finally blocks that count, rethrow and wrapping
// with a cause, try as an expression, return from finally, exceptions the
// runtime throws (division by zero, `!!`, bad casts, bad numbers, list
// indices), and exception objects kept alive across collections.

open class AppException(message: String, cause: Throwable? = null) : Exception(message, cause)

class ParseFailure(val position: Int, message: String) : AppException("parse failure at $position: $message")

class Overflow(val depth: Int, val payload: List<String>) : AppException("overflow at depth $depth")

class Wrapped(message: String, cause: Throwable) : AppException(message, cause)

object Counters {
    var finallies = 0
    var caught = 0
    var rethrown = 0
}

/** Recurses [depth] frames down, then throws one of three kinds. */
fun descend(depth: Int, kind: Int, trail: StringBuilder): Int {
    try {
        if (depth == 0) {
            when (kind % 3) {
                0 -> throw ParseFailure(kind, "bad token #$kind")
                1 -> throw Overflow(kind, List(kind % 5 + 1) { "p$it-$kind" })
                else -> throw IllegalStateException("state $kind")
            }
        }
        // Every 7th frame catches parse failures only, and rethrows some.
        if (depth % 7 == 0) {
            try {
                return descend(depth - 1, kind, trail) + 1
            } catch (e: ParseFailure) {
                Counters.caught++
                trail.append('p')
                if (e.position % 2 == 0) {
                    Counters.rethrown++
                    throw e
                }
                return -e.position
            }
        }
        // Every 11th frame wraps state errors in our own type.
        if (depth % 11 == 0) {
            try {
                return descend(depth - 1, kind, trail) + 1
            } catch (e: IllegalStateException) {
                trail.append('w')
                throw Wrapped("wrapped at $depth", e)
            }
        }
        return descend(depth - 1, kind, trail) + 1
    } finally {
        Counters.finallies++
        if (depth % 13 == 0) trail.append('f')
    }
}

@Suppress("RETURN_IN_FINALLY", "ReturnInFinallyBlock")
fun finallyWins(x: Int): Int {
    try {
        if (x % 2 == 0) throw AppException("lost")
        return x
    } finally {
        if (x % 3 == 0) return -x
    }
}

fun tryExpression(s: String): Int = try {
    s.toInt()
} catch (e: NumberFormatException) {
    -1
} finally {
    Counters.finallies++
}

fun runtimeThrows(i: Int): String {
    val xs = listOf(1, 2, 3)
    val nothing: String? = if (i % 2 == 0) null else "x"
    val any: Any = if (i % 3 == 0) "str" else i
    return try {
        when (i % 5) {
            0 -> (10 / (i % 2)).toString()
            1 -> nothing!!
            2 -> (any as String)
            3 -> xs[i].toString()
            else -> "n${"12z$i".toInt()}"
        }
    } catch (e: ArithmeticException) {
        "arith"
    } catch (e: NullPointerException) {
        "npe"
    } catch (e: ClassCastException) {
        "cce"
    } catch (e: IndexOutOfBoundsException) {
        "ioobe"
    } catch (e: NumberFormatException) {
        "nfe"
    }
}

fun main() = program {
    val n = workloadSize(30000)
    val sum = Checksum()
    val kept = ArrayList<Throwable>()
    val trail = StringBuilder()
    var results = 0L
    for (i in 0 until n) {
        val depth = 20 + i % 60
        try {
            results += descend(depth, i, trail)
        } catch (e: Overflow) {
            results += e.depth + e.payload.size
            if (i % 97 == 0) kept.add(e)
        } catch (e: Wrapped) {
            results += 1000
            sum.add(e.message ?: "")
            sum.add(e.cause?.message ?: "")
            if (i % 89 == 0) kept.add(e)
        } catch (e: AppException) {
            results += 10
            sum.add(e.message ?: "")
            if (i % 83 == 0) kept.add(e)
        }
        if (trail.length > 4000) {
            sum.add(trail.toString())
            trail.clear()
        }
    }
    println("descend: results $results, caught ${Counters.caught}, rethrown ${Counters.rethrown}, finallies ${Counters.finallies}")
    println("kept ${kept.size}: ${kept.take(4).map { it::class.simpleName + "(" + it.message + ")" }}")
    sum.add(results)

    var fw = 0L
    for (i in 1..n) {
        fw += try {
            finallyWins(i)
        } catch (e: AppException) {
            1000
        }
    }
    println("finally wins: $fw")
    sum.add(fw)

    var parsed = 0L
    for (i in 0 until n) parsed += tryExpression(if (i % 4 == 0) "x$i" else "$i")
    println("try expression: $parsed, finallies ${Counters.finallies}")
    sum.add(parsed)

    val kinds = HashMap<String, Int>()
    for (i in 0 until n) {
        val k = runtimeThrows(i)
        kinds[k] = (kinds[k] ?: 0) + 1
    }
    println("runtime: ${kinds.entries.sortedBy { it.key }.joinToString { "${it.key}=${it.value}" }}")
    for ((k, v) in kinds) {
        sum.add(k); sum.add(v)
    }

    // Causes survive: walk the kept chains after all that garbage.
    var chain = 0
    for (e in kept) {
        var c: Throwable? = e
        while (c != null) {
            chain++
            sum.add(c.message ?: "-")
            c = c.cause
        }
    }
    println("kept chains: $chain links")
    println("checksum ${sum.hex()}")
}
