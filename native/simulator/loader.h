/* Internals shared by the corpus loader's sources (corpus.c, faults.c, messages.c, media.c).
 *
 * Every loader function returns 0 or -1; on -1 the loader's err buffer holds a one-line reason
 * (Init prefixes it with "WeCom SDK simulator: " and prints it). Syntax errors found by the JSON
 * cursor are turned into messages by the function that owns the cursor. */
#ifndef SIM_LOADER_H
#define SIM_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "corpus.h"
#include "json.h"

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

/* Write a message into ld->err; returns -1. */
int ld_fail(loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report cur's JSON syntax error in file, unless a more specific message was already written. */
int ld_syntax_error(loader *ld, const char *file, const json_cur *cur);

/* Make room in the array *arr_ptr (n elements of size sz) for one more and return a pointer to
 * it (NULL when out of memory); the caller then increments n. */
void *ld_grow(void *arr_ptr, size_t n, size_t sz);

/* corpus.json member values, with typed error messages naming `what`. */
int ld_read_string(loader *ld, json_cur *cur, const char *what, char **out);
int ld_read_positive(loader *ld, json_cur *cur, const char *what, uint64_t max, uint64_t *out);

int ld_cmp_str_ptr(const void *a, const void *b);

/* corpus.json "faults" (faults.c). */
int ld_parse_faults(loader *ld, json_cur *cur);

/* messages.jsonl (messages.c): build the index, then flag the messages named by seq faults. */
int ld_load_messages(loader *ld);
int ld_resolve_seq_faults(loader *ld);

/* media.json (media.c); a missing file means a corpus without media. */
int ld_load_media(loader *ld);

#endif
