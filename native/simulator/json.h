/* A small validating JSON cursor (RFC 8259), just enough for the simulator's corpus files.
 *
 * No tree is ever built: callers walk a document with a cursor, reading the members they care
 * about and skipping (while still validating) everything else. This keeps the scan of a
 * multi-hundred-megabyte messages.jsonl linear and allocation-free.
 *
 * All functions return 0 on success and -1 on a syntax error, in which case cur->err holds a
 * static description and cur->p points at the offending byte (see json_column).
 */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct json_cur {
    const char *start; /* first byte of the document, for column numbers */
    const char *p;     /* next unread byte */
    const char *end;   /* one past the last byte */
    const char *err;   /* static message after a failure, NULL otherwise */
} json_cur;

/* Key buffers passed to json_obj_next: keys longer than this never match a name we look for. */
#define JSON_KEY_MAX 64

void json_init(json_cur *cur, const char *buf, size_t len);

/* 1-based byte column of the cursor, for error messages. */
size_t json_column(const json_cur *cur);

/* Skip whitespace and return the next byte without consuming it, or -1 at the end. */
int json_peek(json_cur *cur);

/* Validate and skip one value of any type. */
int json_skip_value(json_cur *cur);

/* Read a string value, decoding escapes into a malloc'd NUL-terminated buffer (*out, *out_len).
 * The decoded bytes may contain NUL when the text had \u0000. */
int json_string(json_cur *cur, char **out, size_t *out_len);

/* Read a non-negative integer literal (no fraction, no exponent) that fits in 64 bits.
 * *is_int is set to 0 (and 0 returned) when the value is some other valid number or type,
 * so the caller can report a typed error instead of a syntax error. */
int json_uint(json_cur *cur, uint64_t *value, int *is_int);

/* Read true or false. *is_bool = 0 when the value is of another (valid) type. */
int json_bool(json_cur *cur, int *value, int *is_bool);

/* Object iteration:
 *     int first = 1, more;
 *     if (json_obj_begin(&cur) < 0) fail;
 *     while ((more = json_obj_next(&cur, &first, key, &klen)) > 0) { read or skip the value }
 *     if (more < 0) fail;
 * json_obj_next consumes the separator, the key and the ':'; it returns 1 when a member follows,
 * 0 after the closing '}', -1 on error. key must hold JSON_KEY_MAX + 1 bytes; a longer key is
 * truncated and *klen set to JSON_KEY_MAX + 1 so it compares unequal to every short name. */
int json_obj_begin(json_cur *cur);
int json_obj_next(json_cur *cur, int *first, char *key, size_t *klen);

/* Same, for keys of any length: *key is malloc'd (as by json_string) when 1 is returned. */
int json_obj_next_alloc(json_cur *cur, int *first, char **key, size_t *klen);

/* Array iteration, same pattern: returns 1 when an element follows, 0 after ']', -1 on error. */
int json_arr_begin(json_cur *cur);
int json_arr_next(json_cur *cur, int *first);

/* 1-based line and column of the cursor in a multi-line document. */
void json_position(const json_cur *cur, size_t *line, size_t *column);

/* Only whitespace may remain. */
int json_end(json_cur *cur);

/* Key comparison helper for json_obj_next results. */
int json_key_is(const char *key, size_t klen, const char *name);

/* Append `len` bytes as a JSON string literal (with quotes) to dst, which must have room for
 * json_escaped_max(len) bytes. Returns the number of bytes written. Non-ASCII bytes are copied
 * as they are; quotes, backslashes and control characters are escaped. */
size_t json_escape(char *dst, const char *src, size_t len);
size_t json_escaped_max(size_t len);

#endif
