/* Loading a corpus directory: corpus.json (credentials, keys, faults), messages.jsonl (indexed,
 * never held in memory) and media.json. See corpus.h and native/README.md for the layout.
 *
 * Every loader function returns 0 or -1; on -1 the loader's err buffer holds a one-line reason
 * (Init prefixes it with "WeCom SDK simulator: " and prints it). Syntax errors found by the JSON
 * cursor are turned into messages by the function that owns the cursor. */
#include "corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "json.h"
#include "util.h"

#define MAX_MSG_LEN (1u << 30) /* keeps every later length computation well inside int */
#define READ_CHUNK (1u << 20)

/* A fault that targets one message; resolved to a flag on the index once it is built. */
typedef struct seq_fault {
    uint64_t seq;
    uint16_t flag;
    size_t index; /* position in "faults", for the error message */
} seq_fault;

typedef struct loader {
    sim_corpus *c;
    char *err;
    size_t errlen;
    char **key_paths; /* parallel to c->keys until the key files are read */
    seq_fault *seq_faults;
    size_t nseq_faults;
} loader;

static int fail(loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err, ld->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Report a JSON syntax error unless a more specific message was already written. */
static int syntax_error(loader *ld, const char *file, const json_cur *cur)
{
    size_t line, col;
    if (ld->err[0])
        return -1;
    json_position(cur, &line, &col);
    return fail(ld, "%s line %zu column %zu: invalid JSON: %s", file, line, col,
                cur->err ? cur->err : "syntax error");
}

/* Make room in the array *arr_ptr (n elements of size sz) for one more and return a pointer to
 * it; the caller then increments n. The capacity is implied: it doubles whenever n reaches a
 * power of two, so arrays need no separate capacity field. */
static void *grow(void *arr_ptr, size_t n, size_t sz)
{
    void **arr = arr_ptr;
    if ((n & (n - 1)) == 0) { /* n is 0 or a power of two: the array is full */
        size_t cap = n ? n * 2 : 1;
        void *p = cap > SIZE_MAX / sz ? NULL : realloc(*arr, cap * sz);
        if (!p)
            return NULL;
        *arr = p;
    }
    return (char *)*arr + n * sz;
}

/* ---- corpus.json ------------------------------------------------------------------------- */

static int read_string(loader *ld, json_cur *cur, const char *what, char **out)
{
    size_t len;
    if (*out)
        return fail(ld, "corpus.json: duplicate %s", what);
    if (json_peek(cur) != '"')
        return fail(ld, "corpus.json: %s must be a string", what);
    if (json_string(cur, out, &len) < 0)
        return -1;
    if (strlen(*out) != len)
        return fail(ld, "corpus.json: %s contains a NUL character", what);
    return 0;
}

/* Read a positive integer member value; max bounds it. */
static int read_positive(loader *ld, json_cur *cur, const char *what, uint64_t max, uint64_t *out)
{
    int is_int;
    if (json_uint(cur, out, &is_int) < 0)
        return -1;
    if (!is_int || *out == 0 || *out > max)
        return fail(ld, "corpus.json: %s must be a positive integer (at most %llu)", what,
                    (unsigned long long)max);
    return 0;
}

/* A key version is written as a JSON object key: a decimal string without leading zeros. */
static int parse_version(const char *s, size_t len, uint32_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 10 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* One "keys" entry: {"public": path, ...}; other members are the app's business. */
static int parse_key_entry(loader *ld, json_cur *cur, const char *version, char **path)
{
    char key[JSON_KEY_MAX + 1], what[96];
    size_t klen;
    int first = 1, more;

    snprintf(what, sizeof what, "keys[\"%s\"]", version);
    if (json_peek(cur) != '{')
        return fail(ld, "corpus.json: %s must be an object", what);
    json_obj_begin(cur);
    while ((more = json_obj_next(cur, &first, key, &klen)) > 0) {
        if (json_key_is(key, klen, "public")) {
            snprintf(what, sizeof what, "keys[\"%s\"].public", version);
            if (read_string(ld, cur, what, path) < 0)
                return -1;
        } else if (json_skip_value(cur) < 0) {
            return -1;
        }
    }
    if (more < 0)
        return -1;
    if (!*path)
        return fail(ld, "corpus.json: %s has no \"public\" key path", what);
    return 0;
}

static int parse_keys(loader *ld, json_cur *cur)
{
    sim_corpus *c = ld->c;
    char key[JSON_KEY_MAX + 1];
    size_t klen;
    int first = 1, more;

    if (json_peek(cur) != '{')
        return fail(ld, "corpus.json: keys must be an object");
    json_obj_begin(cur);
    while ((more = json_obj_next(cur, &first, key, &klen)) > 0) {
        uint32_t version;
        if (parse_version(key, klen, &version) < 0)
            return fail(ld, "corpus.json: keys: \"%.64s\" is not a key version (a positive decimal integer)",
                        key);
        for (size_t i = 0; i < c->nkeys; i++)
            if (c->keys[i].version == version)
                return fail(ld, "corpus.json: keys: duplicate version %u", version);
        if (c->nkeys >= UINT16_MAX)
            return fail(ld, "corpus.json: too many keys");
        sim_key *k = grow(&c->keys, c->nkeys, sizeof *k);
        char **p = k ? grow(&ld->key_paths, c->nkeys, sizeof *p) : NULL;
        if (!p)
            return fail(ld, "out of memory");
        k->version = version;
        k->pkey = NULL;
        *p = NULL;
        c->nkeys++; /* counted before parsing so the path is freed on every path */
        if (parse_key_entry(ld, cur, key, p) < 0)
            return -1;
    }
    return more;
}

/* ---- faults ---- */

enum {
    F_KIND = 1 << 0,
    F_CALL = 1 << 1,
    F_NTH = 1 << 2,
    F_CODE = 1 << 3,
    F_TIMES = 1 << 4,
    F_SEQ = 1 << 5,
    F_SDKFILEID = 1 << 6,
};

static const struct {
    const char *name;
    unsigned bit;
} FIELDS[] = {
    {"kind", F_KIND},   {"call", F_CALL}, {"nth", F_NTH},           {"code", F_CODE},
    {"times", F_TIMES}, {"seq", F_SEQ},   {"sdkfileid", F_SDKFILEID},
};

enum fault_kind { K_CALL_ERROR, K_CALL_TIMEOUT, K_CORRUPT, K_MALFORMED, K_EXPIRED };

static const struct {
    const char *name;
    unsigned required, optional;
} KINDS[] = {
    [K_CALL_ERROR] = {"call_error", F_KIND | F_CALL | F_NTH | F_CODE, F_TIMES},
    [K_CALL_TIMEOUT] = {"call_timeout", F_KIND | F_CALL | F_NTH, F_TIMES},
    [K_CORRUPT] = {"corrupt_ciphertext", F_KIND | F_SEQ, 0},
    [K_MALFORMED] = {"malformed_json", F_KIND | F_SEQ, 0},
    [K_EXPIRED] = {"media_expired", F_KIND | F_SDKFILEID, 0},
};

typedef struct fault_fields {
    unsigned seen;
    char *kind, *call, *sdkfileid;
    uint64_t nth, code, times, seq;
} fault_fields;

static int read_fault_field(loader *ld, json_cur *cur, const char *what, unsigned bit,
                            fault_fields *f)
{
    switch (bit) {
    case F_KIND: return read_string(ld, cur, what, &f->kind);
    case F_CALL: return read_string(ld, cur, what, &f->call);
    case F_SDKFILEID: return read_string(ld, cur, what, &f->sdkfileid);
    case F_NTH: return read_positive(ld, cur, what, UINT64_MAX, &f->nth);
    case F_TIMES: return read_positive(ld, cur, what, UINT64_MAX, &f->times);
    case F_SEQ: return read_positive(ld, cur, what, UINT64_MAX, &f->seq);
    default: return read_positive(ld, cur, what, INT_MAX, &f->code);
    }
}

static int parse_fault_fields(loader *ld, json_cur *cur, size_t index, fault_fields *f)
{
    char key[JSON_KEY_MAX + 1], what[128];
    size_t klen;
    int first = 1, more;

    if (json_peek(cur) != '{')
        return fail(ld, "corpus.json: faults[%zu] must be an object", index);
    json_obj_begin(cur);
    while ((more = json_obj_next(cur, &first, key, &klen)) > 0) {
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
            if (json_key_is(key, klen, FIELDS[i].name))
                bit = FIELDS[i].bit;
        if (!bit)
            return fail(ld, "corpus.json: faults[%zu]: unknown field \"%.64s\"", index, key);
        if (f->seen & bit)
            return fail(ld, "corpus.json: faults[%zu]: duplicate field \"%s\"", index, key);
        f->seen |= bit;
        snprintf(what, sizeof what, "faults[%zu].%s", index, key);
        if (read_fault_field(ld, cur, what, bit, f) < 0)
            return -1;
    }
    return more;
}

static const char *field_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
        if (FIELDS[i].bit == bit)
            return FIELDS[i].name;
    return "?";
}

/* Check a parsed fault against its kind and record it in the corpus. */
static int add_fault(loader *ld, size_t index, fault_fields *f)
{
    sim_corpus *c = ld->c;
    size_t kind = sizeof KINDS / sizeof KINDS[0];

    if (!f->kind)
        return fail(ld, "corpus.json: faults[%zu]: missing \"kind\"", index);
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (strcmp(f->kind, KINDS[i].name) == 0)
            kind = i;
    if (kind == sizeof KINDS / sizeof KINDS[0])
        return fail(ld, "corpus.json: faults[%zu]: unknown kind \"%.64s\"", index, f->kind);
    for (unsigned bit = 1; bit <= F_SDKFILEID; bit <<= 1) {
        if ((KINDS[kind].required & bit) && !(f->seen & bit))
            return fail(ld, "corpus.json: faults[%zu]: kind \"%s\" needs \"%s\"", index, f->kind,
                        field_name(bit));
        if ((f->seen & bit) && !((KINDS[kind].required | KINDS[kind].optional) & bit))
            return fail(ld, "corpus.json: faults[%zu]: field \"%s\" does not apply to kind \"%s\"",
                        index, field_name(bit), f->kind);
    }

    if (kind == K_CALL_ERROR || kind == K_CALL_TIMEOUT) {
        sim_call_fault *cf;
        int chat = strcmp(f->call, "GetChatData") == 0;
        if (!chat && strcmp(f->call, "GetMediaData") != 0)
            return fail(ld, "corpus.json: faults[%zu]: call must be \"GetChatData\" or \"GetMediaData\"",
                        index);
        if (!(cf = grow(&c->call_faults, c->ncall_faults, sizeof *cf)))
            return fail(ld, "out of memory");
        cf->call = chat ? SIM_CALL_CHAT : SIM_CALL_MEDIA;
        cf->timeout = kind == K_CALL_TIMEOUT;
        cf->code = kind == K_CALL_ERROR ? (int)f->code : 10001;
        cf->nth = f->nth;
        cf->times = (f->seen & F_TIMES) ? f->times : 1;
        c->ncall_faults++;
    } else if (kind == K_EXPIRED) {
        char **slot = grow(&c->expired, c->nexpired, sizeof *slot);
        if (!slot)
            return fail(ld, "out of memory");
        *slot = f->sdkfileid;
        f->sdkfileid = NULL; /* now owned by the corpus */
        c->nexpired++;
    } else {
        seq_fault *sf = grow(&ld->seq_faults, ld->nseq_faults, sizeof *sf);
        if (!sf)
            return fail(ld, "out of memory");
        sf->seq = f->seq;
        sf->flag = kind == K_CORRUPT ? SIM_FAULT_CORRUPT : SIM_FAULT_MALFORMED;
        sf->index = index;
        ld->nseq_faults++;
    }
    return 0;
}

static int parse_faults(loader *ld, json_cur *cur)
{
    int first = 1, more;
    size_t index = 0;

    if (json_peek(cur) != '[')
        return fail(ld, "corpus.json: faults must be an array");
    json_arr_begin(cur);
    while ((more = json_arr_next(cur, &first)) > 0) {
        fault_fields f = {0};
        int rc = parse_fault_fields(ld, cur, index, &f);
        if (rc == 0)
            rc = add_fault(ld, index, &f);
        free(f.kind);
        free(f.call);
        free(f.sdkfileid);
        if (rc < 0)
            return -1;
        index++;
    }
    return more;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_key(const void *a, const void *b)
{
    const sim_key *x = a, *y = b;
    return x->version < y->version ? -1 : x->version > y->version;
}

/* Parse corpus.json's members; key files are read later, once the credentials matched. */
static int parse_corpus_members(loader *ld, json_cur *cur, char **corpid, char **secret)
{
    char key[JSON_KEY_MAX + 1];
    size_t klen;
    int first = 1, more, have_keys = 0;

    if (json_obj_begin(cur) < 0)
        return -1;
    while ((more = json_obj_next(cur, &first, key, &klen)) > 0) {
        int rc;
        if (json_key_is(key, klen, "corpid")) {
            rc = read_string(ld, cur, "corpid", corpid);
        } else if (json_key_is(key, klen, "secret")) {
            rc = read_string(ld, cur, "secret", secret);
        } else if (json_key_is(key, klen, "keys")) {
            rc = have_keys ? fail(ld, "corpus.json: duplicate keys") : parse_keys(ld, cur);
            have_keys = 1;
        } else if (json_key_is(key, klen, "faults")) {
            rc = parse_faults(ld, cur);
        } else {
            rc = json_skip_value(cur); /* room for the generator's own notes */
        }
        if (rc < 0)
            return -1;
    }
    if (more < 0 || json_end(cur) < 0)
        return -1;
    if (!*corpid || !*secret || !have_keys)
        return fail(ld, "corpus.json: missing \"%s\"", !*corpid ? "corpid" : !*secret ? "secret" : "keys");
    return 0;
}

static int load_key_files(loader *ld)
{
    sim_corpus *c = ld->c;
    for (size_t i = 0; i < c->nkeys; i++) {
        char *path = sim_path_join(c->dir, ld->key_paths[i]);
        if (!path)
            return fail(ld, "out of memory");
        c->keys[i].pkey = sim_load_public_key(path, ld->err, ld->errlen);
        free(path);
        if (!c->keys[i].pkey)
            return -1;
    }
    qsort(c->keys, c->nkeys, sizeof *c->keys, cmp_key);
    return 0;
}

static int load_corpus_json(loader *ld, const char *corpid, const char *secret)
{
    char *path = sim_path_join(ld->c->dir, "corpus.json"), *text = NULL;
    char *want_corpid = NULL, *want_secret = NULL;
    size_t len;
    json_cur cur;
    int rc = -1;

    if (!path) {
        fail(ld, "out of memory");
        goto done;
    }
    if (sim_read_file(path, &text, &len, ld->err, ld->errlen) < 0)
        goto done;
    json_init(&cur, text, len);
    if (parse_corpus_members(ld, &cur, &want_corpid, &want_secret) < 0) {
        syntax_error(ld, "corpus.json", &cur);
        goto done;
    }
    if (strcmp(corpid, want_corpid) != 0 || strcmp(secret, want_secret) != 0) {
        fail(ld, "corpid/secret do not match the corpus");
        rc = SIM_CORPUS_BAD_CREDENTIALS;
        goto done;
    }
    rc = load_key_files(ld);
    if (rc == 0)
        qsort(ld->c->expired, ld->c->nexpired, sizeof *ld->c->expired, cmp_str_ptr);
done:
    free(path);
    free(text);
    free(want_corpid);
    free(want_secret);
    return rc;
}

/* ---- messages.jsonl ---------------------------------------------------------------------- */

/* Reads a file line by line through one growing buffer; lines are returned in place. */
typedef struct line_reader {
    int fd;
    char *buf;
    size_t cap, pos, end, scanned; /* scanned: bytes from pos already known to hold no '\n' */
    uint64_t base;                 /* file offset of buf[0] */
    int eof;
} line_reader;

/* 1: a line (without its '\n'), 0: end of file, -1: read error (errno set). */
static int next_line(line_reader *lr, const char **line, size_t *len, uint64_t *off)
{
    for (;;) {
        char *from = lr->buf + lr->pos + lr->scanned;
        char *nl = memchr(from, '\n', lr->end - lr->pos - lr->scanned);
        if (nl || (lr->eof && lr->pos < lr->end)) {
            size_t n = nl ? (size_t)(nl - (lr->buf + lr->pos)) : lr->end - lr->pos;
            *line = lr->buf + lr->pos;
            *len = n;
            *off = lr->base + lr->pos;
            lr->pos += n + (nl != NULL);
            lr->scanned = 0;
            return 1;
        }
        if (lr->eof)
            return 0;
        lr->scanned = lr->end - lr->pos;
        if (lr->pos > 0) { /* move the partial line to the front */
            memmove(lr->buf, lr->buf + lr->pos, lr->end - lr->pos);
            lr->base += lr->pos;
            lr->end -= lr->pos;
            lr->pos = 0;
        }
        if (lr->end == lr->cap) { /* a line longer than the buffer */
            char *p = realloc(lr->buf, lr->cap * 2);
            if (!p) {
                errno = ENOMEM;
                return -1;
            }
            lr->buf = p;
            lr->cap *= 2;
        }
        ssize_t n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            lr->eof = 1;
        lr->end += (size_t)n;
    }
}

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

static int find_key(const sim_corpus *c, uint64_t version)
{
    for (size_t i = 0; i < c->nkeys; i++)
        if (c->keys[i].version == version)
            return (int)i;
    return -1;
}

/* The raw top-level members of one line. */
typedef struct line_fields {
    int has_seq, has_ver, has_msg;
    uint64_t seq, ver;
    size_t msg_off, msg_len; /* within the line */
} line_fields;

static int line_fail(loader *ld, unsigned long long lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int line_fail(loader *ld, unsigned long long lineno, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(ld->err, ld->errlen, "messages.jsonl line %llu: ", lineno);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < ld->errlen)
        vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Read one line's members, validating the whole line but building nothing for the msg value. */
static int scan_line(loader *ld, const char *line, size_t len, unsigned long long lineno,
                     line_fields *lf)
{
    char key[JSON_KEY_MAX + 1];
    size_t klen;
    int first = 1, more, is_int;
    json_cur cur;

    json_init(&cur, line, len);
    if (json_obj_begin(&cur) < 0)
        goto syntax;
    while ((more = json_obj_next(&cur, &first, key, &klen)) > 0) {
        if (json_key_is(key, klen, "seq") || json_key_is(key, klen, "publickey_ver")) {
            int is_seq = json_key_is(key, klen, "seq");
            uint64_t v;
            if (is_seq ? lf->has_seq : lf->has_ver)
                return line_fail(ld, lineno, "duplicate \"%s\"", key);
            if (json_uint(&cur, &v, &is_int) < 0)
                goto syntax;
            if (!is_int || v == 0 || (!is_seq && v > UINT32_MAX))
                return line_fail(ld, lineno, "\"%s\" must be a positive integer", key);
            *(is_seq ? &lf->seq : &lf->ver) = v;
            *(is_seq ? &lf->has_seq : &lf->has_ver) = 1;
        } else if (json_key_is(key, klen, "msg")) {
            if (lf->has_msg)
                return line_fail(ld, lineno, "duplicate \"msg\"");
            if (json_peek(&cur) != '{')
                return line_fail(ld, lineno, "\"msg\" must be an object");
            lf->msg_off = (size_t)(cur.p - line);
            if (json_skip_value(&cur) < 0)
                goto syntax;
            lf->msg_len = (size_t)(cur.p - line) - lf->msg_off;
            lf->has_msg = 1;
        } else if (json_skip_value(&cur) < 0) {
            goto syntax;
        }
    }
    if (more < 0 || json_end(&cur) < 0)
        goto syntax;
    if (!lf->has_msg)
        return line_fail(ld, lineno, "missing \"msg\" object");
    if (lf->msg_len > MAX_MSG_LEN)
        return line_fail(ld, lineno, "\"msg\" is larger than 1 GiB");
    return 0;
syntax:
    return line_fail(ld, lineno, "invalid JSON at column %zu: %s", json_column(&cur), cur.err);
}

/* Index one non-blank line, applying the defaults and the rising-seq rule. */
static int index_line(loader *ld, const char *line, size_t len, uint64_t off,
                      unsigned long long lineno)
{
    sim_corpus *c = ld->c;
    line_fields lf = {0};
    const sim_msg *prev = c->nmsgs ? &c->msgs[c->nmsgs - 1] : NULL;
    sim_msg *m;
    int key;

    if (scan_line(ld, line, len, lineno, &lf) < 0)
        return -1;
    if (!lf.has_seq) {
        if (prev && prev->seq == UINT64_MAX)
            return line_fail(ld, lineno, "seq overflows");
        lf.seq = prev ? prev->seq + 1 : 1;
    }
    if (prev && lf.seq <= prev->seq)
        return line_fail(ld, lineno, "seq %llu is not greater than the previous seq %llu",
                         (unsigned long long)lf.seq, (unsigned long long)prev->seq);
    if (!lf.has_ver) {
        if (c->nkeys == 0)
            return line_fail(ld, lineno, "no publickey_ver, and corpus.json has no keys");
        lf.ver = c->keys[c->nkeys - 1].version; /* keys are sorted: the highest version */
    }
    if ((key = find_key(c, lf.ver)) < 0)
        return line_fail(ld, lineno, "publickey_ver %llu has no key in corpus.json", (unsigned long long)lf.ver);
    if (!(m = grow(&c->msgs, c->nmsgs, sizeof *m)))
        return fail(ld, "out of memory");
    m->seq = lf.seq;
    m->off = off + lf.msg_off;
    m->len = (uint32_t)lf.msg_len;
    m->key = (uint16_t)key;
    m->flags = 0;
    c->nmsgs++;
    return 0;
}

static int load_messages(loader *ld)
{
    sim_corpus *c = ld->c;
    char *path = sim_path_join(c->dir, "messages.jsonl");
    line_reader lr = {.fd = -1, .cap = READ_CHUNK};
    unsigned long long lineno = 0;
    const char *line;
    size_t len;
    uint64_t off;
    int more, rc = -1;

    if (!path || !(lr.buf = malloc(lr.cap))) {
        fail(ld, "out of memory");
        goto done;
    }
    if ((c->msg_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        sim_errno_msg(ld->err, ld->errlen, "cannot read", path);
        goto done;
    }
    lr.fd = c->msg_fd;
    while ((more = next_line(&lr, &line, &len, &off)) > 0) {
        lineno++;
        if (!is_blank(line, len) && index_line(ld, line, len, off, lineno) < 0)
            goto done;
    }
    if (more < 0) {
        sim_errno_msg(ld->err, ld->errlen, "cannot read", path);
        goto done;
    }
    if (c->nmsgs) { /* give back the doubling slack: the index lives as long as the handle */
        sim_msg *shrunk = realloc(c->msgs, c->nmsgs * sizeof *c->msgs);
        if (shrunk)
            c->msgs = shrunk;
    }
    rc = 0;
done:
    free(path);
    free(lr.buf);
    return rc;
}

static int resolve_seq_faults(loader *ld)
{
    sim_corpus *c = ld->c;
    for (size_t i = 0; i < ld->nseq_faults; i++) {
        const seq_fault *f = &ld->seq_faults[i];
        size_t at = sim_corpus_first_after(c, f->seq - 1);
        if (at == c->nmsgs || c->msgs[at].seq != f->seq)
            return fail(ld, "corpus.json: faults[%zu]: seq %llu is not in messages.jsonl", f->index,
                        (unsigned long long)f->seq);
        c->msgs[at].flags |= f->flag;
    }
    return 0;
}

/* ---- media.json -------------------------------------------------------------------------- */

static int cmp_media(const void *a, const void *b)
{
    return strcmp(((const sim_media *)a)->id, ((const sim_media *)b)->id);
}

/* One "<sdkfileid>": "<path>" member; takes ownership of id. */
static int add_media(loader *ld, json_cur *cur, char *id, size_t idlen)
{
    sim_corpus *c = ld->c;
    char *path = NULL;
    size_t plen;
    sim_media *m;
    int rc = -1;

    if (json_peek(cur) != '"') {
        fail(ld, "media.json: the value for \"%.80s\" must be a string (a path)", id);
        goto done;
    }
    if (json_string(cur, &path, &plen) < 0)
        goto done;
    if (strlen(id) != idlen || strlen(path) != plen || plen == 0) {
        fail(ld, "media.json: bad entry \"%.80s\" (NUL character or empty path)", id);
        goto done;
    }
    if (!(m = grow(&c->media, c->nmedia, sizeof *m))) {
        fail(ld, "out of memory");
        goto done;
    }
    /* One allocation for both strings halves the malloc count of a 100k-entry table. */
    if (!(m->id = malloc(idlen + 1 + plen + 1))) {
        fail(ld, "out of memory");
        goto done;
    }
    memcpy(m->id, id, idlen + 1);
    memcpy(m->id + idlen + 1, path, plen + 1);
    m->path = m->id + idlen + 1;
    c->nmedia++;
    rc = 0;
done:
    free(id);
    free(path);
    return rc;
}

static int load_media(loader *ld)
{
    sim_corpus *c = ld->c;
    char *path = sim_path_join(c->dir, "media.json"), *text = NULL, *id;
    size_t len, idlen;
    json_cur cur;
    int first = 1, more, rc = -1;

    if (!path) {
        fail(ld, "out of memory");
        goto done;
    }
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        rc = 0; /* a corpus without media */
        goto done;
    }
    if (sim_read_file(path, &text, &len, ld->err, ld->errlen) < 0)
        goto done;
    json_init(&cur, text, len);
    if (json_obj_begin(&cur) < 0)
        goto syntax;
    while ((more = json_obj_next_alloc(&cur, &first, &id, &idlen)) > 0)
        if (add_media(ld, &cur, id, idlen) < 0)
            goto syntax;
    if (more < 0 || json_end(&cur) < 0)
        goto syntax;
    qsort(c->media, c->nmedia, sizeof *c->media, cmp_media);
    for (size_t i = 1; i < c->nmedia; i++)
        if (strcmp(c->media[i - 1].id, c->media[i].id) == 0) {
            fail(ld, "media.json: duplicate sdkfileid \"%.80s\"", c->media[i].id);
            goto done;
        }
    rc = 0;
    goto done;
syntax:
    syntax_error(ld, "media.json", &cur);
done:
    free(path);
    free(text);
    return rc;
}

/* ---- public ------------------------------------------------------------------------------ */

int sim_corpus_load(sim_corpus *c, const char *dir, const char *corpid, const char *secret,
                    char *err, size_t errlen)
{
    loader ld = {.c = c, .err = err, .errlen = errlen};
    int rc;

    memset(c, 0, sizeof *c);
    c->msg_fd = -1;
    err[0] = '\0';
    if (!(c->dir = strdup(dir)))
        rc = fail(&ld, "out of memory");
    else if ((rc = load_corpus_json(&ld, corpid, secret)) == 0 && (rc = load_messages(&ld)) == 0 &&
             (rc = resolve_seq_faults(&ld)) == 0)
        rc = load_media(&ld);
    for (size_t i = 0; ld.key_paths && i < c->nkeys; i++)
        free(ld.key_paths[i]);
    free(ld.key_paths);
    free(ld.seq_faults);
    if (rc != 0)
        sim_corpus_free(c);
    return rc;
}

void sim_corpus_free(sim_corpus *c)
{
    for (size_t i = 0; i < c->nkeys; i++)
        EVP_PKEY_free(c->keys[i].pkey);
    for (size_t i = 0; i < c->nmedia; i++)
        free(c->media[i].id);
    for (size_t i = 0; i < c->nexpired; i++)
        free(c->expired[i]);
    if (c->msg_fd >= 0)
        close(c->msg_fd);
    free(c->dir);
    free(c->keys);
    free(c->msgs);
    free(c->media);
    free(c->expired);
    free(c->call_faults);
    memset(c, 0, sizeof *c);
    c->msg_fd = -1;
}

size_t sim_corpus_first_after(const sim_corpus *c, uint64_t after)
{
    size_t lo = 0, hi = c->nmsgs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->msgs[mid].seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *sim_corpus_media_path(const sim_corpus *c, const char *id)
{
    sim_media probe = {.id = (char *)id};
    const sim_media *m = bsearch(&probe, c->media, c->nmedia, sizeof *c->media, cmp_media);
    return m ? m->path : NULL;
}

int sim_corpus_media_expired(const sim_corpus *c, const char *id)
{
    return bsearch(&id, c->expired, c->nexpired, sizeof *c->expired, cmp_str_ptr) != NULL;
}
