// Collections churn with string keys: HashMap word counts that grow and
// shrink, a LinkedHashMap used as an LRU cache (insertion order, evictions),
// ArrayList building/sorting/removal, HashSet set algebra, and maps of lists
// (groupBy), all with freshly built strings as keys.

val syllables = listOf("ka", "to", "ri", "ne", "su", "mi", "lo", "pa", "de", "gu", "zi", "bo")

class Rng(var state: Long) {
    fun next(): Int {
        state = state * 6364136223846793005L + 1442695040888963407L
        return (state ushr 33).toInt()
    }

    fun below(n: Int): Int = next() % n
}

fun word(r: Rng): String {
    val n = 1 + r.below(3)
    val sb = StringBuilder()
    repeat(n) { sb.append(syllables[r.below(syllables.size)]) }
    return sb.toString()
}

class LruCache(private val capacity: Int) {
    private val map = LinkedHashMap<String, String>()
    var hits = 0
    var misses = 0
    var evictions = 0

    fun get(key: String, compute: (String) -> String): String {
        val v = map.remove(key)
        if (v != null) {
            hits++
            map[key] = v // most recently used last
            return v
        }
        misses++
        val c = compute(key)
        map[key] = c
        if (map.size > capacity) {
            val eldest = map.keys.first()
            map.remove(eldest)
            evictions++
        }
        return c
    }

    fun keysInOrder(): List<String> = map.keys.toList()
}

fun main() = program {
    val rounds = workloadSize(40)
    val sum = Checksum()
    val r = Rng(42)

    // Word counts: a map that keeps growing, with entries removed as well.
    val counts = HashMap<String, Int>()
    val cache = LruCache(64)
    var totalWords = 0
    for (round in 0 until rounds) {
        val text = ArrayList<String>()
        repeat(50 * rounds) { text.add(word(r)) }
        totalWords += text.size
        for (w in text) counts[w] = (counts[w] ?: 0) + 1
        // Drop the rare words every few rounds.
        if (round % 5 == 4) {
            val rare = counts.filterValues { it < round / 5 + 2 }.keys
            for (k in rare) counts.remove(k)
        }
        for (w in text.subList(0, text.size / 7)) {
            sum.add(cache.get(w) { it.reversed().uppercase() + ":" + it.length })
        }
    }
    val top = counts.entries.sortedWith(compareBy<Map.Entry<String, Int>>({ -it.value }, { it.key })).take(5)
    println("words $totalWords, distinct kept ${counts.size}, top ${top.map { "${it.key}=${it.value}" }}")
    println("lru hits ${cache.hits} misses ${cache.misses} evictions ${cache.evictions}, oldest ${cache.keysInOrder().take(3)}")
    for ((k, v) in counts) {
        sum.add(k); sum.add(v)
    }

    // Lists: build, sort, remove every third, insert in the middle.
    val list = ArrayList<String>()
    repeat(rounds * 400) { list.add("item-${r.below(100000)}-${word(r)}") }
    list.sort()
    var i = 0
    val it = list.iterator()
    while (it.hasNext()) {
        it.next()
        if (i++ % 3 == 0) it.remove()
    }
    repeat(200) { list.add(list.size / 2, "mid$it") }
    println("list ${list.size}: first ${list.first()}, last ${list.last()}, mid ${list[list.size / 2]}")
    list.forEachIndexed { idx, s -> if (idx % 7 == 0) sum.add(s) }

    // Sets: union, intersection, difference of word sets.
    val a = HashSet<String>()
    val b = HashSet<String>()
    repeat(rounds * 200) { a.add(word(r)); b.add(word(r)) }
    val union = (a union b).size
    val inter = (a intersect b).size
    val diff = (a subtract b).sorted()
    println("sets: |a|=${a.size} |b|=${b.size} union $union intersection $inter a-b ${diff.size} ${diff.take(3)}")
    sum.add(union); sum.add(inter); for (d in diff) sum.add(d)

    // Maps of lists, rebuilt every round.
    var groups: Map<Int, List<String>> = emptyMap()
    repeat(rounds) { round ->
        val words = List(40 * rounds) { word(r) + round }
        groups = words.groupBy { it.length }
        val lengths = LinkedHashMap<String, Int>()
        for (w in words) lengths.getOrPut(w.substring(0, 2)) { w.length }
        sum.add(lengths.size)
    }
    println("groups by length: ${groups.keys.sorted().map { "$it:${groups.getValue(it).size}" }}")
    for ((k, v) in groups) {
        sum.add(k); sum.add(v.size)
    }
    println("checksum ${sum.hex()}")
}
