/* Optional C versions of the byte loops of a cold `gator scan` and doctor run (see speedups.py).
 *
 * Each function gives exactly what its pure-Python original gives (tests/analysis/
 * test_speedups.py compares them on generated and real input):
 *   utf8_valid(data)                -> bool: data.decode("utf-8") would succeed
 *   strip_opaque(data)              -> bytes: quickbind._OPAQUE.sub(b"", data)
 *   import_keyword_lines(data, names) -> list[int]: the offsets of b"import" in data whose
 *       line names one of `names` or ends with a backslash (candidates._statements' line test)
 *   import_pairs(data, names, watched) -> tuple: candidates.import_pairs on those lines (the
 *       statement pattern and the targets' reading, without a regex match object per statement)
 *   contains_all(data, needles)     -> bool: all(n in data for n in needles)
 *
 * Plain C99 and the stable parts of the CPython API, so that it builds wherever CPython does
 * (memmem only where the C library declares it: find_bytes); the build is optional and gator
 * runs without it.
 */
#define PY_SSIZE_T_CLEAN
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem in glibc's string.h */
#endif
#include <Python.h>
#include <string.h>

#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>
#define GATOR_SSE2 1
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GATOR_AVX2 1 /* compiled for every x86 build, used where the CPU has it */
#endif
#endif

/* ---------------------------------------------------------------- utf8_valid */

/* RFC 3629, as CPython's strict UTF-8 decoder: no overlong forms, no surrogates, nothing above
 * U+10FFFF. */
static int
utf8_ok(const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    while (i < n) {
        /* ASCII runs: sixteen bytes at a time with SSE2, then eight where aligned reads are not
         * needed (memcpy) */
#ifdef GATOR_SSE2
        while (i + 16 <= n && _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(s + i))) == 0)
            i += 16;
#endif
        while (i + 8 <= n) {
            unsigned long long w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
                return 0;
            i += 2;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n)
                return 0;
            unsigned char c1 = s[i + 1];
            unsigned char lo = (c == 0xE0) ? 0xA0 : 0x80;
            unsigned char hi = (c == 0xED) ? 0x9F : 0xBF;
            if (c1 < lo || c1 > hi || (s[i + 2] & 0xC0) != 0x80)
                return 0;
            i += 3;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n)
                return 0;
            unsigned char c1 = s[i + 1];
            unsigned char lo = (c == 0xF0) ? 0x90 : 0x80;
            unsigned char hi = (c == 0xF4) ? 0x8F : 0xBF;
            if (c1 < lo || c1 > hi || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                return 0;
            i += 4;
        }
        else {
            return 0; /* a continuation byte first, C0/C1, or F5-FF */
        }
    }
    return 1;
}

static PyObject *
utf8_valid(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = utf8_ok((const unsigned char *)view.buf, view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyBool_FromLong(ok);
}

/* -------------------------------------------------------------- strip_opaque */

/* The end of the match of quickbind._OPAQUE's alternative for a string opening at i, or -1.
 * Triple-quoted: """(?:[^"\\]++|\\.|"(?!""))*+"""   single: "(?:[^"\\\n]++|\\.)*+"
 * (re.S: `\\.` takes any byte after a backslash, a newline included; possessive loops, so the
 * first way the loop cannot go on ends it). */
static Py_ssize_t
string_end(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, unsigned char q, int triple)
{
    const Py_ssize_t quotes = triple ? 3 : 1;
    Py_ssize_t j = i + quotes;
    while (j < n) {
        unsigned char c = s[j];
        if (c == '\\') {
            if (j + 1 >= n)
                break;
            j += 2;
        }
        else if (c == q) {
            if (!triple || (j + 2 < n && s[j + 1] == q && s[j + 2] == q))
                break; /* the closing quote(s) */
            j++;
        }
        else if (c == '\n' && !triple) {
            break;
        }
        else {
            j++;
        }
    }
    if (j + quotes <= n && s[j] == q && (!triple || (s[j + 1] == q && s[j + 2] == q)))
        return j + quotes;
    return -1;
}

static Py_ssize_t
strip_into(const unsigned char *s, Py_ssize_t n, unsigned char *out)
{
    Py_ssize_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = s[i];
        Py_ssize_t end = -1;
        if (c == '#') {
            end = i + 1;
            while (end < n && s[end] != '\n')
                end++;
        }
        else if (c == '"' || c == '\'') {
            if (i + 2 < n && s[i + 1] == c && s[i + 2] == c)
                end = string_end(s, n, i, c, 1);
            if (end < 0)
                end = string_end(s, n, i, c, 0);
        }
        else {
            /* a run of plain bytes, copied as it is */
            Py_ssize_t j = i + 1;
            while (j < n && s[j] != '#' && s[j] != '"' && s[j] != '\'')
                j++;
            memcpy(out + o, s + i, (size_t)(j - i));
            o += j - i;
            i = j;
            continue;
        }
        if (end < 0) { /* no match here: the quote stays, and the search goes on after it */
            out[o++] = c;
            i++;
        }
        else {
            i = end;
        }
    }
    return o;
}

static PyObject *
strip_opaque(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    unsigned char *out = (unsigned char *)PyMem_Malloc(view.len ? (size_t)view.len : 1);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_ssize_t len;
    Py_BEGIN_ALLOW_THREADS
    len = strip_into((const unsigned char *)view.buf, view.len, out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    PyObject *result = PyBytes_FromStringAndSize((const char *)out, len);
    PyMem_Free(out);
    return result;
}

/* ------------------------------------------------------- import_keyword_lines */


#ifdef GATOR_SSE2
/* The first start i + k (bit k of `mask` set: its first and last bytes match) where the whole
 * needle lies, or -1. */
static inline Py_ssize_t
first_hit(const unsigned char *s, Py_ssize_t i, unsigned mask, const unsigned char *w, Py_ssize_t m)
{
    for (; mask != 0; mask &= mask - 1) {
        const Py_ssize_t at = i + __builtin_ctz(mask);
        if (memcmp(s + at + 1, w + 1, (size_t)(m - 2)) == 0)
            return at;
    }
    return -1;
}
#endif

#ifdef GATOR_AVX2
/* find_bytes' first-and-last-byte comparison thirty-two starts at a time: a start in [*at, to)
 * where the needle lies, or -1 with *at moved to the first start not yet compared. */
__attribute__((target("avx2"))) static Py_ssize_t
find_avx2(const unsigned char *s, Py_ssize_t *at, Py_ssize_t to, const unsigned char *w, Py_ssize_t m)
{
    const __m256i first = _mm256_set1_epi8((char)w[0]);
    const __m256i last = _mm256_set1_epi8((char)w[m - 1]);
    Py_ssize_t i = *at;
    for (; i + m - 1 + 32 <= to; i += 32) {
        const __m256i head = _mm256_loadu_si256((const __m256i *)(s + i));
        const __m256i tail = _mm256_loadu_si256((const __m256i *)(s + i + m - 1));
        const unsigned mask = (unsigned)_mm256_movemask_epi8(
            _mm256_and_si256(_mm256_cmpeq_epi8(head, first), _mm256_cmpeq_epi8(tail, last)));
        const Py_ssize_t hit = mask != 0 ? first_hit(s, i, mask, w, m) : -1;
        if (hit >= 0)
            return hit;
    }
    *at = i;
    return -1;
}

static int
have_avx2(void)
{
    static int known = -1;
    if (known < 0)
        known = __builtin_cpu_supports("avx2") ? 1 : 0;
    return known;
}
#endif

/* The first offset in [from, to) where `w` (m bytes) starts and ends, or -1.
 *
 * With SSE2 (every x86-64 CPU), sixteen starts at a time (thirty-two with AVX2, where the CPU has
 * it): the bytes that equal the needle's first byte, and those a needle-length on that equal its
 * last, are compared in two registers, and only a start where both match is compared in full
 * (W. Mula's "SIMD-friendly algorithms for substring searching"). glibc's memmem is the generic
 * two-way search, a byte at a time, and this search is most of a cold doctor run's C time
 * (docs/imports.md has the figures). Elsewhere memmem where the C library has it (musl, macOS,
 * the BSDs), else a scan for the needle's last byte. */
static Py_ssize_t
find_bytes(const unsigned char *s, Py_ssize_t from, Py_ssize_t to, const unsigned char *w, Py_ssize_t m)
{
    if (m == 0)
        return from <= to ? from : -1;
    if (to - from < m)
        return -1;
    if (m == 1) {
        const unsigned char *p = memchr(s + from, w[0], (size_t)(to - from));
        return p == NULL ? -1 : p - s;
    }
#ifdef GATOR_SSE2
    Py_ssize_t i = from;
#ifdef GATOR_AVX2
    if (to - from >= 64 && have_avx2()) {
        const Py_ssize_t hit = find_avx2(s, &i, to, w, m);
        if (hit >= 0)
            return hit;
    }
#endif
    const __m128i first = _mm_set1_epi8((char)w[0]);
    const __m128i last = _mm_set1_epi8((char)w[m - 1]);
    for (; i + m - 1 + 16 <= to; i += 16) {
        const __m128i head = _mm_loadu_si128((const __m128i *)(s + i));
        const __m128i tail = _mm_loadu_si128((const __m128i *)(s + i + m - 1));
        const unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(head, first), _mm_cmpeq_epi8(tail, last)));
        const Py_ssize_t hit = mask != 0 ? first_hit(s, i, mask, w, m) : -1;
        if (hit >= 0)
            return hit;
    }
    for (; i + m <= to; i++)
        if (s[i] == w[0] && s[i + m - 1] == w[m - 1] && memcmp(s + i + 1, w + 1, (size_t)(m - 2)) == 0)
            return i;
    return -1;
#elif !defined(GATOR_NO_MEMMEM) && (defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__) || \
    defined(__OpenBSD__) || defined(__NetBSD__) || (defined(__linux__) && !defined(__ANDROID__)))
    const unsigned char *p = memmem(s + from, (size_t)(to - from), w, (size_t)m);
    return p == NULL ? -1 : p - s;
#else
    const unsigned char lastc = w[m - 1];
    for (Py_ssize_t i = from + m - 1; i < to; i++) {
        const unsigned char *p = memchr(s + i, lastc, (size_t)(to - i));
        if (p == NULL)
            return -1;
        i = p - s;
        if (memcmp(s + i - (m - 1), w, (size_t)(m - 1)) == 0)
            return i - (m - 1);
    }
    return -1;
#endif
}

/* The names a line test looks for (a tuple of bytes), by first byte: bit k of first[c] is set
 * when name k starts with c. One pass over a line then finds any of them, where a search per name
 * read the line once for each (import lines are short, and most name none). A tuple of more than
 * NAME_BITS names, or one holding b"", is searched name by name (`names` kept for that). */
#define NAME_BITS 32
typedef struct {
    PyObject *names;
    int by_byte; /* the table below is used */
    unsigned first[256];
    const unsigned char *name[NAME_BITS];
    Py_ssize_t len[NAME_BITS];
} name_set;

static void
name_set_init(name_set *ns, PyObject *names)
{
    const Py_ssize_t count = PyTuple_GET_SIZE(names);
    ns->names = names;
    ns->by_byte = count <= NAME_BITS;
    memset(ns->first, 0, sizeof ns->first);
    for (Py_ssize_t k = 0; k < count && ns->by_byte; k++) {
        PyObject *name = PyTuple_GET_ITEM(names, k);
        ns->name[k] = (const unsigned char *)PyBytes_AS_STRING(name);
        ns->len[k] = PyBytes_GET_SIZE(name);
        if (ns->len[k] == 0)
            ns->by_byte = 0;
        else
            ns->first[ns->name[k][0]] |= 1u << k;
    }
}

/* True when s[from:to] holds one of the names. */
static int
names_in(const unsigned char *s, Py_ssize_t from, Py_ssize_t to, const name_set *ns)
{
    if (!ns->by_byte) {
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(ns->names); k++) {
            PyObject *name = PyTuple_GET_ITEM(ns->names, k);
            if (find_bytes(s, from, to, (const unsigned char *)PyBytes_AS_STRING(name), PyBytes_GET_SIZE(name)) >= 0)
                return 1;
        }
        return 0;
    }
    for (Py_ssize_t i = from; i < to; i++) {
        unsigned mask = ns->first[s[i]];
        for (int k = 0; mask != 0; k++, mask >>= 1) {
            const Py_ssize_t m = ns->len[k];
            /* (the last byte first: most first-byte hits end there, without a call) */
            if ((mask & 1u) && m <= to - i && s[i + m - 1] == ns->name[k][m - 1] &&
                memcmp(s + i, ns->name[k], (size_t)m) == 0)
                return 1;
        }
    }
    return 0;
}

/* Where the next b"import" lies whose line names one of the names or ends with a backslash: -1
 * when none is left. `st` carries the scan from one call to the next. */
typedef struct {
    Py_ssize_t pos;  /* where to look from */
    Py_ssize_t eol;  /* the end of the line last judged, and its verdict */
    int line_ok;
} keyword_scan;

static Py_ssize_t
next_keyword(const unsigned char *s, Py_ssize_t n, const name_set *names, keyword_scan *st)
{
    static const unsigned char keyword[] = "import";
    Py_ssize_t pos = find_bytes(s, st->pos, n, keyword, 6);
    while (pos >= 0) {
        if (pos >= st->eol) { /* a new line: does it name a module, or go on after a backslash? */
            Py_ssize_t ls = pos;
            while (ls > 0 && s[ls - 1] != '\n')
                ls--;
            const unsigned char *nl = memchr(s + pos, '\n', (size_t)(n - pos));
            st->eol = nl == NULL ? n : nl - s;
            st->line_ok = names_in(s, ls, st->eol, names);
            if (!st->line_ok)
                st->line_ok = s[st->eol - 1] == '\\' || (s[st->eol - 1] == '\r' && s[st->eol - 2] == '\\');
        }
        if (st->line_ok) {
            st->pos = pos + 6;
            return pos;
        }
        pos = find_bytes(s, pos + 6, n, keyword, 6);
    }
    st->pos = n;
    return -1;
}

static int
bytes_tuple(PyObject *t, const char *what)
{
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(t); k++) {
        if (!PyBytes_Check(PyTuple_GET_ITEM(t, k))) {
            PyErr_Format(PyExc_TypeError, "%s must be a tuple of bytes", what);
            return 0;
        }
    }
    return 1;
}

/* The (buffer, tuple of bytes) arguments of contains_all and import_keyword_lines; 0 with an
 * exception set (and nothing to release) when they are not that. */
static int
buffer_and_names(PyObject *args, Py_buffer *view, PyObject **names, const char *what)
{
    if (!PyArg_ParseTuple(args, "y*O!", view, &PyTuple_Type, names))
        return 0;
    if (!bytes_tuple(*names, what)) {
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

/* contains_all(data, needles): True when every needle (a tuple of bytes) occurs in data, each
 * asked with find_bytes in the tuple's order, stopping at the first one missing. */
static PyObject *
contains_all(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *needles;
    if (!buffer_and_names(args, &view, &needles, "needles"))
        return NULL;
    int all = 1;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(needles) && all; k++) {
        PyObject *needle = PyTuple_GET_ITEM(needles, k);
        all = find_bytes((const unsigned char *)view.buf, 0, view.len,
                         (const unsigned char *)PyBytes_AS_STRING(needle), PyBytes_GET_SIZE(needle)) >= 0;
    }
    PyBuffer_Release(&view);
    return PyBool_FromLong(all);
}

static PyObject *
import_keyword_lines(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *names;
    if (!buffer_and_names(args, &view, &names, "names"))
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    name_set ns;
    name_set_init(&ns, names);
    keyword_scan st = {0, -1, 0};
    Py_ssize_t pos;
    while ((pos = next_keyword((const unsigned char *)view.buf, view.len, &ns, &st)) >= 0) {
        PyObject *at = PyLong_FromSsize_t(pos);
        if (at == NULL || PyList_Append(out, at) < 0) {
            Py_XDECREF(at);
            Py_DECREF(out);
            PyBuffer_Release(&view);
            return NULL;
        }
        Py_DECREF(at);
    }
    PyBuffer_Release(&view);
    return out;
}

/* --------------------------------------------------------------- import_pairs */

/* candidates.import_pairs with the line test above: the distinct (module, name or None) of the
 * statements candidates._statements finds, read as its _STMT pattern and _targets read them. */

static int
word_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
word_char(unsigned char c) /* [\w.] of a bytes pattern */
{
    return word_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static int
blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* The end of (?:[^\n\\#;]|\\\r?\n)* from i. */
static Py_ssize_t
line_run(const unsigned char *s, Py_ssize_t i, Py_ssize_t n)
{
    while (i < n) {
        unsigned char c = s[i];
        if (c == '\n' || c == '#' || c == ';')
            break;
        if (c == '\\') {
            if (i + 1 < n && s[i + 1] == '\n')
                i += 2;
            else if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n')
                i += 3;
            else
                break;
            continue;
        }
        i++;
    }
    return i;
}

typedef struct {
    int kind;               /* 0: no statement, 1: from M import NAMES, 2: import MODS */
    Py_ssize_t gs, ge;      /* the module (1) or the modules (2) */
    Py_ssize_t ns, ne;      /* the names (1) */
} statement;

/* _STMT.match(s, i). */
static statement
match_statement(const unsigned char *s, Py_ssize_t n, Py_ssize_t i)
{
    statement m = {0, 0, 0, 0, 0};
    while (i < n && blank(s[i]))
        i++;
    if (n - i >= 4 && memcmp(s + i, "from", 4) == 0) {
        Py_ssize_t k = i + 4;
        while (k < n && blank(s[k]))
            k++;
        Py_ssize_t ms = k;
        while (k > i + 4 && k < n && word_char(s[k]))
            k++;
        Py_ssize_t me = k;
        while (me > ms && k < n && blank(s[k]))
            k++;
        if (me > ms && k > me && n - k >= 6 && memcmp(s + k, "import", 6) == 0) {
            k += 6;
            while (k < n && blank(s[k]))
                k++;
            Py_ssize_t e = -1;
            if (k < n && s[k] == '(') { /* \([^)]*\), else the line */
                const unsigned char *close = memchr(s + k + 1, ')', (size_t)(n - k - 1));
                if (close != NULL)
                    e = close - s + 1;
            }
            m.kind = 1;
            m.gs = ms;
            m.ge = me;
            m.ns = k;
            m.ne = e >= 0 ? e : line_run(s, k, n);
            return m;
        }
    }
    if (n - i >= 6 && memcmp(s + i, "import", 6) == 0) {
        Py_ssize_t j = i + 6, k = j;
        while (k < n && blank(s[k]))
            k++;
        if (k > j) {
            Py_ssize_t e = line_run(s, k, n);
            if (e > k || k - j >= 2) { /* (else the pattern backtracks: the last blank is the group) */
                m.kind = 2;
                m.gs = e > k ? k : k - 1;
                m.ge = e > k ? e : k;
            }
        }
    }
    return m;
}

/* _first_word: the first [A-Za-z_][\w.]* or `*` in s[i:end), skipping comments when asked (the
 * names of a `from` statement lose them first); its span, and where the part ends (the next
 * comma outside a comment, or end). *ws = -1: no word. */
static Py_ssize_t
part_word(const unsigned char *s, Py_ssize_t i, Py_ssize_t end, int comments, Py_ssize_t *ws, Py_ssize_t *we)
{
    *ws = -1;
    while (i < end && s[i] != ',') {
        unsigned char c = s[i];
        if (comments && c == '#') {
            while (i < end && s[i] != '\n')
                i++;
            continue;
        }
        if (*ws < 0 && (c == '*' || word_start(c))) {
            *ws = i++;
            if (c != '*')
                while (i < end && word_char(s[i]))
                    i++;
            *we = i;
            continue;
        }
        i++;
    }
    return i;
}

static int
watched_top(PyObject *watched, const unsigned char *p, Py_ssize_t len)
{
    const unsigned char *dot = memchr(p, '.', (size_t)len);
    Py_ssize_t top = dot == NULL ? len : dot - p;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(watched); k++) {
        PyObject *w = PyTuple_GET_ITEM(watched, k);
        if (PyBytes_GET_SIZE(w) == top && memcmp(PyBytes_AS_STRING(w), p, (size_t)top) == 0)
            return 1;
    }
    return 0;
}

/* Add (s[ms:me], s[ws:we] or None) to the ordered set `seen` (a dict). -1: an error is set. */
static int
add_pair(PyObject *seen, const unsigned char *s, Py_ssize_t ms, Py_ssize_t me, Py_ssize_t ws, Py_ssize_t we)
{
    PyObject *mod = PyUnicode_FromStringAndSize((const char *)s + ms, me - ms);
    PyObject *name = ws < 0 ? Py_NewRef(Py_None) : PyUnicode_FromStringAndSize((const char *)s + ws, we - ws);
    PyObject *key = mod != NULL && name != NULL ? PyTuple_Pack(2, mod, name) : NULL;
    Py_XDECREF(mod);
    Py_XDECREF(name);
    if (key == NULL)
        return -1;
    int found = PyDict_Contains(seen, key);
    int rc = found < 0 ? -1 : found ? 0 : PyDict_SetItem(seen, key, Py_None);
    Py_DECREF(key);
    return rc;
}

static int
statement_pairs(PyObject *seen, PyObject *watched, const unsigned char *s, statement m)
{
    Py_ssize_t ws, we;
    if (m.kind == 1) {
        if (s[m.gs] == '.' || !watched_top(watched, s + m.gs, m.ge - m.gs))
            return 0;
        for (Py_ssize_t i = m.ns; i <= m.ne; i++) {
            i = part_word(s, i, m.ne, 1, &ws, &we);
            if (ws < 0 || memchr(s + ws, '.', (size_t)(we - ws)) != NULL)
                continue;
            int star = s[ws] == '*';
            if (add_pair(seen, s, m.gs, m.ge, star ? -1 : ws, we) < 0)
                return -1;
        }
        return 0;
    }
    for (Py_ssize_t i = m.gs; i <= m.ge; i++) {
        i = part_word(s, i, m.ge, 0, &ws, &we);
        if (ws >= 0 && s[ws] != '*' && watched_top(watched, s + ws, we - ws) && add_pair(seen, s, ws, we, -1, 0) < 0)
            return -1;
    }
    return 0;
}

static PyObject *
import_pairs(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *names, *watched;
    if (!PyArg_ParseTuple(args, "y*O!O!", &view, &PyTuple_Type, &names, &PyTuple_Type, &watched))
        return NULL;
    PyObject *seen = NULL;
    if (!bytes_tuple(names, "names") || !bytes_tuple(watched, "watched") || (seen = PyDict_New()) == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *s = (const unsigned char *)view.buf;
    const Py_ssize_t n = view.len;
    name_set ns;
    name_set_init(&ns, names);
    keyword_scan st = {0, -1, 0};
    Py_ssize_t pos, last = -1; /* the last start tried: they only grow (see _statements) */
    while ((pos = next_keyword(s, n, &ns, &st)) >= 0) {
        Py_ssize_t ls = pos, sep = -1;
        while (ls > 0 && s[ls - 1] != '\n')
            ls--;
        for (Py_ssize_t i = pos - 1; i >= ls && sep < 0; i--)
            if (s[i] == ';' || s[i] == ':')
                sep = i;
        Py_ssize_t starts[2] = {ls, sep + 1};
        for (int k = 0; k < (sep >= 0 ? 2 : 1); k++) {
            if (starts[k] <= last)
                continue;
            last = starts[k];
            statement m = match_statement(s, n, starts[k]);
            if (m.kind != 0 && statement_pairs(seen, watched, s, m) < 0) {
                Py_DECREF(seen);
                PyBuffer_Release(&view);
                return NULL;
            }
        }
    }
    PyBuffer_Release(&view);
    PyObject *out = PySequence_Tuple(seen);
    Py_DECREF(seen);
    return out;
}

/* ------------------------------------------------------------------ read_file */

#ifndef _WIN32
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* A read(2) that goes on after a signal as os.read does (PEP 475): the handler runs, and an
 * exception it raises (KeyboardInterrupt) ends the read. -1: failed (*err: errno); -2: the
 * handler's exception is set. */
static Py_ssize_t
read_some(int fd, char *buf, Py_ssize_t n, int *err)
{
    for (;;) {
        Py_ssize_t got;
        int e = 0;
        Py_BEGIN_ALLOW_THREADS
        got = read(fd, buf, (size_t)n);
        if (got < 0)
            e = errno;
        Py_END_ALLOW_THREADS
        if (got >= 0)
            return got;
        if (e != EINTR) {
            *err = e;
            return -1;
        }
        if (PyErr_CheckSignals() < 0)
            return -2;
    }
}

/* read_file(path, limit) -> (data or None, size, mtime_ns, errno): what scan._read_one does with
 * os.open, os.fstat, os.read and os.close, without building a stat result per file. data is
 * None with errno 0 when the file is larger than `limit`; with errno set when it could not be
 * opened, stat'ed or read (size and mtime_ns are then -1 unless the stat succeeded). */
static PyObject *
read_file(PyObject *self, PyObject *args)
{
    PyObject *path;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "O&n", PyUnicode_FSConverter, &path, &limit))
        return NULL;
    const char *cpath = PyBytes_AS_STRING(path);
    int fd, err = 0;
    Py_BEGIN_ALLOW_THREADS
    do {
        fd = open(cpath, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        err = errno;
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (fd < 0)
        return Py_BuildValue("(Onni)", Py_None, (Py_ssize_t)-1, (Py_ssize_t)-1, err);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err = errno;
        close(fd);
        return Py_BuildValue("(Onni)", Py_None, (Py_ssize_t)-1, (Py_ssize_t)-1, err);
    }
#if defined(__APPLE__)
    long long mtime_ns = (long long)st.st_mtimespec.tv_sec * 1000000000LL + st.st_mtimespec.tv_nsec;
#else
    long long mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
#endif
    long long size = (long long)st.st_size;
    if (size > limit) {
        close(fd);
        return Py_BuildValue("(OLLi)", Py_None, size, mtime_ns, 0);
    }
    /* one read of the known size plus one byte (to see a file that grew meanwhile), then, only
     * if it grew, steps of 1 MiB until the end, as _read_one does */
    Py_ssize_t cap = (Py_ssize_t)size + 1;
    PyObject *data = PyBytes_FromStringAndSize(NULL, cap);
    if (data == NULL) {
        close(fd);
        return NULL;
    }
    Py_ssize_t len = read_some(fd, PyBytes_AS_STRING(data), cap, &err);
    if (len == cap) {
        for (;;) {
            const Py_ssize_t step = 1 << 20;
            if (_PyBytes_Resize(&data, len + step) < 0) {
                close(fd);
                return NULL;
            }
            Py_ssize_t got = read_some(fd, PyBytes_AS_STRING(data) + len, step, &err);
            if (got <= 0) {
                if (got < 0)
                    len = got;
                break;
            }
            len += got;
        }
    }
    if (len < 0) {
        close(fd);
        Py_DECREF(data);
        if (len == -2)
            return NULL; /* the signal handler's exception */
        return Py_BuildValue("(OLLi)", Py_None, size, mtime_ns, err);
    }
    close(fd);
    if (_PyBytes_Resize(&data, len) < 0)
        return NULL;
    return Py_BuildValue("(NLLi)", data, size, mtime_ns, 0);
}

/* ------------------------------------------------------------------ walk_files */

#include <dirent.h>
#include <stdlib.h>

typedef struct {
    char *name;
    int is_dir; /* followed through symbolic links, as DirEntry.is_dir() */
    int is_file;
} Entry;

static int
entry_cmp(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name);
}

/* Whether `name` ends with one of `suffixes` / is one of `names` (tuples of str, as UTF-8) */
static int
in_names(const char *name, PyObject *names)
{
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(names); k++) {
        const char *n = PyUnicode_AsUTF8(PyTuple_GET_ITEM(names, k));
        if (n != NULL && strcmp(name, n) == 0)
            return 1;
    }
    return 0;
}

static int
ends_with(const char *name, PyObject *suffixes)
{
    size_t len = strlen(name);
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(suffixes); k++) {
        const char *suf = PyUnicode_AsUTF8(PyTuple_GET_ITEM(suffixes, k));
        size_t m = suf == NULL ? 0 : strlen(suf);
        if (suf != NULL && m <= len && strcmp(name + len - m, suf) == 0)
            return 1;
    }
    return 0;
}

static int
valid_utf8_name(const char *name)
{
    return utf8_ok((const unsigned char *)name, (Py_ssize_t)strlen(name));
}

/* One folder's entries, sorted by name; -1 when it cannot be listed (skipped, as the Python walk
 * skips it), -2 when a name is not UTF-8 (the caller lets the Python walk decide). */
static Py_ssize_t
list_dir(const char *dirpath, Entry **out)
{
    DIR *d = opendir(dirpath);
    if (d == NULL)
        return -1;
    Py_ssize_t n = 0, cap = 64;
    Entry *entries = malloc(sizeof(Entry) * (size_t)cap);
    if (entries == NULL) {
        closedir(d);
        return -3;
    }
    size_t dlen = strlen(dirpath);
    struct dirent *e;
    Py_ssize_t status = 0;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))
            continue;
        if (!valid_utf8_name(name)) {
            status = -2;
            break;
        }
        if (n == cap) {
            cap *= 2;
            Entry *grown = realloc(entries, sizeof(Entry) * (size_t)cap);
            if (grown == NULL) {
                status = -3;
                break;
            }
            entries = grown;
        }
        int is_dir = 0, is_file = 0;
#ifdef DT_DIR
        if (e->d_type == DT_DIR)
            is_dir = 1;
        else if (e->d_type == DT_REG)
            is_file = 1;
        else if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN)
#endif
        {
            size_t nlen = strlen(name);
            char *full = malloc(dlen + nlen + 2);
            if (full == NULL) {
                status = -3;
                break;
            }
            memcpy(full, dirpath, dlen);
            full[dlen] = '/';
            memcpy(full + dlen + 1, name, nlen + 1);
            struct stat st;
            if (stat(full, &st) == 0) {
                is_dir = S_ISDIR(st.st_mode);
                is_file = S_ISREG(st.st_mode);
            }
            free(full);
        }
        entries[n].name = strdup(name);
        if (entries[n].name == NULL) {
            status = -3;
            break;
        }
        entries[n].is_dir = is_dir;
        entries[n].is_file = is_file;
        n++;
    }
    closedir(d);
    if (status < 0) {
        for (Py_ssize_t i = 0; i < n; i++)
            free(entries[i].name);
        free(entries);
        return status;
    }
    qsort(entries, (size_t)n, sizeof(Entry), entry_cmp);
    *out = entries;
    return n;
}

/* `head` + `sep` + `name` as a str (all UTF-8) */
static PyObject *
join(const char *head, size_t hlen, const char *sep, const char *name, size_t nlen)
{
    size_t slen = strlen(sep), len = hlen + slen + nlen;
    char small[1024];
    char *buf = len <= sizeof(small) ? small : malloc(len);
    if (buf == NULL)
        return PyErr_NoMemory();
    memcpy(buf, head, hlen);
    memcpy(buf + hlen, sep, slen);
    memcpy(buf + hlen + slen, name, nlen);
    PyObject *out = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)len, NULL);
    if (buf != small)
        free(buf);
    return out;
}

typedef struct {
    char *path; /* the folder */
    char *rel;  /* its path below the top, with a trailing slash */
} Folder;

/* walk_files(top, rel, skip_names, skip_suffixes) -> list of (path, rel, []) or None:
 * scan._walk_dirs([(top, rel)], ()) for a folder, the .py files in its order (each folder's
 * files by name, then its subfolders by name), skipping folders named in `skip_names`, starting
 * with a dot or ending with one of `skip_suffixes`, and virtual environments (a folder holding a
 * pyvenv.cfg file) below the top. None when a name is not UTF-8: the Python walk, which sorts
 * undecodable names its own way, is used instead. */
static PyObject *
walk_files(PyObject *self, PyObject *args)
{
    PyObject *top_obj, *rel_obj, *skip_names, *skip_suffixes;
    if (!PyArg_ParseTuple(args, "UUO!O!", &top_obj, &rel_obj, &PyTuple_Type, &skip_names, &PyTuple_Type,
                          &skip_suffixes))
        return NULL;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(skip_names); k++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(skip_names, k)))
            return PyErr_Format(PyExc_TypeError, "skip_names must be str");
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(skip_suffixes); k++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(skip_suffixes, k)))
            return PyErr_Format(PyExc_TypeError, "skip_suffixes must be str");
    const char *top = PyUnicode_AsUTF8(top_obj);
    const char *rel0 = top == NULL ? NULL : PyUnicode_AsUTF8(rel_obj);
    if (top == NULL || rel0 == NULL) { /* undecodable bytes in the path (surrogate escapes) */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Py_ssize_t cap = 64, depth = 0;
    Folder *stack = malloc(sizeof(Folder) * (size_t)cap);
    int failed = 0, fallback = 0;
    if (stack == NULL)
        failed = 1;
    else {
        stack[0].path = strdup(top);
        stack[0].rel = strdup(rel0);
        if (stack[0].path == NULL || stack[0].rel == NULL)
            failed = 1;
        depth = 1;
    }
    while (!failed && !fallback && depth > 0) {
        Folder f = stack[--depth];
        Entry *entries = NULL;
        Py_ssize_t n = list_dir(f.path, &entries);
        if (n == -2)
            fallback = 1;
        else if (n == -3)
            failed = 1;
        int skip = n < 0;
        /* a virtual environment below the top holds installed packages: not the tree's own */
        if (!skip && f.rel[0] != 0) {
            Entry key = {"pyvenv.cfg", 0, 0};
            Entry *hit = bsearch(&key, entries, (size_t)n, sizeof(Entry), entry_cmp);
            if (hit != NULL && hit->is_file)
                skip = 1;
        }
        Py_ssize_t first_sub = depth; /* subfolders are pushed in reverse: popped in name order */
        size_t plen = strlen(f.path), rlen = strlen(f.rel);
        for (Py_ssize_t i = 0; !skip && !failed && i < n; i++) {
            const char *name = entries[i].name;
            size_t nlen = strlen(name);
            if (entries[i].is_dir) {
                if (name[0] == '.' || in_names(name, skip_names) || ends_with(name, skip_suffixes))
                    continue;
                if (depth == cap) {
                    cap *= 2;
                    Folder *grown = realloc(stack, sizeof(Folder) * (size_t)cap);
                    if (grown == NULL) {
                        failed = 1;
                        break;
                    }
                    stack = grown;
                }
                char *path = malloc(plen + nlen + 2), *rel = malloc(rlen + nlen + 2);
                if (path == NULL || rel == NULL) {
                    free(path);
                    free(rel);
                    failed = 1;
                    break;
                }
                memcpy(path, f.path, plen);
                path[plen] = '/';
                memcpy(path + plen + 1, name, nlen + 1);
                memcpy(rel, f.rel, rlen);
                memcpy(rel + rlen, name, nlen);
                rel[rlen + nlen] = '/';
                rel[rlen + nlen + 1] = 0;
                stack[depth].path = path;
                stack[depth].rel = rel;
                depth++;
            }
            else if (nlen >= 3 && strcmp(name + nlen - 3, ".py") == 0) {
                PyObject *path = join(f.path, plen, "/", name, nlen);
                PyObject *rel = join(f.rel, rlen, "", name, nlen);
                PyObject *sig = PyList_New(0);
                PyObject *item = (path && rel && sig) ? PyTuple_Pack(3, path, rel, sig) : NULL;
                Py_XDECREF(path);
                Py_XDECREF(rel);
                Py_XDECREF(sig);
                if (item == NULL || PyList_Append(out, item) < 0)
                    failed = 1;
                Py_XDECREF(item);
            }
        }
        /* the subfolders just pushed, reversed: the first by name is on top */
        for (Py_ssize_t a = first_sub, b = depth - 1; a < b; a++, b--) {
            Folder t = stack[a];
            stack[a] = stack[b];
            stack[b] = t;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            free(entries[i].name);
        free(entries);
        free(f.path);
        free(f.rel);
    }
    for (Py_ssize_t i = 0; i < depth; i++) {
        free(stack[i].path);
        free(stack[i].rel);
    }
    free(stack);
    if (failed) {
        Py_DECREF(out);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    if (fallback) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}
#endif

/* ------------------------------------------------------------------- module */

static PyMethodDef methods[] = {
    {"utf8_valid", utf8_valid, METH_O, "True when the buffer is valid UTF-8 (bytes.decode would succeed)."},
    {"strip_opaque", strip_opaque, METH_O, "The buffer without its Python strings and comments."},
    {"contains_all", contains_all, METH_VARARGS, "True when every needle (a tuple of bytes) is in the buffer."},
    {"import_keyword_lines", import_keyword_lines, METH_VARARGS,
     "Offsets of b'import' whose line holds one of the names or ends with a backslash."},
    {"import_pairs", import_pairs, METH_VARARGS,
     "candidates.import_pairs of the statements on those lines: (module, name or None), distinct."},
#ifndef _WIN32
    {"read_file", read_file, METH_VARARGS,
     "(data or None, size, mtime_ns, errno) of a file, read as scan._read_one reads it."},
    {"walk_files", walk_files, METH_VARARGS,
     "The (path, rel, []) of a folder's .py files in the scan's walk order, or None."},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_speedups",
    .m_doc = "Optional C versions of a cold scan's byte loops.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
