/* Standard base64 (RFC 4648 section 4, with '=' padding). */
#ifndef SIM_B64_H
#define SIM_B64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the encoding of n bytes, without a terminating NUL. */
size_t b64_encoded_len(size_t n);

/* Encode n bytes into dst (room for b64_encoded_len(n) bytes; no NUL is written). */
void b64_encode(char *dst, const uint8_t *src, size_t n);

/* Strictly decode len characters: whole 4-character groups, padding only at the end, no
 * whitespace. dst needs room for len / 4 * 3 bytes. Returns the decoded length or -1. */
long long b64_decode(uint8_t *dst, const char *src, size_t len);

#endif
