/* The corpus a simulator handle serves, loaded once by Init and read-only afterwards (which is
 * what makes concurrent calls on one handle safe without locks). */
#ifndef SIM_CORPUS_H
#define SIM_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Per-message fault flags (corpus.json "faults" of kind corrupt_ciphertext / malformed_json). */
#define SIM_FAULT_CORRUPT 1u
#define SIM_FAULT_MALFORMED 2u

/* One archive entry: where its msg value lies in messages.jsonl. 24 bytes, so a million
 * messages cost 24 MB of index. */
typedef struct sim_msg {
    uint64_t seq;
    uint64_t off;   /* file offset of the first byte of the msg value ('{') */
    uint32_t len;   /* its length in bytes, up to and including the closing '}' */
    uint16_t key;   /* index into sim_corpus.keys */
    uint16_t flags; /* SIM_FAULT_* */
} sim_msg;

typedef struct sim_key {
    uint32_t version;
    EVP_PKEY *pkey;
} sim_key;

typedef struct sim_media {
    char *id;         /* one allocation holds "id\0path\0" */
    const char *path; /* relative to the corpus dir, or absolute */
} sim_media;

enum sim_call { SIM_CALL_CHAT, SIM_CALL_MEDIA };

/* What a call fault makes calls nth .. nth+times-1 of `call` do instead of their work. */
enum sim_call_action {
    SIM_ACT_ERROR,   /* call_error: return `code` */
    SIM_ACT_TIMEOUT, /* call_timeout: block for the caller's timeout, then 10001 */
    SIM_ACT_ANSWER,  /* server_answer: rc 0, the output slice holds exactly `body` */
    SIM_ACT_ACCESS,  /* access_error: print the access line with `body`, then 10001 */
};

typedef struct sim_call_fault {
    enum sim_call call;
    enum sim_call_action action;
    int code;
    uint64_t nth, times;
    char *body; /* ANSWER: the raw answer; ACCESS: the gettoken answer's JSON (owned) */
    size_t body_len;
} sim_call_fault;

typedef struct sim_corpus {
    char *dir;
    char *corpid, *secret; /* what WeCom would accept (corpus.json); checked at each call */
    sim_key *keys; /* sorted by version */
    size_t nkeys;
    sim_msg *msgs; /* sorted by seq (the file order, checked at load) */
    size_t nmsgs;
    int msg_fd;    /* messages.jsonl, read with pread */
    sim_media *media; /* sorted by id */
    size_t nmedia;
    char **expired; /* media_expired ids, sorted */
    size_t nexpired;
    sim_call_fault *call_faults;
    size_t ncall_faults;
} sim_corpus;

/* Load the corpus in dir. Returns 0, or -1 with c left empty (nothing to free) and a one-line
 * reason in err. The credentials are not checked here (Init never checks them): see
 * sim_corpus_access_error. */
int sim_corpus_load(sim_corpus *c, const char *dir, char *err, size_t errlen);
void sim_corpus_free(sim_corpus *c);

/* Index of the first message with seq > after (nmsgs when none). */
size_t sim_corpus_first_after(const sim_corpus *c, uint64_t after);

/* The media file path for an sdkfileid (as written in media.json), or NULL when unknown. */
const char *sim_corpus_media_path(const sim_corpus *c, const char *id);

int sim_corpus_media_expired(const sim_corpus *c, const char *id);

/* The gettoken answer WeCom would give for these credentials: NULL when they match corpus.json,
 * else a static JSON errcode body (40013 for the corpid, then 40001 for the secret). */
const char *sim_corpus_access_error(const sim_corpus *c, const char *corpid, const char *secret);

#endif
