/* corpus.json "faults": parsed strictly (unknown kinds or fields are errors, so a typo in a
 * test corpus fails loudly instead of silently not injecting its fault). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "util.h"

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
    case F_KIND: return ld_read_string(ld, cur, what, &f->kind);
    case F_CALL: return ld_read_string(ld, cur, what, &f->call);
    case F_SDKFILEID: return ld_read_string(ld, cur, what, &f->sdkfileid);
    case F_NTH: return ld_read_positive(ld, cur, what, UINT64_MAX, &f->nth);
    case F_TIMES: return ld_read_positive(ld, cur, what, UINT64_MAX, &f->times);
    case F_SEQ: return ld_read_positive(ld, cur, what, UINT64_MAX, &f->seq);
    default: return ld_read_positive(ld, cur, what, INT_MAX, &f->code);
    }
}

static int parse_fault_fields(loader *ld, json_cur *cur, size_t index, fault_fields *f)
{
    char key[JSON_KEY_MAX + 1], what[128];
    size_t klen;
    int first = 1, more;

    if (json_peek(cur) != '{')
        return ld_fail(ld, "corpus.json: faults[%zu] must be an object", index);
    json_obj_begin(cur);
    while ((more = json_obj_next(cur, &first, key, &klen)) > 0) {
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
            if (json_key_is(key, klen, FIELDS[i].name))
                bit = FIELDS[i].bit;
        if (!bit)
            return ld_fail(ld, "corpus.json: faults[%zu]: unknown field \"%.64s\"", index, key);
        if (f->seen & bit)
            return ld_fail(ld, "corpus.json: faults[%zu]: duplicate field \"%s\"", index, key);
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
        return ld_fail(ld, "corpus.json: faults[%zu]: missing \"kind\"", index);
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (strcmp(f->kind, KINDS[i].name) == 0)
            kind = i;
    if (kind == sizeof KINDS / sizeof KINDS[0])
        return ld_fail(ld, "corpus.json: faults[%zu]: unknown kind \"%.64s\"", index, f->kind);
    for (unsigned bit = 1; bit <= F_SDKFILEID; bit <<= 1) {
        if ((KINDS[kind].required & bit) && !(f->seen & bit))
            return ld_fail(ld, "corpus.json: faults[%zu]: kind \"%s\" needs \"%s\"", index, f->kind,
                           field_name(bit));
        if ((f->seen & bit) && !((KINDS[kind].required | KINDS[kind].optional) & bit))
            return ld_fail(ld, "corpus.json: faults[%zu]: field \"%s\" does not apply to kind \"%s\"",
                           index, field_name(bit), f->kind);
    }

    if (kind == K_CALL_ERROR || kind == K_CALL_TIMEOUT) {
        sim_call_fault *cf;
        int chat = strcmp(f->call, "GetChatData") == 0;
        if (!chat && strcmp(f->call, "GetMediaData") != 0)
            return ld_fail(ld, "corpus.json: faults[%zu]: call must be \"GetChatData\" or \"GetMediaData\"",
                           index);
        if (!(cf = ld_grow(&c->call_faults, c->ncall_faults, sizeof *cf)))
            return ld_fail(ld, "out of memory");
        cf->call = chat ? SIM_CALL_CHAT : SIM_CALL_MEDIA;
        cf->timeout = kind == K_CALL_TIMEOUT;
        cf->code = kind == K_CALL_ERROR ? (int)f->code : 10001;
        cf->nth = f->nth;
        cf->times = (f->seen & F_TIMES) ? f->times : 1;
        c->ncall_faults++;
    } else if (kind == K_EXPIRED) {
        char **slot = ld_grow(&c->expired, c->nexpired, sizeof *slot);
        if (!slot)
            return ld_fail(ld, "out of memory");
        *slot = f->sdkfileid;
        f->sdkfileid = NULL; /* now owned by the corpus */
        c->nexpired++;
    } else {
        seq_fault *sf = ld_grow(&ld->seq_faults, ld->nseq_faults, sizeof *sf);
        if (!sf)
            return ld_fail(ld, "out of memory");
        sf->seq = f->seq;
        sf->flag = kind == K_CORRUPT ? SIM_FAULT_CORRUPT : SIM_FAULT_MALFORMED;
        sf->index = index;
        ld->nseq_faults++;
    }
    return 0;
}

int ld_parse_faults(loader *ld, json_cur *cur)
{
    int first = 1, more;
    size_t index = 0;

    if (json_peek(cur) != '[')
        return ld_fail(ld, "corpus.json: faults must be an array");
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
