// Coroutines without kotlinx: `sequence {}` generators (yield, yieldAll,
// recursion through yieldAll, a lazy prime sieve of nested filters), an
// `iterator {}` builder, and a round-robin scheduler made from
// createCoroutine / suspendCoroutine: tasks passing messages through queues,
// every suspension a fresh continuation object.

import kotlin.coroutines.Continuation
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.EmptyCoroutineContext
import kotlin.coroutines.createCoroutine
import kotlin.coroutines.resume
import kotlin.coroutines.suspendCoroutine

class Tree(val value: Int, val left: Tree?, val right: Tree?)

fun makeTree(lo: Int, hi: Int): Tree? =
    if (lo > hi) null else ((lo + hi) / 2).let { m -> Tree(m, makeTree(lo, m - 1), makeTree(m + 1, hi)) }

fun inOrder(t: Tree?): Sequence<Int> = sequence {
    if (t != null) {
        yieldAll(inOrder(t.left))
        yield(t.value)
        yieldAll(inOrder(t.right))
    }
}

fun primes(): Sequence<Int> = sequence {
    var candidates = generateSequence(2) { it + 1 }
    while (true) {
        val p = candidates.first()
        yield(p)
        val prev = candidates
        candidates = prev.filter { it % p != 0 }
    }
}

fun fib(): Iterator<Long> = iterator {
    var a = 0L
    var b = 1L
    while (true) {
        yield(a)
        val t = a + b
        a = b
        b = t % 1_000_000_007L
    }
}

/** A cooperative scheduler: ready continuations run in FIFO order. */
class Scheduler {
    private val ready = ArrayDeque<() -> Unit>()
    var switches = 0

    fun spawn(name: String, body: suspend Scheduler.() -> Unit) {
        val done = object : Continuation<Unit> {
            override val context: CoroutineContext = EmptyCoroutineContext
            override fun resumeWith(result: Result<Unit>) {
                result.getOrThrow()
                finished.add(name)
            }
        }
        val c = body.createCoroutine(this, done)
        ready.addLast { c.resume(Unit) }
    }

    val finished = ArrayList<String>()

    suspend fun yieldNow() = suspendCoroutine<Unit> { c ->
        switches++
        ready.addLast { c.resume(Unit) }
    }

    fun run() {
        while (ready.isNotEmpty()) ready.removeFirst()()
    }
}

/** A channel with one waiting receiver at most. */
class Channel<T>(private val s: Scheduler) {
    private val items = ArrayDeque<T>()
    private var waiter: Continuation<T>? = null

    fun send(x: T) {
        val w = waiter
        if (w != null) {
            waiter = null
            w.resume(x)
        } else {
            items.addLast(x)
        }
    }

    suspend fun receive(): T {
        if (items.isNotEmpty()) return items.removeFirst()
        return suspendCoroutine { c -> waiter = c }
    }
}

fun main() = program {
    val n = workloadSize(20000)
    val sum = Checksum()

    val tree = makeTree(1, n)
    val walked = inOrder(tree).toList()
    check(walked == (1..n).toList()) { "in-order walk" }
    println("tree walk: ${walked.size} values, sum ${walked.sum()}")
    sum.add(walked.sum())

    val ps = primes().take(100 + n / 100).toList()
    println("primes: ${ps.size}, last ${ps.last()}, sum ${ps.sum()}")
    for (p in ps) sum.add(p)

    val f = fib()
    var fs = 0L
    repeat(n * 10) { fs = (fs + f.next()) % 1_000_000_007L }
    println("fib sum $fs")
    sum.add(fs)

    // Pipelines of tasks: producer -> stages -> consumer, with yields.
    val s = Scheduler()
    val stages = 6
    val chans = List(stages + 1) { Channel<String>(s) }
    val received = ArrayList<String>()
    s.spawn("producer") {
        for (i in 0 until n) {
            chans[0].send("m$i")
            if (i % 3 == 0) yieldNow()
        }
        chans[0].send("end")
    }
    for (k in 0 until stages) {
        s.spawn("stage$k") {
            while (true) {
                val m = chans[k].receive()
                if (m == "end") {
                    chans[k + 1].send(m)
                    break
                }
                chans[k + 1].send(if (m.length % 2 == k % 2) "$m.$k" else m.reversed())
                if ((m.length + k) % 4 == 0) yieldNow()
            }
        }
    }
    s.spawn("consumer") {
        while (true) {
            val m = chans[stages].receive()
            if (m == "end") break
            received.add(m)
        }
    }
    s.run()
    println("pipeline: ${received.size} messages, ${s.switches} switches, finished ${s.finished}")
    println("received ${received.take(3)} .. ${received.last()}")
    for (m in received) sum.add(m)

    // Many short coroutines, each suspending a few times.
    val s2 = Scheduler()
    var total = 0L
    for (t in 0 until n / 4) {
        s2.spawn("t$t") {
            var local = ""
            repeat(t % 7 + 1) { r ->
                local += "$t/$r;"
                yieldNow()
            }
            total += local.length
        }
    }
    s2.run()
    println("short tasks: ${s2.finished.size} finished, ${s2.switches} switches, total $total, last ${s2.finished.last()}")
    sum.add(total)
    println("checksum ${sum.hex()}")
}
