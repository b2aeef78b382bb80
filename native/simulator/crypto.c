/* Cryptography for the simulator: see crypto.h. */
#include "crypto.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "util.h"

int sim_random_key(char key[SIM_KEY_LEN])
{
    static const char ALNUM[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char pool[64];
    int n = 0;

    /* Rejection sampling keeps the 62 characters uniform: bytes >= 248 (= 4 * 62) are dropped. */
    while (n < SIM_KEY_LEN) {
        if (RAND_bytes(pool, sizeof pool) != 1)
            return -1;
        for (size_t i = 0; i < sizeof pool && n < SIM_KEY_LEN; i++)
            if (pool[i] < 248)
                key[n++] = ALNUM[pool[i] % 62];
    }
    return 0;
}

/* Decode the DER body of a PEM block according to its label. */
static EVP_PKEY *decode_public_der(const char *label, const unsigned char *der, long len)
{
    const unsigned char *p = der;
    if (strcmp(label, "PUBLIC KEY") == 0)
        return d2i_PUBKEY(NULL, &p, len);
    if (strcmp(label, "RSA PUBLIC KEY") == 0)
        return d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
    return NULL;
}

EVP_PKEY *sim_load_public_key(const char *path, char *err, size_t errlen)
{
    FILE *f = NULL;
    char *label = NULL, *header = NULL;
    unsigned char *der = NULL;
    long len = 0;
    EVP_PKEY *key = NULL;

    f = fopen(path, "rb");
    if (!f) {
        sim_errno_msg(err, errlen, "cannot read key file", path);
        goto done;
    }
    /* PEM_read (not PEM_read_PUBKEY) so both labels are accepted through the same code path. */
    if (!PEM_read(f, &label, &header, &der, &len)) {
        snprintf(err, errlen, "%s is not a PEM file", path);
        goto done;
    }
    key = decode_public_der(label, der, len);
    if (!key) {
        snprintf(err, errlen, "%s: expected a \"PUBLIC KEY\" or \"RSA PUBLIC KEY\" PEM block, got \"%s\"",
                 path, label);
        goto done;
    }
    if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        snprintf(err, errlen, "%s is not an RSA key", path);
        EVP_PKEY_free(key);
        key = NULL;
    }
done:
    if (f)
        fclose(f);
    OPENSSL_free(label);
    OPENSSL_free(header);
    OPENSSL_free(der);
    return key;
}

int sim_rsa_encrypt(EVP_PKEY *key, const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
    /* A context per call: EVP_PKEY is shareable between threads, EVP_PKEY_CTX is not. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    int rc = -1;

    *outlen = (size_t)EVP_PKEY_size(key);
    if (ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_PKEY_encrypt(ctx, out, outlen, in, inlen) == 1)
        rc = 0;
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int sim_gcm_seal(const char key[SIM_KEY_LEN], const uint8_t *pt, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t *nonce = out, *ct = out + SIM_NONCE_LEN, *tag = ct + len;
    int n, rc = -1;

    if (!ctx || len > INT_MAX || RAND_bytes(nonce, SIM_NONCE_LEN) != 1)
        goto done;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, (const unsigned char *)key, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, ct, &n, pt, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, ct + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SIM_TAG_LEN, tag) != 1)
        goto done;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int sim_gcm_open(const char key[SIM_KEY_LEN], const uint8_t *in, size_t inlen, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    size_t len = inlen - SIM_NONCE_LEN - SIM_TAG_LEN;
    const uint8_t *ct = in + SIM_NONCE_LEN;
    uint8_t tag[SIM_TAG_LEN];
    int n, rc = -1;

    memcpy(tag, ct + len, SIM_TAG_LEN); /* the TAG ctrl takes a non-const pointer */
    if (!ctx || len > INT_MAX)
        goto done;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, (const unsigned char *)key, in) != 1 ||
        EVP_DecryptUpdate(ctx, out, &n, ct, (int)len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SIM_TAG_LEN, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, out + n, &n) != 1)
        goto done;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}
