/* The 17 exported functions of the WeCom Finance SDK simulator.
 *
 * A handle's corpus is loaded by Init and never written afterwards, so any number of threads may
 * call GetChatData / GetMediaData / DecryptData on one handle at once: all per-call state lives
 * on the stack or in buffers owned by the call, files are read with pread, randomness comes
 * from OpenSSL, and the only shared mutable state is the pair of atomic call counters that the
 * call_error / call_timeout faults are keyed on.
 *
 * Output structs (Slice_t, MediaData_t) are only modified when a call succeeds: their previous
 * buffers are then freed and replaced. On error they are left exactly as they were, which keeps
 * a caller's retry with the previous outindexbuf valid and lets inputs alias old outputs.
 *
 * Where the app can tell, the simulator behaves like Tencent's real library as measured in
 * tests/reallib (native/README.md lists what still differs): Init accepts any credentials and a
 * wrong corpid or secret surfaces at each GetChatData / GetMediaData as 10001 plus the library's
 * "WeWorkFinanceSdk:access:" line on stdout; DecryptData kills its process on a message shorter
 * than 13 characters; the getters never return NULL; loaded beside Qt it aborts (qtguard.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "corpus.h"
#include "crypto.h"
#include "json.h"
#include "util.h"

/* The library is built with -fvisibility=hidden: only what the vendor header declares is exported. */
#pragma GCC visibility push(default)
#include "finance_sdk.h"
#pragma GCC visibility pop

/* Return codes of the real SDK (see the reference notes). */
enum {
    ERR_PARAM = 10000,
    ERR_NETWORK = 10001,
    ERR_SYSTEM = 10003,
    ERR_ENCRYPT_KEY = 10004,
    ERR_FILEID = 10005,
    ERR_DECRYPT = 10006,
    ERR_KEY_PARSE = 10008,
    ERR_EXPIRED = 10010,
};

#define MAX_LIMIT 1000
#define MEDIA_CHUNK 524288 /* bytes per GetMediaData call, as the real SDK (about 512 KiB) */
#define HANDLE_MAGIC 0x57654669u /* "WeFi": catches pointers that never came from NewSdk */

struct WeWorkFinanceSdk_t {
    unsigned magic;
    int ready; /* Init succeeded: corpus is loaded and read-only from now on */
    sim_corpus corpus;
    char *corpid, *secret; /* Init's arguments, checked against the corpus at every call */
};

/* What the getters answer for a NULL struct or an empty buffer: the real library never returns
 * NULL from them. Nobody may write to it; it is not const only because the API says char *. */
static char empty_string[1];

/* Calls per function since the library was loaded, across all handles: faults name the n-th. */
static atomic_ullong call_counts[2];

static void report(const char *msg)
{
    fprintf(stderr, "WeCom SDK simulator: %s\n", msg);
}

static const sim_corpus *ready_corpus(const WeWorkFinanceSdk_t *sdk)
{
    return sdk && sdk->magic == HANDLE_MAGIC && sdk->ready ? &sdk->corpus : NULL;
}

static void sleep_seconds(int seconds)
{
    struct timespec left = {.tv_sec = seconds > 0 ? seconds : 0, .tv_nsec = 0};
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
}

/* Count a call (1-based). Calls count before any argument check: every call counts, as the
 * fault format promises. */
static uint64_t count_call(enum sim_call call)
{
    return atomic_fetch_add(&call_counts[call], 1) + 1;
}

/* The real library prints the gettoken answer on stdout with printf whenever it holds no
 * access_token, then fails the call with 10001. Like it, this goes through C stdio: fully
 * buffered on a pipe or file (it appears at fflush or exit), line-buffered on a terminal. The
 * "，" between the parts is U+FF0C in GBK, so the line is not UTF-8. */
static int access_denied(const char *gettoken_answer)
{
    printf("WeWorkFinanceSdk:access:%s\xa3\xac" "time:%lld\n", gettoken_answer, (long long)time(NULL));
    return ERR_NETWORK;
}

/* The gettoken step of GetChatData / GetMediaData: 0 when the handle's credentials are the
 * corpus's, else the access line and 10001 (a failed gettoken is not cached: every call asks
 * again and prints again, as the real library does). */
static int check_access(const WeWorkFinanceSdk_t *sdk)
{
    const char *answer = sim_corpus_access_error(&sdk->corpus, sdk->corpid, sdk->secret);
    return answer ? access_denied(answer) : 0;
}

/* The first call fault covering call number n of `call`, or NULL. call_error, call_timeout and
 * access_error are applied here (their code returned in *rc); server_answer is left to the
 * caller, which owns the output. */
static const sim_call_fault *call_fault(const sim_corpus *c, enum sim_call call, uint64_t n, int timeout,
                                        int *rc)
{
    for (size_t i = 0; i < c->ncall_faults; i++) {
        const sim_call_fault *f = &c->call_faults[i];
        if (f->call == call && n >= f->nth && n - f->nth < f->times) {
            if (f->action == SIM_ACT_TIMEOUT)
                sleep_seconds(timeout);
            *rc = f->action == SIM_ACT_ACCESS ? access_denied(f->body) : f->code;
            return f;
        }
    }
    *rc = 0;
    return NULL;
}

static void set_slice(Slice_t *out, char *buf, size_t len)
{
    free(out->buf);
    out->buf = buf;
    out->len = (int)len;
}

/* ---- handle ------------------------------------------------------------------------------ */

WeWorkFinanceSdk_t *NewSdk(void)
{
    WeWorkFinanceSdk_t *sdk = calloc(1, sizeof *sdk);
    if (sdk) {
        sdk->magic = HANDLE_MAGIC;
        sdk->corpus.msg_fd = -1;
    }
    return sdk;
}

void DestroySdk(WeWorkFinanceSdk_t *sdk)
{
    if (!sdk || sdk->magic != HANDLE_MAGIC)
        return;
    if (sdk->ready)
        sim_corpus_free(&sdk->corpus);
    free(sdk->corpid);
    free(sdk->secret);
    sdk->magic = 0; /* a second DestroySdk on freed memory is still undefined, but less likely to pass */
    free(sdk);
}

/* Like the real library, Init checks only that corpid and secret are non-empty (it does no
 * network I/O, so a wrong one surfaces at the first GetChatData / GetMediaData). It then loads
 * the corpus named by WECOM_SIM_CORPUS; problems with that are the simulator's own and fail Init
 * with 10000 and one line on stderr. A second Init of a handle replaces its credentials and
 * corpus (the real library answers it with 0 too); if it fails, the handle keeps the old ones. */
int Init(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret)
{
    char err[512];
    const char *dir = getenv("WECOM_SIM_CORPUS");
    char *id = NULL, *key = NULL;
    sim_corpus loaded;
    struct stat st;

    if (!sdk || sdk->magic != HANDLE_MAGIC || !corpid || !*corpid || !secret || !*secret)
        return ERR_PARAM;
    if (!dir || !*dir) {
        report("WECOM_SIM_CORPUS is not set (it must name the corpus directory)");
        return ERR_PARAM;
    }
    if (stat(dir, &st) < 0) {
        sim_errno_msg(err, sizeof err, "cannot open the corpus directory WECOM_SIM_CORPUS =", dir);
        report(err);
        return ERR_PARAM;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, sizeof err, "WECOM_SIM_CORPUS = %s is not a directory", dir);
        report(err);
        return ERR_PARAM;
    }
    if (!(id = strdup(corpid)) || !(key = strdup(secret))) {
        free(id);
        report("Init: out of memory");
        return ERR_SYSTEM;
    }
    if (sim_corpus_load(&loaded, dir, err, sizeof err) != 0) {
        report(err);
        free(id);
        free(key);
        return ERR_PARAM;
    }
    if (sdk->ready)
        sim_corpus_free(&sdk->corpus);
    free(sdk->corpid);
    free(sdk->secret);
    sdk->corpus = loaded;
    sdk->corpid = id;
    sdk->secret = key;
    sdk->ready = 1;
    return 0;
}

/* ---- GetChatData ------------------------------------------------------------------------- */

/* Buffers reused across the items of one call. */
typedef struct scratch {
    uint8_t *plain, *sealed;
    size_t plain_cap, sealed_cap;
} scratch;

static uint8_t *scratch_get(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap < need) {
        uint8_t *p = realloc(*buf, need);
        if (!p)
            return NULL;
        *buf = p;
        *cap = need;
    }
    return *buf;
}

/* The msg object's top-level "msgid" (the last one, as JSON parsers resolve duplicates), decoded;
 * NULL with *len = 0 when there is none or it is not a string. */
static char *find_msgid(const uint8_t *msg, size_t len, size_t *idlen)
{
    char key[JSON_KEY_MAX + 1], *id = NULL;
    size_t klen;
    int first = 1;
    json_cur cur;

    *idlen = 0;
    json_init(&cur, (const char *)msg, len);
    if (json_obj_begin(&cur) < 0)
        return NULL;
    while (json_obj_next(&cur, &first, key, &klen) > 0) {
        if (json_key_is(key, klen, "msgid") && json_peek(&cur) == '"') {
            free(id);
            id = NULL;
            if (json_string(&cur, &id, idlen) < 0)
                break;
        } else if (json_skip_value(&cur) < 0) {
            break;
        }
    }
    if (!id)
        *idlen = 0;
    return id;
}

/* Length of the malformed_json plaintext: half the msg, cut on a UTF-8 character boundary so the
 * result is broken JSON rather than broken text. A proper prefix of an object is never valid. */
static size_t malformed_len(const uint8_t *msg, size_t len)
{
    size_t half = len / 2;
    while (half > 0 && (msg[half] & 0xC0) == 0x80)
        half--;
    return half;
}

static void append_b64(sim_buf *b, const uint8_t *data, size_t len)
{
    char *dst = sim_buf_reserve(b, b64_encoded_len(len));
    if (dst) {
        b64_encode(dst, data, len);
        b->len += b64_encoded_len(len);
    }
}

/* Append one chatdata item: encrypt the entry's msg under a fresh random key. */
static int append_item(const sim_corpus *c, const sim_msg *m, int first, sim_buf *b, scratch *s)
{
    const sim_key *key = &c->keys[m->key];
    uint8_t rsa_out[1024]; /* up to RSA-8192 */
    size_t rsa_len, pt_len = m->len, idlen;
    char random_key[SIM_KEY_LEN], *msgid = NULL, *esc;
    uint8_t *plain = scratch_get(&s->plain, &s->plain_cap, m->len ? m->len : 1);
    uint8_t *sealed = scratch_get(&s->sealed, &s->sealed_cap, SIM_NONCE_LEN + m->len + SIM_TAG_LEN);
    int rc = ERR_SYSTEM;

    if (!plain || !sealed || sim_pread_full(c->msg_fd, plain, m->len, m->off) < 0)
        goto done;
    msgid = find_msgid(plain, m->len, &idlen);
    if (sim_random_key(random_key) < 0)
        goto done;
    if ((size_t)EVP_PKEY_size(key->pkey) > sizeof rsa_out ||
        sim_rsa_encrypt(key->pkey, (const uint8_t *)random_key, SIM_KEY_LEN, rsa_out, &rsa_len) < 0) {
        rc = ERR_ENCRYPT_KEY;
        goto done;
    }
    if (m->flags & SIM_FAULT_MALFORMED)
        pt_len = malformed_len(plain, m->len);
    if (sim_gcm_seal(random_key, plain, pt_len, sealed) < 0)
        goto done;
    if (m->flags & SIM_FAULT_CORRUPT)
        sealed[SIM_NONCE_LEN + pt_len + SIM_TAG_LEN - 1] ^= 0x5A; /* the tag no longer verifies */

    sim_buf_printf(b, "%s{\"seq\":%llu,\"msgid\":", first ? "" : ",",
                   (unsigned long long)m->seq);
    if ((esc = sim_buf_reserve(b, json_escaped_max(idlen))))
        b->len += json_escape(esc, msgid ? msgid : "", idlen);
    sim_buf_printf(b, ",\"publickey_ver\":%u,\"encrypt_random_key\":\"", key->version);
    append_b64(b, rsa_out, rsa_len);
    sim_buf_puts(b, "\",\"encrypt_chat_msg\":\"");
    append_b64(b, sealed, SIM_NONCE_LEN + pt_len + SIM_TAG_LEN);
    sim_buf_puts(b, "\"}");
    rc = b->failed ? ERR_SYSTEM : 0;
done:
    OPENSSL_cleanse(random_key, sizeof random_key);
    free(msgid);
    return rc;
}

static int build_chat_data(const sim_corpus *c, unsigned long long after, unsigned limit, sim_buf *b)
{
    scratch s = {0};
    int rc = 0;

    sim_buf_puts(b, "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[");
    size_t begin = sim_corpus_first_after(c, after);
    for (size_t i = begin; i < c->nmsgs && limit > 0 && rc == 0; i++, limit--)
        rc = append_item(c, &c->msgs[i], i == begin, b, &s);
    sim_buf_append(b, "]}", 3); /* with the NUL */
    if (rc == 0 && (b->failed || b->len - 1 > INT32_MAX))
        rc = ERR_SYSTEM;
    free(s.plain);
    free(s.sealed);
    return rc;
}

/* Check order, as the real library: the call is counted; NULL handle or output, limit 0 or over
 * 1000 → 10000 (no request); an uninitialised handle → 10001 (the real one's gettoken fails);
 * wrong credentials → access line + 10001; call faults; the work. */
int GetChatData(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit,
                const char *proxy, const char *passwd, int timeout, Slice_t *chatDatas)
{
    uint64_t n = count_call(SIM_CALL_CHAT);
    const sim_corpus *c = ready_corpus(sdk);
    const sim_call_fault *f;
    sim_buf b = {0};
    int rc;

    (void)proxy; /* no network: proxy settings are accepted and ignored */
    (void)passwd;
    if (!sdk || sdk->magic != HANDLE_MAGIC || !chatDatas || limit == 0 || limit > MAX_LIMIT)
        return ERR_PARAM;
    if (!c)
        return ERR_NETWORK;
    if ((rc = check_access(sdk)) != 0)
        return rc;
    if ((f = call_fault(c, SIM_CALL_CHAT, n, timeout, &rc)) != NULL) {
        if (f->action != SIM_ACT_ANSWER)
            return rc;
        /* WeCom's answer, passed through verbatim with rc 0 (errcode bodies, "Service
         * Unavailable", an empty body ...), as the real library does with any HTTP 2xx body. */
        sim_buf_append(&b, f->body, f->body_len);
        sim_buf_append(&b, "", 1);
        if (b.failed) {
            free(b.data);
            return ERR_SYSTEM;
        }
        set_slice(chatDatas, b.data, b.len - 1);
        return 0;
    }
    rc = build_chat_data(c, seq, limit, &b);
    if (rc == 0)
        set_slice(chatDatas, b.data, b.len - 1);
    else
        free(b.data);
    return rc;
}

/* ---- DecryptData ------------------------------------------------------------------------- */

/* The real library takes the 32 characters after the first 13 of encrypt_msg with
 * std::string(msg, 13, 32) before anything else: on a shorter message that throws
 * std::out_of_range, nothing catches it, and the process ends in std::terminate. */
static _Noreturn void die_out_of_range(size_t len)
{
    char text[256];
    int n = snprintf(text, sizeof text,
                     "terminate called after throwing an instance of 'std::out_of_range'\n"
                     "  what():  basic_string::basic_string: __pos (which is 13) > this->size() "
                     "(which is %zu)\n",
                     len);
    if (n > 0) {
        ssize_t written = write(STDERR_FILENO, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
        (void)written;
    }
    abort();
}

/* Check order, as the real library: NULL key or message → 10000; a message under 13 characters
 * (empty included) ends the process; then the simulator's own format: key not 32 bytes → 10008
 * (an empty key too, as the real one), no output slice → 10000, anything that does not
 * decrypt → 10006. */
int DecryptData(const char *encrypt_key, const char *encrypt_msg, Slice_t *msg)
{
    uint8_t *raw = NULL;
    char *plain = NULL;
    long long raw_len;
    size_t len, b64_len;
    int rc = ERR_DECRYPT;

    if (!encrypt_key || !encrypt_msg)
        return ERR_PARAM;
    b64_len = strlen(encrypt_msg);
    if (b64_len < 13)
        die_out_of_range(b64_len);
    if (strlen(encrypt_key) != SIM_KEY_LEN)
        return ERR_KEY_PARSE;
    if (!msg)
        return ERR_PARAM;
    if (!(raw = malloc(b64_len / 4 * 3 + 1))) {
        rc = ERR_SYSTEM;
        goto done;
    }
    raw_len = b64_decode(raw, encrypt_msg, b64_len);
    if (raw_len < SIM_NONCE_LEN + SIM_TAG_LEN || raw_len - SIM_NONCE_LEN - SIM_TAG_LEN > INT32_MAX)
        goto done;
    len = (size_t)raw_len - SIM_NONCE_LEN - SIM_TAG_LEN;
    if (!(plain = malloc(len + 1))) {
        rc = ERR_SYSTEM;
        goto done;
    }
    if (sim_gcm_open(encrypt_key, raw, (size_t)raw_len, (uint8_t *)plain) < 0)
        goto done;
    plain[len] = '\0';
    set_slice(msg, plain, len);
    plain = NULL;
    rc = 0;
done:
    free(raw);
    free(plain);
    return rc;
}

/* ---- GetMediaData ------------------------------------------------------------------------ */

/* The opaque outindexbuf is "o=<offset>": the byte offset of the next chunk. NULL or "" means
 * offset 0; anything else that is not exactly this format is a parameter error. */
static int parse_index(const char *index, uint64_t *off)
{
    uint64_t v = 0;
    const char *p;

    *off = 0;
    if (!index || !*index)
        return 0;
    if (strncmp(index, "o=", 2) != 0 || !index[2] || (index[2] == '0' && index[3]))
        return -1;
    for (p = index + 2; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *off = v;
    return 0;
}

/* Read the chunk at off of the media file and, on success, move it into out. */
static int read_media_chunk(const sim_corpus *c, const char *rel, uint64_t off, MediaData_t *out)
{
    char *path = sim_path_join(c->dir, rel), *index = NULL, *data = NULL;
    int fd = -1, rc = ERR_SYSTEM, index_len;
    struct stat st;
    size_t chunk;

    if (!path)
        goto done;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = errno == ENOENT || errno == ENOTDIR ? ERR_FILEID : ERR_SYSTEM;
        goto done;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        goto done;
    if (off > (uint64_t)st.st_size) {
        rc = ERR_PARAM; /* an outindexbuf from another file, or past the end */
        goto done;
    }
    chunk = (uint64_t)st.st_size - off < MEDIA_CHUNK ? (size_t)((uint64_t)st.st_size - off)
                                                     : MEDIA_CHUNK;
    if (!(data = malloc(chunk ? chunk : 1)) || !(index = malloc(24)) ||
        sim_pread_full(fd, data, chunk, off) < 0)
        goto done;
    index_len = snprintf(index, 24, "o=%llu", (unsigned long long)(off + chunk));
    free(out->data);
    free(out->outindexbuf);
    out->data = data;
    out->data_len = (int)chunk;
    out->outindexbuf = index;
    out->out_len = index_len;
    out->is_finish = off + chunk == (uint64_t)st.st_size;
    data = index = NULL;
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    free(path);
    free(data);
    free(index);
    return rc;
}

/* Check order: the call is counted; NULL handle, NULL or empty sdkfileid, no output struct or a
 * bad indexbuf → 10000; an uninitialised handle → 10001; wrong credentials → access line +
 * 10001; call faults; media_expired (10010); the media.json lookup (10005); the work. */
int GetMediaData(WeWorkFinanceSdk_t *sdk, const char *indexbuf, const char *sdkFileid,
                 const char *proxy, const char *passwd, int timeout, MediaData_t *media_data)
{
    uint64_t n = count_call(SIM_CALL_MEDIA);
    const sim_corpus *c = ready_corpus(sdk);
    const char *rel;
    uint64_t off;
    int rc;

    (void)proxy;
    (void)passwd;
    /* indexbuf is parsed before anything is freed: it may be media_data->outindexbuf itself. */
    if (!sdk || sdk->magic != HANDLE_MAGIC || !sdkFileid || !*sdkFileid || !media_data ||
        parse_index(indexbuf, &off) < 0)
        return ERR_PARAM;
    if (!c)
        return ERR_NETWORK;
    if ((rc = check_access(sdk)) != 0)
        return rc;
    if (call_fault(c, SIM_CALL_MEDIA, n, timeout, &rc) != NULL)
        return rc; /* server_answer is refused for GetMediaData when the corpus is loaded */
    if (sim_corpus_media_expired(c, sdkFileid))
        return ERR_EXPIRED;
    if (!(rel = sim_corpus_media_path(c, sdkFileid)))
        return ERR_FILEID;
    return read_media_chunk(c, rel, off, media_data);
}

/* ---- Slice_t / MediaData_t accessors ------------------------------------------------------ */

Slice_t *NewSlice(void)
{
    return calloc(1, sizeof(Slice_t));
}

void FreeSlice(Slice_t *slice)
{
    if (slice) {
        free(slice->buf);
        free(slice);
    }
}

char *GetContentFromSlice(Slice_t *slice)
{
    return slice && slice->buf ? slice->buf : empty_string;
}

int GetSliceLen(Slice_t *slice)
{
    return slice ? slice->len : 0;
}

MediaData_t *NewMediaData(void)
{
    return calloc(1, sizeof(MediaData_t));
}

void FreeMediaData(MediaData_t *media_data)
{
    if (media_data) {
        free(media_data->outindexbuf);
        free(media_data->data);
        free(media_data);
    }
}

char *GetOutIndexBuf(MediaData_t *media_data)
{
    return media_data && media_data->outindexbuf ? media_data->outindexbuf : empty_string;
}

char *GetData(MediaData_t *media_data)
{
    return media_data && media_data->data ? media_data->data : empty_string;
}

int GetIndexLen(MediaData_t *media_data)
{
    return media_data ? media_data->out_len : 0;
}

int GetDataLen(MediaData_t *media_data)
{
    return media_data ? media_data->data_len : 0;
}

int IsMediaDataFinish(MediaData_t *media_data)
{
    return media_data ? media_data->is_finish : 1; /* NULL: 1, as the real library */
}
