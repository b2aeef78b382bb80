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
    F_BODY = 1 << 7,
    F_ERRCODE = 1 << 8,
    F_ERRMSG = 1 << 9,
    F_LAST = F_ERRMSG,
};

static const struct {
    const char *name;
    unsigned bit;
} FIELDS[] = {
    {"kind", F_KIND},   {"call", F_CALL}, {"nth", F_NTH},           {"code", F_CODE},
    {"times", F_TIMES}, {"seq", F_SEQ},   {"sdkfileid", F_SDKFILEID}, {"body", F_BODY},
    {"errcode", F_ERRCODE}, {"errmsg", F_ERRMSG},
};

enum fault_kind {
    K_CALL_ERROR,
    K_CALL_TIMEOUT,
    K_SERVER_ANSWER,
    K_ACCESS_ERROR,
    K_CORRUPT,
    K_MALFORMED,
    K_EXPIRED,
};

static const struct {
    const char *name;
    unsigned required, optional;
} KINDS[] = {
    [K_CALL_ERROR] = {"call_error", F_KIND | F_CALL | F_NTH | F_CODE, F_TIMES},
    [K_CALL_TIMEOUT] = {"call_timeout", F_KIND | F_CALL | F_NTH, F_TIMES},
    [K_SERVER_ANSWER] = {"server_answer", F_KIND | F_CALL | F_NTH | F_BODY, F_TIMES},
    [K_ACCESS_ERROR] = {"access_error", F_KIND | F_CALL | F_NTH | F_ERRCODE | F_ERRMSG, F_TIMES},
    [K_CORRUPT] = {"corrupt_ciphertext", F_KIND | F_SEQ, 0},
    [K_MALFORMED] = {"malformed_json", F_KIND | F_SEQ, 0},
    [K_EXPIRED] = {"media_expired", F_KIND | F_SDKFILEID, 0},
};

typedef struct fault_fields {
    unsigned seen;
    char *kind, *call, *sdkfileid, *body, *errmsg;
    size_t body_len;
    uint64_t nth, code, times, seq;
    int64_t errcode;
} fault_fields;

/* A string that may hold any text, NUL characters included (a server's raw answer). */
static int read_raw_string(loader *ld, json_cur *cur, const char *what, char **out, size_t *len)
{
    if (json_peek(cur) != '"')
        return ld_fail(ld, "corpus.json: %s must be a string", what);
    return json_string(cur, out, len);
}

/* An integer that fits in a C int, negative ones included (WeCom's errcode -1 "system busy"). */
static int read_int(loader *ld, json_cur *cur, const char *what, int64_t *out)
{
    uint64_t v = 0;
    int negative = json_peek(cur) == '-', is_int = 0;

    if (negative) {
        cur->p++;
        if (cur->p >= cur->end || *cur->p < '0' || *cur->p > '9') {
            cur->err = "invalid number";
            return -1;
        }
    }
    if (json_uint(cur, &v, &is_int) < 0)
        return -1;
    if (!is_int || v > (negative ? (uint64_t)INT_MAX + 1 : (uint64_t)INT_MAX))
        return ld_fail(ld, "corpus.json: %s must be an integer from %d to %d", what, INT_MIN, INT_MAX);
    *out = negative ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int read_fault_field(loader *ld, json_cur *cur, const char *what, unsigned bit,
                            fault_fields *f)
{
    switch (bit) {
    case F_KIND: return ld_read_string(ld, cur, what, &f->kind);
    case F_CALL: return ld_read_string(ld, cur, what, &f->call);
    case F_SDKFILEID: return ld_read_string(ld, cur, what, &f->sdkfileid);
    case F_ERRMSG: return ld_read_string(ld, cur, what, &f->errmsg);
    case F_BODY: return read_raw_string(ld, cur, what, &f->body, &f->body_len);
    case F_ERRCODE: return read_int(ld, cur, what, &f->errcode);
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
    for (unsigned bit = 1; bit <= F_LAST; bit <<= 1) {
        if ((KINDS[kind].required & bit) && !(f->seen & bit))
            return ld_fail(ld, "corpus.json: faults[%zu]: kind \"%s\" needs \"%s\"", index, f->kind,
                           field_name(bit));
        if ((f->seen & bit) && !((KINDS[kind].required | KINDS[kind].optional) & bit))
            return ld_fail(ld, "corpus.json: faults[%zu]: field \"%s\" does not apply to kind \"%s\"",
                           index, field_name(bit), f->kind);
    }

    if (kind == K_CALL_ERROR || kind == K_CALL_TIMEOUT || kind == K_SERVER_ANSWER || kind == K_ACCESS_ERROR) {
        sim_call_fault *cf;
        int chat = strcmp(f->call, "GetChatData") == 0;
        if (!chat && strcmp(f->call, "GetMediaData") != 0)
            return ld_fail(ld, "corpus.json: faults[%zu]: call must be \"GetChatData\" or \"GetMediaData\"",
                           index);
        if (kind == K_SERVER_ANSWER && !chat)
            return ld_fail(ld, "corpus.json: faults[%zu]: kind \"server_answer\" applies to GetChatData only "
                               "(the real library turns GetMediaData answers into return codes: use call_error)",
                           index);
        if (!(cf = ld_grow(&c->call_faults, c->ncall_faults, sizeof *cf)))
            return ld_fail(ld, "out of memory");
        memset(cf, 0, sizeof *cf);
        cf->call = chat ? SIM_CALL_CHAT : SIM_CALL_MEDIA;
        cf->nth = f->nth;
        cf->times = (f->seen & F_TIMES) ? f->times : 1;
        cf->code = 10001;
        if (kind == K_CALL_ERROR) {
            cf->action = SIM_ACT_ERROR;
            cf->code = (int)f->code;
        } else if (kind == K_CALL_TIMEOUT) {
            cf->action = SIM_ACT_TIMEOUT;
        } else if (kind == K_SERVER_ANSWER) {
            cf->action = SIM_ACT_ANSWER;
            cf->code = 0;
            cf->body = f->body; /* now owned by the corpus */
            cf->body_len = f->body_len;
            f->body = NULL;
        } else {
            /* The gettoken answer, as WeCom writes it: {"errcode":N,"errmsg":"..."}. */
            size_t len = strlen(f->errmsg), cap = 48 + json_escaped_max(len);
            int n;
            cf->action = SIM_ACT_ACCESS;
            if (!(cf->body = malloc(cap)))
                return ld_fail(ld, "out of memory");
            n = snprintf(cf->body, cap, "{\"errcode\":%lld,\"errmsg\":", (long long)f->errcode);
            n += (int)json_escape(cf->body + n, f->errmsg, len);
            cf->body[n++] = '}';
            cf->body[n] = '\0';
            cf->body_len = (size_t)n;
        }
        c->ncall_faults++; /* counted only once complete: sim_corpus_free frees its body */
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
        free(f.body);
        free(f.errmsg);
        if (rc < 0)
            return -1;
        index++;
    }
    return more;
}
