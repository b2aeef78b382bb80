/* Validating JSON cursor: see json.h. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* Deep enough for any real message, shallow enough that recursion cannot exhaust a thread stack. */
#define MAX_DEPTH 512

static int fail(json_cur *cur, const char *msg)
{
    if (!cur->err) /* keep the innermost (first) message */
        cur->err = msg;
    return -1;
}

void json_init(json_cur *cur, const char *buf, size_t len)
{
    cur->start = buf;
    cur->p = buf;
    cur->end = buf + len;
    cur->err = NULL;
}

size_t json_column(const json_cur *cur)
{
    return (size_t)(cur->p - cur->start) + 1;
}

void json_position(const json_cur *cur, size_t *line, size_t *column)
{
    const char *bol = cur->start;
    *line = 1;
    for (const char *s = cur->start; s < cur->p; s++)
        if (*s == '\n') {
            (*line)++;
            bol = s + 1;
        }
    *column = (size_t)(cur->p - bol) + 1;
}

static void skip_ws(json_cur *cur)
{
    while (cur->p < cur->end &&
           (*cur->p == ' ' || *cur->p == '\t' || *cur->p == '\n' || *cur->p == '\r'))
        cur->p++;
}

int json_peek(json_cur *cur)
{
    skip_ws(cur);
    return cur->p < cur->end ? (unsigned char)*cur->p : -1;
}

static int expect(json_cur *cur, char c, const char *msg)
{
    if (json_peek(cur) != (unsigned char)c)
        return fail(cur, msg);
    cur->p++;
    return 0;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(char *dst, unsigned cp)
{
    char tmp[4];
    size_t n;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xC0 | (cp >> 6));
        tmp[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xE0 | (cp >> 12));
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        tmp[0] = (char)(0xF0 | (cp >> 18));
        tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (dst)
        memcpy(dst, tmp, n);
    return n;
}

/* Decode one escape sequence starting after the backslash (cur->p at the escape letter).
 * Writes up to 4 bytes to buf and returns their count, or -1. A lone UTF-16 surrogate is
 * replaced by U+FFFD so that the output is always valid UTF-8. */
static int decode_escape(json_cur *cur, char buf[4])
{
    unsigned cp, lo;
    char c = *cur->p++;
    switch (c) {
    case '"': buf[0] = '"'; return 1;
    case '\\': buf[0] = '\\'; return 1;
    case '/': buf[0] = '/'; return 1;
    case 'b': buf[0] = '\b'; return 1;
    case 'f': buf[0] = '\f'; return 1;
    case 'n': buf[0] = '\n'; return 1;
    case 'r': buf[0] = '\r'; return 1;
    case 't': buf[0] = '\t'; return 1;
    case 'u': break;
    default:
        cur->p--;
        return fail(cur, "invalid escape in string");
    }
    if (cur->end - cur->p < 4 || hex4(cur->p, &cp) < 0)
        return fail(cur, "invalid \\u escape in string");
    cur->p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF && cur->end - cur->p >= 6 && cur->p[0] == '\\' &&
        cur->p[1] == 'u' && hex4(cur->p + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
        cur->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    return (int)utf8_put(buf, cp);
}

/* Scan a string literal (cur->p at the opening quote). When dst is not NULL the decoded bytes are
 * written there, at most cap of them; *len always receives the full decoded length. */
static int scan_string(json_cur *cur, char *dst, size_t cap, size_t *len)
{
    size_t n = 0;
    if (cur->p >= cur->end || *cur->p != '"')
        return fail(cur, "expected a string");
    cur->p++;
    for (;;) {
        const char *run = cur->p;
        /* Fast path: plain bytes (the bulk of any message) need no decoding. */
        while (cur->p < cur->end && *cur->p != '"' && *cur->p != '\\' &&
               (unsigned char)*cur->p >= 0x20)
            cur->p++;
        size_t rl = (size_t)(cur->p - run);
        if (dst && n < cap)
            memcpy(dst + n, run, rl < cap - n ? rl : cap - n);
        n += rl;
        if (cur->p >= cur->end)
            return fail(cur, "unterminated string");
        if (*cur->p == '"') {
            cur->p++;
            *len = n;
            return 0;
        }
        if (*cur->p != '\\')
            return fail(cur, "control character in string");
        cur->p++;
        if (cur->p >= cur->end)
            return fail(cur, "unterminated string");
        char buf[4];
        int k = decode_escape(cur, buf);
        if (k < 0)
            return -1;
        for (int i = 0; i < k; i++, n++)
            if (dst && n < cap)
                dst[n] = buf[i];
    }
}

int json_string(json_cur *cur, char **out, size_t *out_len)
{
    json_cur probe;
    size_t len;
    char *buf;

    skip_ws(cur);
    probe = *cur;
    if (scan_string(&probe, NULL, 0, &len) < 0) {
        *cur = probe;
        return -1;
    }
    buf = malloc(len + 1);
    if (!buf)
        return fail(cur, "out of memory");
    scan_string(cur, buf, len, &len); /* cannot fail: validated above */
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

static int is_digit(const json_cur *cur)
{
    return cur->p < cur->end && *cur->p >= '0' && *cur->p <= '9';
}

/* Scan a number literal; *plain is set when it has no sign, fraction or exponent. */
static int scan_number(json_cur *cur, int *plain)
{
    *plain = 1;
    if (cur->p < cur->end && *cur->p == '-') {
        cur->p++;
        *plain = 0;
    }
    if (!is_digit(cur))
        return fail(cur, "invalid number");
    if (*cur->p == '0')
        cur->p++;
    else
        while (is_digit(cur))
            cur->p++;
    if (cur->p < cur->end && *cur->p == '.') {
        cur->p++;
        *plain = 0;
        if (!is_digit(cur))
            return fail(cur, "invalid number");
        while (is_digit(cur))
            cur->p++;
    }
    if (cur->p < cur->end && (*cur->p == 'e' || *cur->p == 'E')) {
        cur->p++;
        *plain = 0;
        if (cur->p < cur->end && (*cur->p == '+' || *cur->p == '-'))
            cur->p++;
        if (!is_digit(cur))
            return fail(cur, "invalid number");
        while (is_digit(cur))
            cur->p++;
    }
    return 0;
}

static int scan_literal(json_cur *cur, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(cur->end - cur->p) < n || memcmp(cur->p, word, n) != 0)
        return fail(cur, "invalid literal");
    cur->p += n;
    return 0;
}

static int skip_value(json_cur *cur, int depth);

static int skip_container(json_cur *cur, int depth, int is_object)
{
    int first = 1, more;
    char key[JSON_KEY_MAX + 1];
    size_t klen;

    if (depth >= MAX_DEPTH)
        return fail(cur, "nesting too deep");
    if (is_object) {
        json_obj_begin(cur);
        while ((more = json_obj_next(cur, &first, key, &klen)) > 0)
            if (skip_value(cur, depth + 1) < 0)
                return -1;
    } else {
        json_arr_begin(cur);
        while ((more = json_arr_next(cur, &first)) > 0)
            if (skip_value(cur, depth + 1) < 0)
                return -1;
    }
    return more;
}

static int skip_value(json_cur *cur, int depth)
{
    size_t len;
    int plain;

    switch (json_peek(cur)) {
    case '{': return skip_container(cur, depth, 1);
    case '[': return skip_container(cur, depth, 0);
    case '"': return scan_string(cur, NULL, 0, &len);
    case 't': return scan_literal(cur, "true");
    case 'f': return scan_literal(cur, "false");
    case 'n': return scan_literal(cur, "null");
    case -1: return fail(cur, "unexpected end of input");
    default:
        if (*cur->p == '-' || (*cur->p >= '0' && *cur->p <= '9'))
            return scan_number(cur, &plain);
        return fail(cur, "unexpected character");
    }
}

int json_skip_value(json_cur *cur)
{
    return skip_value(cur, 0);
}

int json_uint(json_cur *cur, uint64_t *value, int *is_int)
{
    int c = json_peek(cur), plain;
    const char *begin = cur->p;
    uint64_t v = 0;

    *is_int = 0;
    if (c != '-' && (c < '0' || c > '9'))
        return json_skip_value(cur);
    if (scan_number(cur, &plain) < 0)
        return -1;
    if (!plain)
        return 0;
    for (const char *s = begin; s < cur->p; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0; /* too large: reported by the caller as a bad value */
        v = v * 10 + d;
    }
    *value = v;
    *is_int = 1;
    return 0;
}

int json_bool(json_cur *cur, int *value, int *is_bool)
{
    int c = json_peek(cur);
    *is_bool = 0;
    if (c != 't' && c != 'f')
        return json_skip_value(cur);
    if (scan_literal(cur, c == 't' ? "true" : "false") < 0)
        return -1;
    *value = c == 't';
    *is_bool = 1;
    return 0;
}

int json_obj_begin(json_cur *cur)
{
    return expect(cur, '{', "expected an object");
}

/* Consume what precedes a member name: nothing for the first member, else a ','.
 * Returns 1 when a member name follows, 0 after the closing '}', -1 on error. */
static int obj_member(json_cur *cur, int *first)
{
    int c = json_peek(cur);
    if (c == '}') { /* empty object, or the end after a member; "{..., }" fails below */
        cur->p++;
        return 0;
    }
    if (!*first && expect(cur, ',', "expected ',' or '}'") < 0)
        return -1;
    *first = 0;
    if (json_peek(cur) != '"')
        return fail(cur, "expected a member name");
    return 1;
}

int json_obj_next(json_cur *cur, int *first, char *key, size_t *klen)
{
    int more = obj_member(cur, first);
    if (more <= 0)
        return more;
    if (scan_string(cur, key, JSON_KEY_MAX, klen) < 0)
        return -1;
    if (*klen > JSON_KEY_MAX)
        *klen = JSON_KEY_MAX + 1;
    else
        key[*klen] = '\0';
    if (expect(cur, ':', "expected ':'") < 0)
        return -1;
    return 1;
}

int json_obj_next_alloc(json_cur *cur, int *first, char **key, size_t *klen)
{
    int more = obj_member(cur, first);
    if (more <= 0)
        return more;
    if (json_string(cur, key, klen) < 0)
        return -1;
    if (expect(cur, ':', "expected ':'") < 0) {
        free(*key);
        *key = NULL;
        return -1;
    }
    return 1;
}

int json_arr_begin(json_cur *cur)
{
    return expect(cur, '[', "expected an array");
}

int json_arr_next(json_cur *cur, int *first)
{
    int c = json_peek(cur);
    if (c == ']') {
        cur->p++;
        return 0;
    }
    if (!*first && expect(cur, ',', "expected ',' or ']'") < 0)
        return -1;
    *first = 0;
    return 1;
}

int json_end(json_cur *cur)
{
    if (json_peek(cur) != -1)
        return fail(cur, "unexpected data after the JSON value");
    return 0;
}

int json_key_is(const char *key, size_t klen, const char *name)
{
    return klen == strlen(name) && memcmp(key, name, klen) == 0;
}

size_t json_escaped_max(size_t len)
{
    return len * 6 + 2; /* worst case: every byte a \u00XX escape, plus the quotes */
}

size_t json_escape(char *dst, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *d = dst;
    *d++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '"' || c == '\\') {
            *d++ = '\\';
            *d++ = (char)c;
        } else if (c == '\n') {
            *d++ = '\\';
            *d++ = 'n';
        } else if (c == '\r') {
            *d++ = '\\';
            *d++ = 'r';
        } else if (c == '\t') {
            *d++ = '\\';
            *d++ = 't';
        } else if (c < 0x20 || c == 0x7F) {
            memcpy(d, "\\u00", 4);
            d[4] = hex[c >> 4];
            d[5] = hex[c & 15];
            d += 6;
        } else {
            *d++ = (char)c;
        }
    }
    *d++ = '"';
    return (size_t)(d - dst);
}
