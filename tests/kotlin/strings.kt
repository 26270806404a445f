// Strings: building with StringBuilder and templates, splitting, trimming,
// case changes, a hand-written parser (no regex) for a small record format
// and for arithmetic expressions, number formatting and parsing, and
// string-keyed reassembly. Every intermediate string is garbage soon.

class Record(val id: Int, val name: String, val tags: List<String>, val score: Long)

fun makeLine(i: Int): String = buildString {
    append("  id=").append(i * 7919 % 10007)
    append("; name = \"").append("user_").append(i.toString(36)).append('"')
    append(" ;tags=")
    for (t in 0 until i % 4 + 1) {
        if (t > 0) append(',')
        append("t").append((i + t) % 13)
    }
    append(";score=").append(if (i % 5 == 0) "-" else "").append(i.toLong() * 1_000_003L % 99_991L)
    append("  ")
}

/** Parses `key=value` fields separated by `;` by hand. */
fun parseRecord(line: String): Record {
    var id = -1
    var name = ""
    var tags = emptyList<String>()
    var score = 0L
    for (field in line.trim().split(';')) {
        val eq = field.indexOf('=')
        require(eq > 0) { "no `=` in field `$field`" }
        val key = field.substring(0, eq).trim()
        val value = field.substring(eq + 1).trim()
        when (key) {
            "id" -> id = value.toInt()
            "name" -> name = value.removeSurrounding("\"")
            "tags" -> tags = value.split(',').map { it.trim() }.filter { it.isNotEmpty() }
            "score" -> score = value.toLong()
            else -> error("unknown key $key")
        }
    }
    return Record(id, name, tags, score)
}

/** A recursive-descent evaluator over a string, char by char. */
class Expr(private val s: String) {
    private var pos = 0

    fun parse(): Long {
        val v = sum()
        check(pos == s.length) { "trailing input at $pos in $s" }
        return v
    }

    private fun peek(): Char = if (pos < s.length) s[pos] else '\u0000'

    private fun skip() {
        while (peek() == ' ') pos++
    }

    private fun sum(): Long {
        var v = product()
        while (true) {
            skip()
            when (peek()) {
                '+' -> { pos++; v += product() }
                '-' -> { pos++; v -= product() }
                else -> return v
            }
        }
    }

    private fun product(): Long {
        var v = atom()
        while (true) {
            skip()
            when (peek()) {
                '*' -> { pos++; v *= atom() }
                '%' -> { pos++; val d = atom(); v = if (d == 0L) v else v % d }
                else -> return v
            }
        }
    }

    private fun atom(): Long {
        skip()
        if (peek() == '(') {
            pos++
            val v = sum()
            skip()
            check(peek() == ')') { "expected ) at $pos" }
            pos++
            return v
        }
        val start = pos
        while (peek().isDigit()) pos++
        return s.substring(start, pos).toLong()
    }
}

fun randomExpr(seed0: Int, depth: Int): String {
    val seed = seed0 and 0x7fffffff
    if (depth == 0) return (seed % 97).toString()
    val op = "+-*%"[seed % 4]
    val l = randomExpr(seed * 31 + 7, depth - 1)
    val r = randomExpr(seed * 17 + 3, depth - 1)
    return if (seed % 3 == 0) "($l $op $r)" else "$l$op$r"
}

fun caesar(s: String, k: Int): String {
    val chars = CharArray(s.length)
    for (i in s.indices) {
        val c = s[i]
        chars[i] = when (c) {
            in 'a'..'z' -> 'a' + (c - 'a' + k) % 26
            in 'A'..'Z' -> 'A' + (c - 'A' + k) % 26
            else -> c
        }
    }
    return chars.concatToString()
}

fun main() = program {
    val n = workloadSize(6000)
    val sum = Checksum()

    // Records: format, parse back, re-render.
    val records = ArrayList<Record>()
    for (i in 0 until n) records.add(parseRecord(makeLine(i)))
    val rendered = records.joinToString("\n") { r -> "${r.id}|${r.name.uppercase()}|${r.tags.joinToString("+")}|${r.score}" }
    println("records ${records.size}, rendered ${rendered.length} chars, lines ${rendered.lines().size}")
    println("first: ${rendered.lineSequence().first()}")
    println("best: ${records.maxByOrNull { it.score }?.let { "${it.name} ${it.score}" }}")
    sum.add(rendered)

    // Tag index by string concatenation.
    val byTag = HashMap<String, StringBuilder>()
    for (r in records) for (t in r.tags) byTag.getOrPut(t) { StringBuilder() }.append(r.name).append(' ')
    val tagLine = byTag.keys.sorted().joinToString(",") { "$it:${byTag.getValue(it).length}" }
    println("tags $tagLine")
    sum.add(tagLine)

    // Expressions: generate, evaluate, compare with a re-rendered copy.
    var total = 0L
    for (i in 0 until n / 10) {
        val e = randomExpr(i + 1, 5)
        val v = Expr(e).parse()
        val spaced = e.replace("+", " + ").replace("*", " * ")
        check(Expr(spaced).parse() == v) { "spacing changed the value of $e" }
        total += v
        if (i < 2) println("expr $e = $v")
    }
    println("expressions total $total")
    sum.add(total)

    // Word games: split, reverse, case, Caesar, palindromes, padding.
    val text = buildString {
        for (i in 0 until n) append(if (i % 11 == 0) "Level " else "w${i % 37}x${i % 5} ")
    }
    val words = text.split(' ').filter { it.isNotBlank() }
    val pal = words.count { it.lowercase() == it.lowercase().reversed() }
    val shifted = words.joinToString(" ") { caesar(it, it.length) }
    val back = shifted.split(" ").mapIndexed { i, w -> caesar(w, 26 - words[i].length % 26) }
    check(back == words) { "caesar round trip" }
    val padded = words.take(50).joinToString("") { it.padStart(8, '.').padEnd(10, '_') }
    println("words ${words.size}, palindromes $pal, shifted ${shifted.length} chars, padded ${padded.take(40)}")
    sum.add(shifted); sum.add(padded)

    // Number formatting round trips.
    val nums = StringBuilder()
    for (i in 0 until n) {
        val x = (i.toLong() * 2654435761L) xor (i.toLong() shl 20)
        val s = x.toString(16 + i % 20)
        check(s.toLong(16 + i % 20) == x)
        nums.append(s).append(',')
    }
    println("numbers ${nums.length} chars, ends ${nums.takeLast(20)}")
    sum.add(nums.toString())
    println("checksum ${sum.hex()}")
}
