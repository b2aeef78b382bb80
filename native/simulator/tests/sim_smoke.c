/* Smoke test for the SDK simulator: every function, every error path, every fault kind, and a
 * 4-thread run on one handle. Meant to run under valgrind:
 *
 *     python3 native/build.py --valgrind
 *
 * It writes its own corpora (fresh RSA keys included) into a temporary directory, talks to the
 * library only through the 17 SDK functions, and decrypts what GetChatData serves the way the
 * app will: RSA-decrypt encrypt_random_key with the private key of publickey_ver, then
 * DecryptData. Exit status 0 when every check passed.
 *
 * json.c and b64.c are compiled into this program too: it parses the library's output with the
 * same cursor (the library's copies are hidden symbols).
 *
 * What kills the process (DecryptData on a message shorter than 13 characters) is tried in
 * forked children; the abort beside Qt is tested from Python (tests/sdk/test_real_behaviour.py). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "b64.h"
#include "finance_sdk.h"
#include "json.h"

#define CORPID "ww-smoke-corp"
#define SECRET "smoke-secret"
#define N_GENERATED 1040
#define MAX_EXPECTED (N_GENERATED + 16)
#define BIG_MEDIA_SIZE (1600 * 1024 + 123) /* > 3 chunks of 512 KiB */
#define THREADS 4

static atomic_int failures;
static atomic_ullong chat_calls, media_calls; /* mirrors the library's per-process counters */

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "CHECK FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

#define CHECK_RC(call, want)                                                         \
    do {                                                                             \
        int rc_ = (call);                                                            \
        if (rc_ != (want)) {                                                         \
            fprintf(stderr, "CHECK FAILED %s:%d: %s returned %d, want %d\n", __FILE__, \
                    __LINE__, #call, rc_, (want));                                   \
            failures++;                                                              \
        }                                                                            \
    } while (0)

/* ---- small utilities ---------------------------------------------------------------------- */

static char workdir[256];

static char *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(NULL, 0, format, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    va_start(ap, format);
    vsnprintf(s, (size_t)n + 1, format, ap);
    va_end(ap);
    return s;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

static void rm_rf(const char *path)
{
    char *cmd = fmt("rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
    free(cmd);
}

/* Output of the library on one file descriptor (1 or 2), captured into a file around a call. */
typedef struct capture {
    int fd, saved, file;
    char *path;
} capture;

static void capture_start(capture *c, int fd)
{
    c->fd = fd;
    c->path = fmt("%s/fd%d.txt", workdir, fd);
    fflush(stdout);
    fflush(stderr);
    c->saved = dup(fd);
    c->file = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(c->file, fd);
}

/* Stop capturing (after fflush: the library prints with stdio) and return what was written. */
static char *capture_end(capture *c, size_t *len)
{
    char buf[4096];
    size_t n;
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved, c->fd);
    close(c->saved);
    close(c->file);
    FILE *f = fopen(c->path, "rb");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    free(c->path);
    if (len)
        *len = n;
    char *out = malloc(n + 1);
    memcpy(out, buf, n + 1);
    return out;
}

/* Call Init with stderr captured; returns the rc and stores what was printed in *msg. */
static int init_capture(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret, char **msg)
{
    capture c;
    capture_start(&c, 2);
    int rc = Init(sdk, corpid, secret);
    *msg = capture_end(&c, NULL);
    return rc;
}

/* The line the real library prints on stdout when gettoken gives no token: the answer, "，" in
 * GBK, "time:" and the unix time. Checks that `out` is exactly one such line (or `lines` of
 * them) carrying `answer`. */
static void expect_access_lines(const char *out, size_t len, const char *answer, int lines)
{
    char *prefix = fmt("WeWorkFinanceSdk:access:%s\xa3\xac" "time:", answer);
    const char *p = out, *end = out + len;
    for (int i = 0; i < lines; i++) {
        char *stop;
        size_t plen = strlen(prefix);
        if ((size_t)(end - p) < plen || memcmp(p, prefix, plen) != 0) {
            fprintf(stderr, "CHECK FAILED: access line %d: got \"%.*s\", want prefix \"%s\"\n", i,
                    (int)(end - p), p, prefix);
            failures++;
            break;
        }
        long long t = strtoll(p + plen, &stop, 10);
        CHECK(stop > p + plen && *stop == '\n' && llabs(t - (long long)time(NULL)) < 60);
        p = stop + 1;
    }
    CHECK(p == end);
    free(prefix);
}

/* Init on a fresh handle must fail with 10000 and a one-line message containing `want`. */
static void expect_init_error(const char *dir, const char *corpid, const char *secret, const char *want)
{
    WeWorkFinanceSdk_t *sdk = NewSdk();
    char *msg;
    if (dir)
        setenv("WECOM_SIM_CORPUS", dir, 1);
    else
        unsetenv("WECOM_SIM_CORPUS");
    int rc = init_capture(sdk, corpid, secret, &msg);
    if (rc != 10000 || !strstr(msg, want) || strncmp(msg, "WeCom SDK simulator: ", 21) != 0 ||
        strchr(msg, '\n') != msg + strlen(msg) - 1) {
        fprintf(stderr, "CHECK FAILED: Init error: rc %d, message %s(wanted \"%s\")\n", rc, msg, want);
        failures++;
    }
    free(msg);
    DestroySdk(sdk);
}

/* ---- keys --------------------------------------------------------------------------------- */

static EVP_PKEY *private_keys[3]; /* by version; 1 and 2 are used */

/* Version 1 is written as SubjectPublicKeyInfo, version 2 as PKCS#1 "RSA PUBLIC KEY". */
static void make_key(const char *dir, int version)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char *path = fmt("%s/keys/v%d.pub.pem", dir, version);
    FILE *f = fopen(path, "wb");
    if (!key || !f)
        exit(2);
    if (version == 1) {
        PEM_write_PUBKEY(f, key);
    } else {
        unsigned char *der = NULL;
        int len = i2d_PublicKey(key, &der);
        PEM_write(f, "RSA PUBLIC KEY", "", der, len);
        OPENSSL_free(der);
    }
    fclose(f);
    free(path);
    private_keys[version] = key;
}

/* RSA-decrypt a base64 encrypt_random_key into a NUL-terminated 32-character key. */
static int unwrap_key(int version, const char *b64, char out[33])
{
    uint8_t raw[512], plain[512];
    size_t plain_len = sizeof plain;
    long long raw_len = strlen(b64) <= 680 ? b64_decode(raw, b64, strlen(b64)) : -1;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(private_keys[version], NULL);
    int ok = raw_len > 0 && ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_decrypt(ctx, plain, &plain_len, raw, (size_t)raw_len) == 1 && plain_len == 32;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return -1;
    memcpy(out, plain, 32);
    out[32] = '\0';
    for (int i = 0; i < 32; i++)
        if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'z') ||
              (out[i] >= 'A' && out[i] <= 'Z')))
            return -1;
    return 0;
}

/* ---- the main corpus ---------------------------------------------------------------------- */

typedef struct expected {
    unsigned long long seq;
    unsigned ver;
    char *msg;   /* raw msg bytes as written */
    char *msgid; /* decoded */
    size_t msgid_len;
    int corrupt, malformed;
} expected;

static expected want[MAX_EXPECTED];
static size_t nwant;
static uint8_t *big_media;

static void add_line(FILE *f, const char *prefix, const char *msg, const char *suffix,
                     unsigned long long seq, unsigned ver, const char *msgid, size_t idlen)
{
    fprintf(f, "%s%s%s\n", prefix, msg, suffix);
    want[nwant] = (expected){seq, ver, strdup(msg), malloc(idlen + 1), idlen, 0, 0};
    memcpy(want[nwant].msgid, msgid, idlen);
    nwant++;
}

static const expected *find_want(unsigned long long seq)
{
    for (size_t i = 0; i < nwant; i++)
        if (want[i].seq == seq)
            return &want[i];
    return NULL;
}

static void write_messages(const char *dir)
{
    char *path = fmt("%s/messages.jsonl", dir);
    FILE *f = fopen(path, "wb");
    free(path);

    add_line(f, "{\"seq\": 1, \"publickey_ver\": 1, \"msg\": ",
             "{\"msgid\":\"m1\",\"action\":\"send\",\"from\":\"zhangsan\",\"tolist\":[\"lisi\"],"
             "\"roomid\":\"\",\"msgtime\":1700000000000,\"msgtype\":\"text\",\"text\":{\"content\":\"hello\"}}",
             "}", 1, 1, "m1", 2);
    fputs("   \t\n\n", f); /* blank lines are skipped */
    /* Odd whitespace, escapes, emoji as \u pairs and raw UTF-8, CRLF; seq and version defaulted. */
    add_line(f, "{\"msg\":  ",
             "{  \"msgid\" : \"m\\u0032\" , \"text\" : { \"content\" : \"caf\\u00e9 \\ud83d\\ude00 "
             "\xF0\x9F\x98\x80 \\\"q\\\" \\\\ / \\/ \\t\" } ,\"x\":[1, -2.5e+3, true, false, null, {}, []]}",
             "  , \"publickey_ver\":2}\r", 2, 2, "m2", 2);
    add_line(f, "{\"seq\":3,\"msg\":", "{\"msgid\":\"corrupt-me\",\"action\":\"send\"}", "}", 3, 2,
             "corrupt-me", 10);
    want[nwant - 1].corrupt = 1;
    /* A gap in seq; an escaped key name; a msgid that needs re-escaping. */
    add_line(f, "{\"seq\":10,\"publickey_ver\":1,\"extra\":{\"ignored\":[1,2]},\"msg\":",
             "{\"msg\\u0069d\":\"q\\\"uote\\\\back\\nnl\\u0001ctl/\xC3\xA9\",\"action\":\"switch\",\"time\":1,"
             "\"user\":\"u\"}",
             "}", 10, 1, "q\"uote\\back\nnl\x01" "ctl/\xC3\xA9", 21);
    add_line(f, "{\"seq\":11,\"msg\":",
             "{\"msgid\":\"malformed-me\",\"text\":{\"content\":\"\xE4\xB8\xAD\xE6\x96\x87\xE5\x86\x85"
             "\xE5\xAE\xB9\xE4\xB8\xAD\xE6\x96\x87\"}}",
             "}", 11, 2, "malformed-me", 12);
    want[nwant - 1].malformed = 1;
    add_line(f, "{\"seq\":12,\"msg\":", "{\"action\":\"no-msgid\",\"msgid\":7}", "}", 12, 2, "", 0);
    add_line(f, "{\"seq\":13,\"msg\":", "{\"msgid\":\"dup1\",\"msgid\":\"dup2\"}", "}", 13, 2, "dup2", 4);
    for (int i = 0; i < N_GENERATED; i++) {
        char msg[160], id[32];
        snprintf(id, sizeof id, "gen-%d", i);
        snprintf(msg, sizeof msg,
                 "{\"msgid\":\"%s\",\"action\":\"send\",\"msgtype\":\"text\",\"text\":{\"content\":\"message %d\"}}",
                 id, i);
        /* Seqs 21.. are defaulted; half the lines name version 1, the rest default to 2. */
        add_line(f, i == 0 ? "{\"seq\":20,\"msg\":" : "{\"msg\":", msg,
                 i % 2 == 0 ? ",\"publickey_ver\":1}" : "}", 20 + (unsigned)i, i % 2 == 0 ? 1 : 2, id,
                 strlen(id));
    }
    fflush(f);
    if (ftruncate(fileno(f), ftell(f) - 1) != 0) /* the last line has no trailing newline */
        exit(2);
    fclose(f);
}

static void write_media(const char *dir)
{
    char *path;
    big_media = calloc(1, BIG_MEDIA_SIZE); /* mostly NUL bytes, with a pattern to catch misplaced chunks */
    for (size_t i = 0; i < BIG_MEDIA_SIZE; i += 4099)
        big_media[i] = (uint8_t)(i / 4099 + 1);
    path = fmt("%s/media/big.bin", dir);
    write_file(path, big_media, BIG_MEDIA_SIZE);
    free(path);
    path = fmt("%s/media/empty.bin", dir);
    write_file(path, "", 0);
    free(path);
    path = fmt("%s/media.json", dir);
    write_text(path, "{\"img1\": \"media/big.bin\", \"img1-alias\": \"media/big.bin\",\n"
                     " \"empty\": \"media/empty.bin\", \"gone\": \"media/missing.bin\",\n"
                     " \"old\": \"media/big.bin\", \"id\\u0041\": \"media/empty.bin\"}\n");
    free(path);
}

static char *make_main_corpus(void)
{
    char *dir = fmt("%s/main", workdir);
    char *sub = fmt("%s/keys", dir), *media = fmt("%s/media", dir), *path = fmt("%s/corpus.json", dir);
    mkdir(dir, 0700);
    mkdir(sub, 0700);
    mkdir(media, 0700);
    make_key(dir, 1);
    make_key(dir, 2);
    write_text(path, "{\"corpid\": \"" CORPID "\", \"secret\": \"" SECRET "\", \"note\": \"ignored\",\n"
                     " \"keys\": {\"1\": {\"public\": \"keys/v1.pub.pem\", \"private\": \"keys/v1.pem\"},\n"
                     "          \"2\": {\"public\": \"keys/v2.pub.pem\", \"private\": \"keys/v2.pem\", \"install\": false}},\n"
                     " \"faults\": [{\"kind\": \"corrupt_ciphertext\", \"seq\": 3},\n"
                     "            {\"kind\": \"malformed_json\", \"seq\": 11},\n"
                     "            {\"kind\": \"media_expired\", \"sdkfileid\": \"old\"},\n"
                     "            {\"kind\": \"media_expired\", \"sdkfileid\": \"not-in-media-json\"}]}\n");
    write_messages(dir);
    write_media(dir);
    free(sub);
    free(media);
    free(path);
    return dir;
}

/* ---- calling the library ------------------------------------------------------------------ */

static int chat(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned limit, int timeout, Slice_t *out)
{
    atomic_fetch_add(&chat_calls, 1);
    return GetChatData(sdk, seq, limit, "socks5://127.0.0.1:1080", "user:pass", timeout, out);
}

static int media(WeWorkFinanceSdk_t *sdk, const char *index, const char *id, int timeout, MediaData_t *out)
{
    atomic_fetch_add(&media_calls, 1);
    return GetMediaData(sdk, index, id, NULL, NULL, timeout, out);
}

/* One chatdata item, as parsed from GetChatData's output. */
typedef struct item {
    uint64_t seq, ver;
    char *msgid, *key, *msg;
    size_t msgid_len, nfields;
} item;

static void free_item(item *it)
{
    free(it->msgid);
    free(it->key);
    free(it->msg);
    memset(it, 0, sizeof *it);
}

static int parse_item(json_cur *cur, item *it)
{
    char key[JSON_KEY_MAX + 1];
    size_t klen, len;
    int first = 1, more, is_int;
    if (json_obj_begin(cur) < 0)
        return -1;
    while ((more = json_obj_next(cur, &first, key, &klen)) > 0) {
        int rc;
        it->nfields++;
        if (json_key_is(key, klen, "seq"))
            rc = json_uint(cur, &it->seq, &is_int);
        else if (json_key_is(key, klen, "publickey_ver"))
            rc = json_uint(cur, &it->ver, &is_int);
        else if (json_key_is(key, klen, "msgid"))
            rc = json_string(cur, &it->msgid, &it->msgid_len);
        else if (json_key_is(key, klen, "encrypt_random_key"))
            rc = json_string(cur, &it->key, &len);
        else if (json_key_is(key, klen, "encrypt_chat_msg"))
            rc = json_string(cur, &it->msg, &len);
        else
            rc = -1;
        if (rc < 0)
            return -1;
    }
    return more < 0 || it->nfields != 5 || !it->msgid || !it->key || !it->msg ? -1 : 0;
}

/* Decrypt one item the way the app will, and compare it with what the corpus holds. */
static void verify_item(const item *it)
{
    const expected *w = find_want(it->seq);
    char key[33];
    Slice_t *plain = NewSlice();

    CHECK(w != NULL);
    if (!w)
        goto done;
    CHECK(it->ver == w->ver);
    CHECK(it->msgid_len == w->msgid_len && memcmp(it->msgid, w->msgid, w->msgid_len) == 0);
    CHECK(unwrap_key(w->ver, it->key, key) == 0);
    int rc = DecryptData(key, it->msg, plain);
    if (w->corrupt) {
        CHECK(rc == 10006);
        CHECK(plain->buf == NULL && GetContentFromSlice(plain)[0] == '\0'); /* untouched on error */
    } else if (w->malformed) {
        size_t len = strlen(w->msg);
        CHECK(rc == 0);
        CHECK(GetSliceLen(plain) > 0 && (size_t)GetSliceLen(plain) < len);
        CHECK(memcmp(GetContentFromSlice(plain), w->msg, (size_t)GetSliceLen(plain)) == 0);
        json_cur cur;
        json_init(&cur, GetContentFromSlice(plain), (size_t)GetSliceLen(plain));
        CHECK(json_skip_value(&cur) < 0 || json_end(&cur) < 0);
    } else {
        CHECK(rc == 0);
        CHECK((size_t)GetSliceLen(plain) == strlen(w->msg));
        CHECK(GetContentFromSlice(plain) && strcmp(GetContentFromSlice(plain), w->msg) == 0);
    }
done:
    FreeSlice(plain);
}

/* Fetch and verify a page; returns the number of items, or -1 on a bad response. */
static long fetch_page(WeWorkFinanceSdk_t *sdk, unsigned long long after, unsigned limit,
                       unsigned long long *last_seq, int verify)
{
    Slice_t *out = NewSlice();
    long n = -1;
    int rc = chat(sdk, after, limit, 5, out);
    CHECK(rc == 0);
    if (rc != 0)
        goto done;
    CHECK(GetContentFromSlice(out)[GetSliceLen(out)] == '\0');
    CHECK(strlen(GetContentFromSlice(out)) == (size_t)GetSliceLen(out));
    json_cur cur;
    char key[JSON_KEY_MAX + 1];
    size_t klen;
    int first = 1, afirst = 1;
    const char *head = "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[";
    CHECK(strncmp(GetContentFromSlice(out), head, strlen(head)) == 0);
    json_init(&cur, GetContentFromSlice(out), (size_t)GetSliceLen(out));
    json_obj_begin(&cur);
    while (json_obj_next(&cur, &first, key, &klen) > 0) {
        if (!json_key_is(key, klen, "chatdata")) {
            json_skip_value(&cur);
            continue;
        }
        n = 0;
        json_arr_begin(&cur);
        while (json_arr_next(&cur, &afirst) > 0) {
            item it = {0};
            if (parse_item(&cur, &it) < 0) {
                CHECK(!"unparseable item");
                free_item(&it);
                n = -1;
                goto done;
            }
            CHECK(it.seq > after && (n == 0 || it.seq > *last_seq));
            *last_seq = it.seq;
            /* RSA private decryption is slow under valgrind: full checks for the special entries
             * (seq < 20) and a sample of the generated ones; the rest get the cheap checks above. */
            if (verify && (it.seq < 20 || it.seq % 25 == 0))
                verify_item(&it);
            free_item(&it);
            n++;
        }
    }
    CHECK(cur.err == NULL && json_end(&cur) == 0);
done:
    FreeSlice(out);
    return n;
}

/* ---- test groups -------------------------------------------------------------------------- */

static void test_accessors(void)
{
    FreeSlice(NULL);
    FreeMediaData(NULL);
    DestroySdk(NULL);
    /* As the real library: "" (never NULL) for NULL structs and fresh ones, lengths 0, and
     * IsMediaDataFinish(NULL) is 1. */
    CHECK(GetContentFromSlice(NULL) != NULL && GetContentFromSlice(NULL)[0] == '\0' && GetSliceLen(NULL) == 0);
    CHECK(GetOutIndexBuf(NULL) != NULL && GetOutIndexBuf(NULL)[0] == '\0');
    CHECK(GetData(NULL) != NULL && GetData(NULL)[0] == '\0');
    CHECK(GetIndexLen(NULL) == 0 && GetDataLen(NULL) == 0 && IsMediaDataFinish(NULL) == 1);
    Slice_t *s = NewSlice();
    CHECK(s && s->buf == NULL && s->len == 0);
    CHECK(GetContentFromSlice(s) != NULL && GetContentFromSlice(s)[0] == '\0' && GetSliceLen(s) == 0);
    FreeSlice(s);
    MediaData_t *m = NewMediaData();
    CHECK(m && !m->outindexbuf && !m->data && !m->out_len && !m->data_len && !m->is_finish);
    CHECK(GetData(m)[0] == '\0' && GetOutIndexBuf(m)[0] == '\0' && IsMediaDataFinish(m) == 0);
    FreeMediaData(m);
}

static void test_uninitialised(void)
{
    WeWorkFinanceSdk_t *sdk = NewSdk();
    Slice_t *s = NewSlice();
    MediaData_t *m = NewMediaData();
    char *msg;
    /* A NULL handle is a parameter error; an uninitialised one fails like the real library's
     * gettoken without credentials: 10001. */
    CHECK_RC(chat(sdk, 0, 10, 1, s), 10001);
    CHECK_RC(chat(NULL, 0, 10, 1, s), 10000);
    CHECK_RC(chat(sdk, 0, 0, 1, s), 10000);
    CHECK_RC(media(sdk, "", "img1", 1, m), 10001);
    CHECK_RC(media(NULL, "", "img1", 1, m), 10000);
    CHECK(s->buf == NULL && m->data == NULL);
    /* Init checks only for NULL and empty arguments, and says nothing (as the real library). */
    static const char *const bad[][2] = {{NULL, SECRET}, {CORPID, NULL}, {"", SECRET}, {CORPID, ""}, {"", ""}};
    CHECK_RC(init_capture(NULL, CORPID, SECRET, &msg), 10000);
    CHECK(msg[0] == '\0');
    free(msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RC(init_capture(sdk, bad[i][0], bad[i][1], &msg), 10000);
        CHECK(msg[0] == '\0');
        free(msg);
    }
    FreeSlice(s);
    FreeMediaData(m);
    DestroySdk(sdk);
}

static void test_chat(WeWorkFinanceSdk_t *sdk)
{
    Slice_t *s = NewSlice();
    unsigned long long last = 0, after = 0;
    long total = 0, n;

    /* The first page holds every special line. */
    CHECK(fetch_page(sdk, 0, 10, &last, 1) == 10);
    /* Page through everything with the maximum limit, verifying every item. */
    while ((n = fetch_page(sdk, after, 1000, &last, 1)) > 0) {
        CHECK(n <= 1000);
        total += n;
        after = last;
    }
    CHECK(n == 0);
    CHECK(total == (long)nwant);
    CHECK(after == want[nwant - 1].seq);
    /* Starting inside a gap (seq 4..9) lands on seq 10. */
    CHECK(fetch_page(sdk, 5, 1, &last, 1) == 1 && last == 10);

    /* Exact output shapes. */
    CHECK_RC(chat(sdk, 1ULL << 62, 1000, 1, s), 0);
    CHECK(strcmp(GetContentFromSlice(s), "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[]}") == 0);
    CHECK_RC(chat(sdk, 1ULL << 62, 1, 1, s), 0); /* reuses s: the old buf must be freed */
    CHECK(GetSliceLen(s) == (int)strlen("{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[]}"));
    CHECK_RC(chat(sdk, 9, 1, 1, s), 0);
    CHECK(strstr(GetContentFromSlice(s),
                 "{\"seq\":10,\"msgid\":\"q\\\"uote\\\\back\\nnl\\u0001ctl/\xC3\xA9\",\"publickey_ver\":1,"
                 "\"encrypt_random_key\":\"") != NULL);
    /* Two fetches of one entry use fresh keys and nonces. */
    char *first = strdup(GetContentFromSlice(s));
    CHECK_RC(chat(sdk, 9, 1, 1, s), 0);
    CHECK(strcmp(first, GetContentFromSlice(s)) != 0);
    free(first);

    /* Parameter errors leave the slice as it was. */
    char *before = GetContentFromSlice(s);
    CHECK_RC(chat(sdk, 0, 0, 1, s), 10000); /* limit 0: 10000, as the real library */
    CHECK_RC(chat(sdk, 0, 1001, 1, s), 10000);
    CHECK_RC(chat(sdk, 0, 0xFFFFFFFFu, 1, s), 10000);
    CHECK_RC(chat(sdk, 0, 10, 1, NULL), 10000);
    CHECK(GetContentFromSlice(s) == before);
    CHECK_RC(GetChatData(sdk, 0, 1, NULL, NULL, 1, s), 0);
    atomic_fetch_add(&chat_calls, 1);
    FreeSlice(s);
}

/* Run DecryptData(key, msg, out) in a forked child with stderr captured: the child's wait
 * status, its return code (-1 if it returned none) and what it printed. The code travels through
 * a pipe: under valgrind --error-exitcode the child's exit status is valgrind's. */
static int decrypt_in_child(const char *key, const char *msg, int with_out, int *rc, char **err)
{
    capture c;
    int status = 0, fds[2];
    if (pipe(fds) != 0)
        exit(2);
    capture_start(&c, 2);
    pid_t pid = fork();
    if (pid == 0) {
        Slice_t *s = NewSlice();
        int answer = DecryptData(key, msg, with_out ? s : NULL);
        ssize_t written = write(fds[1], &answer, sizeof answer);
        _exit(written == (ssize_t)sizeof answer ? 0 : 3);
    }
    close(fds[1]);
    if (read(fds[0], rc, sizeof *rc) != (ssize_t)sizeof *rc)
        *rc = -1;
    close(fds[0]);
    waitpid(pid, &status, 0);
    *err = capture_end(&c, NULL);
    return status;
}

static void test_decrypt_errors(WeWorkFinanceSdk_t *sdk)
{
    Slice_t *s = NewSlice(), *page = NewSlice();
    const char *key = "0123456789abcdefghijABCDEFGHIJ01";
    const char *garbage = "AAAAAAAAAAAAAAAAAAAA"; /* 20 characters: 15 bytes, too short for nonce + tag */
    uint8_t raw[64] = {0};
    char b64[128] = {0};

    /* NULL key or message: 10000, before anything else (as the real library). */
    CHECK_RC(DecryptData(NULL, garbage, s), 10000);
    CHECK_RC(DecryptData(key, NULL, s), 10000);
    CHECK_RC(DecryptData(NULL, NULL, s), 10000);
    CHECK_RC(DecryptData(NULL, "", s), 10000);
    CHECK_RC(DecryptData(key, garbage, NULL), 10000);
    /* The key must be the 32 characters GetChatData wrapped (an empty key: 10008, as the real one). */
    CHECK_RC(DecryptData("", garbage, s), 10008);
    CHECK_RC(DecryptData("short", garbage, s), 10008);
    CHECK_RC(DecryptData("0123456789abcdefghijABCDEFGHIJ012", garbage, s), 10008);
    CHECK_RC(DecryptData("short", garbage, NULL), 10008);
    CHECK_RC(DecryptData(key, "not base64 at all!", s), 10006);
    CHECK_RC(DecryptData(key, "AAAAAAAAAAAAAAA", s), 10006); /* 15 characters: not whole base64 quads */
    CHECK_RC(DecryptData(key, "AAAAAAAAAAA=AAAA", s), 10006);
    CHECK_RC(DecryptData(key, garbage, s), 10006);
    b64_encode(b64, raw, 27); /* one byte short of nonce + tag */
    CHECK_RC(DecryptData(key, b64, s), 10006);
    b64_encode(b64, raw, 28); /* empty plaintext, but the tag is wrong */
    CHECK_RC(DecryptData(key, b64, s), 10006);
    CHECK(s->buf == NULL && GetContentFromSlice(s)[0] == '\0'); /* untouched on error */

    /* A message under 13 characters ends the process, whatever the key or output. */
    static const struct {
        const char *key, *msg;
        int with_out;
        size_t len;
    } fatal[] = {
        {"0123456789abcdefghijABCDEFGHIJ01", "", 1, 0}, {"0123456789abcdefghijABCDEFGHIJ01", "A", 1, 1},
        {"0123456789abcdefghijABCDEFGHIJ01", "AAAAAAAAAAAA", 1, 12}, {"", "AAAA", 1, 4},
        {"k", "AAAAAAAAAAAA", 0, 12},
    };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        int rc;
        char *err, *want = fmt("terminate called after throwing an instance of 'std::out_of_range'\n"
                               "  what():  basic_string::basic_string: __pos (which is 13) > this->size() "
                               "(which is %zu)\n", fatal[i].len);
        int status = decrypt_in_child(fatal[i].key, fatal[i].msg, fatal[i].with_out, &rc, &err);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT || rc != -1 || strcmp(err, want) != 0) {
            fprintf(stderr, "CHECK FAILED: DecryptData on %zu characters: status %#x, stderr \"%s\"\n",
                    fatal[i].len, status, err);
            failures++;
        }
        free(want);
        free(err);
    }
    char *err;
    int rc, status = decrypt_in_child(key, "AAAAAAAAAAAAA", 1, &rc, &err); /* 13 characters: an answer */
    CHECK(WIFEXITED(status) && rc == 10006 && err[0] == '\0');
    free(err);
    status = decrypt_in_child(NULL, "A", 1, &rc, &err); /* NULL is checked before the length */
    CHECK(WIFEXITED(status) && rc == 10000 && err[0] == '\0');
    free(err);

    /* A real item decrypted with the wrong key fails the tag check. */
    CHECK_RC(chat(sdk, 0, 1, 1, page), 0);
    const char *m = strstr(GetContentFromSlice(page), "\"encrypt_chat_msg\":\"");
    CHECK(m != NULL);
    if (m) {
        char *end = strchr(m + 20, '"');
        char *msg = strndup(m + 20, (size_t)(end - m - 20));
        CHECK_RC(DecryptData(key, msg, s), 10006);
        free(msg);
    }
    FreeSlice(s);
    FreeSlice(page);
}

/* Fetch a whole media file; returns its bytes (malloc'd) and length, or NULL on an error. */
static uint8_t *fetch_media(WeWorkFinanceSdk_t *sdk, const char *id, size_t *len, int *calls)
{
    MediaData_t *m = NewMediaData();
    uint8_t *all = NULL;
    *len = 0;
    *calls = 0;
    for (;;) {
        /* Pass the previous outindexbuf itself: the library must read it before freeing it. */
        int rc = media(sdk, GetOutIndexBuf(m), id, 5, m);
        (*calls)++;
        if (rc != 0) {
            free(all);
            all = NULL;
            break;
        }
        CHECK(GetData(m) != NULL && GetOutIndexBuf(m) != NULL);
        CHECK(GetIndexLen(m) == (int)strlen(GetOutIndexBuf(m)));
        CHECK(GetDataLen(m) <= 524288);
        all = realloc(all, *len + (size_t)GetDataLen(m) + 1);
        memcpy(all + *len, GetData(m), (size_t)GetDataLen(m));
        *len += (size_t)GetDataLen(m);
        if (IsMediaDataFinish(m))
            break;
        CHECK(GetDataLen(m) == 524288);
    }
    FreeMediaData(m);
    return all;
}

static void test_media(WeWorkFinanceSdk_t *sdk)
{
    size_t len;
    int calls;
    uint8_t *data;
    MediaData_t *m = NewMediaData();

    data = fetch_media(sdk, "img1", &len, &calls);
    CHECK(data && len == BIG_MEDIA_SIZE && memcmp(data, big_media, len) == 0);
    CHECK(calls == 4);
    free(data);
    data = fetch_media(sdk, "img1-alias", &len, &calls);
    CHECK(data && len == BIG_MEDIA_SIZE && memcmp(data, big_media, len) == 0);
    free(data);
    data = fetch_media(sdk, "empty", &len, &calls);
    CHECK(data && len == 0 && calls == 1);
    free(data);
    data = fetch_media(sdk, "idA", &len, &calls); /* the key was written "id\u0041" */
    CHECK(data && len == 0);
    free(data);

    /* Errors: the struct keeps its last successful contents. */
    CHECK_RC(media(sdk, NULL, "img1", 5, m), 0);
    char *index = GetOutIndexBuf(m), *bytes = GetData(m);
    CHECK(strcmp(index, "o=524288") == 0 && !IsMediaDataFinish(m));
    CHECK_RC(media(sdk, "", "no-such-id", 5, m), 10005);
    CHECK_RC(media(sdk, "", "gone", 5, m), 10005);
    CHECK_RC(media(sdk, "", "old", 5, m), 10010);
    CHECK_RC(media(sdk, "", "not-in-media-json", 5, m), 10010);
    CHECK_RC(media(sdk, "", NULL, 5, m), 10000);
    CHECK_RC(media(sdk, "", "", 5, m), 10000); /* an empty sdkfileid: 10000, as the real library */
    CHECK_RC(media(sdk, "", "img1", 5, NULL), 10000);
    CHECK_RC(media(sdk, "garbage", "img1", 5, m), 10000);
    CHECK_RC(media(sdk, "o=", "img1", 5, m), 10000);
    CHECK_RC(media(sdk, "o=01", "img1", 5, m), 10000);
    CHECK_RC(media(sdk, "o=-1", "img1", 5, m), 10000);
    CHECK_RC(media(sdk, "o=99999999999999999999999", "img1", 5, m), 10000);
    CHECK_RC(media(sdk, "o=99999999", "img1", 5, m), 10000); /* past the end of the file */
    CHECK(GetOutIndexBuf(m) == index && GetData(m) == bytes);
    /* Resuming from a saved index, then from exactly the end. */
    CHECK_RC(media(sdk, "o=1572864", "img1", 5, m), 0);
    CHECK(IsMediaDataFinish(m) && GetDataLen(m) == BIG_MEDIA_SIZE - 1572864);
    CHECK(memcmp(GetData(m), big_media + 1572864, (size_t)GetDataLen(m)) == 0);
    char *end = strdup(GetOutIndexBuf(m));
    CHECK_RC(media(sdk, end, "img1", 5, m), 0);
    CHECK(IsMediaDataFinish(m) && GetDataLen(m) == 0);
    free(end);
    FreeMediaData(m);
}

/* Init failures, each checked for its message. */
static void test_bad_corpora(const char *main_dir)
{
    char *dir = fmt("%s/bad", workdir), *keys = fmt("%s/keys", dir);
    char *corpus = fmt("%s/corpus.json", dir), *messages = fmt("%s/messages.jsonl", dir);
    char *media_json = fmt("%s/media.json", dir);
    char *cmd = fmt("cp '%s/keys/v1.pub.pem' '%s/keys/'", main_dir, dir);
    const char *good_corpus = "{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}}}";
    mkdir(dir, 0700);
    mkdir(keys, 0700);
    if (system(cmd) != 0)
        exit(2);

    expect_init_error(NULL, "c", "s", "WECOM_SIM_CORPUS is not set");
    expect_init_error("/nonexistent/corpus", "c", "s", "/nonexistent/corpus: No such file");
    expect_init_error(dir, "c", "s", "corpus.json: No such file");

    write_text(corpus, good_corpus);
    expect_init_error(dir, "c", "s", "messages.jsonl: No such file");

    static const struct {
        const char *lines, *message;
    } bad_lines[] = {
        {"{\"msg\":{}}\n{\"msg\":{}\n", "messages.jsonl line 2: invalid JSON at column 10"},
        {"{\"seq\":5,\"msg\":{}}\n\n{\"seq\":5,\"msg\":{}}\n", "line 3: seq 5 is not greater than the previous seq 5"},
        {"{\"seq\":5,\"msg\":{}}\n{\"seq\":4,\"msg\":{}}\n", "line 2: seq 4 is not greater"},
        {"{\"seq\":1}\n", "messages.jsonl line 1: missing \"msg\" object"},
        {"{\"msg\":[1]}\n", "line 1: \"msg\" must be an object"},
        {"{\"msg\":{}, \"publickey_ver\": 9}\n", "line 1: publickey_ver 9 has no key in corpus.json"},
        {"{\"msg\":{}, \"seq\": 0}\n", "line 1: \"seq\" must be a positive integer"},
        {"{\"msg\":{}, \"seq\": 1.5}\n", "\"seq\" must be a positive integer"},
        {"{\"msg\":{}, \"seq\": \"1\"}\n", "\"seq\" must be a positive integer"},
        {"{\"msg\":{}, \"msg\": {}}\n", "duplicate \"msg\""},
        {"{\"msg\":{\"a\":\"x\ty\"}}\n", "control character in string"},
        {"{\"msg\":{\"a\":\"\\x\"}}\n", "invalid escape"},
        {"{\"msg\":{\"a\":01}}\n", "line 1: invalid JSON"},
        {"{\"msg\":{\"a\":1,}}\n", "expected a member name"},
        {"{\"msg\":{}} x\n", "unexpected data after the JSON value"},
        {"[]\n", "line 1: invalid JSON at column 1: expected an object"},
    };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        write_text(messages, bad_lines[i].lines);
        expect_init_error(dir, "c", "s", bad_lines[i].message);
    }
    /* Nesting deeper than the parser's limit is an error, not a stack overflow. */
    char deep[1200] = "{\"msg\":{\"a\":";
    memset(deep + strlen(deep), '[', 600);
    write_text(messages, deep);
    expect_init_error(dir, "c", "s", "nesting too deep");
    write_text(messages, "{\"seq\":1,\"msg\":{}}\n{\"seq\":2,\"msg\":{}}\n");

    static const struct {
        const char *corpus, *message;
    } bad_corpus[] = {
        {"{\"corpid\":\"c\",\"secret\":\"s\"}", "corpus.json: missing \"keys\""},
        {"{\"corpid\":\"c\",\"keys\":{}}", "corpus.json: missing \"secret\""},
        {"{\"corpid\":1,\"secret\":\"s\",\"keys\":{}}", "corpus.json: corpid must be a string"},
        {"{\"corpid\":\"c\",\n\"secret\":\"s\" \"keys\":{}}", "corpus.json line 2 column 14: invalid JSON: expected ',' or '}'"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"01\":{\"public\":\"keys/v1.pub.pem\"}}}", "\"01\" is not a key version"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{}}}", "has no \"public\" key path"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/nope.pem\"}}}", "keys/nope.pem: No such file"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"corpus.json\"}}}", "corpus.json is not a PEM file"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":[{\"kind\":\"boom\"}]}",
         "faults[0]: unknown kind \"boom\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":[{\"seq\":1}]}",
         "faults[0]: missing \"kind\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"malformed_json\",\"seq\":1},{\"kind\":\"call_error\",\"call\":\"GetChatData\",\"nth\":1}]}",
         "faults[1]: kind \"call_error\" needs \"code\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"call_error\",\"call\":\"DecryptData\",\"nth\":1,\"code\":10001}]}",
         "call must be \"GetChatData\" or \"GetMediaData\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"call_error\",\"call\":\"GetChatData\",\"nth\":0,\"code\":10001}]}",
         "faults[0].nth must be a positive integer"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"call_timeout\",\"call\":\"GetChatData\",\"nth\":1,\"code\":10001}]}",
         "field \"code\" does not apply to kind \"call_timeout\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"media_expired\",\"sdkfileid\":\"x\",\"sdkfileid\":\"y\"}]}",
         "duplicate field \"sdkfileid\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"media_expired\",\"sdkfileid\":\"x\",\"nht\":1}]}",
         "faults[0]: unknown field \"nht\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"corrupt_ciphertext\",\"seq\":3}]}",
         "faults[0]: seq 3 is not in messages.jsonl"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":{}}",
         "faults must be an array"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"server_answer\",\"call\":\"GetMediaData\",\"nth\":1,\"body\":\"x\"}]}",
         "faults[0]: kind \"server_answer\" applies to GetChatData only"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"server_answer\",\"call\":\"GetChatData\",\"nth\":1}]}",
         "faults[0]: kind \"server_answer\" needs \"body\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"server_answer\",\"call\":\"GetChatData\",\"nth\":1,\"body\":{}}]}",
         "faults[0].body must be a string"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"server_answer\",\"call\":\"GetChatData\",\"nth\":1,\"body\":\"\",\"code\":1}]}",
         "field \"code\" does not apply to kind \"server_answer\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"access_error\",\"call\":\"GetChatData\",\"nth\":1,\"errcode\":60020}]}",
         "faults[0]: kind \"access_error\" needs \"errmsg\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"access_error\",\"call\":\"GetChatData\",\"nth\":1,\"errcode\":\"60020\",\"errmsg\":\"x\"}]}",
         "faults[0].errcode must be an integer from -2147483648 to 2147483647"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"access_error\",\"call\":\"GetChatData\",\"nth\":1,\"errcode\":2147483648,\"errmsg\":\"x\"}]}",
         "faults[0].errcode must be an integer"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"access_error\",\"call\":\"GetChatData\",\"nth\":1,\"errcode\":-1.5,\"errmsg\":\"x\"}]}",
         "faults[0].errcode must be an integer"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"access_error\",\"call\":\"GetChatData\",\"nth\":1,\"errcode\":- 1,\"errmsg\":\"x\"}]}",
         "invalid JSON"},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"access_error\",\"call\":\"GetChatData\",\"nth\":1,\"errcode\":1,\"errmsg\":\"x\",\"body\":\"y\"}]}",
         "field \"body\" does not apply to kind \"access_error\""},
        {"{\"corpid\":\"c\",\"secret\":\"s\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"}},\"faults\":"
         "[{\"kind\":\"access_error\",\"call\":\"GetChatData\",\"errcode\":1,\"errmsg\":\"x\"}]}",
         "faults[0]: kind \"access_error\" needs \"nth\""},
    };
    for (size_t i = 0; i < sizeof bad_corpus / sizeof bad_corpus[0]; i++) {
        write_text(corpus, bad_corpus[i].corpus);
        expect_init_error(dir, "c", "s", bad_corpus[i].message);
    }

    write_text(corpus, good_corpus);
    static const struct {
        const char *media, *message;
    } bad_media[] = {
        {"[]", "media.json line 1 column 1: invalid JSON: expected an object"},
        {"{\"a\": 1}", "media.json: the value for \"a\" must be a string"},
        {"{\"a\": \"media/x\", \"a\": \"media/y\"}", "media.json: duplicate sdkfileid \"a\""},
        {"{\"a\": \"\"}", "media.json: bad entry \"a\""},
        {"{\"a\": \"media/x\",}", "expected a member name"},
    };
    for (size_t i = 0; i < sizeof bad_media / sizeof bad_media[0]; i++) {
        write_text(media_json, bad_media[i].media);
        expect_init_error(dir, "c", "s", bad_media[i].message);
    }
    unlink(media_json);

    /* The minimal corpus itself is fine: a handle whose Init failed can be Init'ed again, and a
     * second Init of a working handle succeeds too (as the real library's), replacing the
     * credentials; one that fails leaves the handle as it was. */
    WeWorkFinanceSdk_t *sdk = NewSdk();
    Slice_t *s = NewSlice();
    char *msg;
    unsetenv("WECOM_SIM_CORPUS");
    CHECK_RC(init_capture(sdk, "c", "s", &msg), 10000);
    free(msg);
    setenv("WECOM_SIM_CORPUS", dir, 1);
    CHECK_RC(init_capture(sdk, "c", "wrong", &msg), 0); /* Init never checks the credentials */
    CHECK(msg[0] == '\0');
    free(msg);
    CHECK_RC(init_capture(sdk, "c", "s", &msg), 0);
    CHECK(msg[0] == '\0');
    free(msg);
    CHECK_RC(chat(sdk, 0, 10, 1, s), 0);
    CHECK(strstr(GetContentFromSlice(s), "\"seq\":2,") != NULL);
    unsetenv("WECOM_SIM_CORPUS");
    CHECK_RC(init_capture(sdk, "c", "wrong", &msg), 10000);
    CHECK(strstr(msg, "WECOM_SIM_CORPUS is not set") != NULL);
    free(msg);
    CHECK_RC(chat(sdk, 0, 10, 1, s), 0); /* still the old corpus and credentials */
    FreeSlice(s);
    DestroySdk(sdk);

    free(dir);
    free(keys);
    free(corpus);
    free(messages);
    free(media_json);
    free(cmd);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Init accepts any credentials; a wrong corpid or secret fails every GetChatData and
 * GetMediaData with 10001 and the real library's access line on stdout (the gettoken answer). */
static void test_access(const char *main_dir)
{
    static const struct {
        const char *corpid, *secret, *answer;
    } wrong[] = {
        {CORPID, "wrong", "{\"errcode\":40001,\"errmsg\":\"invalid secret\"}"},
        {"wwother", SECRET, "{\"errcode\":40013,\"errmsg\":\"invalid corpid\"}"},
        {"wwother", "wrong", "{\"errcode\":40013,\"errmsg\":\"invalid corpid\"}"}, /* the corpid is asked first */
        {" ", "\xE4\xB8\xAD", "{\"errcode\":40013,\"errmsg\":\"invalid corpid\"}"},
    };
    Slice_t *s = NewSlice();
    MediaData_t *m = NewMediaData();
    char *out;
    size_t len;
    capture c;

    setenv("WECOM_SIM_CORPUS", main_dir, 1);
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        WeWorkFinanceSdk_t *sdk = NewSdk();
        CHECK_RC(Init(sdk, wrong[i].corpid, wrong[i].secret), 0);
        capture_start(&c, 1);
        CHECK_RC(chat(sdk, 0, 10, 1, s), 10001);
        CHECK_RC(chat(sdk, 0, 10, 1, s), 10001); /* not cached: asked and printed again */
        CHECK_RC(media(sdk, "", "img1", 1, m), 10001);
        CHECK_RC(chat(sdk, 0, 0, 1, s), 10000);  /* parameter errors come first, silently */
        CHECK_RC(media(sdk, "", "", 1, m), 10000);
        out = capture_end(&c, &len);
        expect_access_lines(out, len, wrong[i].answer, 3);
        free(out);
        CHECK(s->buf == NULL && m->data == NULL && m->outindexbuf == NULL);
        DestroySdk(sdk);
    }
    /* The right credentials print nothing. */
    WeWorkFinanceSdk_t *sdk = NewSdk();
    CHECK_RC(Init(sdk, CORPID, SECRET), 0);
    capture_start(&c, 1);
    CHECK_RC(chat(sdk, 0, 1, 1, s), 0);
    CHECK_RC(media(sdk, "", "empty", 1, m), 0);
    out = capture_end(&c, &len);
    CHECK(len == 0);
    free(out);
    DestroySdk(sdk);
    FreeSlice(s);
    FreeMediaData(m);
}

/* call_error / call_timeout / server_answer / access_error, keyed on the process-wide call
 * counters. */
static void test_call_faults(const char *main_dir)
{
    char *dir = fmt("%s/faults", workdir), *path = fmt("%s/corpus.json", dir);
    char *cmd = fmt("cp -r '%s/keys' '%s/messages.jsonl' '%s/media.json' '%s/media' '%s/'", main_dir,
                    main_dir, main_dir, main_dir, dir);
    unsigned long long c0 = atomic_load(&chat_calls), m0 = atomic_load(&media_calls);
    mkdir(dir, 0700);
    if (system(cmd) != 0)
        exit(2);
    /* Chat calls c0+2 and c0+3 fail with 10001, c0+5 times out, c0+7 and c0+8 get a "system
     * busy" answer, c0+9 an empty one, c0+10 one with a NUL byte, c0+11 an access error; media
     * calls m0+1 fail with 10002, m0+3 times out, m0+5 and m0+6 get an access error. The counters
     * include calls made before this corpus existed. */
    char *corpus = fmt(
        "{\"corpid\":\"" CORPID "\",\"secret\":\"" SECRET "\",\"keys\":{\"1\":{\"public\":\"keys/v1.pub.pem\"},"
        "\"2\":{\"public\":\"keys/v2.pub.pem\"}},\"faults\":["
        "{\"kind\":\"call_error\",\"call\":\"GetChatData\",\"nth\":%llu,\"code\":10001,\"times\":2},"
        "{\"kind\":\"call_timeout\",\"call\":\"GetChatData\",\"nth\":%llu},"
        "{\"kind\":\"server_answer\",\"call\":\"GetChatData\",\"nth\":%llu,\"times\":2,"
        "\"body\":\"{\\\"errcode\\\":-1,\\\"errmsg\\\":\\\"system busy\\\"}\"},"
        "{\"kind\":\"server_answer\",\"call\":\"GetChatData\",\"nth\":%llu,\"body\":\"\"},"
        "{\"kind\":\"server_answer\",\"call\":\"GetChatData\",\"nth\":%llu,\"body\":\"a\\u0000\\u00e9\"},"
        "{\"kind\":\"access_error\",\"call\":\"GetChatData\",\"nth\":%llu,\"errcode\":60020,"
        "\"errmsg\":\"not allow to access from your ip\"},"
        "{\"kind\":\"call_error\",\"call\":\"GetMediaData\",\"nth\":%llu,\"code\":10002},"
        "{\"kind\":\"call_timeout\",\"call\":\"GetMediaData\",\"nth\":%llu},"
        "{\"kind\":\"access_error\",\"call\":\"GetMediaData\",\"nth\":%llu,\"times\":2,\"errcode\":-1,"
        "\"errmsg\":\"\\\"busy\\\" \\u7cfb\\u7edf\"}]}",
        c0 + 2, c0 + 5, c0 + 7, c0 + 9, c0 + 10, c0 + 11, m0 + 1, m0 + 3, m0 + 5);
    write_text(path, corpus);
    setenv("WECOM_SIM_CORPUS", dir, 1);
    WeWorkFinanceSdk_t *sdk = NewSdk(), *other = NewSdk();
    Slice_t *s = NewSlice();
    MediaData_t *m = NewMediaData();
    CHECK_RC(Init(sdk, CORPID, SECRET), 0);
    CHECK_RC(Init(other, CORPID, SECRET), 0);

    CHECK_RC(chat(sdk, 0, 1, 1, s), 0);        /* c0+1 */
    CHECK_RC(chat(other, 0, 1, 1, s), 10001);  /* c0+2: counters are shared by all handles */
    CHECK_RC(chat(sdk, 0, 1001, 1, s), 10000); /* c0+3: a failing call still counts */
    CHECK_RC(chat(sdk, 0, 1, 1, s), 0);        /* c0+4 */
    double t = now();
    CHECK_RC(chat(sdk, 0, 1, 1, s), 10001);    /* c0+5: blocks for the timeout argument */
    CHECK(now() - t >= 0.95);
    CHECK_RC(chat(sdk, 0, 1, 1, s), 0);        /* c0+6 */
    /* server_answer: rc 0 and exactly the body (as the real library passes WeCom's answers on). */
    const char *busy = "{\"errcode\":-1,\"errmsg\":\"system busy\"}";
    CHECK_RC(chat(sdk, 0, 1, 1, s), 0);        /* c0+7 */
    CHECK(GetSliceLen(s) == (int)strlen(busy) && strcmp(GetContentFromSlice(s), busy) == 0);
    CHECK_RC(chat(other, 0, 1, 1, s), 0);      /* c0+8 */
    CHECK(strcmp(GetContentFromSlice(s), busy) == 0);
    CHECK_RC(chat(sdk, 0, 1, 1, s), 0);        /* c0+9: an empty answer */
    CHECK(GetSliceLen(s) == 0 && GetContentFromSlice(s)[0] == '\0');
    CHECK_RC(chat(sdk, 0, 1, 1, s), 0);        /* c0+10: binary-safe, by length */
    CHECK(GetSliceLen(s) == 4 && memcmp(GetContentFromSlice(s), "a\0\xC3\xA9", 5) == 0);
    /* access_error: 10001, the slice untouched, the access line on stdout. */
    char *before = GetContentFromSlice(s), *out;
    size_t len;
    capture c;
    capture_start(&c, 1);
    CHECK_RC(chat(sdk, 0, 1, 1, s), 10001);    /* c0+11 */
    out = capture_end(&c, &len);
    expect_access_lines(out, len, "{\"errcode\":60020,\"errmsg\":\"not allow to access from your ip\"}", 1);
    free(out);
    CHECK(GetContentFromSlice(s) == before);
    CHECK_RC(chat(sdk, 0, 1, 1, s), 0);        /* c0+12 */
    CHECK(strncmp(GetContentFromSlice(s), "{\"errcode\":0,", 13) == 0);

    CHECK_RC(media(sdk, "", "img1", 1, m), 10002); /* m0+1 */
    CHECK_RC(media(sdk, "", "img1", 1, m), 0);     /* m0+2 */
    t = now();
    CHECK_RC(media(other, "", "img1", 1, m), 10001); /* m0+3 */
    CHECK(now() - t >= 0.95);
    CHECK_RC(media(sdk, "", "img1", 1, m), 0);       /* m0+4 */
    capture_start(&c, 1);
    CHECK_RC(media(sdk, "", "img1", 1, m), 10001);   /* m0+5 */
    CHECK_RC(media(other, "", "img1", 1, m), 10001); /* m0+6 */
    out = capture_end(&c, &len);
    expect_access_lines(out, len, "{\"errcode\":-1,\"errmsg\":\"\\\"busy\\\" \xE7\xB3\xBB\xE7\xBB\x9F\"}", 2);
    free(out);
    CHECK_RC(media(sdk, "", "img1", 1, m), 0);       /* m0+7 */

    FreeSlice(s);
    FreeMediaData(m);
    DestroySdk(sdk);
    DestroySdk(other);
    free(corpus);
    free(dir);
    free(path);
    free(cmd);
}

/* ---- threads ------------------------------------------------------------------------------ */

typedef struct worker {
    WeWorkFinanceSdk_t *sdk;
    unsigned seed;
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    unsigned long long last;
    for (int round = 0; round < 6; round++) {
        unsigned long long after = (unsigned long long)(rand_r(&w->seed) % 1100);
        CHECK(fetch_page(w->sdk, after, 12, &last, 1) >= 0);
        size_t len;
        int calls;
        uint8_t *data = fetch_media(w->sdk, round % 2 ? "img1" : "img1-alias", &len, &calls);
        CHECK(data && len == BIG_MEDIA_SIZE && memcmp(data, big_media, len) == 0);
        free(data);
    }
    return NULL;
}

static void test_threads(WeWorkFinanceSdk_t *sdk)
{
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){sdk, (unsigned)i * 7919u + 1};
        CHECK(pthread_create(&threads[i], NULL, hammer, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
}

int main(void)
{
    snprintf(workdir, sizeof workdir, "/tmp/sim_smoke.XXXXXX");
    if (!mkdtemp(workdir)) {
        perror("mkdtemp");
        return 2;
    }
    char *main_dir = make_main_corpus();

    test_accessors();
    test_uninitialised();
    test_bad_corpora(main_dir);

    setenv("WECOM_SIM_CORPUS", main_dir, 1);
    WeWorkFinanceSdk_t *sdk = NewSdk();
    CHECK_RC(Init(sdk, CORPID, SECRET), 0);
    test_chat(sdk);
    test_decrypt_errors(sdk);
    test_media(sdk);
    test_threads(sdk);
    test_access(main_dir);
    test_call_faults(main_dir);
    DestroySdk(sdk);

    for (size_t i = 0; i < nwant; i++) {
        free(want[i].msg);
        free(want[i].msgid);
    }
    EVP_PKEY_free(private_keys[1]);
    EVP_PKEY_free(private_keys[2]);
    free(big_media);
    rm_rf(workdir);
    free(main_dir);
    OPENSSL_cleanup();

    if (failures) {
        fprintf(stderr, "sim_smoke: %d check(s) FAILED\n", atomic_load(&failures));
        return 1;
    }
    printf("sim_smoke: all checks passed\n");
    return 0;
}
