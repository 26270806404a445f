// Binary trees: many short-lived trees of every depth (the benchmarks-game
// shape), one long-lived tree alive throughout, a persistent search tree
// whose inserts copy the path (old versions die young), and a long-lived
// mutable search tree that keeps pointing at young nodes.

class Node(val left: Node?, val right: Node?)

fun bottomUp(depth: Int): Node =
    if (depth > 0) Node(bottomUp(depth - 1), bottomUp(depth - 1)) else Node(null, null)

fun Node.check(): Int = 1 + (left?.check() ?: 0) + (right?.check() ?: 0)

/** An immutable search tree: insert copies the path from the root. */
class PNode(val key: Int, val value: String, val left: PNode?, val right: PNode?)

fun PNode?.insert(key: Int, value: String): PNode = when {
    this == null -> PNode(key, value, null, null)
    key < this.key -> PNode(this.key, this.value, left.insert(key, value), right)
    key > this.key -> PNode(this.key, this.value, left, right.insert(key, value))
    else -> PNode(key, value, left, right)
}

fun PNode?.find(key: Int): String? {
    var n = this
    while (n != null) {
        n = when {
            key < n.key -> n.left
            key > n.key -> n.right
            else -> return n.value
        }
    }
    return null
}

fun PNode?.size(): Int = if (this == null) 0 else 1 + left.size() + right.size()

/** A mutable search tree, kept for the whole run. */
class MNode(val key: Int, var count: Int) {
    var left: MNode? = null
    var right: MNode? = null
    var payload: IntArray = IntArray(key and 7)
}

class MTree {
    var root: MNode? = null
    var nodes = 0

    fun add(key: Int) {
        var n = root
        if (n == null) {
            root = MNode(key, 1); nodes++; return
        }
        while (true) {
            val cur = n!!
            if (key == cur.key) {
                cur.count++
                cur.payload = IntArray(cur.count and 15) { it * key }
                return
            }
            val next = if (key < cur.key) cur.left else cur.right
            if (next == null) {
                val m = MNode(key, 1)
                if (key < cur.key) cur.left = m else cur.right = m
                nodes++
                return
            }
            n = next
        }
    }

    fun sum(): Long {
        var s = 0L
        val stack = ArrayList<MNode>()
        root?.let { stack.add(it) }
        while (stack.isNotEmpty()) {
            val n = stack.removeAt(stack.size - 1)
            s += n.key.toLong() * n.count + n.payload.sum()
            n.left?.let { stack.add(it) }
            n.right?.let { stack.add(it) }
        }
        return s
    }
}

fun main() = program {
    val maxDepth = workloadSize(14)
    val sum = Checksum()
    val minDepth = 4
    val stretch = bottomUp(maxDepth + 1).check()
    println("stretch tree of depth ${maxDepth + 1}\t check: $stretch")
    sum.add(stretch)

    val longLived = bottomUp(maxDepth)
    val mtree = MTree()
    var seed = 12345
    var depth = minDepth
    while (depth <= maxDepth) {
        val iterations = 1 shl (maxDepth - depth + minDepth)
        var check = 0
        for (i in 1..iterations) {
            check += bottomUp(depth).check()
            seed = seed * 1103515245 + 12345
            mtree.add((seed ushr 8) % (1 shl maxDepth))
        }
        println("$iterations\t trees of depth $depth\t check: $check")
        sum.add(check)
        depth += 2
    }

    // Persistent trees: every version but the last few dies at once.
    var p: PNode? = null
    val versions = ArrayList<PNode>()
    val inserts = 1 shl (maxDepth - 1)
    for (i in 0 until inserts) {
        seed = seed * 1103515245 + 12345
        val k = (seed ushr 8) % (inserts * 2)
        p = p.insert(k, "v$k-$i")
        if (i % (inserts / 8) == 0) versions.add(p)
    }
    var found = 0
    for (k in 0 until inserts * 2) if (p.find(k) != null) found++
    println("persistent: ${p.size()} keys, $found found, ${versions.size} versions kept, sizes ${versions.map { it.size() }}")
    sum.add(found)
    for (v in versions) sum.add(v.size())

    println("long lived tree of depth $maxDepth\t check: ${longLived.check()}")
    println("mutable tree: ${mtree.nodes} nodes, sum ${mtree.sum()}")
    sum.add(longLived.check())
    sum.add(mtree.sum())
    println("checksum ${sum.hex()}")
}
