// Objects and dispatch: interfaces, abstract and open classes with
// overrides, sealed expression trees (built, simplified with data-class
// equality, evaluated), data classes in hash sets (equals/hashCode/copy/
// toString), lambdas and closures kept in lists, function composition,
// lazy sequences, generics and extension functions.

interface Shape {
    fun area(): Long
    fun name(): String = this::class.simpleName ?: "?"
}

abstract class Polygon(val sides: Int) : Shape {
    abstract fun perimeter(): Long
    override fun name(): String = "polygon$sides"
}

open class Rect(val w: Long, val h: Long) : Polygon(4) {
    override fun area() = w * h
    override fun perimeter() = 2 * (w + h)
}

class Square(s: Long) : Rect(s, s) {
    override fun name() = "square"
}

class Tri(val b: Long, val h: Long) : Polygon(3) {
    override fun area() = b * h / 2
    override fun perimeter() = b + h + (b + h) / 2
}

class Circle(val r: Long) : Shape {
    override fun area() = 314 * r * r / 100
}

sealed class Expr {
    data class Num(val v: Long) : Expr()
    data class Var(val name: String) : Expr()
    data class Add(val l: Expr, val r: Expr) : Expr()
    data class Mul(val l: Expr, val r: Expr) : Expr()
    data class Neg(val e: Expr) : Expr()
}

fun Expr.simplify(): Expr = when (this) {
    is Expr.Num, is Expr.Var -> this
    is Expr.Neg -> when (val e = e.simplify()) {
        is Expr.Num -> Expr.Num(-e.v)
        is Expr.Neg -> e.e
        else -> Expr.Neg(e)
    }
    is Expr.Add -> {
        val a = l.simplify()
        val b = r.simplify()
        when {
            a is Expr.Num && b is Expr.Num -> Expr.Num(a.v + b.v)
            a == Expr.Num(0) -> b
            b == Expr.Num(0) -> a
            a == b -> Expr.Mul(Expr.Num(2), a)
            else -> Expr.Add(a, b)
        }
    }
    is Expr.Mul -> {
        val a = l.simplify()
        val b = r.simplify()
        when {
            a is Expr.Num && b is Expr.Num -> Expr.Num(a.v * b.v)
            a == Expr.Num(0) || b == Expr.Num(0) -> Expr.Num(0)
            a == Expr.Num(1) -> b
            b == Expr.Num(1) -> a
            else -> Expr.Mul(a, b)
        }
    }
}

fun Expr.eval(env: Map<String, Long>): Long = when (this) {
    is Expr.Num -> v
    is Expr.Var -> env.getValue(name)
    is Expr.Add -> l.eval(env) + r.eval(env)
    is Expr.Mul -> l.eval(env) * r.eval(env)
    is Expr.Neg -> -e.eval(env)
}

fun Expr.size(): Int = when (this) {
    is Expr.Num, is Expr.Var -> 1
    is Expr.Add -> 1 + l.size() + r.size()
    is Expr.Mul -> 1 + l.size() + r.size()
    is Expr.Neg -> 1 + e.size()
}

fun build(seed: Int, depth: Int): Expr {
    val s = seed and 0x7fffffff
    if (depth == 0) return if (s % 3 == 0) Expr.Var("xyz"[s % 3 + (s / 3) % 2].toString()) else Expr.Num((s % 5).toLong())
    return when (s % 4) {
        0 -> Expr.Add(build(s * 7 + 1, depth - 1), build(s * 13 + 5, depth - 1))
        1 -> Expr.Mul(build(s * 11 + 3, depth - 1), build(s * 5 + 9, depth - 1))
        2 -> Expr.Neg(build(s * 3 + 2, depth - 1))
        else -> Expr.Add(build(s * 17 + 4, depth - 1), Expr.Num(0))
    }
}

data class Point(val x: Int, val y: Int) {
    operator fun plus(o: Point) = Point(x + o.x, y + o.y)
}

data class Particle(val id: Int, val pos: Point, val vel: Point, val tag: String)

class Box<T>(val value: T) {
    fun <R> map(f: (T) -> R): Box<R> = Box(f(value))
}

fun <T> List<T>.everyOther(): List<T> = filterIndexed { i, _ -> i % 2 == 0 }

infix fun ((Long) -> Long).then(g: (Long) -> Long): (Long) -> Long = { x -> g(this(x)) }

fun main() = program {
    val n = workloadSize(200)
    val sum = Checksum()

    // Virtual dispatch over a mixed list, rebuilt every round.
    var areas = 0L
    var perims = 0L
    val names = HashMap<String, Int>()
    repeat(n) { round ->
        val shapes: List<Shape> = List(300) { i ->
            when ((i + round) % 5) {
                0 -> Rect(i.toLong(), round.toLong() + 1)
                1 -> Square(i.toLong())
                2 -> Tri(i.toLong() + 2, round.toLong())
                3 -> Circle((i % 10).toLong())
                else -> object : Shape {
                    override fun area() = (i * round).toLong()
                    override fun name() = "anon"
                }
            }
        }
        for (s in shapes) {
            areas += s.area()
            if (s is Polygon) perims += s.perimeter()
            val nm = s.name()
            names[nm] = (names[nm] ?: 0) + 1
        }
    }
    println("shapes: area $areas perimeter $perims names ${names.entries.sortedBy { it.key }.joinToString { "${it.key}=${it.value}" }}")
    sum.add(areas); sum.add(perims)

    // Expression trees.
    val env = mapOf("x" to 3L, "y" to -2L, "z" to 7L)
    var before = 0
    var after = 0
    var values = 0L
    val distinct = HashSet<Expr>()
    for (i in 0 until n * 5) {
        val e = build(i * 2654435 + 1, 3 + i % 5)
        val s = e.simplify()
        check(e.eval(env) == s.eval(env)) { "simplify changed $e" }
        before += e.size(); after += s.size(); values += s.eval(env)
        distinct.add(s)
    }
    println("exprs: nodes $before -> $after, sum $values, distinct ${distinct.size}")
    println("sample: ${build(42, 3).simplify()}")
    sum.add(before); sum.add(after); sum.add(values); sum.add(distinct.size)

    // Data classes: copy, equality, hashing, toString.
    var particles = List(n * 4) { Particle(it, Point(it % 17, it % 23), Point(it % 3 - 1, it % 5 - 2), "p${it % 9}") }
    val seen = HashSet<Point>()
    repeat(20) { step ->
        particles = particles.map { p -> p.copy(pos = p.pos + p.vel, tag = if (step % 5 == 0) p.tag + step else p.tag) }
        for (p in particles) seen.add(p.pos)
    }
    val same = particles.count { it == it.copy() }
    println("particles: ${particles.size}, positions seen ${seen.size}, self-equal $same, first ${particles.first()}")
    sum.add(particles.first().toString()); sum.add(seen.size)
    for (p in particles) sum.add(p.hashCode())

    // Lambdas and closures.
    val ops = ArrayList<(Long) -> Long>()
    for (k in 1..30) {
        val captured = k.toLong()
        ops.add(if (k % 2 == 0) { x -> x * captured % 1000003 } else { x -> x + captured })
    }
    val composed = ops.reduce { f, g -> f then g }
    var acc = 1L
    repeat(n * 50) { acc = composed(acc) }
    val boxed = Box(acc).map { it.toString() }.map { it.length to it }.map { (l, s) -> "$l:$s" }
    println("lambdas: $acc ${boxed.value}")
    sum.add(acc)

    // Sequences: lazy pipelines with generateSequence and chained stages.
    val seqSum = generateSequence(1L) { it * 3 % 1000003 }
        .map { it xor (it shr 3) }
        .filter { it % 7 != 0L }
        .windowed(5, 3) { w -> w.sum() }
        .take(n * 20)
        .sum()
    val seqWords = (1..n * 10).asSequence().map { "w${it % 97}" }.distinct().sorted().toList().everyOther()
    println("sequences: $seqSum ${seqWords.size} ${seqWords.take(4)}")
    sum.add(seqSum); for (w in seqWords) sum.add(w)
    println("checksum ${sum.hex()}")
}
