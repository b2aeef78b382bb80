/* The simulator's cryptography, all through OpenSSL's libcrypto (thread-safe in 1.1.0+). */
#ifndef SIM_CRYPTO_H
#define SIM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SIM_KEY_LEN 32   /* the per-message random key: 32 ASCII alphanumerics = AES-256 key */
#define SIM_NONCE_LEN 12 /* GCM nonce prepended to the ciphertext */
#define SIM_TAG_LEN 16   /* GCM tag appended to the ciphertext */

/* Fill key with SIM_KEY_LEN random characters from [0-9A-Za-z]. 0 or -1. */
int sim_random_key(char key[SIM_KEY_LEN]);

/* Load an RSA public key from a PEM file ("BEGIN PUBLIC KEY" or "BEGIN RSA PUBLIC KEY").
 * Returns NULL and a message in err on failure. */
EVP_PKEY *sim_load_public_key(const char *path, char *err, size_t errlen);

/* RSA PKCS#1 v1.5 encryption; out must hold EVP_PKEY_get_size(key) bytes. 0 or -1. */
int sim_rsa_encrypt(EVP_PKEY *key, const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen);

/* AES-256-GCM: out = nonce || ciphertext || tag, SIM_NONCE_LEN + len + SIM_TAG_LEN bytes. */
int sim_gcm_seal(const char key[SIM_KEY_LEN], const uint8_t *pt, size_t len, uint8_t *out);

/* Inverse of sim_gcm_seal: in is nonce || ciphertext || tag (inlen >= nonce + tag), out gets
 * inlen - nonce - tag bytes. Returns 0, or -1 when the tag does not verify. */
int sim_gcm_open(const char key[SIM_KEY_LEN], const uint8_t *in, size_t inlen, uint8_t *out);

#endif
