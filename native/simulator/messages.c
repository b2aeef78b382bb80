/* messages.jsonl: one pass at Init builds a compact index (seq, offset and length of the raw msg
 * value, key, fault flags). Lines are validated but nothing is built for the msg value, and the
 * file is streamed through one buffer, never held in memory; GetChatData later preads each msg. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "util.h"

#define MAX_MSG_LEN (1u << 30) /* keeps every later length computation well inside int */
#define READ_CHUNK (1u << 20)

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
    if (!(m = ld_grow(&c->msgs, c->nmsgs, sizeof *m)))
        return ld_fail(ld, "out of memory");
    m->seq = lf.seq;
    m->off = off + lf.msg_off;
    m->len = (uint32_t)lf.msg_len;
    m->key = (uint16_t)key;
    m->flags = 0;
    c->nmsgs++;
    return 0;
}

int ld_load_messages(loader *ld)
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
        ld_fail(ld, "out of memory");
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

int ld_resolve_seq_faults(loader *ld)
{
    sim_corpus *c = ld->c;
    for (size_t i = 0; i < ld->nseq_faults; i++) {
        const seq_fault *f = &ld->seq_faults[i];
        size_t at = sim_corpus_first_after(c, f->seq - 1);
        if (at == c->nmsgs || c->msgs[at].seq != f->seq)
            return ld_fail(ld, "corpus.json: faults[%zu]: seq %llu is not in messages.jsonl", f->index,
                           (unsigned long long)f->seq);
        c->msgs[at].flags |= f->flag;
    }
    return 0;
}
