/* The network scanner's per-candidate work in C: host validation, public-suffix lookup, the URL-authority split,
 * and the scanner's loops over pooled strings, URL authorities, kept evidence and host facts.
 *
 * Each function here has a pure-Python twin that is the oracle (gate/extract/network/domains.py, suffixes.py,
 * finder.py); tests/unit/test_network_core.py runs both on every input it can find or craft and requires identical
 * answers, and GATE_SCANNER_CORE=python (or gate.extract.network.core.select("python")) runs the Python path.
 * Anything outside the ASCII fast path (a non-ASCII str) is handed to the Python twin, so the rules for rare inputs
 * live in one place only.
 *
 * The tables (TLD lists, never-contacted names, and the public-suffix table through suffixes.table, called on the
 * first public-suffix look-up, and suffixes.group, which builds a TLD's names the first time one is asked for) are
 * Python sets and dicts handed over by ``configure``: one source of truth, and a membership test is a hash lookup
 * in C without the interpreter loop.
 */
#define _GNU_SOURCE  /* memmem, memrchr */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HOST_LENGTH 253
#define MAX_LABEL 63
#define MAX_AUTHORITY 300

static PyObject *suffix_groups;  /* public-suffix names by TLD (suffixes.table()), see load_table */
static PyObject *table_loader, *group_loader;  /* suffixes.table (called on the first look-up) and suffixes.group */
enum { SUFFIX_RULE = 1, SUFFIX_WILDCARD = 2, SUFFIX_EXCEPTION = 4 };  /* suffixes.RULE, WILDCARD, EXCEPTION */
static PyObject *never_contacted, *reserved_tlds;                   /* domains.NEVER_CONTACTED, _RESERVED_TLDS */
static PyObject *bare_tlds, *weak_bare_tlds, *reverse_roots, *property_roots, *translated_examples;
static PyObject *py_url_host, *py_bare_host, *py_registrable;       /* the Python twins, for non-ASCII input */

/* ``PySet_Contains`` of the ASCII text s[0:n]; -1 on error. */
static int
contains(PyObject *set, const char *s, Py_ssize_t n)
{
    PyObject *key = PyUnicode_FromStringAndSize(s, n);
    if (key == NULL)
        return -1;
    int found = PySet_Contains(set, key);
    Py_DECREF(key);
    return found;
}

/* set.update(values) for a tuple of values; -1 on error */
static int
add_all(PyObject *set, PyObject *values)
{
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(values); k++)
        if (PySet_Add(set, PyTuple_GET_ITEM(values, k)) < 0)
            return -1;
    return 0;
}

/* The public-suffix groups looked up so far, by TLD (suffixes.table(), on the first look-up; the same dict object
 * for the life of the process, never replaced: another thread may be looking a suffix up in it). A TLD not in it
 * yet is asked of suffixes.group, which builds its names and adds them. */
static int
load_table(void)
{
    PyObject *groups = PyObject_CallNoArgs(table_loader);
    if (groups == NULL)
        return -1;
    if (!PyDict_Check(groups)) {
        PyErr_SetString(PyExc_TypeError, "suffixes.table() must return a dict");
        Py_DECREF(groups);
        return -1;
    }
    if (suffix_groups == NULL)
        suffix_groups = groups;
    else
        Py_DECREF(groups);
    return 0;
}

/* The names under the TLD ``tld`` (a new reference to its group), Py_None when the TLD is not listed, NULL on
 * error. */
static PyObject *
suffix_group(PyObject *tld)
{
    PyObject *names = PyDict_GetItemWithError(suffix_groups, tld);
    if (names != NULL)
        return Py_NewRef(names);
    if (PyErr_Occurred())
        return NULL;
    return PyObject_CallOneArg(group_loader, tld);
}

/* suffixes.public_suffix_length for the lowercase ASCII host h[0:n] (labels = h.split(".")); -1 on error.
 * The k-th candidate suffix is h from the start of the k-th label from the right; all end in the host's TLD, so
 * only that TLD's group is read. */
static Py_ssize_t
public_suffix_length(const char *h, Py_ssize_t n)
{
    if (suffix_groups == NULL && load_table() < 0)
        return -1;
    Py_ssize_t labels = 1, last_dot = -1;
    for (Py_ssize_t i = 0; i < n; i++)
        if (h[i] == '.') {
            labels++;
            last_dot = i;
        }
    PyObject *tld = PyUnicode_FromStringAndSize(h + last_dot + 1, n - last_dot - 1);
    if (tld == NULL)
        return -1;
    PyObject *names = suffix_group(tld);
    Py_DECREF(tld);
    if (names == NULL)
        return -1;
    if (!PyDict_Check(names)) {  /* None: the TLD is not listed */
        Py_DECREF(names);
        return 0;
    }
    Py_ssize_t best = 0, start = n;  /* the candidate suffix is h[start:n] */
    for (Py_ssize_t k = 1; k <= labels; k++) {
        Py_ssize_t p = k == 1 ? n - 1 : start - 2;  /* skip the dot before the previous candidate */
        while (p >= 0 && h[p] != '.')
            p--;
        start = p + 1;
        PyObject *candidate = PyUnicode_FromStringAndSize(h + start, n - start);
        if (candidate == NULL)
            goto error;
        PyObject *value = PyDict_GetItemWithError(names, candidate);
        Py_DECREF(candidate);
        if (value == NULL) {
            if (PyErr_Occurred())
                goto error;
            break;  /* no longer suffix can be a rule either */
        }
        long flags = PyLong_AsLong(value);
        if (flags == -1 && PyErr_Occurred())
            goto error;
        if (flags & SUFFIX_EXCEPTION) {
            best = k - 1;
            break;
        }
        if (flags & SUFFIX_RULE)
            best = k;
        if (k < labels && (flags & SUFFIX_WILDCARD))
            best = k + 1;
    }
    Py_DECREF(names);
    return best;
error:
    Py_DECREF(names);
    return -1;
}

static int is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* domains._HOST: "(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?=[a-z0-9-]*[a-z])[a-z0-9-]{2,63}\Z". The last
 * label cannot hold a dot, so the labels are exactly h.split(".") and each is checked on its own. */
static int
host_shape(const char *h, Py_ssize_t n)
{
    Py_ssize_t last_dot = -1;
    for (Py_ssize_t i = n - 1; i >= 0; i--)
        if (h[i] == '.') { last_dot = i; break; }
    if (last_dot < 0)
        return 0;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i <= last_dot; i++) {
        if (h[i] != '.')
            continue;
        Py_ssize_t len = i - start;
        if (len < 1 || len > MAX_LABEL || !is_lower_alnum(h[start]) || !is_lower_alnum(h[i - 1]))
            return 0;
        for (Py_ssize_t j = start; j < i; j++)
            if (!is_lower_alnum(h[j]) && h[j] != '-')
                return 0;
        start = i + 1;
    }
    Py_ssize_t len = n - start;
    if (len < 2 || len > MAX_LABEL)
        return 0;
    int letter = 0;
    for (Py_ssize_t j = start; j < n; j++) {
        char c = h[j];
        if (c >= 'a' && c <= 'z')
            letter = 1;
        else if (!(c >= '0' && c <= '9') && c != '-')
            return 0;
    }
    return letter;
}

static int
configured(void)
{
    if (table_loader == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_hostcore.configure() has not been called");
        return 0;
    }
    return 1;
}

/* domains.url_host on ASCII text: 1 with [*out, *out_len) the host (in buf), 0 for None, -1 on error. */
static int
url_host_ascii(const char *s, Py_ssize_t n, char *buf, Py_ssize_t *out_len)
{
    /* text.strip().rstrip("."): str.strip() removes the ASCII white space \t\n\v\f\r, \x1c-\x1f and space */
    Py_ssize_t a = 0, b = n;
    while (a < b && Py_UNICODE_ISSPACE((Py_UCS4)(unsigned char)s[a]))
        a++;
    while (b > a && Py_UNICODE_ISSPACE((Py_UCS4)(unsigned char)s[b - 1]))
        b--;
    while (b > a && s[b - 1] == '.')
        b--;
    if (b - a > MAX_HOST_LENGTH)
        return 0;
    Py_ssize_t m = b - a;
    for (Py_ssize_t i = 0; i < m; i++) {
        char c = s[a + i];
        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    const char *h = buf;
    if (m >= 2 && h[0] == '*' && h[1] == '.') {
        h += 2;
        m -= 2;
    }
    if (!host_shape(h, m))
        return 0;
    int r = contains(never_contacted, h, m);
    if (r)
        return r < 0 ? -1 : 0;
    Py_ssize_t dot = m - 1;
    while (h[dot] != '.')
        dot--;
    if ((r = contains(reserved_tlds, h + dot + 1, m - dot - 1)))
        return r < 0 ? -1 : 0;
    Py_ssize_t labels = 1;
    for (Py_ssize_t i = 0; i < m; i++)
        labels += h[i] == '.';
    Py_ssize_t size = public_suffix_length(h, m);
    if (size < 0)
        return -1;
    if (size == 0 || size >= labels)
        return 0;
    if (h != buf)
        memmove(buf, h, (size_t)m);
    *out_len = m;
    return 1;
}

static PyObject *
url_host(PyObject *self, PyObject *text)
{
    if (!configured())
        return NULL;
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text))
        return PyObject_CallOneArg(py_url_host, text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), m;
    const char *s = (const char *)PyUnicode_1BYTE_DATA(text);
    char stack[512];
    char *buf = n <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc((size_t)n);
    if (buf == NULL)
        return PyErr_NoMemory();
    int r = url_host_ascii(s, n, buf, &m);
    PyObject *out = r < 0 ? NULL : r == 0 ? Py_NewRef(Py_None) : PyUnicode_FromStringAndSize(buf, m);
    if (buf != stack)
        PyMem_Free(buf);
    return out;
}

/* domains.bare_host: the curated-TLD and false-positive rules for a token found bare in string data. */
static PyObject *
bare_host(PyObject *self, PyObject *text)
{
    if (!configured())
        return NULL;
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text))
        return PyObject_CallOneArg(py_bare_host, text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const char *s = (const char *)PyUnicode_1BYTE_DATA(text);
    Py_ssize_t labels = 1, first_dot = -1, second_dot = -1, last_dot = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] >= 'A' && s[i] <= 'Z')
            Py_RETURN_NONE;  /* text != text.lower() */
        if (s[i] == '.') {
            labels++;
            if (first_dot < 0)
                first_dot = i;
            else if (second_dot < 0)
                second_dot = i;
            last_dot = i;
        }
    }
    if (labels < 2)
        Py_RETURN_NONE;
    const char *tld = s + last_dot + 1;
    Py_ssize_t tld_len = n - last_dot - 1;
    int r = contains(bare_tlds, tld, tld_len);
    if (r <= 0)
        return r < 0 ? NULL : Py_NewRef(Py_None);
    if ((r = contains(reverse_roots, s, first_dot)) || (r = contains(property_roots, s, first_dot)))
        return r < 0 ? NULL : Py_NewRef(Py_None);
    if (labels == 3 && first_dot == 3 && memcmp(s, "www", 3) == 0) {
        if ((r = contains(translated_examples, s + 4, second_dot - 4)))
            return r < 0 ? NULL : Py_NewRef(Py_None);
    }
    if (labels == 2) {
        if ((r = contains(weak_bare_tlds, tld, tld_len)))
            return r < 0 ? NULL : Py_NewRef(Py_None);
        if (first_dot < 2)
            Py_RETURN_NONE;  /* one-letter second-level label: minified JavaScript */
    }
    return url_host(self, text);
}

/* suffixes.registrable_domain: eTLD+1 of a lowercase host. */
static PyObject *
registrable_domain(PyObject *self, PyObject *host)
{
    if (!configured())
        return NULL;
    if (!PyUnicode_Check(host) || !PyUnicode_IS_ASCII(host))
        return PyObject_CallOneArg(py_registrable, host);
    Py_ssize_t n = PyUnicode_GET_LENGTH(host);
    const char *h = (const char *)PyUnicode_1BYTE_DATA(host);
    Py_ssize_t labels = 1;
    for (Py_ssize_t i = 0; i < n; i++)
        labels += h[i] == '.';
    Py_ssize_t size = public_suffix_length(h, n);
    if (size < 0)
        return NULL;
    if (size == 0 || size >= labels)
        Py_RETURN_NONE;
    Py_ssize_t start = n, seen = 0;  /* the start of label number size + 1 from the right */
    while (start > 0) {
        if (h[start - 1] == '.' && ++seen == size + 1)
            break;
        start--;
    }
    return PyUnicode_Substring(host, start, n);
}

/* finder._NETWORK_SCHEMES, longest first where one ends another (the look-behinds test each in turn). */
static const char *const schemes[] = {
    "https", "http", "wss", "ws", "ftps", "ftp", "sftp", "rtmps", "rtmpe", "rtmpt", "rtmp", "rtsps", "rtsp",
    "mqtts", "mqtt", "tcp", "udp", "ssl", "tls", "quic", NULL};

static unsigned char authority_byte[256];  /* finder._URL_AUTHORITIES' character class */

static Py_ssize_t scheme_length[sizeof schemes / sizeof *schemes];  /* strlen of each, set at module init */

static int
scheme_before(const unsigned char *d, Py_ssize_t i)
{
    for (Py_ssize_t s = 0; schemes[s]; s++) {
        Py_ssize_t len = scheme_length[s];
        if (len > i)
            continue;
        const unsigned char *p = d + i - len;
        Py_ssize_t k = 0;
        while (k < len && (p[k] | 0x20) == (unsigned char)schemes[s][k] && ((p[k] >= 'a' && p[k] <= 'z') ||
                                                                        (p[k] >= 'A' && p[k] <= 'Z')))
            k++;
        if (k == len)
            return 1;
    }
    return 0;
}

/* The distinct authorities of one split, found without a bytes object per URL: an open-addressing table of
 * (hash, first span, last URL index), and the order of first occurrence. */
typedef struct {
    uint64_t hash;
    Py_ssize_t a, e, last;  /* a < 0: an empty slot */
} Distinct;

typedef struct {
    Distinct *slots;
    Py_ssize_t *order;  /* slot of each distinct authority, in order of first occurrence */
    Py_ssize_t size, count;  /* size: a power of two, at least twice count */
} DistinctTable;

static uint64_t
fnv1a(const unsigned char *p, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t k = 0; k < n; k++)
        h = (h ^ p[k]) * 1099511628211ULL;
    return h;
}

static int
distinct_init(DistinctTable *t)
{
    t->size = 256;
    t->count = 0;
    t->slots = PyMem_Malloc(sizeof(Distinct) * (size_t)t->size);
    t->order = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(t->size / 2));
    if (t->slots == NULL || t->order == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < t->size; k++)
        t->slots[k].a = -1;
    return 0;
}

static void
distinct_free(DistinctTable *t)
{
    PyMem_Free(t->slots);
    PyMem_Free(t->order);
}

static Py_ssize_t
distinct_slot(const Distinct *slots, Py_ssize_t size, const unsigned char *d, uint64_t h, Py_ssize_t a,
              Py_ssize_t e)
{
    Py_ssize_t k = (Py_ssize_t)(h & (uint64_t)(size - 1));
    while (slots[k].a >= 0 && !(slots[k].hash == h && slots[k].e - slots[k].a == e - a
                                && memcmp(d + slots[k].a, d + a, (size_t)(e - a)) == 0))
        k = (k + 1) & (size - 1);
    return k;
}

/* Record URL number ``index`` with authority d[a:e]: its last index, and a new entry on its first occurrence. */
static int
distinct_add(DistinctTable *t, const unsigned char *d, Py_ssize_t a, Py_ssize_t e, Py_ssize_t index)
{
    uint64_t h = fnv1a(d + a, e - a);
    Py_ssize_t k = distinct_slot(t->slots, t->size, d, h, a, e);
    if (t->slots[k].a >= 0) {
        t->slots[k].last = index;
        return 0;
    }
    if (2 * (t->count + 1) > t->size) {  /* grow, keeping the order of first occurrence */
        Py_ssize_t size = t->size * 2;
        Distinct *slots = PyMem_Malloc(sizeof(Distinct) * (size_t)size);
        Py_ssize_t *order = PyMem_Realloc(t->order, sizeof(Py_ssize_t) * (size_t)(size / 2));
        if (order != NULL)
            t->order = order;
        if (slots == NULL || order == NULL) {
            PyMem_Free(slots);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t j = 0; j < size; j++)
            slots[j].a = -1;
        for (Py_ssize_t j = 0; j < t->count; j++) {
            Distinct *old = &t->slots[t->order[j]];
            Py_ssize_t to = distinct_slot(slots, size, d, old->hash, old->a, old->e);
            slots[to] = *old;
            t->order[j] = to;
        }
        PyMem_Free(t->slots);
        t->slots = slots;
        t->size = size;
        k = distinct_slot(t->slots, t->size, d, h, a, e);
    }
    t->slots[k] = (Distinct){h, a, e, index};
    t->order[t->count++] = k;
    return 0;
}

/* {authority: index of its last URL} in order of first occurrence, as dict(zip(authorities, range(...))) */
static PyObject *
distinct_dict(const DistinctTable *t, const unsigned char *d)
{
    PyObject *last = PyDict_New();
    for (Py_ssize_t j = 0; last != NULL && j < t->count; j++) {
        const Distinct *slot = &t->slots[t->order[j]];
        PyObject *key = PyBytes_FromStringAndSize((const char *)d + slot->a, slot->e - slot->a);
        PyObject *index = PyLong_FromSsize_t(slot->last);
        int r = key == NULL || index == NULL ? -1 : PyDict_SetItem(last, key, index);
        Py_XDECREF(key);
        Py_XDECREF(index);
        if (r < 0)
            Py_CLEAR(last);
    }
    return last;
}

/* The next network-scheme URL at or after d[pos]: 1 with [*a, *e) its authority and *colon the index of its "://",
 * else 0. Each "://" preceded by a network scheme (any letter case; only the scheme's own letters are looked at, as
 * finder._URL_AUTHORITIES' look-behinds do) is a match; the authority is the longest run of up to 300 authority
 * characters after it. */
static int
next_authority(const unsigned char *d, Py_ssize_t n, Py_ssize_t pos, Py_ssize_t *colon, Py_ssize_t *a,
               Py_ssize_t *e)
{
    while (pos + 3 <= n) {
        /* memchr for the colon, then its two slashes: a colon is rare in string data, and memchr is several times
         * faster than memmem's search for the three bytes (this pass runs over every byte the scanner reads) */
        const unsigned char *hit = memchr(d + pos, ':', (size_t)(n - pos - 2));
        if (hit == NULL)
            return 0;
        Py_ssize_t i = hit - d;
        if (d[i + 1] != '/' || d[i + 2] != '/' || !scheme_before(d, i)) {
            pos = i + 1;
            continue;
        }
        Py_ssize_t start = i + 3, stop = start, limit = start + MAX_AUTHORITY < n ? start + MAX_AUTHORITY : n;
        while (stop < limit && authority_byte[d[stop]])
            stop++;
        *colon = i;
        *a = start;
        *e = stop;
        return 1;
    }
    return 0;
}

/* split_region(data) -> (last, blanked, spans): what finder takes from _URL_AUTHORITIES.split(data) without
 * building it (the search resumes after each authority) — ``last``: each distinct authority mapped to the index of
 * its last occurrence, in order of first occurrence (``dict(zip(split[1::2], range(...)))``: a large app repeats a
 * few thousand hosts across tens of thousands of URLs, and the caller's set work is then per distinct authority);
 * the text with each "://authority" replaced by one space (b" ".join(split[::2])); and, as native int64 pairs,
 * (start of "://", end of the authority) per URL, from which finder._SplitParts cuts any part of the split on
 * demand. */
static PyObject *
split_region(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *d = view.buf;
    Py_ssize_t n = view.len, pos = 0, colon, a, e, count = 0, cap = 64, kept = 0;
    PyObject *authorities = NULL, *blanked = NULL, *spans = NULL, *result = NULL;
    DistinctTable distinct = {NULL, NULL, 0, 0};
    int64_t *span = PyMem_Malloc(sizeof(int64_t) * 2 * (size_t)cap);
    if (span == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (distinct_init(&distinct) < 0)
        goto done;
    while (next_authority(d, n, pos, &colon, &a, &e)) {
        if (count == cap) {
            int64_t *grown = PyMem_Realloc(span, sizeof(int64_t) * 4 * (size_t)cap);
            if (grown == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            span = grown;
            cap *= 2;
        }
        span[2 * count] = colon;  /* "://" and the authority, [colon, e), are what the split removes */
        span[2 * count + 1] = e;
        kept += e - colon;
        if (distinct_add(&distinct, d, a, e, count) < 0)
            goto done;
        count++;
        pos = e;
    }
    if ((authorities = distinct_dict(&distinct, d)) == NULL)
        goto done;
    if ((blanked = PyBytes_FromStringAndSize(NULL, n - kept + count)) == NULL)
        goto done;
    char *out = PyBytes_AS_STRING(blanked);
    Py_ssize_t from = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t len = (Py_ssize_t)span[2 * k] - from;
        memcpy(out, d + from, (size_t)len);
        out += len;
        *out++ = ' ';
        from = (Py_ssize_t)span[2 * k + 1];
    }
    memcpy(out, d + from, (size_t)(n - from));
    if ((spans = PyBytes_FromStringAndSize((const char *)span, (Py_ssize_t)sizeof(int64_t) * 2 * count)) == NULL)
        goto done;
    result = PyTuple_Pack(3, authorities, blanked, spans);
done:
    PyMem_Free(span);
    distinct_free(&distinct);
    Py_XDECREF(authorities);
    Py_XDECREF(blanked);
    Py_XDECREF(spans);
    PyBuffer_Release(&view);
    return result;
}

/* The fast paths of finder._note_url, which judges one URL of a split region for its evidence. The patterns are
 * finder's (URL_NEEDS_JUDGING, _PATH_HINTS_LOWER, _CONTEXT_WORDS_LOWER), handed over by ``configure_urls`` and run
 * by the regex engine as before; what moves to C is the slicing, case folding and text building around them. */
static PyObject *needs_judging, *path_hints_lower, *context_words_lower;  /* their bound search methods */

#define EXCERPT_SIDE 80
#define MAX_SCHEME 16

static int is_scheme_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' ||
           c == '-';
}

static int is_ascii(const unsigned char *p, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] & 0x80)
            return 0;
    return 1;
}

/* search(bytes(p[0:n])) is not None, ``search`` a pattern's bound method; -1 on error. */
static int
searches(PyObject *search, const unsigned char *p, Py_ssize_t n)
{
    PyObject *text = PyBytes_FromStringAndSize((const char *)p, n);
    if (text == NULL)
        return -1;
    PyObject *match = PyObject_CallOneArg(search, text);
    Py_DECREF(text);
    if (match == NULL)
        return -1;
    int found = match != Py_None;
    Py_DECREF(match);
    return found;
}

/* tail + "://" + rest as str, ASCII only: strip()ped, and with \r and \t made spaces when ``text_of`` (finder.text_of
 * on ASCII) rather than a plain ``.strip()``. */
static PyObject *
excerpt(const unsigned char *tail, Py_ssize_t tn, const unsigned char *rest, Py_ssize_t rn, int text_of)
{
    Py_ssize_t n = tn + 3 + rn;
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL)
        return NULL;
    unsigned char *o = PyUnicode_1BYTE_DATA(out);
    memcpy(o, tail, (size_t)tn);
    memcpy(o + tn, "://", 3);
    memcpy(o + tn + 3, rest, (size_t)rn);
    Py_ssize_t a = 0, b = n;
    while (a < b && Py_UNICODE_ISSPACE((Py_UCS4)o[a]))
        a++;
    while (b > a && Py_UNICODE_ISSPACE((Py_UCS4)o[b - 1]))
        b--;
    if (text_of)
        for (Py_ssize_t i = a; i < b; i++)
            if (o[i] == '\r' || o[i] == '\t')
                o[i] = ' ';
    if (a == 0 && b == n)
        return out;
    PyObject *cut = PyUnicode_Substring(out, a, b);
    Py_DECREF(out);
    return cut;
}

/* The k-th URL's judgement (see judge_span): l[0:ln] the text before "://", au[0:an] the authority, r[0:rlen]
 * the text after it; ``first`` when it is the region's first URL. */
static PyObject *
judge(const unsigned char *l, Py_ssize_t ln, const unsigned char *au, Py_ssize_t an, const unsigned char *r,
      Py_ssize_t rlen, Py_ssize_t prefix_len, int first, int markup_links)
{
    PyObject *result = NULL;
    unsigned char *rest = NULL;
    /* tail: the text before "://" back to a NUL or line end, at most 2 * EXCERPT_SIDE bytes */
    Py_ssize_t t0 = ln > 2 * EXCERPT_SIDE ? ln - 2 * EXCERPT_SIDE : 0, nul = -1, newline = -1;
    for (Py_ssize_t i = ln - 1; i >= t0 && (nul < 0 || newline < 0); i--) {
        if (l[i] == 0 && nul < 0)
            nul = i - t0;
        else if (l[i] == '\n' && newline < 0)
            newline = i - t0;
    }
    Py_ssize_t ts = t0 + (nul > newline ? nul : newline) + 1;
    if (prefix_len > 0 && (nul > newline || (nul < 0 && newline < 0 && t0 == 0 && first)))
        ts = ts + prefix_len < ln ? ts + prefix_len : ln;  /* a pooled string's length prefix */
    const unsigned char *tail = l + ts;
    Py_ssize_t tn = ln - ts;
    if (markup_links && tn >= 4 && memmem(tail, (size_t)tn, "href", 4) != NULL)
        goto slow;  /* <a href=…> in a string table: a link in text, judged in Python */
    /* rest: the authority and what follows it on the line, at most EXCERPT_SIDE bytes */
    Py_ssize_t head = 0;
    while (head < rlen && head < EXCERPT_SIDE && r[head] != 0 && r[head] != '\n')
        head++;
    Py_ssize_t rn = an + head;
    rest = PyMem_Malloc((size_t)(rn ? rn : 1));
    if (rest == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(rest, au, (size_t)an);
    memcpy(rest + an, r, (size_t)head);
    if (!is_ascii(rest, rn) || !is_ascii(tail, tn))
        goto slow;
    int scheme_only = tn >= 1 && tn <= MAX_SCHEME && ((tail[0] | 0x20) >= 'a' && (tail[0] | 0x20) <= 'z');
    for (Py_ssize_t i = 1; scheme_only && i < tn; i++)
        scheme_only = is_scheme_byte(tail[i]);
    if (scheme_only && !(tn == 4 && (tail[0] | 0x20) == 'h' && (tail[1] | 0x20) == 't' && (tail[2] | 0x20) == 't' &&
                         (tail[3] | 0x20) == 'p')) {
        int judging = searches(needs_judging, rest, rn);
        if (judging < 0)
            goto done;
        if (!judging) {
            PyObject *text = excerpt(tail, tn, rest, rn, 1);
            if (text != NULL)
                result = Py_BuildValue("(sN)", "url", text);
            goto done;
        }
    }
    /* a quote or "=" right before the scheme (finder._QUOTED_SCHEME): the scheme is the run of scheme bytes that
     * ends the tail, 1 to 16 long, and the byte before it is the quote */
    Py_ssize_t run = 0;
    while (run < tn && is_scheme_byte(tail[tn - 1 - run]))
        run++;
    if (run < 1 || run > MAX_SCHEME || run == tn)
        goto slow;
    unsigned char quote = tail[tn - 1 - run];
    if (quote != '"' && quote != '\'' && quote != '=')
        goto slow;
    const unsigned char *scheme = tail + tn - run;
    if (run == 4 && (scheme[0] | 0x20) == 'h' && (scheme[1] | 0x20) == 't' && (scheme[2] | 0x20) == 't' &&
        (scheme[3] | 0x20) == 'p')
        goto slow;  /* plain http: the identifier rules of url_reference apply */
    /* url: rest up to white space, a quote, <, >, ` or a backslash (finder._URL_BODY), lowercased */
    unsigned char lowered[2 * EXCERPT_SIDE + 400];
    Py_ssize_t un = 0;
    while (un < rn && !(rest[un] == ' ' || (rest[un] >= '\t' && rest[un] <= '\r') || rest[un] == '"' ||
                        rest[un] == '\'' || rest[un] == '<' || rest[un] == '>' || rest[un] == '`' || rest[un] == '\\'))
        un++;
    if (un > (Py_ssize_t)sizeof lowered || tn - run - 1 > (Py_ssize_t)sizeof lowered)
        goto slow;
    for (Py_ssize_t i = 0; i < un; i++)
        lowered[i] = (rest[i] >= 'A' && rest[i] <= 'Z') ? rest[i] + 32 : rest[i];
    int hint = searches(path_hints_lower, lowered, un);
    if (hint != 0) {
        if (hint > 0)
            goto slow;
        goto done;
    }
    Py_ssize_t before = tn - run - 1;
    for (Py_ssize_t i = 0; i < before; i++)
        lowered[i] = (tail[i] >= 'A' && tail[i] <= 'Z') ? tail[i] + 32 : tail[i];
    int words = searches(context_words_lower, lowered, before);
    if (words != 0) {
        if (words > 0)
            goto slow;
        goto done;
    }
    PyObject *text = excerpt(tail, tn, rest, rn, 0);
    if (text != NULL)
        result = Py_BuildValue("(sN)", "url_in_text", text);
    goto done;
slow:
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(rest);
    return result;
}

/* judge_span(data, spans, k, prefix_len, markup_links) -> ("url" | "url_in_text", excerpt) when the k-th URL of a
 * split region (spans: split_region's int64 pairs) is a contact candidate by one of _note_url's two fast paths (a
 * string that is just a URL; a URL right after a quote or "="), else None: the caller then runs _note_url's Python,
 * which decides every other case. The text before the URL, its authority and the text after it are read in place. */
/* judge() of the k-th URL of a split region: -1 with an exception when the spans do not fit the data */
static PyObject *
judge_url(const unsigned char *d, Py_ssize_t n, const int64_t *span, Py_ssize_t count, Py_ssize_t k,
          Py_ssize_t prefix_len, int markup_links)
{
    if (k < 0 || k >= count) {
        PyErr_SetString(PyExc_IndexError, "judge_span: no such URL");
        return NULL;
    }
    Py_ssize_t start = k ? (Py_ssize_t)span[2 * k - 1] : 0, colon = (Py_ssize_t)span[2 * k];
    Py_ssize_t end = (Py_ssize_t)span[2 * k + 1], next = k + 1 < count ? (Py_ssize_t)span[2 * k + 2] : n;
    if (!(0 <= start && start <= colon && colon + 3 <= end && end <= next && next <= n)) {
        PyErr_SetString(PyExc_ValueError, "judge_span: spans do not fit the data");
        return NULL;
    }
    return judge(d + start, colon - start, d + colon + 3, end - colon - 3, d + end, next - end, prefix_len, k == 0,
                 markup_links);
}

static PyObject *
judge_span(PyObject *self, PyObject *args)
{
    Py_buffer data, spans;
    Py_ssize_t k, prefix_len;
    int markup_links;
    if (needs_judging == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_hostcore.configure_urls() has not been called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*y*nnp:judge_span", &data, &spans, &k, &prefix_len, &markup_links))
        return NULL;
    PyObject *result = judge_url(data.buf, data.len, spans.buf, spans.len / (Py_ssize_t)(2 * sizeof(int64_t)), k,
                                 prefix_len, markup_links);
    PyBuffer_Release(&data);
    PyBuffer_Release(&spans);
    return result;
}

/* add_hosts(hosts, authorities, hosts_of): hosts.update(*map(hosts_of.__getitem__, authorities)), the values of a
 * region's distinct authorities (tuples of at most one host each) added in the authorities' order. */
static PyObject *
add_hosts(PyObject *self, PyObject *args)
{
    PyObject *hosts, *authorities, *hosts_of, *authority;
    if (!PyArg_ParseTuple(args, "O!OO!:add_hosts", &PySet_Type, &hosts, &authorities, &PyDict_Type, &hosts_of))
        return NULL;
    PyObject *iter = PyObject_GetIter(authorities);
    if (iter == NULL)
        return NULL;
    while ((authority = PyIter_Next(iter)) != NULL) {
        PyObject *values = PyDict_GetItemWithError(hosts_of, authority);  /* borrowed */
        if (values == NULL && !PyErr_Occurred())
            PyErr_SetObject(PyExc_KeyError, authority);
        Py_DECREF(authority);
        if (values == NULL)
            break;
        if (!PyTuple_Check(values)) {
            PyErr_SetString(PyExc_TypeError, "add_hosts: hosts_of must hold tuples");
            break;
        }
        if (add_all(hosts, values) < 0)
            break;
    }
    Py_DECREF(iter);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* judge_authorities(data, spans, last, pos, prefix_len, markup_links, hosts_of, ips_of, settled, known_contacts,
 * evidence) -> None | (pos, authority, k, values): finder._take_url_authorities' loop over the distinct authorities
 * of a split region (``last``: authority -> index of its last URL, in order of first occurrence), resumed at the
 * dict position ``pos`` (0 to begin). An authority settled, without a value, or whose value is decided already is
 * passed over as the Python does (settled.add where it would); a URL that one of judge_span's fast paths finds a
 * contact candidate is noted in ``evidence`` as (how, excerpt, None). The first URL those paths leave undecided
 * is handed back with the position to resume at, for the Python of finder._note_url, which must run before any
 * later authority is noted (two authorities can name one host, and the first contact occurrence is its
 * evidence). */
static PyObject *
judge_authorities(PyObject *self, PyObject *args)
{
    Py_buffer data, spans;
    PyObject *last, *hosts_of, *ips_of, *settled, *known_contacts, *evidence, *authority, *index;
    Py_ssize_t pos, prefix_len;
    int markup_links;
    if (needs_judging == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_hostcore.configure_urls() has not been called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*y*O!nnpO!O!O!OO!:judge_authorities", &data, &spans, &PyDict_Type, &last, &pos,
                          &prefix_len, &markup_links, &PyDict_Type, &hosts_of, &PyDict_Type, &ips_of, &PySet_Type,
                          &settled, &known_contacts, &PyDict_Type, &evidence))
        return NULL;
    PyObject *result = NULL;
    if (!PyAnySet_Check(known_contacts)) {
        PyErr_SetString(PyExc_TypeError, "judge_authorities: known_contacts must be a set");
        goto done;
    }
    const int64_t *span = spans.buf;
    Py_ssize_t count = spans.len / (Py_ssize_t)(2 * sizeof(int64_t));
    for (;;) {
        if (!PyDict_Next(last, &pos, &authority, &index)) {
            result = Py_NewRef(Py_None);
            break;
        }
        int r = PySet_Contains(settled, authority);
        if (r < 0)
            goto done;
        if (r)
            continue;
        PyObject *values = PyDict_GetItemWithError(hosts_of, authority);  /* borrowed */
        if (values == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, authority);
            goto done;
        }
        if (!PyTuple_Check(values)) {
            PyErr_SetString(PyExc_TypeError, "judge_authorities: hosts_of must hold tuples");
            goto done;
        }
        if (PyTuple_GET_SIZE(values) == 0) {  /* hosts_of[authority] or ips_of.get(authority, ()) */
            PyObject *ips = PyDict_GetItemWithError(ips_of, authority);
            if (ips == NULL && PyErr_Occurred())
                goto done;
            if (ips != NULL) {
                if (!PyTuple_Check(ips)) {
                    PyErr_SetString(PyExc_TypeError, "judge_authorities: ips_of must hold tuples");
                    goto done;
                }
                values = ips;
            }
        }
        PyObject *value = PyTuple_GET_SIZE(values) ? PyTuple_GET_ITEM(values, 0) : NULL;
        if (value != NULL && (r = PySet_Contains(known_contacts, value)) < 0)
            goto done;
        if (value == NULL || r) {  /* nothing to note, now or in any later entry of the package */
            if (PySet_Add(settled, authority) < 0)
                goto done;
            continue;
        }
        PyObject *noted = PyDict_GetItemWithError(evidence, value);
        if (noted == NULL && PyErr_Occurred())
            goto done;
        if (noted != NULL && PyTuple_Check(noted) && PyTuple_GET_SIZE(noted) == 3
                && PyTuple_GET_ITEM(noted, 2) == Py_None)
            continue;  /* a contact occurrence of it in this entry already */
        Py_ssize_t k = PyLong_AsSsize_t(index);
        if (k == -1 && PyErr_Occurred())
            goto done;
        PyObject *judged = judge_url(data.buf, data.len, span, count, k, prefix_len, markup_links);
        if (judged == NULL)
            goto done;
        if (judged == Py_None) {  /* the Python of _note_url decides; resume after this authority */
            Py_DECREF(judged);
            result = Py_BuildValue("(nOnO)", pos, authority, k, values);
            break;
        }
        PyObject *occurrence = PyTuple_Pack(3, PyTuple_GET_ITEM(judged, 0), PyTuple_GET_ITEM(judged, 1), Py_None);
        Py_DECREF(judged);
        if (occurrence == NULL)
            goto done;
        r = PyDict_SetItem(evidence, value, occurrence);
        Py_DECREF(occurrence);
        if (r < 0)
            goto done;
    }
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&spans);
    return result;
}

/* dex_flow._load_sites: offsets of the const-string (0x1a, u16 index) and const-string/jumbo (0x1b, u32 index)
 * instructions at even offsets of data[lo:hi] whose string index is wanted. One pass over the code section instead
 * of a literal search per wanted index (or a regex alternation of them). ``overlapping`` picks which of the two
 * Python searches is reproduced: every even offset (the literal searches), or the leftmost non-overlapping matches
 * at any offset of which the even ones are kept (the regex's finditer). */
static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    unsigned char low16[8192];  /* bit i: some wanted index has low 16 bits i (and for size 2: is i) */
    unsigned char small[8192];  /* bit i: index i < 65536 is wanted */
    uint32_t *all;
    Py_ssize_t count;
} Wanted;

static int
wanted_has(const Wanted *w, uint32_t index, int size)
{
    if (size == 2)
        return (w->small[index >> 3] >> (index & 7)) & 1;
    uint32_t low = index & 0xFFFF;
    if (!((w->low16[low >> 3] >> (low & 7)) & 1))
        return 0;
    return bsearch(&index, w->all, (size_t)w->count, sizeof(uint32_t), cmp_u32) != NULL;
}

static int
match_at(const unsigned char *d, Py_ssize_t pos, Py_ssize_t hi, const Wanted *w)
{
    if (d[pos] == 0x1A && pos + 4 <= hi)
        return wanted_has(w, (uint32_t)d[pos + 2] | (uint32_t)d[pos + 3] << 8, 2) ? 4 : 0;
    if (d[pos] == 0x1B && pos + 6 <= hi)
        return wanted_has(w, (uint32_t)d[pos + 2] | (uint32_t)d[pos + 3] << 8 | (uint32_t)d[pos + 4] << 16 |
                                 (uint32_t)d[pos + 5] << 24, 4) ? 6 : 0;
    return 0;
}

static PyObject *
load_sites(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *wanted_set;
    Py_ssize_t lo, hi;
    int overlapping;
    if (!PyArg_ParseTuple(args, "y*Onnp:load_sites", &view, &wanted_set, &lo, &hi, &overlapping))
        return NULL;
    PyObject *sites = NULL, *iter = NULL, *item;
    Wanted *w = PyMem_Calloc(1, sizeof(Wanted));
    Py_ssize_t size = PyObject_Size(wanted_set);
    if (w == NULL || size < 0 || (w->all = PyMem_Malloc(sizeof(uint32_t) * (size_t)(size ? size : 1))) == NULL) {
        if (size >= 0)
            PyErr_NoMemory();
        goto done;
    }
    if ((iter = PyObject_GetIter(wanted_set)) == NULL)
        goto done;
    while ((item = PyIter_Next(iter)) != NULL) {
        unsigned long long index = PyLong_AsUnsignedLongLong(item);
        Py_DECREF(item);
        if (index == (unsigned long long)-1 && PyErr_Occurred())
            goto done;
        if (index > 0xFFFFFFFFull || w->count == size)
            continue;  /* no instruction can load it */
        w->all[w->count++] = (uint32_t)index;
        w->low16[(index & 0xFFFF) >> 3] |= (unsigned char)(1 << (index & 7));
        if (index < 0x10000)
            w->small[index >> 3] |= (unsigned char)(1 << (index & 7));
    }
    if (PyErr_Occurred())
        goto done;
    qsort(w->all, (size_t)w->count, sizeof(uint32_t), cmp_u32);
    const unsigned char *d = view.buf;
    if (lo < 0)
        lo = 0;
    if (hi > view.len)
        hi = view.len;
    if ((sites = PyList_New(0)) == NULL)
        goto done;
    Py_ssize_t pos = overlapping ? lo + (lo & 1) : lo;
    while (pos < hi) {
        int len = match_at(d, pos, hi, w);
        if (len && !(pos & 1)) {
            PyObject *at = PyLong_FromSsize_t(pos);
            if (at == NULL || PyList_Append(sites, at) < 0) {
                Py_XDECREF(at);
                Py_CLEAR(sites);
                goto done;
            }
            Py_DECREF(at);
        }
        pos += overlapping ? 2 : (len ? len : 1);
    }
done:
    Py_XDECREF(iter);
    if (w != NULL)
        PyMem_Free(w->all);
    PyMem_Free(w);
    PyBuffer_Release(&view);
    return sites;
}

/* finder._DOTTED_QUAD.match: four runs of 1-3 digits joined by dots, and nothing else. */
static int
dotted_quad(const unsigned char *h, Py_ssize_t n)
{
    Py_ssize_t i = 0;
    for (int group = 0; group < 4; group++) {
        Py_ssize_t digits = 0;
        while (i < n && h[i] >= '0' && h[i] <= '9' && digits < 3) {
            i++;
            digits++;
        }
        if (!digits)
            return 0;
        if (group < 3) {
            if (i >= n || h[i] != '.')
                return 0;
            i++;
        }
    }
    return i == n;
}

/* resolve_authorities(authorities, hosts_of, ips_of, fallback): finder._authority_values for each new URL
 * authority, stored as finder keeps them (hosts_of[a] = (host,) or (); ips_of[a] only when an IP is found). A host
 * name, with or without a user and a port, is validated here; IP literals, bracketed IPv6 and anything unusual go
 * to ``fallback`` (finder._authority_values, whose Python decides them). */
static PyObject *
resolve_authorities(PyObject *self, PyObject *args)
{
    PyObject *authorities, *hosts_of, *ips_of, *fallback;
    if (!configured())
        return NULL;
    if (!PyArg_ParseTuple(args, "OO!O!O:resolve_authorities", &authorities, &PyDict_Type, &hosts_of, &PyDict_Type,
                          &ips_of, &fallback))
        return NULL;
    PyObject *iter = PyObject_GetIter(authorities), *authority;
    if (iter == NULL)
        return NULL;
    PyObject *empty = PyTuple_New(0);
    char buf[MAX_AUTHORITY + 8];
    while (empty != NULL && (authority = PyIter_Next(iter)) != NULL) {
        PyObject *hosts = NULL;
        if (PyBytes_Check(authority) && PyBytes_GET_SIZE(authority) <= MAX_AUTHORITY) {
            const unsigned char *a = (const unsigned char *)PyBytes_AS_STRING(authority);
            Py_ssize_t n = PyBytes_GET_SIZE(authority), at = -1;
            for (Py_ssize_t i = n - 1; i >= 0; i--)
                if (a[i] == '@') { at = i; break; }
            const unsigned char *h = a + at + 1;  /* after the user */
            Py_ssize_t hn = 0, after = n - at - 1;
            while (hn < after && h[hn] != ':')
                hn++;
            Py_ssize_t trimmed = hn;
            while (trimmed > 0 && h[trimmed - 1] == '.')
                trimmed--;
            if (trimmed && is_ascii(h, trimmed) && !(after && h[0] == '[') && !dotted_quad(h, trimmed)) {
                Py_ssize_t m;
                int r = url_host_ascii((const char *)h, trimmed, buf, &m);
                if (r < 0)
                    goto fail_item;
                if (r == 0)
                    hosts = Py_NewRef(empty);
                else {
                    PyObject *name = PyUnicode_FromStringAndSize(buf, m);
                    hosts = name ? PyTuple_Pack(1, name) : NULL;
                    Py_XDECREF(name);
                    if (hosts == NULL)
                        goto fail_item;
                }
            }
        }
        if (hosts == NULL) {  /* the Python decides: (hosts, ips) */
            PyObject *pair = PyObject_CallOneArg(fallback, authority);
            if (pair == NULL)
                goto fail_item;
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
                Py_DECREF(pair);
                PyErr_SetString(PyExc_TypeError, "fallback must return (hosts, ips)");
                goto fail_item;
            }
            hosts = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
            PyObject *ips = PyTuple_GET_ITEM(pair, 1);
            int bad = PyObject_IsTrue(ips) && PyDict_SetItem(ips_of, authority, ips) < 0;
            Py_DECREF(pair);
            if (bad)
                goto fail_item;
        }
        if (PyDict_SetItem(hosts_of, authority, hosts) < 0)
            goto fail_item;
        Py_DECREF(hosts);
        Py_DECREF(authority);
        continue;
    fail_item:
        Py_XDECREF(hosts);
        Py_DECREF(authority);
        break;
    }
    Py_DECREF(iter);
    Py_XDECREF(empty);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* finder._DOT_ANCHORS.search(data, pos) and finder._COLON_ANCHORS.search(data, pos) as (start, end) or None.
 *
 * _DOT_ANCHORS is "\.(?:TLD(?![A-Za-z0-9_\-])|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]))" with TLD an alternation
 * of the curated bare TLDs (lowercase letters). A TLD must be followed by no name character, so it is exactly the
 * run of name characters after the dot; the digit groups likewise are whole runs of 1-3 digits (backtracking to a
 * shorter run always leaves a digit where a dot or the end is required). _COLON_ANCHORS is ":(?://|:)". */
static Py_ssize_t bare_tld_min = 1, bare_tld_max = 63;

static int is_name_class(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* the end of a run of 1-3 digits at d[i:], or -1 */
static Py_ssize_t
digits_end(const unsigned char *d, Py_ssize_t i, Py_ssize_t n)
{
    Py_ssize_t j = i;
    while (j < n && is_digit(d[j]))
        j++;
    return (j == i || j - i > 3) ? -1 : j;
}

/* 1 with *end set when the dot at d[p] is an anchor, 0 when not, -1 on error */
static int
dot_anchor_at(const unsigned char *d, Py_ssize_t p, Py_ssize_t n, Py_ssize_t *end)
{
    Py_ssize_t j = p + 1;
    if (j < n && is_digit(d[j])) {
        Py_ssize_t e1 = digits_end(d, j, n);
        if (e1 < 0 || e1 >= n || d[e1] != '.')
            return 0;
        Py_ssize_t e2 = digits_end(d, e1 + 1, n);
        if (e2 < 0 || e2 >= n || d[e2] != '.')
            return 0;
        Py_ssize_t e3 = digits_end(d, e2 + 1, n);
        if (e3 < 0)
            return 0;
        *end = e3;
        return 1;
    }
    while (j < n && is_name_class(d[j]))
        j++;
    Py_ssize_t len = j - p - 1;
    if (len < bare_tld_min || len > bare_tld_max)
        return 0;
    for (Py_ssize_t k = p + 1; k < j; k++)
        if (d[k] < 'a' || d[k] > 'z')
            return 0;  /* the TLDs are lowercase letters: a digit, capital, "_" or "-" in the run rules it out */
    int r = contains(bare_tlds, (const char *)d + p + 1, len);
    if (r > 0)
        *end = j;
    return r;
}

/* The shortest and longest bare TLD: a run of another length after a dot is no anchor, without a look-up. */
static int
set_tld_lengths(void)
{
    Py_ssize_t lo = PY_SSIZE_T_MAX, hi = 0, len;
    PyObject *iter = PyObject_GetIter(bare_tlds), *tld;
    if (iter == NULL)
        return -1;
    while ((tld = PyIter_Next(iter)) != NULL) {
        len = PyUnicode_Check(tld) ? PyUnicode_GET_LENGTH(tld) : 0;
        Py_DECREF(tld);
        lo = len < lo ? len : lo;
        hi = len > hi ? len : hi;
    }
    Py_DECREF(iter);
    if (PyErr_Occurred())
        return -1;
    bare_tld_min = lo == PY_SSIZE_T_MAX ? 1 : lo;
    bare_tld_max = hi;
    return 0;
}

/* configure_anchors(bare_tlds): all anchor_search needs, without the public-suffix table (a package without a
 * single host never builds it). */
static PyObject *
configure_anchors(PyObject *self, PyObject *arg)
{
    if (!PyFrozenSet_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "configure_anchors() takes a frozenset of TLDs");
        return NULL;
    }
    Py_XSETREF(bare_tlds, Py_NewRef(arg));
    if (set_tld_lengths() < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* The first anchor at or after d[pos]: 1 with [*s, *e) its span, 0 when there is none, -1 on error. */
static int
find_anchor(const unsigned char *d, Py_ssize_t n, Py_ssize_t pos, int colon, Py_ssize_t *s, Py_ssize_t *e)
{
    Py_ssize_t end = 0;
    if (pos < 0)
        pos = 0;
    while (pos < n) {
        const unsigned char *hit = memchr(d + pos, colon ? ':' : '.', (size_t)(n - pos));
        if (hit == NULL)
            return 0;
        Py_ssize_t p = hit - d;
        int r;
        if (colon) {
            r = 0;
            if (p + 2 < n && d[p + 1] == '/' && d[p + 2] == '/') {
                r = 1;
                end = p + 3;
            } else if (p + 1 < n && d[p + 1] == ':') {
                r = 1;
                end = p + 2;
            }
        } else if ((r = dot_anchor_at(d, p, n, &end)) < 0) {
            return -1;
        }
        if (r) {
            *s = p;
            *e = end;
            return 1;
        }
        pos = p + 1;
    }
    return 0;
}

static PyObject *
anchor_search(PyObject *self, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos, s, e;
    int colon;
    if (bare_tlds == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_hostcore.configure_anchors() has not been called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*np:anchor_search", &view, &pos, &colon))
        return NULL;
    int r = find_anchor(view.buf, view.len, pos, colon, &s, &e);
    PyBuffer_Release(&view);
    if (r < 0)
        return NULL;
    return r ? Py_BuildValue("(nn)", s, e) : Py_NewRef(Py_None);
}

/* finder._AnchorCursor.next(pos) on a cursor kept as (dot start, dot end, colon start, colon end), -1 for None:
 * each anchor kind searched onwards from its previous match, and again from ``pos`` when that match lies before
 * it. 1 with [*s, *e) the anchor, 0 when there is none, -1 on error. */
static int
cursor_next(const unsigned char *d, Py_ssize_t n, Py_ssize_t pos, Py_ssize_t cur[4], Py_ssize_t *s, Py_ssize_t *e)
{
    for (int colon = 0; colon < 2; colon++) {
        Py_ssize_t *at = cur + 2 * colon;
        if (at[0] >= 0 && at[0] < pos) {
            int r = find_anchor(d, n, at[1], colon, at, at + 1);
            if (r > 0 && at[0] < pos)
                r = find_anchor(d, n, pos, colon, at, at + 1);
            if (r < 0)
                return -1;
            if (r == 0)
                at[0] = at[1] = -1;
        }
    }
    Py_ssize_t *pick = cur[0] < 0 ? cur + 2 : (cur[2] < 0 || cur[0] < cur[2]) ? cur : cur + 2;
    if (pick[0] < 0)
        return 0;
    *s = pick[0];
    *e = pick[1];
    return 1;
}

#define MAX_POOLED_STRING 8192  /* finder.MAX_POOLED_STRING */

/* Note one cached string's evidence as finder.scan_strings does: each (value, occurrence) unless the value is
 * settled (a known contact of the package, or a contact occurrence in ``evidence`` already), an occurrence replacing
 * a noted reference only when it is a contact candidate (Findings.settled and Findings.note). 0, or -1 on error. */
static int
note_cached(PyObject *pairs, PyObject *text, PyObject *settled, PyObject *known_contacts, PyObject *evidence)
{
    Py_ssize_t count = PyTuple_GET_SIZE(pairs);
    int r = PySet_Contains(settled, text);
    if (r != 0 || count == 0)
        return r < 0 ? -1 : 0;
    int all_known = 1;
    for (Py_ssize_t k = 0; k < count && all_known; k++) {
        PyObject *pair = PyTuple_GET_ITEM(pairs, k);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "scan_pooled: a cached answer's evidence must be (value, occurrence)");
            return -1;
        }
        if ((r = PySet_Contains(known_contacts, PyTuple_GET_ITEM(pair, 0))) < 0)
            return -1;
        all_known = r;
    }
    if (all_known)  /* every value has its contact excerpt already: later entries only add sources */
        return PySet_Add(settled, text);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *pair = PyTuple_GET_ITEM(pairs, k), *value = PyTuple_GET_ITEM(pair, 0);
        PyObject *occurrence = PyTuple_GET_ITEM(pair, 1);
        if (!PyTuple_Check(occurrence) || PyTuple_GET_SIZE(occurrence) != 3) {
            PyErr_SetString(PyExc_TypeError, "scan_pooled: an occurrence must be (how, excerpt, reference)");
            return -1;
        }
        if ((r = PySet_Contains(known_contacts, value)) < 0)
            return -1;
        if (r)
            continue;
        PyObject *known = PyDict_GetItemWithError(evidence, value);  /* borrowed */
        if (known == NULL && PyErr_Occurred())
            return -1;
        if (known != NULL && !(PyTuple_Check(known) && PyTuple_GET_SIZE(known) == 3)) {
            PyErr_SetString(PyExc_TypeError, "scan_pooled: evidence must hold (how, excerpt, reference)");
            return -1;
        }
        if (known != NULL && PyTuple_GET_ITEM(known, 2) == Py_None)
            continue;  /* settled: a contact occurrence in this entry already */
        if (known == NULL || PyTuple_GET_ITEM(occurrence, 2) == Py_None)
            if (PyDict_SetItem(evidence, value, occurrence) < 0)
                return -1;
    }
    return 0;
}

/* scan_pooled(data, state, prefix_len, cache, settled, known_contacts, hosts, ips, evidence, budget) ->
 * (spent, anchor): finder.scan_strings' loop over the anchors of a string table for as long as every string it
 * meets is answered by the package's string cache, which is nearly every string of a large app after its first
 * DEX file. ``state`` is a list [pos, dot start, dot end, colon start, colon end] (the cursor of
 * finder._AnchorCursor, -1 for None), read and updated in place. Each anchor handled here costs one of ``budget``;
 * the loop stops before the anchor that would overspend it, and before any anchor whose string needs the Python
 * (not cached, longer than MAX_POOLED_STRING, or a dotted quad, which the OID rule looks at): that anchor is
 * returned as (start, end), not spent, and the caller judges it and sets state[0] past its string. ``spent``:
 * anchors handled here, for the caller's ScanBudget. ``anchor`` None: the region is done. */
static PyObject *
scan_pooled(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *state, *cache, *settled, *known_contacts, *hosts, *ips, *evidence;
    Py_ssize_t prefix_len, budget, cur[4], pos, spent = 0, i = 0, j = 0;
    if (bare_tlds == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_hostcore.configure_anchors() has not been called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*O!nO!O!OO!O!O!n:scan_pooled", &view, &PyList_Type, &state, &prefix_len,
                          &PyDict_Type, &cache, &PySet_Type, &settled, &known_contacts, &PySet_Type, &hosts,
                          &PySet_Type, &ips, &PyDict_Type, &evidence, &budget))
        return NULL;
    PyObject *result = NULL;
    if (PyList_GET_SIZE(state) != 5 || !PyAnySet_Check(known_contacts)) {
        PyErr_SetString(PyExc_TypeError, "scan_pooled: state must be a list of 5 ints, known_contacts a set");
        goto done;
    }
    for (int k = 0; k < 5; k++) {
        Py_ssize_t v = PyLong_AsSsize_t(PyList_GET_ITEM(state, k));
        if (v == -1 && PyErr_Occurred())
            goto done;
        if (k == 0)
            pos = v;
        else
            cur[k - 1] = v;
    }
    const unsigned char *d = view.buf;
    Py_ssize_t n = view.len;
    int found = 0;
    while ((found = cursor_next(d, n, pos, cur, &i, &j)) > 0) {
        if (spent >= budget)
            break;  /* the caller's ScanBudget.spend raises at this anchor */
        /* the NULs around the anchor, looked for within MAX_POOLED_STRING + 1 bytes (as finder._pooled_anchor: past
         * that the string is too long either way) */
        Py_ssize_t first = 0, last = n, back = i > MAX_POOLED_STRING + 1 ? MAX_POOLED_STRING + 1 : i;
        Py_ssize_t ahead = n - i > MAX_POOLED_STRING + 1 ? MAX_POOLED_STRING + 1 : n - i;
        const unsigned char *nul = back ? memrchr(d + i - back, 0, (size_t)back) : NULL;
        if (nul != NULL)
            first = nul - d + 1;
        nul = memchr(d + i, 0, (size_t)ahead);
        if (nul != NULL)
            last = nul - d;
        if (last - first > MAX_POOLED_STRING)
            break;  /* not a string table here: the Python judges the anchor on its own */
        if (prefix_len)  /* first follows a NUL or is the region's start: a length prefix is there */
            first = first + prefix_len < i ? first + prefix_len : i;
        if (last - first <= 15 && dotted_quad(d + first, last - first))
            break;  /* the OID rule and the IP rules: the Python */
        PyObject *text = PyBytes_FromStringAndSize((const char *)d + first, last - first);
        if (text == NULL)
            goto done;
        PyObject *known = PyDict_GetItemWithError(cache, text);  /* borrowed */
        if (known == NULL) {
            Py_DECREF(text);
            if (PyErr_Occurred())
                goto done;
            break;  /* a string not analysed yet: the Python analyses it and fills the cache */
        }
        if (!PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 3 || !PyTuple_Check(PyTuple_GET_ITEM(known, 0))
                || !PyTuple_Check(PyTuple_GET_ITEM(known, 1)) || !PyTuple_Check(PyTuple_GET_ITEM(known, 2))) {
            Py_DECREF(text);
            PyErr_SetString(PyExc_TypeError, "scan_pooled: a cached answer must be (hosts, ips, evidence)");
            goto done;
        }
        Py_INCREF(known);
        int bad = add_all(hosts, PyTuple_GET_ITEM(known, 0)) < 0 || add_all(ips, PyTuple_GET_ITEM(known, 1)) < 0
                  || note_cached(PyTuple_GET_ITEM(known, 2), text, settled, known_contacts, evidence) < 0;
        Py_DECREF(known);
        Py_DECREF(text);
        if (bad)
            goto done;
        spent++;
        pos = last + 1;
    }
    if (found < 0)
        goto done;
    Py_ssize_t values[5] = {pos, cur[0], cur[1], cur[2], cur[3]};
    for (int k = 0; k < 5; k++) {
        PyObject *v = PyLong_FromSsize_t(values[k]);
        if (v == NULL)
            goto done;
        if (PyList_SetItem(state, k, v) < 0)  /* steals v, releases the old item */
            goto done;
    }
    result = found ? Py_BuildValue("(n(nn))", spent, i, j) : Py_BuildValue("(nO)", spent, Py_None);
done:
    PyBuffer_Release(&view);
    return result;
}

static PyObject *
configure_urls(PyObject *self, PyObject *args)
{
    PyObject *nj, *ph, *cw;
    if (!PyArg_ParseTuple(args, "OOO:configure_urls", &nj, &ph, &cw))
        return NULL;
    PyObject *searches[] = {PyObject_GetAttrString(nj, "search"), PyObject_GetAttrString(ph, "search"),
                            PyObject_GetAttrString(cw, "search")};
    if (searches[0] == NULL || searches[1] == NULL || searches[2] == NULL) {
        for (int k = 0; k < 3; k++)
            Py_XDECREF(searches[k]);
        return NULL;
    }
    Py_XSETREF(needs_judging, searches[0]);  /* bound methods: no attribute look-up per URL */
    Py_XSETREF(path_hints_lower, searches[1]);
    Py_XSETREF(context_words_lower, searches[2]);
    Py_RETURN_NONE;
}

static PyObject *
configure(PyObject *self, PyObject *args)
{
    PyObject *tl, *gl, *nc, *rt, *bt, *wt, *rr, *pr, *te, *u, *bh, *rd;
    if (!PyArg_ParseTuple(args, "OOO!O!O!O!O!O!O!OOO:configure", &tl, &gl, &PyFrozenSet_Type, &nc,
                          &PyFrozenSet_Type, &rt, &PyFrozenSet_Type, &bt, &PyFrozenSet_Type, &wt, &PyFrozenSet_Type,
                          &rr, &PyFrozenSet_Type, &pr, &PyFrozenSet_Type, &te, &u, &bh, &rd))
        return NULL;
    PyObject **slots[] = {&table_loader, &group_loader, &never_contacted, &reserved_tlds, &bare_tlds, &weak_bare_tlds,
                          &reverse_roots, &property_roots, &translated_examples, &py_url_host, &py_bare_host,
                          &py_registrable};
    PyObject *values[] = {tl, gl, nc, rt, bt, wt, rr, pr, te, u, bh, rd};
    for (size_t k = 0; k < sizeof slots / sizeof *slots; k++)
        Py_XSETREF(*slots[k], Py_NewRef(values[k]));
    if (set_tld_lengths() < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* instances(cls, fields, rows): [cls(*row) for row in rows] for a frozen dataclass whose __init__ does nothing but
 * give the instance the attributes {field: value} in field order (gate.extract.facts: Evidence, HostFact). A
 * package's facts are thousands of these; building each here skips the Python frame of __init__. The instance is
 * made as object.__new__(cls) and each attribute set as object.__setattr__(obj, field, value) would (the frozen
 * class's own __setattr__ refuses any name), in field order, so its __dict__ is the one __init__ makes. Each row
 * must have exactly one value per field. */
static PyObject *
instances(PyObject *self, PyObject *args)
{
    PyObject *cls, *fields, *given;
    if (!PyArg_ParseTuple(args, "O!O!O:instances", &PyType_Type, &cls, &PyTuple_Type, &fields, &given))
        return NULL;
    static PyObject *no_args;
    if (no_args == NULL && (no_args = PyTuple_New(0)) == NULL)
        return NULL;
    PyTypeObject *type = (PyTypeObject *)cls;
    Py_ssize_t width = PyTuple_GET_SIZE(fields);
    for (Py_ssize_t j = 0; j < width; j++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(fields, j))) {
            PyErr_SetString(PyExc_TypeError, "instances: field names must be str");
            return NULL;
        }
    }
    PyObject *rows = PySequence_Fast(given, "instances: rows must be a sequence");
    if (rows == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(rows);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        Py_DECREF(rows);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PySequence_Fast_GET_ITEM(rows, i);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != width) {
            PyErr_SetString(PyExc_TypeError, "instances: each row must be a tuple with one value per field");
            goto error;
        }
        PyObject *obj = PyBaseObject_Type.tp_new(type, no_args, NULL);
        if (obj == NULL)
            goto error;
        PyList_SET_ITEM(out, i, obj);
        for (Py_ssize_t j = 0; j < width; j++) {
            if (PyObject_GenericSetAttr(obj, PyTuple_GET_ITEM(fields, j), PyTuple_GET_ITEM(row, j)) < 0)
                goto error;
        }
    }
    Py_DECREF(rows);
    return out;
error:
    Py_DECREF(rows);
    Py_DECREF(out);
    return NULL;
}

/* add_source(sources_of, values, source): sources_of[value].add(source) for each value, a new set for a value seen
 * first (what the scanner's defaultdict(set) does). */
static PyObject *
add_source(PyObject *self, PyObject *args)
{
    PyObject *sources_of, *values, *source, *value;
    if (!PyArg_ParseTuple(args, "O!OO:add_source", &PyDict_Type, &sources_of, &values, &source))
        return NULL;
    PyObject *iter = PyObject_GetIter(values);
    if (iter == NULL)
        return NULL;
    while ((value = PyIter_Next(iter)) != NULL) {
        PyObject *sources = PyDict_GetItemWithError(sources_of, value);  /* borrowed */
        int r = -1;
        if (sources != NULL)
            r = PySet_Add(sources, source);
        else if (!PyErr_Occurred() && (sources = PySet_New(NULL)) != NULL) {
            r = PySet_Add(sources, source) < 0 ? -1 : PyDict_SetItem(sources_of, value, sources);
            Py_DECREF(sources);
        }
        Py_DECREF(value);
        if (r < 0)
            break;
    }
    Py_DECREF(iter);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* note_values(values, found, evidence, contacts, source, forced_how, default, entry_why, max_evidence): the loop of
 * network.NetworkScanner._note — each value's occurrence in this entry (``found``'s, else ``default``) kept as a
 * row (source, how, excerpt, reference, None) in ``evidence``: appended while fewer than ``max_evidence`` are kept,
 * else replacing the last when it is a contact candidate; a value with a contact occurrence joins ``contacts``. */
static PyObject *
note_values(PyObject *self, PyObject *args)
{
    PyObject *values, *found, *evidence, *contacts, *source, *forced_how, *fallback, *entry_why, *value;
    Py_ssize_t max_evidence;
    if (!PyArg_ParseTuple(args, "OO!O!O!OOO!On:note_values", &values, &PyDict_Type, &found, &PyDict_Type, &evidence,
                          &PySet_Type, &contacts, &source, &forced_how, &PyTuple_Type, &fallback, &entry_why,
                          &max_evidence))
        return NULL;
    int forced = PyObject_IsTrue(forced_how), from_entry = PyObject_IsTrue(entry_why);
    if (forced < 0 || from_entry < 0)
        return NULL;
    static PyObject *whole_string, *resource;
    if (whole_string == NULL && ((whole_string = PyUnicode_InternFromString("whole_string")) == NULL
                                 || (resource = PyUnicode_InternFromString("resource")) == NULL))
        return NULL;
    PyObject *iter = PyObject_GetIter(values);
    if (iter == NULL)
        return NULL;
    while ((value = PyIter_Next(iter)) != NULL) {
        PyObject *item = NULL;
        PyObject *occurrence = PyDict_GetItemWithError(found, value);  /* borrowed */
        if (occurrence == NULL && PyErr_Occurred())
            goto fail;
        if (occurrence == NULL)
            occurrence = fallback;
        if (!PyTuple_Check(occurrence) || PyTuple_GET_SIZE(occurrence) != 3) {
            PyErr_SetString(PyExc_TypeError, "note_values: an occurrence must be (how, excerpt, reference)");
            goto fail;
        }
        PyObject *how = PyTuple_GET_ITEM(occurrence, 0), *why = from_entry ? entry_why : PyTuple_GET_ITEM(occurrence, 2);
        if (forced)
            how = forced_how;
        else {
            int whole = PyObject_RichCompareBool(how, whole_string, Py_EQ);
            if (whole < 0)
                goto fail;
            if (whole)
                how = resource;
        }
        item = PyTuple_Pack(5, source, how, PyTuple_GET_ITEM(occurrence, 1), why, Py_None);
        if (item == NULL)
            goto fail;
        PyObject *kept = PyDict_GetItemWithError(evidence, value);  /* borrowed */
        int r;
        if (kept == NULL) {
            if (PyErr_Occurred())
                goto fail;
            PyObject *rows = PyList_New(1);
            if (rows == NULL)
                goto fail;
            PyList_SET_ITEM(rows, 0, Py_NewRef(item));
            r = PyDict_SetItem(evidence, value, rows);
            Py_DECREF(rows);
        } else if (!PyList_Check(kept)) {
            PyErr_SetString(PyExc_TypeError, "note_values: evidence must hold lists");
            goto fail;
        } else if (PyList_GET_SIZE(kept) < max_evidence) {
            r = PyList_Append(kept, item);
        } else if (why == Py_None) {  /* a contact occurrence is worth more than a fifth reference */
            r = PyList_SetItem(kept, PyList_GET_SIZE(kept) - 1, Py_NewRef(item));
        } else {
            Py_DECREF(item);
            Py_DECREF(value);
            continue;
        }
        if (r < 0 || (why == Py_None && PySet_Add(contacts, value) < 0))
            goto fail;
        Py_DECREF(item);
        Py_DECREF(value);
        continue;
    fail:
        Py_XDECREF(item);
        Py_DECREF(value);
        break;
    }
    Py_DECREF(iter);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* host_fact_rows(names, domains, evidence, counts, host_sources, by_table_of, code_sdks, contacts, max_evidence):
 * the rows of HostFact's fields that network.NetworkScanner.facts builds in its loop over the sorted host names —
 * (host, registrable domain, sorted sources, SDK, kind, evidence, SDK source) — with ``evidence`` the built
 * Evidence objects of every host in order and ``counts`` how many are each host's. ``code_sdks`` maps a host to
 * (SDK, evidence) when only one SDK's classes load it; it is consulted when the host table has no label. */
static PyObject *
host_fact_rows(PyObject *self, PyObject *args)
{
    PyObject *names, *domains, *evidence, *counts, *host_sources, *by_table_of, *code_sdks, *contacts;
    Py_ssize_t max_evidence;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O!On:host_fact_rows", &PyList_Type, &names, &PyList_Type, &domains,
                          &PyList_Type, &evidence, &PyList_Type, &counts, &PyDict_Type, &host_sources, &PyDict_Type,
                          &by_table_of, &PyDict_Type, &code_sdks, &contacts, &max_evidence))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(names), at = 0;
    if (PyList_GET_SIZE(domains) != n || PyList_GET_SIZE(counts) != n || !PyAnySet_Check(contacts)) {
        PyErr_SetString(PyExc_TypeError, "host_fact_rows: names, domains and counts of one length; contacts a set");
        return NULL;
    }
    static PyObject *contact, *reference, *by_host, *by_code_label;
    if (contact == NULL && ((contact = PyUnicode_InternFromString("contact")) == NULL
            || (reference = PyUnicode_InternFromString("reference")) == NULL
            || (by_host = PyUnicode_InternFromString("host")) == NULL
            || (by_code_label = PyUnicode_InternFromString("code")) == NULL))
        return NULL;
    PyObject *rows = PyList_New(n);
    if (rows == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *host = PyList_GET_ITEM(names, k), *row = NULL, *kept = NULL, *sources = NULL, *sorted = NULL;
        Py_ssize_t count = PyLong_AsSsize_t(PyList_GET_ITEM(counts, k));
        if (count == -1 && PyErr_Occurred())
            goto fail;
        if (count < 0 || at + count > PyList_GET_SIZE(evidence)) {
            PyErr_SetString(PyExc_ValueError, "host_fact_rows: counts exceed the evidence");
            goto fail;
        }
        PyObject *by_table = PyDict_GetItemWithError(by_table_of, host);  /* borrowed */
        if (by_table == NULL && PyErr_Occurred())
            goto fail;
        PyObject *by_code = PyDict_GET_SIZE(code_sdks) ? PyDict_GetItemWithError(code_sdks, host) : NULL;
        if (by_code == NULL && PyErr_Occurred())
            goto fail;
        if (by_code != NULL && (!PyTuple_Check(by_code) || PyTuple_GET_SIZE(by_code) != 2
                                || !PyTuple_Check(PyTuple_GET_ITEM(by_code, 1)))) {
            PyErr_SetString(PyExc_TypeError, "host_fact_rows: code_sdks must map to (sdk, evidence)");
            goto fail;
        }
        Py_ssize_t extra = 0;
        if (by_table == NULL && by_code != NULL) {  /* evidence + by_code[1][:max_evidence] */
            extra = PyTuple_GET_SIZE(PyTuple_GET_ITEM(by_code, 1));
            extra = extra < max_evidence ? extra : (max_evidence > 0 ? max_evidence : 0);
        }
        if ((kept = PyTuple_New(count + extra)) == NULL)
            goto fail;
        for (Py_ssize_t j = 0; j < count; j++)
            PyTuple_SET_ITEM(kept, j, Py_NewRef(PyList_GET_ITEM(evidence, at + j)));
        for (Py_ssize_t j = 0; j < extra; j++)
            PyTuple_SET_ITEM(kept, count + j, Py_NewRef(PyTuple_GET_ITEM(PyTuple_GET_ITEM(by_code, 1), j)));
        at += count;
        PyObject *found_in = PyDict_GetItemWithError(host_sources, host);  /* tuple(sorted(host_sources[host])) */
        if (found_in == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, host);
            goto fail_row;
        }
        if ((sorted = PySequence_List(found_in)) == NULL || PyList_Sort(sorted) < 0
                || (sources = PyList_AsTuple(sorted)) == NULL)
            goto fail_row;
        int table_true = by_table != NULL ? PyObject_IsTrue(by_table) : 0;
        int code_true = by_code != NULL ? PyObject_IsTrue(by_code) : 0;
        int in_contacts = PySet_Contains(contacts, host);
        if (table_true < 0 || code_true < 0 || in_contacts < 0)
            goto fail_row;
        /* by_table or (by_code[0] if by_code else None); "host" if by_table else "code" if by_code else None */
        PyObject *sdk = table_true ? by_table : code_true ? PyTuple_GET_ITEM(by_code, 0) : Py_None;
        PyObject *sdk_source = table_true ? by_host : code_true ? by_code_label : Py_None;
        row = PyTuple_Pack(7, host, PyList_GET_ITEM(domains, k), sources, sdk, in_contacts ? contact : reference,
                           kept, sdk_source);
    fail_row:
        Py_XDECREF(kept);
        Py_XDECREF(sorted);
        Py_XDECREF(sources);
        if (row == NULL)
            goto fail;
        PyList_SET_ITEM(rows, k, row);
        continue;
    fail:
        Py_DECREF(rows);
        return NULL;
    }
    return rows;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(suffix_table, suffix_group, never_contacted, reserved_tlds, bare_tlds, weak_bare_tlds,"
     " reverse_dns_roots, system_property_roots, translated_examples, url_host, bare_host, registrable_domain)"},
    {"url_host", url_host, METH_O, "domains.url_host"},
    {"bare_host", bare_host, METH_O, "domains.bare_host"},
    {"registrable_domain", registrable_domain, METH_O, "suffixes.registrable_domain"},
    {"split_region", split_region, METH_O, "split_region(data) -> ({authority: last index}, blanked, int64 spans)"},
    {"configure_urls", configure_urls, METH_VARARGS, "configure_urls(url_needs_judging, path_hints_lower, "
     "context_words_lower)"},
    {"judge_span", judge_span, METH_VARARGS, "judge_span(data, spans, k, prefix_len, markup_links): the fast paths "
     "of finder._note_url"},
    {"add_hosts", add_hosts, METH_VARARGS, "add_hosts(hosts, authorities, hosts_of): the hosts of each authority"},
    {"judge_authorities", judge_authorities, METH_VARARGS, "judge_authorities(data, spans, last, pos, prefix_len, "
     "markup_links, hosts_of, ips_of, settled, known_contacts, evidence): finder._take_url_authorities' loop"},
    {"resolve_authorities", resolve_authorities, METH_VARARGS,
     "resolve_authorities(authorities, hosts_of, ips_of, fallback): finder._authority_values of each"},
    {"configure_anchors", configure_anchors, METH_O, "configure_anchors(bare_tlds)"},
    {"anchor_search", anchor_search, METH_VARARGS,
     "anchor_search(data, pos, colon): finder._DOT_ANCHORS / _COLON_ANCHORS .search(data, pos).span() or None"},
    {"scan_pooled", scan_pooled, METH_VARARGS, "scan_pooled(data, state, prefix_len, cache, settled, known_contacts, "
     "hosts, ips, evidence, budget) -> (spent, anchor): finder.scan_strings' loop over cached strings"},
    {"load_sites", load_sites, METH_VARARGS, "load_sites(data, wanted, lo, hi, overlapping): dex_flow._load_sites"},
    {"add_source", add_source, METH_VARARGS, "add_source(sources_of, values, source): the scanner's sources per value"},
    {"note_values", note_values, METH_VARARGS, "note_values(values, found, evidence, contacts, source, forced_how, "
     "default, entry_why, max_evidence): the loop of NetworkScanner._note"},
    {"host_fact_rows", host_fact_rows, METH_VARARGS, "host_fact_rows(names, domains, evidence, counts, host_sources, "
     "by_table_of, code_sdks, contacts, max_evidence): the rows of NetworkScanner.facts"},
    {"instances", instances, METH_VARARGS, "instances(cls, fields, rows): [cls(*row) for row in rows] (facts types)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "gate.extract.network._hostcore",
                                    "The network scanner's per-candidate work in C (see the source's comment).", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC
PyInit__hostcore(void)
{
    const char *allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_~%!$&'()*+,;=:@[]";
    for (const char *c = allowed; *c; c++)
        authority_byte[(unsigned char)*c] = 1;
    for (Py_ssize_t k = 0; schemes[k]; k++)
        scheme_length[k] = (Py_ssize_t)strlen(schemes[k]);
    return PyModule_Create(&module);
}
