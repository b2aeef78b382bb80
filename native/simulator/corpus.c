/* Loading a corpus directory: this file reads corpus.json (credentials and keys), drives the
 * other loaders (faults.c, messages.c, media.c; see loader.h) and answers lookups.
 * See native/README.md for the corpus layout. */
#include "corpus.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "json.h"
#include "loader.h"
#include "util.h"

int ld_fail(loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err, ld->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int ld_syntax_error(loader *ld, const char *file, const json_cur *cur)
{
    size_t line, col;
    if (ld->err[0])
        return -1;
    json_position(cur, &line, &col);
    return ld_fail(ld, "%s line %zu column %zu: invalid JSON: %s", file, line, col,
                   cur->err ? cur->err : "syntax error");
}

/* The capacity is implied: it doubles whenever n reaches a power of two, so arrays need no
 * separate capacity field. */
void *ld_grow(void *arr_ptr, size_t n, size_t sz)
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

int ld_read_string(loader *ld, json_cur *cur, const char *what, char **out)
{
    size_t len;
    if (*out)
        return ld_fail(ld, "corpus.json: duplicate %s", what);
    if (json_peek(cur) != '"')
        return ld_fail(ld, "corpus.json: %s must be a string", what);
    if (json_string(cur, out, &len) < 0)
        return -1;
    if (strlen(*out) != len)
        return ld_fail(ld, "corpus.json: %s contains a NUL character", what);
    return 0;
}

/* Read a positive integer member value; max bounds it. */
int ld_read_positive(loader *ld, json_cur *cur, const char *what, uint64_t max, uint64_t *out)
{
    int is_int;
    if (json_uint(cur, out, &is_int) < 0)
        return -1;
    if (!is_int || *out == 0 || *out > max)
        return ld_fail(ld, "corpus.json: %s must be a positive integer (at most %llu)", what,
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
        return ld_fail(ld, "corpus.json: %s must be an object", what);
    json_obj_begin(cur);
    while ((more = json_obj_next(cur, &first, key, &klen)) > 0) {
        if (json_key_is(key, klen, "public")) {
            snprintf(what, sizeof what, "keys[\"%s\"].public", version);
            if (ld_read_string(ld, cur, what, path) < 0)
                return -1;
        } else if (json_skip_value(cur) < 0) {
            return -1;
        }
    }
    if (more < 0)
        return -1;
    if (!*path)
        return ld_fail(ld, "corpus.json: %s has no \"public\" key path", what);
    return 0;
}

static int parse_keys(loader *ld, json_cur *cur)
{
    sim_corpus *c = ld->c;
    char key[JSON_KEY_MAX + 1];
    size_t klen;
    int first = 1, more;

    if (json_peek(cur) != '{')
        return ld_fail(ld, "corpus.json: keys must be an object");
    json_obj_begin(cur);
    while ((more = json_obj_next(cur, &first, key, &klen)) > 0) {
        uint32_t version;
        if (parse_version(key, klen, &version) < 0)
            return ld_fail(ld, "corpus.json: keys: \"%.64s\" is not a key version (a positive decimal integer)",
                           key);
        for (size_t i = 0; i < c->nkeys; i++)
            if (c->keys[i].version == version)
                return ld_fail(ld, "corpus.json: keys: duplicate version %u", version);
        if (c->nkeys >= UINT16_MAX)
            return ld_fail(ld, "corpus.json: too many keys");
        sim_key *k = ld_grow(&c->keys, c->nkeys, sizeof *k);
        char **p = k ? ld_grow(&ld->key_paths, c->nkeys, sizeof *p) : NULL;
        if (!p)
            return ld_fail(ld, "out of memory");
        k->version = version;
        k->pkey = NULL;
        *p = NULL;
        c->nkeys++; /* counted before parsing so the path is freed on every path */
        if (parse_key_entry(ld, cur, key, p) < 0)
            return -1;
    }
    return more;
}

int ld_cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_key(const void *a, const void *b)
{
    const sim_key *x = a, *y = b;
    return x->version < y->version ? -1 : x->version > y->version;
}

/* Parse corpus.json's members; key files are read afterwards. */
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
            rc = ld_read_string(ld, cur, "corpid", corpid);
        } else if (json_key_is(key, klen, "secret")) {
            rc = ld_read_string(ld, cur, "secret", secret);
        } else if (json_key_is(key, klen, "keys")) {
            rc = have_keys ? ld_fail(ld, "corpus.json: duplicate keys") : parse_keys(ld, cur);
            have_keys = 1;
        } else if (json_key_is(key, klen, "faults")) {
            rc = ld_parse_faults(ld, cur);
        } else {
            rc = json_skip_value(cur); /* room for the generator's own notes */
        }
        if (rc < 0)
            return -1;
    }
    if (more < 0 || json_end(cur) < 0)
        return -1;
    if (!*corpid || !*secret || !have_keys)
        return ld_fail(ld, "corpus.json: missing \"%s\"", !*corpid ? "corpid" : !*secret ? "secret" : "keys");
    return 0;
}

static int load_key_files(loader *ld)
{
    sim_corpus *c = ld->c;
    for (size_t i = 0; i < c->nkeys; i++) {
        char *path = sim_path_join(c->dir, ld->key_paths[i]);
        if (!path)
            return ld_fail(ld, "out of memory");
        c->keys[i].pkey = sim_load_public_key(path, ld->err, ld->errlen);
        free(path);
        if (!c->keys[i].pkey)
            return -1;
    }
    if (c->nkeys) /* qsort and bsearch must not be given a NULL array, even an empty one */
        qsort(c->keys, c->nkeys, sizeof *c->keys, cmp_key);
    return 0;
}

static int load_corpus_json(loader *ld)
{
    char *path = sim_path_join(ld->c->dir, "corpus.json"), *text = NULL;
    size_t len;
    json_cur cur;
    int rc = -1;

    if (!path) {
        ld_fail(ld, "out of memory");
        goto done;
    }
    if (sim_read_file(path, &text, &len, ld->err, ld->errlen) < 0)
        goto done;
    json_init(&cur, text, len);
    if (parse_corpus_members(ld, &cur, &ld->c->corpid, &ld->c->secret) < 0) {
        ld_syntax_error(ld, "corpus.json", &cur);
        goto done;
    }
    rc = load_key_files(ld);
    if (rc == 0 && ld->c->nexpired)
        qsort(ld->c->expired, ld->c->nexpired, sizeof *ld->c->expired, ld_cmp_str_ptr);
done:
    free(path);
    free(text);
    return rc;
}

/* ---- public ------------------------------------------------------------------------------ */

int sim_corpus_load(sim_corpus *c, const char *dir, char *err, size_t errlen)
{
    loader ld = {.c = c, .err = err, .errlen = errlen};
    int rc;

    memset(c, 0, sizeof *c);
    c->msg_fd = -1;
    err[0] = '\0';
    if (!(c->dir = strdup(dir)))
        rc = ld_fail(&ld, "out of memory");
    else if ((rc = load_corpus_json(&ld)) == 0 && (rc = ld_load_messages(&ld)) == 0 &&
             (rc = ld_resolve_seq_faults(&ld)) == 0)
        rc = ld_load_media(&ld);
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
    for (size_t i = 0; i < c->ncall_faults; i++)
        free(c->call_faults[i].body);
    if (c->msg_fd >= 0)
        close(c->msg_fd);
    free(c->dir);
    free(c->corpid);
    free(c->secret);
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

const char *sim_corpus_access_error(const sim_corpus *c, const char *corpid, const char *secret)
{
    if (strcmp(corpid, c->corpid) != 0)
        return "{\"errcode\":40013,\"errmsg\":\"invalid corpid\"}";
    if (strcmp(secret, c->secret) != 0)
        return "{\"errcode\":40001,\"errmsg\":\"invalid secret\"}";
    return NULL;
}
