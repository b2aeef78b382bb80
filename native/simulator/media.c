/* media.json: {"<sdkfileid>": "<path>", ...} loaded into an array sorted by id (bsearch). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "util.h"

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
        ld_fail(ld, "media.json: the value for \"%.80s\" must be a string (a path)", id);
        goto done;
    }
    if (json_string(cur, &path, &plen) < 0)
        goto done;
    if (strlen(id) != idlen || strlen(path) != plen || plen == 0) {
        ld_fail(ld, "media.json: bad entry \"%.80s\" (NUL character or empty path)", id);
        goto done;
    }
    if (!(m = ld_grow(&c->media, c->nmedia, sizeof *m))) {
        ld_fail(ld, "out of memory");
        goto done;
    }
    /* One allocation for both strings halves the malloc count of a 100k-entry table. */
    if (!(m->id = malloc(idlen + 1 + plen + 1))) {
        ld_fail(ld, "out of memory");
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

int ld_load_media(loader *ld)
{
    sim_corpus *c = ld->c;
    char *path = sim_path_join(c->dir, "media.json"), *text = NULL, *id;
    size_t len, idlen;
    json_cur cur;
    int first = 1, more, rc = -1;

    if (!path) {
        ld_fail(ld, "out of memory");
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
    if (c->nmedia)
        qsort(c->media, c->nmedia, sizeof *c->media, cmp_media);
    for (size_t i = 1; i < c->nmedia; i++)
        if (strcmp(c->media[i - 1].id, c->media[i].id) == 0) {
            ld_fail(ld, "media.json: duplicate sdkfileid \"%.80s\"", c->media[i].id);
            goto done;
        }
    rc = 0;
    goto done;
syntax:
    ld_syntax_error(ld, "media.json", &cur);
done:
    free(path);
    free(text);
    return rc;
}

const char *sim_corpus_media_path(const sim_corpus *c, const char *id)
{
    sim_media probe = {.id = (char *)id};
    const sim_media *m =
        c->nmedia ? bsearch(&probe, c->media, c->nmedia, sizeof *c->media, cmp_media) : NULL;
    return m ? m->path : NULL;
}

int sim_corpus_media_expired(const sim_corpus *c, const char *id)
{
    return c->nexpired && bsearch(&id, c->expired, c->nexpired, sizeof *c->expired, ld_cmp_str_ptr);
}
